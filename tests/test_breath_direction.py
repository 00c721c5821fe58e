"""Which half of the breath is the in-breath (biofeedback/signals/breath_estimate.py).

Nearly everyone breathes in faster than out, so free breathing says which way
the chest moves when breathing in; a pacer may ask for the longer half in, and
the person follows it: that must not turn the breath over.
"""

from __future__ import annotations

import itertools

import numpy as np

from biofeedback.models import ChestMotion, StepKind
from biofeedback.signals.breath_estimate import Breath, BreathEstimator, Pacer
from simulators.source import SimulatedSource
from tests.support.simulator import drive, step

PACED_AT_S = 60.0
IN_S, OUT_S = 5.5, 4.5


def _estimate_breaths(seed: int) -> tuple[list[Breath], SimulatedSource]:
    """A calm person breathes freely for a minute, then follows a pacer whose
    in-breath is the longer half; the chest's breaths as the estimator notes them."""
    paced = [step(PACED_AT_S, StepKind.BREATH, breath=(IN_S, OUT_S))]
    run = drive(SimulatedSource("calm", seed=seed, acc_rate_hz=25.0), 300.0, paced)
    est = BreathEstimator()
    next_s = 1.0
    paced_yet = False
    for motion in run.motion:
        if motion.t_s >= PACED_AT_S and not paced_yet:
            est.pace(Pacer(PACED_AT_S, IN_S, OUT_S))
            paced_yet = True
        est.add_motion(motion)
        if motion.t_s >= next_s:
            est.estimate(motion.t_s + 0.02)
            next_s += 1.0
    return est.breaths, run.source


def test_a_longer_paced_in_breath_is_not_taken_for_the_out_breath() -> None:
    for seed in (1, 2):
        breaths, source = _estimate_breaths(seed)
        # No breath starts inside the one before it (an in/out swap would).
        for before, after in itertools.pairwise(breaths):
            assert after.onset_s >= before.onset_s + before.inhale_s + before.exhale_s - 0.5
        truth = [b for b in source.truth.breaths if not b.held]
        starts = np.array([b.start_s for b in truth])
        paced = [b for b in breaths if b.onset_s > PACED_AT_S + 40.0]
        assert len(paced) >= 15
        for b in paced:
            # The breath taken nearest: the chest lags the lungs a little.
            near = truth[int(np.argmin(np.abs(starts - b.onset_s)))]
            assert abs(near.start_s - b.onset_s) < 1.5, (seed, b, near)
            assert abs(b.inhale_s - (near.in_s + near.hold_s)) < 1.5, (seed, b, near)
            assert abs(b.exhale_s - near.out_s) < 1.5, (seed, b, near)
        # Over the paced breaths, the halves are the pacer's, the longer one in.
        assert abs(float(np.median([b.inhale_s for b in paced])) - IN_S) < 0.5
        assert abs(float(np.median([b.exhale_s for b in paced])) - OUT_S) < 0.5


def test_after_a_posture_change_the_direction_is_learnt_afresh() -> None:
    # Breathing freely (2 s in, 3 s out); at 90 s the person turns over (a burst
    # of motion), and breathing in now moves the strap the other way.
    rate_hz = 25.0
    t = np.arange(int(180.0 * rate_hz)) / rate_hz
    fill = _free_fill(t)
    turned = t >= 95.0
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2, len(t))
    y = np.where(turned, 300.0, -940.0) + rng.normal(0, 2, len(t))
    z = np.where(turned, 900.0 + 12.0 * fill, -340.0 - 12.0 * fill) + rng.normal(0, 2, len(t))
    moving = (t >= 90.0) & (t < 95.0)
    x[moving] += rng.normal(0, 150, int(moving.sum()))
    est = BreathEstimator()
    per = int(rate_hz)
    for i in range(0, len(t), per):
        sl = slice(i, i + per)
        est.add_motion(
            ChestMotion(float(t[sl][-1]), rate_hz, tuple(x[sl]), tuple(y[sl]), tuple(z[sl]))
        )
        est.estimate(float(t[sl][-1]) + 0.02)
    before = [b for b in est.breaths if 40.0 < b.onset_s < 88.0]
    # Learnt afresh from the first breaths after the motion (a settled direction
    # would hold out against them for a quarter of a minute).
    after = [b for b in est.breaths if b.onset_s > 100.0]
    assert len(before) >= 8
    assert len(after) >= 8
    for breaths in (before, after):
        # In-breaths start on the 5 s grid and are the shorter half.
        for b in breaths:
            assert min(b.onset_s % 5.0, 5.0 - b.onset_s % 5.0) < 0.8, b
        assert np.median([b.inhale_s for b in breaths]) < 2.5
        assert np.median([b.exhale_s for b in breaths]) > 2.5


def _free_fill(t: np.ndarray) -> np.ndarray:
    x = t % 5.0
    rising = (1 - np.cos(np.pi * np.clip(x / 2.0, 0, 1))) / 2
    falling = 1 - (1 - np.cos(np.pi * np.clip((x - 2.0) / 3.0, 0, 1))) / 2
    out: np.ndarray = np.where(x < 2.0, rising, falling)
    return out
