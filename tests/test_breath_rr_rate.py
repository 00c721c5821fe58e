"""The breathing rate from the heart's rhythm: the session's quick path gives the
plain numpy reading's figures: the rate to the bit, the strength within 1e-9 (its
line is polyfit's from the closed form, signals/line_fit.py; issue 28: replay
speed without changing a decision)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.models import HeartSample
from biofeedback.signals.breath_estimate import BreathEstimator, BreathSource, rate_from_rr
from biofeedback.signals.line_fit import line_fit


def _reference_rate(
    t_s: np.ndarray, rr_ms: np.ndarray, now_s: float, exact: bool = False
) -> tuple[float | None, float]:
    """The reading as first written, public numpy calls only (the reference); with
    ``exact``, the line is the session's (``line_fit``, x's sums worked out afresh
    each time) instead of polyfit's: the session's figures to the bit."""
    keep = (t_s > now_s - 64.0) & (t_s <= now_s)
    t, rr = t_s[keep], rr_ms[keep]
    if len(t) < 30 or t[-1] - t[0] < 0.75 * 64.0:
        return None, 0.0
    med = float(np.median(rr))
    good = np.abs(rr - med) < 0.3 * med
    t, rr = t[good], rr[good]
    if len(t) < 30:
        return None, 0.0
    grid = np.arange(t[0], t[-1], 0.25)
    hr = np.interp(grid, t, 60000.0 / rr)
    x = grid - grid[0]
    slope, offset = line_fit(x, hr) if exact else np.polyfit(x, hr, 1)
    hr = (hr - (slope * x + offset)) * np.hanning(len(hr))
    power = np.abs(np.fft.rfft(hr, 2048)) ** 2
    freqs = np.fft.rfftfreq(2048, 0.25)
    band = (freqs >= 0.05) & (freqs <= 0.5)
    bp, bf = power[band], freqs[band]
    if bp.sum() <= 0:
        return None, 0.0
    peak = int(np.argmax(bp))
    near = np.abs(bf - bf[peak]) <= 0.02
    share = float(bp[near].sum() / bp.sum())
    chance = float(near.sum() / len(bf))
    return 60.0 * float(bf[peak]), max((share - chance) / (1.0 - chance), 0.0)


def _beats(seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """RSA at a wandering breathing rate, with missed and extra beats now and then."""
    rng = np.random.default_rng(seed)
    t, times, rrs = 0.0, [], []
    while t < seconds:
        hz = 0.2 + 0.1 * math.sin(t / 97.0)
        rr = 850.0 + 70.0 * math.sin(2 * math.pi * hz * t) + rng.normal(0, 12)
        if rng.random() < 0.02:
            rr *= rng.choice([0.5, 2.0])
        t += rr / 1000.0
        times.append(t)
        rrs.append(rr)
    return np.array(times), np.array(rrs)


def test_the_sessions_rate_from_the_heart_is_the_plain_reading_to_the_bit() -> None:
    times, rrs = _beats(600.0, seed=11)
    # The second estimator's beats go back in time once (a strap's rebuilt times):
    # it reads its window by the mask instead of by bisection, with the same figures.
    jumbled = times.copy()
    jumbled[500] = jumbled[495]
    kept = (rrs >= 300.0) & (rrs <= 2000.0)
    rated = 0
    for beat_t in (times, jumbled):
        est = BreathEstimator()
        i = 0
        for now in range(1, 601):
            j = int(np.searchsorted(times, now, side="right"))
            est.add_sample(HeartSample(float(now), 70.0, tuple(rrs[i:j]), tuple(beat_t[i:j])))
            i = j
            if now % 5:
                continue
            got = est.estimate(float(now))
            # The estimator keeps the last 400 plausible beats.
            seen = np.flatnonzero(kept[:j])[-400:]
            want = _reference_rate(beat_t[seen], rrs[seen], float(now))
            rate, strength = rate_from_rr(beat_t[seen], rrs[seen], float(now))
            # The rate is a bin's frequency (the same bin, the same bits); the
            # strength differs in the last bits alone (the closed-form line fit).
            assert rate == want[0]
            assert strength == pytest.approx(want[1], rel=1e-9, abs=1e-12)
            if want[0] is not None and want[1] >= est.config.rr_min_confidence:
                assert (got.source, got.per_min) == (BreathSource.RR, want[0])
                assert got.confidence == pytest.approx(want[1], rel=1e-9)
                rated += 1
            else:
                assert got.source is None
    assert rated > 150  # the comparison ran on real readings, not on "no rate" alone


def test_the_rate_from_the_heart_on_awkward_beats_is_the_plain_reading() -> None:
    """The beats are kept in arrays (the window a view, the oldest moved out when
    they are full): on beat times that are NaN, -0.0, repeated or going back, with
    implausible intervals, empty notifications and one that brings ~1,000 beats at
    once (the arrays filled and moved inside one call), every reading is the plain
    one over the last 400 plausible beats: the rate to the bit."""
    times, rrs = _beats(1300.0, seed=5)
    beat_t = times.copy()
    beat_t[0], beat_t[1] = -0.0, 0.0  # the same time, signed zeros
    beat_t[300] = math.nan  # before the big notification
    beat_t[640] = beat_t[630]  # back in time, inside the big notification
    beat_t[1200] = math.nan  # after it: read by the mask for the next 400 beats
    beat_t[1205] = beat_t[1204]  # a repeated time is in order
    beat_t[1400] = beat_t[1390]  # back again, later
    rrs[[50, 51, 1300]] = (250.0, 2500.0, 2100.0)  # implausible: never kept
    kept = (rrs >= 300.0) & (rrs <= 2000.0)
    est = BreathEstimator()
    i = 0
    readings = {"rated": 0, "none": 0}
    for now in range(1, 1301):
        # Nothing arrives for the first 900 s but empty notifications; then it all at once.
        j = int(np.searchsorted(times, now, side="right")) if now >= 900 else 0
        est.add_sample(HeartSample(float(now), 70.0, tuple(rrs[i:j]), tuple(beat_t[i:j])))
        i = max(i, j)
        if now % 5:
            continue
        got = est.estimate(float(now))
        seen = np.flatnonzero(kept[:j])[-400:]
        want = _reference_rate(beat_t[seen], rrs[seen], float(now))
        if want[0] is not None and want[1] >= est.config.rr_min_confidence:
            assert (got.source, got.per_min) == (BreathSource.RR, want[0])
            assert got.confidence == pytest.approx(want[1], rel=1e-9)
            readings["rated"] += 1
        else:
            assert got.source is None
            readings["none"] += 1
    assert len(times) > 1500  # the arrays were full and moved more than once
    # Both kinds of reading ran.
    assert readings["rated"] > 40
    assert readings["none"] > 150


def test_the_rate_from_the_heart_is_the_exact_reading_to_the_bit_on_either_grid() -> None:
    """A reading's line reuses the sums of its grid's usual x (i / 4 s, worked out
    once per length) where the grid's x is that to the bit; where the grid crosses
    a power of two its steps round and x's own sums are worked out. Either way
    every reading, the session's and ``rate_from_rr``'s, is the exact reading's
    (``line_fit`` with nothing reused) to the bit, rate and strength."""
    times, rrs = _beats(900.0, seed=3)
    kept = (rrs >= 300.0) & (rrs <= 2000.0)
    grids = {"usual": 0, "rounded": 0}
    rated = 0
    # Times from 0 s (crossing 64, 128, 256 and 512 s), and from near 4096 s and
    # 65536 s, where a grid's steps round as it crosses.
    for start_s in (0.0, 4096.0 - 400.0 + 1e-7, 65536.0 - 400.0 + 3e-9):
        beat_t = times + start_s
        est = BreathEstimator()
        i = 0
        for now in np.arange(start_s + 5.0, start_s + 900.0, 5.0).tolist():
            j = int(np.searchsorted(beat_t, now, side="right"))
            est.add_sample(HeartSample(now, 70.0, tuple(rrs[i:j]), tuple(beat_t[i:j])))
            i = j
            seen = np.flatnonzero(kept[:j])[-400:]
            want = _reference_rate(beat_t[seen], rrs[seen], now, exact=True)
            assert rate_from_rr(beat_t[seen], rrs[seen], now) == want
            got = est.estimate(now)
            if want[0] is not None and want[1] >= est.config.rr_min_confidence:
                assert (got.source, got.per_min, got.confidence) == (BreathSource.RR, *want)
                rated += 1
            else:
                assert got.source is None
            window = beat_t[seen][(beat_t[seen] > now - 64.0) & (beat_t[seen] <= now)]
            if len(window) >= 30:
                grid = np.arange(window[0], window[-1], 0.25)
                usual = np.array_equal(grid - grid[0], np.arange(len(grid)) * 0.25)
                grids["usual" if usual else "rounded"] += 1
    # Both ways ran, on real readings.
    assert grids["usual"] > 300
    assert grids["rounded"] >= 20
    assert rated > 150
