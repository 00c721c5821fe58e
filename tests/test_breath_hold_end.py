"""When a held breath ends (biofeedback/signals/breath_estimate.py): one answer.

The live estimate (``hold_s``, which a reminder quotes) and the hold recorded
when it ends (``breath_held.duration_s``) must tell the same story: a hold is
never said to have lasted longer while it was under way than once it is over.
"""

from __future__ import annotations

import numpy as np

from biofeedback.signals.breath_estimate import BreathEstimate, BreathEstimator, Hold
from simulators.source import SimulatedSource
from tests.support.chest import chest_times as _t
from tests.support.chest import feed_chest as _feed
from tests.support.chest import lung_fill as _fill
from tests.support.simulator import drive, tense_release


def _agree(live: list[BreathEstimate], holds: list[Hold]) -> None:
    """Every hold the estimate called lasts, once recorded, at least as long as
    it was last said to, and barely longer (the estimate is read each second)."""
    said: dict[float, float] = {}
    for e in live:
        if e.holding_since_s is not None:
            said[e.holding_since_s] = max(said.get(e.holding_since_s, 0.0), e.hold_s)
    recorded = {h.started_s: h.duration_s for h in holds}
    assert said
    assert sorted(said) == sorted(recorded)
    for started_s, hold_s in said.items():
        assert hold_s <= recorded[started_s] + 1e-9, (started_s, hold_s, recorded[started_s])
        assert recorded[started_s] - hold_s <= 1.5, (started_s, hold_s, recorded[started_s])


def test_a_held_breath_lasts_as_long_as_the_estimate_said() -> None:
    t = _t(120.0)
    fill = _fill(t, 2.0, 3.0)
    # A breath drawn in by 62 s and held for ten seconds, then breathing again.
    held = (t >= 62.0) & (t < 72.0)
    fill = np.where(held, 1.0, fill)
    fill = np.where(t >= 72.0, _fill(t - 72.0, 2.0, 3.0, start_s=-2.0), fill)
    est = BreathEstimator()
    live = _feed(est, fill)
    _agree(live, est.holds)
    (hold,) = est.holds
    assert abs(hold.started_s - 62.0) < 1.0
    assert 9.5 < hold.duration_s < 12.0


def test_a_breath_holders_holds_agree_with_what_the_estimate_said() -> None:
    events = tense_release(30.0, 300.0, tense_s=5.0, release_s=15.0)
    run = drive(SimulatedSource("breath-holder", seed=1, acc_rate_hz=25.0), 300.0, events)
    est = BreathEstimator()
    live: list[BreathEstimate] = []
    next_s = 1.0
    for motion in run.motion:
        est.add_motion(motion)
        if motion.t_s >= next_s:
            live.append(est.estimate(motion.t_s + 0.02))
            next_s += 1.0
    assert len(est.holds) >= 5
    _agree(live, est.holds)
