"""How long the session's sound takes to say things, so a step's clock leaves room for it.

A step's seconds are the person's: a 5 s tense is five seconds of holding
after the instruction has been heard, not five seconds from the moment the
voice begins (when a step-down's announcement comes first, that left under a
second). The controller stays pure: it is given these durations as data when
the session is wired (``SpeechTimes.said_s``, text to seconds) and lengthens
each step by what must be said before its seconds count. Without sound the
mapping is empty and every step runs exactly as planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field

from biofeedback.models import StepKind
from biofeedback.models.record import record


@record(frozen=True)
class SpeechTimes:
    """Seconds to say each text; the pause between two phrases; a bell before a cue."""

    said_s: Mapping[str, float] = field(default_factory=dict)
    gap_s: float = 0.0
    # The release bell and the quiet after it, rung before a release cue.
    bell_s: float = 0.0

    def step_s(
        self,
        planned_s: float,
        kind: StepKind,
        cue: str,
        *,
        said_first: Iterable[str] = (),
        bell: bool = False,
        busy_s: float = 0.0,
    ) -> float:
        """How long a step of ``planned_s`` seconds runs, from its start event.

        What is said first (an announcement, then the bell) comes before the
        cue; a tense step's seconds begin once its cue has been said (the hold
        follows the instruction), any other step lasts at least as long as its
        cue (a long recording lengthens the step instead of being cut).
        ``busy_s``: speech of the step before still to be finished (it is let
        finish, not cut)."""
        cue_s = self.said_s.get(cue)
        if cue_s is None:
            return planned_s
        before_s = busy_s + self.gap_s if busy_s > 0 else 0.0
        before_s += sum(self.said_s[t] + self.gap_s for t in said_first if t in self.said_s)
        if bell:
            before_s += self.bell_s
        if kind is StepKind.TENSE:
            return before_s + cue_s + planned_s
        return before_s + max(planned_s, cue_s + self.gap_s)

    def said_until_s(
        self, start_s: float, length_s: float, kind: StepKind, cue: str, planned_s: float
    ) -> float:
        """When the cue of a step that began at ``start_s`` has been said."""
        cue_s = self.said_s.get(cue)
        if cue_s is None:
            return start_s
        if kind is StepKind.TENSE:
            return start_s + length_s - planned_s
        return start_s + length_s - max(planned_s, cue_s + self.gap_s) + cue_s
