"""Today's routine: a suggestion from the clock, the plan and recent sessions.

The rules, first match wins (history before the clock: how the body has been
matters more than the hour):

1. the latest session, within ``RECENT_H`` hours, stepped down to Red ->
   breath-partial, to start below where it went wrong;
2. resting heart rate trending up by ``HR_TREND_BPM`` or more -> anxiety-downshift;
3. the profile says the back is sore right now -> back-care (as ``run`` without
   ``--protocol`` chooses);
4. late evening (from ``LATE_EVENING_H`` until ``NIGHT_END_H``) -> bedtime;
5. a plan entry for today within ``PLAN_WINDOW_MIN`` of its time -> its routine;
6. a weekday during the working day -> work-reset;
7. otherwise the full routine.

Pure: ``now`` is handed in, naive local time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from biofeedback.models import Zone
from biofeedback.models.record import record
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.plan import Plan, PlanItem

RECENT_H = 36.0
HR_TREND_BPM = 3.0
LATE_EVENING_H = 21
NIGHT_END_H = 4
WORKDAY_H = (8, 18)
PLAN_WINDOW_MIN = 90


@record(frozen=True, slots=True)
class Suggestion:
    """What to practise now: the routine, the rule that chose it and why, its length and
    plan entry if any, and the sessions already done today."""

    routine: str
    rule: str
    reason: str
    minutes: int | None = None
    plan_item: str | None = None
    sessions_today: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "routine": self.routine,
            "rule": self.rule,
            "reason": self.reason,
            "minutes": self.minutes,
            "plan_item": self.plan_item,
            "sessions_today": self.sessions_today,
        }


def suggest(
    now: datetime,
    plan: Plan,
    history: Sequence[SessionOutcome],
    *,
    resting_hr_change_bpm: float | None = None,
    back_pain: bool = False,
) -> Suggestion:
    """What to practise now; ``history`` newest first; ``back_pain``: the profile's."""
    today = sum(
        1
        for o in history
        if o.practised and datetime.fromtimestamp(o.started_at_unix_s).date() == now.date()
    )
    latest = next(iter(history), None)
    if (
        latest is not None
        and latest.lowest_zone is Zone.RED
        and 0 <= now.timestamp() - latest.started_at_unix_s <= RECENT_H * 3600
    ):
        return Suggestion(
            "breath-partial",
            "stepped_down_to_red",
            "Your last session stepped down to passive rest, so start gently with breath-led work.",
            sessions_today=today,
        )
    if resting_hr_change_bpm is not None and resting_hr_change_bpm >= HR_TREND_BPM:
        return Suggestion(
            "anxiety-downshift",
            "resting_hr_up",
            f"Your resting heart rate has crept up by {resting_hr_change_bpm:.0f} bpm lately,"
            " so try the slower anxiety downshift.",
            sessions_today=today,
        )
    if back_pain:
        return Suggestion(
            "back-care",
            "back_pain",
            "Your back is sore right now, so the back-care routine: gentle, well supported.",
            sessions_today=today,
        )
    if now.hour >= LATE_EVENING_H or now.hour < NIGHT_END_H:
        bedtime = _planned(plan, now, routine="bedtime")
        return Suggestion(
            "bedtime",
            "late_evening",
            "It is late evening: a slow bedtime routine helps you wind down.",
            minutes=bedtime.minutes if bedtime else None,
            plan_item=bedtime.name if bedtime else None,
            sessions_today=today,
        )
    item = _planned(plan, now)
    if item is not None:
        return Suggestion(
            item.routine,
            "plan",
            f"Your plan has {item.title.lower()} at {item.time}, after {item.after}.",
            minutes=item.minutes,
            plan_item=item.name,
            sessions_today=today,
        )
    if now.weekday() < 5 and WORKDAY_H[0] <= now.hour < WORKDAY_H[1]:
        return Suggestion(
            "work-reset",
            "workday",
            "A weekday break: five minutes for the jaw, shoulders, hands and back.",
            minutes=5,
            sessions_today=today,
        )
    return Suggestion(
        "full",
        "open_time",
        "You have time for the whole body today, about ten minutes.",
        minutes=10,
        sessions_today=today,
    )


def _planned(plan: Plan, now: datetime, *, routine: str | None = None) -> PlanItem | None:
    """Today's plan entry nearest ``now`` within the window (of ``routine``, if given)."""
    minute_now = now.hour * 60 + now.minute
    best: tuple[int, PlanItem] | None = None
    for item in plan.on(now.weekday()):
        if routine is not None and item.routine != routine:
            continue
        gap = abs(item.hour * 60 + item.minute - minute_now)
        if gap <= PLAN_WINDOW_MIN and (best is None or gap < best[0]):
            best = (gap, item)
    return None if best is None else best[1]
