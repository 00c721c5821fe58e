"""A session's frame in review: time in Recognise, Reduce and Restore, and its plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from biofeedback.models import PlanChosen, SessionEvent, StepStarted
from biofeedback.pacing.frame import Part, part_of
from biofeedback.review.text import clock


def time_in_parts(steps: Sequence[tuple[StepStarted, float, float]]) -> dict[Part, float]:
    """Seconds spent in each part of the frame, from the steps as they ran
    (``Progress.steps_until``)."""
    spent = {part: 0.0 for part in Part}
    for step, start, stop in steps:
        spent[part_of(step.step)] += stop - start
    return spent


def plan_of(events: Sequence[SessionEvent]) -> PlanChosen | None:
    """What shaped the session's plan (None: the routine ran as written)."""
    return next((e for e in events if isinstance(e, PlanChosen)), None)


def parts_line(spent: Mapping[Part, float]) -> str:
    """``Recognise 01:00 (notice where you hold), Reduce 06:10, Restore 01:00``."""
    first, *rest = Part
    return ", ".join(
        [f"{first.word} {clock(spent.get(first, 0.0))} ({first.meaning})"]
        + [f"{p.word} {clock(spent.get(p, 0.0))}" for p in rest]
    )


def plan_lines(plan: PlanChosen | None) -> list[str]:
    if plan is None or not plan.notes:
        return []
    return [f"  plan: {plan.routine}, shaped by your profile:"] + [
        f"    - {note}" for note in plan.notes
    ]
