"""The breath estimator (biofeedback/signals/breath_estimate.py) on chest motion and RR."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.models import HeartSample
from biofeedback.signals.breath_estimate import (
    BreathEstimator,
    BreathQuality,
    BreathSource,
    Pacer,
    rate_from_rr,
)
from tests.support.chest import chest_times as _t
from tests.support.chest import feed_chest as _feed
from tests.support.chest import lung_fill as _fill


def test_rate_depth_phase_and_exhale_share_from_the_chest() -> None:
    est = BreathEstimator()
    t = _t(90.0)
    out = _feed(est, _fill(t, 2.0, 3.0))
    last = out[-1]
    assert last.quality is BreathQuality.OK
    assert last.source is BreathSource.ACC
    assert last.per_min == pytest.approx(12.0, abs=0.5)
    assert last.depth_mg == pytest.approx(12.4, rel=0.2)
    assert last.exhale_inhale == pytest.approx(1.5, rel=0.2)
    # The phase follows the breath: breathing in during the first 2 s of each 5.
    phases = [(e.t_s % 5.0, e.inhaling) for e in out[30:] if e.inhaling is not None]
    agree = [inhaling == (0.4 < p < 2.0) for p, inhaling in phases if abs(p - 2.0) > 0.6]
    assert sum(agree) >= 0.8 * len(agree)
    assert len(est.breaths) >= 12
    assert all(b.inhale_s < b.exhale_s for b in est.breaths[-5:])
    assert not est.holds


def test_a_held_breath_is_seen_within_seconds_and_measured() -> None:
    est = BreathEstimator()
    t = _t(80.0)
    fill = _fill(t, 1.6, 2.4)
    held = (t >= 42.0) & (t < 50.0)
    fill[held] = 1.0
    after = t >= 50.0
    fill[after] = _fill(t[after], 1.6, 2.4, start_s=50.0 - 1.6)
    out = _feed(est, fill)
    seen = [e.t_s for e in out if e.holding]
    assert seen
    assert 42.0 < seen[0] <= 42.0 + 4.5
    assert all(e.t_s < 51.5 for e in out if e.holding)
    assert len(est.holds) == 1
    assert est.holds[0].started_s == pytest.approx(42.0, abs=1.0)
    assert est.holds[0].duration_s == pytest.approx(8.0, abs=1.5)


def test_slow_paced_breaths_are_not_holds() -> None:
    est = BreathEstimator()
    est.pace(Pacer(0.0, 5.0, 8.0))
    _feed(est, _fill(_t(180.0), 5.0, 8.0))
    assert est.holds == []


def test_motion_makes_the_breath_unusable_for_a_while() -> None:
    est = BreathEstimator()
    out = _feed(est, _fill(_t(120.0), 2.0, 3.0), motion=(60.0, 63.0))
    by_t = {round(e.t_s): e for e in out}
    assert by_t[50].quality is BreathQuality.OK
    assert by_t[61].quality is BreathQuality.MOTION
    # Still again from 63 s: not trusted at once (hysteresis), then back.
    assert by_t[66].quality is not BreathQuality.OK
    assert by_t[66].source is not BreathSource.ACC
    assert by_t[100].quality is BreathQuality.OK
    assert by_t[100].per_min == pytest.approx(12.0, abs=0.7)


def test_following_the_pacer_and_not() -> None:
    follower = BreathEstimator()
    follower.pace(Pacer(0.0, 4.0, 6.0))
    # In-breaths a second behind the pacer's.
    last = _feed(follower, _fill(_t(90.0), 4.0, 6.0, start_s=1.0))[-1]
    assert last.following is True
    assert last.rate_ratio == pytest.approx(1.0, abs=0.1)
    assert last.phase_lag_s == pytest.approx(1.0, abs=0.7)

    fast = BreathEstimator()
    fast.pace(Pacer(0.0, 4.0, 6.0))
    last = _feed(fast, _fill(_t(90.0), 1.6, 2.4))[-1]
    assert last.following is False
    assert last.rate_ratio == pytest.approx(2.5, abs=0.3)


def _rsa_beats(breath_hz: float, seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t, times, rrs = 0.0, [], []
    while t < seconds:
        rr = 900.0 + 60.0 * math.sin(2 * math.pi * breath_hz * t) + rng.normal(0, 15)
        t += rr / 1000.0
        times.append(t)
        rrs.append(rr)
    return np.array(times), np.array(rrs)


def test_without_chest_motion_the_heart_gives_the_rate() -> None:
    est = BreathEstimator()
    times, rrs = _rsa_beats(0.25, 100.0)
    for i in range(0, len(times), 2):
        est.add_sample(
            HeartSample(
                float(times[i + 1 if i + 1 < len(times) else i]),
                None,
                tuple(rrs[i : i + 2]),
                tuple(times[i : i + 2]),
            )
        )
    got = est.estimate(100.0)
    assert got.source is BreathSource.RR
    assert got.quality is BreathQuality.RR_ONLY
    assert got.per_min == pytest.approx(15.0, abs=1.0)
    assert got.confidence > 0.3
    # Noise alone gives no confident rate.
    rng = np.random.default_rng(3)
    noise_t = np.cumsum(rng.normal(0.9, 0.0, 120))
    per_min, confidence = rate_from_rr(noise_t, rng.normal(900, 20, 120), float(noise_t[-1]))
    assert confidence < 0.3 or per_min is None


def test_nothing_to_go_on() -> None:
    got = BreathEstimator().estimate(30.0)
    assert got.quality is BreathQuality.NO_SIGNAL
    assert got.source is None
    assert got.per_min is None
