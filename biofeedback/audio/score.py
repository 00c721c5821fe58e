"""The session's events as sounds placed on its timeline (pure: no I/O, no clock).

``Score.hear`` takes each event in order and updates a ``Schedule``: speech
clips, bells and signs at session times, and breath-tone runs whose phase is
the step's own time with pauses left out, as ``progress.Progress`` reads it
(the dashboard's pacer uses the same fold and the same phase function,
``pacing.breath.breath_phase``). A later event can change what is still to come: a new step
cuts the old step's speech and drops what it had planned, a pause silences
everything, a zone change is announced and the new routine's cue follows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.phrases import PhraseBook, extension_text, next_group_text
from biofeedback.models import (
    Advice,
    SessionEnded,
    SessionEvent,
    SignalLost,
    SignalRestored,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
)
from biofeedback.pacing.texts import STOP_RULES
from biofeedback.progress import Progress

Samples = npt.NDArray[np.float32]

# Pause between two phrases said for one moment (an announcement, then a cue).
GAP_S = 0.4
# The next group is announced this long before the release's planned end.
ANNOUNCE_LEAD_S = 1.5
# Speech cut by newer speech falls silent this long before it, so the two are heard apart.
CUT_LEAD_S = 0.1
# Clips that ended this long ago are forgotten.
_KEEP_S = 5.0


class Kind(StrEnum):
    SPEECH = "speech"
    BELL = "bell"
    SIGN = "sign"


@dataclass(frozen=True, eq=False)
class Clip:
    """One sound at ``start_s``; cut at ``stop_s`` (a pause, a newer cue)."""

    start_s: float
    samples: Samples
    kind: Kind
    label: str
    gain: float = 1.0
    stop_s: float = math.inf
    owner: int = 0  # the step (by count) that planned it

    @property
    def natural_end_s(self) -> float:
        return self.start_s + len(self.samples) / SAMPLE_RATE_HZ

    @property
    def end_s(self) -> float:
        return min(self.natural_end_s, self.stop_s)


@dataclass(frozen=True)
class ToneRun:
    """Breath tones from ``start_s`` to ``stop_s``; breath time is ``t - origin_s``."""

    start_s: float
    origin_s: float
    in_s: float
    out_s: float
    stop_s: float = math.inf


@dataclass(frozen=True)
class Schedule:
    clips: tuple[Clip, ...] = ()
    tones: tuple[ToneRun, ...] = ()


@dataclass(frozen=True)
class Sounds:
    """The non-speech sounds, made once."""

    bell: Samples
    lost: Samples
    restored: Samples

    @staticmethod
    def make() -> Sounds:
        return Sounds(_bell(), _two_notes(523.3, 392.0), _two_notes(392.0, 523.3))


@dataclass
class Score:
    """Folds events into a schedule. ``speech`` maps a phrase text to its clip."""

    book: PhraseBook
    speech: dict[str, Samples] = field(default_factory=dict)
    tones: bool = True
    sounds: Sounds = field(default_factory=Sounds.make)
    clips: list[Clip] = field(default_factory=list)
    runs: list[ToneRun] = field(default_factory=list)
    # Where the session stands (step, pause), read as every other view reads it.
    progress: Progress = field(default_factory=Progress)
    steps: int = 0
    extended_step: int = -1
    said_stop_rules: bool = False
    ended: bool = False
    _previous: StepStarted | None = None

    def schedule(self) -> Schedule:
        return Schedule(tuple(self.clips), tuple(self.runs))

    def hear(self, event: SessionEvent) -> bool:
        """Take one event; True when the schedule changed."""
        before = (len(self.clips), len(self.runs), self.clips[-1:], self.runs[-1:])
        if self.ended:
            return False
        was_paused = self.progress.paused
        self.progress.apply(event)
        self._forget(event.t)
        if isinstance(event, StepStarted):
            self._step_started(event)
        elif isinstance(event, StepEnded):
            self._stop_tones(event.t)
        elif isinstance(event, StepExtended):
            self._extended(event)
        elif isinstance(event, Advice):
            self._advice(event)
        elif isinstance(event, UserActed):
            self._action(event, was_paused)
        elif isinstance(event, SignalLost):
            self._add(event.t, self.sounds.lost, Kind.SIGN, "signal_lost", gain=0.25)
        elif isinstance(event, SignalRestored):
            self._add(event.t, self.sounds.restored, Kind.SIGN, "signal_restored", gain=0.25)
        elif isinstance(event, SessionEnded):
            self._ended(event)
        after = (len(self.clips), len(self.runs), self.clips[-1:], self.runs[-1:])
        return before != after

    # -- events

    def _step_started(self, event: StepStarted) -> None:
        previous = self._previous
        self._previous = event
        self.steps += 1
        t = event.t
        self._stop_tones(t)
        # What the old step planned and has not begun is dropped; its speech is
        # cut, unless said at this very moment (a zone announcement before the cue).
        self.clips = [c for c in self.clips if c.start_s <= t or c.owner == self.steps]
        self._cut_speech(t, keep_from=t)
        if (
            previous is not None
            and previous.kind is StepKind.TENSE
            and event.kind in (StepKind.RELEASE, StepKind.IMAGERY, StepKind.REST)
        ):
            self._add(t, self.sounds.bell, Kind.BELL, "bell", gain=0.35)
        cue_end = self._say(t, event.cue, f"cue:{event.step}")
        if event.breath_in_s and event.breath_out_s and self.tones:
            self.runs.append(ToneRun(t, t, event.breath_in_s, event.breath_out_s))
        self._announce_next(event, cue_end)

    def _announce_next(
        self, event: StepStarted, said_until_s: float, end_s: float | None = None
    ) -> None:
        """Plan the next group's name to finish ``ANNOUNCE_LEAD_S`` before the
        release ends (``end_s``; None: as planned), if it fits after what is said."""
        if event.kind is not StepKind.RELEASE or event.next_kind is not StepKind.TENSE:
            return
        region = self.book.region_of_cue.get(event.next_cue or "")
        clip = self.speech.get(next_group_text(region)) if region else None
        if clip is None:
            return
        end_s = event.t + event.planned_s if end_s is None else end_s
        at_s = end_s - ANNOUNCE_LEAD_S - len(clip) / SAMPLE_RATE_HZ
        if at_s >= said_until_s + 1.0:
            self._add(at_s, clip, Kind.SPEECH, f"next:{region}", gain=0.8)

    def _extended(self, event: StepExtended) -> None:
        step = self.progress.step
        if step is None:
            return
        said_until = event.t
        if self.extended_step != self.steps:
            # Once per step: the release simply goes on; one soft word is enough.
            self.extended_step = self.steps
            said_until = self._say(event.t, extension_text(step.kind, step.step), "extend", 0.8)
        # The next group was named before the old end: name it again before the
        # new one, so what comes next is heard just before it comes.
        self.clips = [
            c for c in self.clips if not (c.label.startswith("next:") and c.start_s > event.t)
        ]
        if self._previous is not None and self.progress.step_running:
            self._announce_next(self._previous, said_until, event.t + self.progress.remaining_s)

    def _advice(self, event: Advice) -> None:
        if event.text == STOP_RULES:
            if self.said_stop_rules:
                return
            self.said_stop_rules = True
        if self.book.get(event.text) is None:
            return  # shown on screen only (figures, red flags)
        self._cut_speech(event.t, keep_from=event.t)
        self._say(event.t, event.text, "advice")

    def _action(self, event: UserActed, was_paused: bool) -> None:
        t = event.t
        step = self.progress.step
        if self.progress.paused and not was_paused:
            self._stop_tones(t)
            self._cut_speech(t, keep_from=math.inf)
            self.clips = [c for c in self.clips if c.start_s <= t]
        elif (
            was_paused
            and not self.progress.paused
            and step is not None
            and step.breath_in_s
            and step.breath_out_s
            and self.tones
            and self.progress.step_running
        ):
            # The breath goes on where it was when the pause began.
            origin_s = t - self.progress.step_elapsed_s
            self.runs.append(ToneRun(t, origin_s, step.breath_in_s, step.breath_out_s))

    def _ended(self, event: SessionEnded) -> None:
        self._stop_tones(event.t)
        self.ended = True
        last = max((c.end_s for c in self.clips if c.kind is Kind.SPEECH), default=event.t)
        self._add(max(event.t, last + GAP_S), self.sounds.bell, Kind.BELL, "end", gain=0.35)

    # -- helpers

    def _say(self, t_s: float, text: str, label: str, gain: float = 1.0) -> float:
        """Speak ``text`` at ``t_s``, after speech already sounding (an announcement
        said at this moment); speech planned for later that it would run into
        gives way to it."""
        clip = self.speech.get(text)
        if clip is None:
            return t_s
        # Only speech begun by now delays this: waiting on a phrase merely planned
        # (the next group's name, due in ten seconds) would push a step-down's
        # words behind it, and the new step would then drop them unheard.
        busy = [
            c.end_s
            for c in self.clips
            if c.kind is Kind.SPEECH and c.start_s <= t_s and c.end_s > t_s
        ]
        start = max([t_s, *(end + GAP_S for end in busy)])
        end = start + len(clip) / SAMPLE_RATE_HZ
        self.clips = [
            c for c in self.clips if not (c.kind is Kind.SPEECH and t_s < c.start_s < end + GAP_S)
        ]
        self._add(start, clip, Kind.SPEECH, label, gain)
        return end

    def _add(self, t_s: float, samples: Samples, kind: Kind, label: str, gain: float = 1.0) -> None:
        self.clips.append(Clip(t_s, samples, kind, label, gain, owner=self.steps))

    def _cut_speech(self, t_s: float, keep_from: float) -> None:
        """Cut speech still sounding at ``t_s`` that began before ``keep_from``."""
        stop_s = t_s if math.isinf(keep_from) else t_s - CUT_LEAD_S
        self.clips = [
            replace(c, stop_s=max(stop_s, c.start_s))
            if c.kind is Kind.SPEECH and c.start_s < keep_from and c.end_s > stop_s
            else c
            for c in self.clips
        ]

    def _stop_tones(self, t_s: float) -> None:
        self.runs = [replace(r, stop_s=min(r.stop_s, t_s)) for r in self.runs]

    def _forget(self, t_s: float) -> None:
        self.clips = [c for c in self.clips if c.end_s > t_s - _KEEP_S]
        self.runs = [r for r in self.runs if r.stop_s > t_s - _KEEP_S]


def _bell(duration_s: float = 3.0) -> Samples:
    t = np.arange(int(duration_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    # A small bell: a few inharmonic partials, each dying away at its own rate.
    partials = ((528.0, 1.0, 1.6), (1457.0, 0.45, 0.9), (2851.0, 0.2, 0.5), (1056.0, 0.3, 1.2))
    out = sum(a * np.exp(-t / tau) * np.sin(2 * np.pi * f * t) for f, a, tau in partials)
    attack = np.minimum(t / 0.004, 1.0)
    return (0.5 * attack * out).astype(np.float32)


def _two_notes(first_hz: float, second_hz: float) -> Samples:
    note_s, gap_s = 0.22, 0.08
    t = np.arange(int(note_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    env = np.sin(np.pi * t / note_s) ** 2
    notes = [0.6 * env * np.sin(2 * np.pi * f * t) for f in (first_hz, second_hz)]
    gap = np.zeros(int(gap_s * SAMPLE_RATE_HZ))
    return np.concatenate([notes[0], gap, notes[1]]).astype(np.float32)
