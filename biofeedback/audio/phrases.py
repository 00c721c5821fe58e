"""Every phrase a session can speak, known before it starts.

The texts come from walking the session's planner through the protocol in each
zone (skipping from step to step, see ``planner.walk``), so whatever a session can
say is found here without a second copy of its words. A few short phrases belong to audio
alone: the extension phrase and the announcement of the next group.

Each phrase has an id (the name of its file in a voice folder) and a style:
release cues are spoken slower and lower, as a breath out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum

from biofeedback.models import StepKind, StepStarted, Zone
from biofeedback.models.record import record
from biofeedback.pacing import planner
from biofeedback.pacing.rules import PacingConfig
from biofeedback.routines.protocols import BODY_ORDER, Routine, load_protocol
from biofeedback.routines.texts import (
    KEEP_BREATHING,
    MEET_PACE,
    OVERRUN_ADVICE,
    STOP_RULES,
    ZONE_ADVICE,
)

EXTEND_RELEASE = "Stay with the release a little longer."
EXTEND_REST = "Stay here a little longer. There is no hurry."
EXTEND_SETTLE = "Keep breathing slowly, a little longer."
YELLOW_ROUTINE = "breath-partial"
RED_ROUTINE = "passive-rest"


class Style(StrEnum):
    """How a phrase is voiced."""

    PLAIN = "plain"
    RELEASE = "release"  # drawn out and lower, on the out-breath
    SOFT = "soft"  # quieter asides: extensions, the next group


@record(frozen=True, slots=True)
class Phrase:
    """One spoken line: its id, its words and how it is spoken."""

    id: str
    text: str
    style: Style = Style.PLAIN


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_PARTS = {0.25: "and a quarter", 0.5: "and a half", 0.75: "and three quarters"}


def number_words(value: float) -> str:
    """A figure as it is said aloud: 4.5 "four and a half", 6 "six", 3.7 "about
    three and three quarters" (to the nearest quarter; a voice reading "three
    point seven" to someone relaxing is a machine reading)."""
    quarters = round(value * 4)
    whole, part = divmod(quarters, 4)
    words = _whole_words(whole)
    if part:
        words = f"{words} {_PARTS[part / 4]}" if whole else f"{_PARTS[part / 4][4:]}"
    if abs(quarters / 4 - value) > 1e-9:
        words = f"about {words}"
    return words


def _whole_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" and {_whole_words(rest)}" if rest else "")
    return str(n)


def spoken_text(text: str) -> str:
    """``text`` as a voice should say it: figures as words."""
    return re.sub(r"\d+(?:\.\d+)?", lambda m: number_words(float(m.group())), text)


# A region by the word its cues use for it.
_SPOKEN_REGION = {"glutes": "seat"}


def next_group_text(region: str) -> str:
    return f"Next, your {_SPOKEN_REGION.get(region, region.replace('-', ' '))}."


def extension_text(kind: StepKind, step_id: str, *, tensed: bool = True) -> str:
    """The soft word on a lengthened step; "the release" only after a tensed group."""
    if step_id == "settle":
        return EXTEND_SETTLE
    return EXTEND_RELEASE if kind is StepKind.RELEASE and tensed else EXTEND_REST


@record(frozen=True)
class PhraseBook:
    """The phrases of one session's protocol, by text, and the region of each cue."""

    phrases: Mapping[str, Phrase]
    region_of_cue: Mapping[str, str]

    def __len__(self) -> int:
        return len(self.phrases)

    def __iter__(self) -> Iterator[Phrase]:
        return iter(self.phrases.values())

    def get(self, text: str) -> Phrase | None:
        return self.phrases.get(text)


def build_book(
    protocol: Routine,
    *,
    yellow: Routine | None = None,
    red: Routine | None = None,
    config: PacingConfig | None = None,
) -> PhraseBook:
    """Every phrase a session of ``protocol`` can speak."""
    yellow = yellow or load_protocol(YELLOW_ROUTINE)
    red = red or load_protocol(RED_ROUTINE)
    phrases: dict[str, Phrase] = {}
    regions: dict[str, str] = {}

    ids: set[str] = set()

    def add(phrase_id: str, text: str, style: Style = Style.PLAIN) -> None:
        if text in phrases:
            return
        base = unique = _slug(phrase_id)
        n = 1
        while unique in ids:  # one file name per text, always
            n += 1
            unique = f"{base}-{n}"
        ids.add(unique)
        phrases[text] = Phrase(unique, text, style)

    def origin(step_id: str) -> str:
        bare = step_id.removesuffix("-imagery")
        for routine in (yellow, red):
            if any(s.id == bare for s in routine.steps):
                return routine.name
        # The protocol's own steps, and the frame (its settle and closing words).
        return protocol.name

    every_region = sorted(
        {r for p in (protocol, yellow, red) for r in p.regions}, key=BODY_ORDER.index
    )
    for zone in Zone:
        for imagery in ((), every_region):
            for step in walk(protocol, yellow, red, zone, config, imagery):
                style = Style.RELEASE if step.kind is StepKind.RELEASE else Style.PLAIN
                add(f"{origin(step.step)}.{step.step}", step.cue, style)
                if step.region is not None:
                    regions.setdefault(step.cue, step.region)
    for (low, high), text in ZONE_ADVICE.items():
        add(f"zone.{low.value}-{high.value}", text)
    add("session.overrun", OVERRUN_ADVICE)
    add("session.stop-rules", STOP_RULES)
    add("extend.release", EXTEND_RELEASE, Style.SOFT)
    add("extend.rest", EXTEND_REST, Style.SOFT)
    add("extend.settle", EXTEND_SETTLE, Style.SOFT)
    add("breath.keep-breathing", KEEP_BREATHING, Style.SOFT)
    add("breath.meet-pace", MEET_PACE, Style.SOFT)
    for region in every_region:
        add(f"next.{region}", next_group_text(region), Style.SOFT)
    return PhraseBook(phrases, regions)


def walk(
    protocol: Routine,
    yellow: Routine,
    red: Routine,
    zone: Zone,
    config: PacingConfig | None = None,
    imagery: Iterable[str] = (),
) -> list[StepStarted]:
    """Every step a session started in ``zone`` runs, skipping through it (the
    planner's walk), as the events that start them."""
    fallbacks = {Zone.YELLOW: yellow, Zone.RED: red}
    return [
        StepStarted(
            t_s,
            step.id,
            step.kind,
            step.region,
            step.cue,
            step.planned_s,
            step.breath_in_s,
            step.breath_out_s,
        )
        for t_s, step in planner.walk(protocol, fallbacks, zone, config, imagery)
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")
