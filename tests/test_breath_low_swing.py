"""A breath that barely tilts the strap (biofeedback/signals/breath_estimate.py).

Lying on the side, or after a posture shift into a posture where the breath
tilts the strap little, a breath is a couple of milli-g: about what the
sensor's noise swings after half a second's smoothing. The noise's wiggles
must not count as breaths: the chest's rate stays near the lungs' own.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from biofeedback.models import ChestMotion
from biofeedback.signals.breath_estimate import BreathEstimator, BreathSource
from simulators.breathing import Lungs
from simulators.chest import Chest
from simulators.scenario import IDLE, Person

ACC_HZ = 25.0
MINUTES = 5


def _true_per_min(lungs: Lungs, t_s: float) -> float | None:
    """The lungs' own rate over the last half minute (median breath length)."""
    taken = [r for r in lungs.log if t_s - 30.0 <= r.start_s <= t_s and not r.held]
    if len(taken) < 2:
        return None
    return 60.0 / float(np.median([r.in_s + r.out_s for r in taken]))


def _rate_ratios(person: Person, seed: int) -> list[float]:
    """The chest's rate over the lungs' each second, breathing freely."""
    rng = np.random.default_rng(seed)
    lungs = Lungs(person, rng.standard_normal, np.random.default_rng(seed + 1))
    lungs.start(0.0, 0.0)
    chest = Chest(person, np.random.default_rng(seed + 2), ACC_HZ)
    est = BreathEstimator()
    ratios = []
    for second in range(MINUTES * 60):
        t = float(second)
        lungs.drive(1.0, False)
        lungs.advance(t, 1.0)
        batch = chest.batch(t + 1.0, lungs.log[-8:], [(0.0, IDLE)])
        assert batch is not None
        last, x, y, z = batch
        est.add_motion(
            ChestMotion(last, ACC_HZ, tuple(x.tolist()), tuple(y.tolist()), tuple(z.tolist()))
        )
        e = est.estimate(t + 1.0)
        truth = _true_per_min(lungs, t + 1.0)
        if e.source is BreathSource.ACC and e.per_min and truth is not None and t > 60.0:
            ratios.append(e.per_min / truth)
    return ratios


def test_a_breath_of_a_few_milli_g_is_read_at_the_lungs_rate_not_the_noises() -> None:
    still = Person(breath_rate_hz=14.0 / 60.0, fidgets_per_h=0.0, posture_shifts_per_h=0.0)
    people = [
        # On the side: the breath shows only as a little roll of the strap.
        dataclasses.replace(still, breath_mg=6.3, tilt_deg=88.0, roll_deg=88.0),
        dataclasses.replace(still, breath_mg=8.0, tilt_deg=85.0, roll_deg=-80.0),
        # Half turned after a shift, a shallow breather.
        dataclasses.replace(still, breath_mg=4.0, tilt_deg=50.0, roll_deg=-5.0),
    ]
    for i, person in enumerate(people):
        ratios = _rate_ratios(person, 10 * i + 1)
        # Read most of the time, and near the truth: never twice the lungs' rate
        # (noise counted as breaths), seldom far off either way.
        assert len(ratios) >= 180, (i, len(ratios))
        assert max(ratios) < 2.0, (i, max(ratios))
        off = np.mean([not 0.7 <= r <= 1.4 for r in ratios])
        assert off < 0.1, (i, off)
        assert abs(float(np.median(ratios)) - 1.0) < 0.1, (i, float(np.median(ratios)))
