"""The breath on the dashboard: the pacer as it stands (a step's own pace, or the
pace that met a fast breather and glides down), and the breath taken beside it.

Pure: reads a ``SessionState``; the session screen draws what it returns.
"""

from __future__ import annotations

from biofeedback.ui.state import SessionState

Breath = tuple[float, float]
# How long a breath held stays in view after it was seen.
HELD_SHOWN_S = 10.0


def paced_breath(state: SessionState) -> tuple[Breath | None, float]:
    """The pacer now, (in s, out s) or None, and how far into its pattern (s)."""
    step = state.step
    if step is None or state.ended is not None:
        return None, 0.0
    pace = state.progress.pace
    if pace is not None and pace.step == step.step:
        # A changed pace starts its first in-breath when it was changed.
        into_s = max(state.step_elapsed_s - (pace.t - step.t), 0.0)
        return (pace.breath_in_s, pace.breath_out_s), into_s
    if step.breath_in_s and step.breath_out_s:
        return (step.breath_in_s, step.breath_out_s), state.step_elapsed_s
    return None, 0.0


def breath_taken_text(state: SessionState) -> str:
    """The breath seen on the chest beside the pacer, or a breath held just now;
    "" when the chest says nothing (a strap without chest motion)."""
    step = state.step
    if step is None or state.ended is not None:
        return ""
    # Held: the reminder comes while it lasts, the whole length once it is let go;
    # either stays in view a few seconds (a tense step may end the moment it came),
    # in place of the rate, which a hold leaves meaningless.
    held, reminder = state.progress.held, state.progress.reminder
    recent_s = state.t_s - HELD_SHOWN_S
    if held is not None and held.t >= recent_s:
        return f"breath held {held.duration_s:.0f} s"
    if reminder is not None and reminder.t >= recent_s:
        return f"breath held {reminder.hold_s:.0f} s"
    # Beside the pacer's in and out: the breath taken, a minute.
    estimate = state.progress.estimate
    if estimate is None or estimate.breath_source != "acc":
        return ""
    you = estimate.breath_per_min
    return "" if you is None or you < 1.0 else f"you {you:.0f} a minute"


def gliding(state: SessionState) -> bool:
    """True while the pacer of this step is faster than the step's own pace."""
    step, pace = state.step, state.progress.pace
    if step is None or pace is None or pace.step != step.step:
        return False
    own_s = (step.breath_in_s or 0.0) + (step.breath_out_s or 0.0)
    return pace.breath_in_s + pace.breath_out_s < own_s
