"""Cross-session adaptation: after a session that left you more wired, go gentler.

docs/domain.md section 6: ending more wired suggests the effort was too much, and
progress shows in patterns over sessions. A session of a kind
(the same routine) is *rough* when its final two minutes had the heart above
its own baseline by ``ROUGH_HR_BPM`` or more, or when a rating after was worse
than before. Each rough session makes the next one of that kind one level
gentler; ``CALM_TO_STEP_UP`` calm sessions in a row give one level back.

Levels: 0 as written; 1 softer tension cue and longer releases; 2 barely-there
micro-contractions (1-2 s, the back-care adaptation of docs/domain.md section 1)
and longer releases.

``decide`` is a pure function of the recorded outcomes, so the same history
always gives the same level; ``gentler`` applies it to the routine before the
controller is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from biofeedback.models import Step, StepKind
from biofeedback.models.record import record
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.ratings import worse
from biofeedback.routines.protocols import MAX_TENSE_S, Routine

ROUGH_HR_BPM = 3.0
CALM_TO_STEP_UP = 3
MAX_LEVEL = 2
# A session stopped in its first minute says nothing about how the routine sat.
MIN_LENGTH_S = 60.0
RELEASE_FACTOR = 1.5

LEVEL_NAMES = ("as written", "softer", "micro-contractions")


@record(frozen=True, slots=True)
class Adaptation:
    """How gentle today's session of ``protocol`` is, and why (one line, or "")."""

    protocol: str
    level: int
    reason: str = ""
    calm_streak: int = 0
    based_on: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "level": self.level,
            "style": LEVEL_NAMES[self.level],
            "reason": self.reason,
            "calm_streak": self.calm_streak,
            "based_on": list(self.based_on),
            **self.evidence,
        }


def rough_because(outcome: SessionOutcome) -> dict[str, Any]:
    """Why a session counts as rough (empty when it ended calm)."""
    why: dict[str, Any] = {}
    hr = outcome.hr_change_bpm
    if hr is not None and hr >= ROUGH_HR_BPM:
        why["hr_above_baseline_bpm"] = round(hr, 1)
    scales = worse(outcome.before, outcome.after)
    if scales:
        why["worse"] = {s: [getattr(outcome.before, s), getattr(outcome.after, s)] for s in scales}
    return why


def decide(history: Sequence[SessionOutcome], protocol: str) -> Adaptation:
    """The gentleness of the next ``protocol`` session from its past (newest first)."""
    mine = [
        o
        for o in reversed(history)
        if o.protocol == protocol and o.finished and o.length_s >= MIN_LENGTH_S
    ]
    level = 0
    calm = 0
    last_change = ""
    last_why: dict[str, Any] = {}
    for outcome in mine:
        why = rough_because(outcome)
        if why:
            calm = 0
            if level < MAX_LEVEL:
                level += 1
            last_change, last_why = "gentler", why
        else:
            calm += 1
            if level > 0 and calm >= CALM_TO_STEP_UP:
                level -= 1
                calm = 0
                last_change, last_why = "fuller", {}
            elif calm:
                last_change = "calm"
    based_on = tuple(o.session_id for o in mine[-(CALM_TO_STEP_UP + 1) :])
    evidence = dict(last_why)
    return Adaptation(
        protocol, level, _reason(level, last_change, last_why, calm), calm, based_on, evidence
    )


def _reason(level: int, change: str, why: dict[str, Any], calm: int) -> str:
    what = (
        "softer tensing and longer releases"
        if level == 1
        else "barely-there micro-contractions and longer releases"
    )
    if change == "gentler":
        return f"{_what_happened(why)}, so today is gentler: {what}."
    if change == "fuller" and level == 0:
        return "Your last sessions ended calm, so this one offers the fuller routine again."
    if change == "fuller":
        return f"Your last sessions ended calm, so today is a step fuller: {what}."
    if level > 0:
        left = CALM_TO_STEP_UP - calm
        more = "one more calm session" if left == 1 else f"{left} more calm sessions"
        return f"Still the gentler version ({what}); after {more} the fuller routine returns."
    return ""


def _what_happened(why: dict[str, Any]) -> str:
    if "worse" in why:
        scale, (before, after) = next(iter(why["worse"].items()))
        return f"Last time your {scale} went from {before} to {after}"
    return (
        f"Last time your heart ended {why['hr_above_baseline_bpm']:.0f} bpm above where it started"
    )


def gentler(routine: Routine, level: int) -> Routine:
    """``routine`` made gentler by ``level`` (0 returns it unchanged)."""
    if level <= 0 or not any(s.kind is StepKind.TENSE for s in routine.steps):
        return routine
    steps = [_soften(step, level) for step in routine.steps]
    effort = "micro" if level >= 2 else routine.effort
    return dataclasses.replace(routine, steps=tuple(steps), effort=effort)


def _soften(step: Step, level: int) -> Step:
    if step.kind is StepKind.RELEASE:
        return dataclasses.replace(step, planned_s=round(step.planned_s * RELEASE_FACTOR))
    if step.kind is not StepKind.TENSE:
        return step
    cue = step.cue[:1].lower() + step.cue[1:]
    if level >= 2:
        return dataclasses.replace(
            step,
            cue=f"Just a hint of it: {cue} Barely engage, then let go.",
            planned_s=min(step.planned_s, MAX_TENSE_S["micro"]),
        )
    return dataclasses.replace(step, cue=f"Gentler than last time, just enough to feel it: {cue}")
