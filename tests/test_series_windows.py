"""The batch path's windows at every tick are the general path's, to the bit.

``measure_series`` guesses every count (beats known, window starts, the corrected
beats') from one binary search and checks each guess; whatever the beats, gaps,
artifacts and ticks, its figures must be those of ``measure_windows`` over
``BeatWindows``/``FlagWindows``.
"""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.signals import arousal_series, series_windows
from biofeedback.signals.arousal import EstimatorConfig, QualityGate, measure_windows
from biofeedback.signals.arousal_series import _gate_series, _series_running_mean
from biofeedback.signals.hrv import BeatWindows, FlagWindows
from biofeedback.signals.rr_clean import RRCleaner
from biofeedback.signals.series_windows import Sorted, _one_off, measure_series, running_count
from tests.support.arousal_data import inject_artifacts


def test_measures_are_the_general_paths_on_any_beats_and_ticks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    cfg = EstimatorConfig()
    corrected = split = 0
    for trial in range(24):
        n = int(rng.integers(300, 3000))
        rr = 850.0 + 50.0 * np.sin(np.arange(n) / 7.0) + rng.normal(0.0, 4.0, n)
        if trial % 3:
            rr, _ = inject_artifacts(rr, [0.02, 0.2][trial % 2], rng)
        t = np.cumsum(rr) / 1000.0
        if trial % 4 == 1:
            keep = (t < t[-1] * 0.3) | (t > t[-1] * 0.3 + 40.0)  # a 40 s gap
            t, rr = t[keep], rr[keep]
        cleaner = RRCleaner(cfg.cleaner)
        cleaner.push(t, rr)
        beats = cleaner.process(final=True)
        corrected += bool(beats.kind.any())
        step = [1.0, 1.0, 0.5, 0.37][trial % 4]
        ticks = np.arange(t[0] + 1.0, t[-1] + 1e-9, step)
        if trial % 6 == 5:
            ticks = np.sort(rng.uniform(t[0], t[-1] + 5.0, ticks.size))  # uneven times
        if trial % 6 == 2:
            ticks = np.repeat(ticks, 2)  # each time asked twice: no grid step
        # Blocks of ticks as long as a long recording has, or a few dozen ticks.
        monkeypatch.setattr(series_windows, "_BLOCK", [16000, 97][trial // 4 % 2])
        windows, flags = BeatWindows(), FlagWindows()
        windows.extend(beats.t_s, beats.nn_ms, beats.available_s)
        flags.extend(beats.raw_t_s, beats.kind != 0, beats.raw_available_s)
        want = measure_windows(windows, flags.rate(ticks, cfg.artifact_window_s), ticks, cfg)
        # The corrected beats known found by searching them, or from the raw ones
        # known and what the cleaner split and merged.
        split += cleaner.uneven.at.size
        for uneven in (None, cleaner.uneven):
            raw_at = t.searchsorted(ticks, side="right")
            fast = measure_series(beats, ticks, raw_at, cfg, uneven=uneven)
            assert fast is not None
            for name in want.__slots__:
                got, expected = getattr(fast, name), getattr(want, name)
                assert got.tobytes() == expected.tobytes(), (trial, name, uneven is None)
    assert 0 < corrected < 24  # both kinds of recording were checked
    assert split > 20


def test_counts_from_guesses_are_the_searchs() -> None:
    rng = np.random.default_rng(3)
    v = np.sort(rng.uniform(0.0, 100.0, 500))
    v[100:110] = v[100]  # repeated values
    keys = np.sort(rng.uniform(-5.0, 105.0, 400))
    want = v.searchsorted(keys, side="right")
    for guess in (want.copy(), want + 1, want - 3, rng.integers(-10, 600, keys.size)):
        guess = np.clip(guess, 0, v.size)
        unsure = np.ones(keys.size, bool)
        assert np.array_equal(Sorted(v).counts(keys, guess.copy(), unsure), want)
        assert np.array_equal(Sorted(v).counts(keys, guess.copy()), want)
    assert Sorted(v[:0]).counts(keys, want.copy()).tolist() == [0] * keys.size


def test_counts_on_a_grid_are_the_searchs() -> None:
    rng = np.random.default_rng(5)
    for trial in range(18):
        v = np.sort(rng.uniform(0.0, 60.0, int(rng.integers(30, 400))))
        step = [1.0, 0.5, 0.37, 3.0][trial % 4]
        ticks = np.arange(v[0] + step * (trial % 3), v[-1] + 2.0, step)
        if trial % 3 == 1:
            v[::5] = ticks[rng.integers(0, ticks.size, v[::5].size)]  # beats right on ticks
            v.sort()
            v[10:20] = v[10]  # repeated times
        if trial % 4 == 3:
            ticks = np.sort(rng.uniform(-5.0, 70.0, 50))  # no grid: every guess checked
        if trial % 6 == 5:
            ticks = ticks[ticks < v[-1] - 5.0]  # values past the last tick,
            v[-1] = np.inf  # one of them endless
        want = v.searchsorted(ticks, side="right")
        assert np.array_equal(Sorted(v).on_grid(ticks), want), trial
        last = np.where(want > 0, v[np.maximum(want - 1, 0)], -np.inf)
        assert np.array_equal(Sorted(v).before(want), last), trial
    assert Sorted(np.arange(3.0)).on_grid(np.arange(0.0)).size == 0


def test_running_mean_by_blocks_is_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 5-minute reference a block of ticks at a time (window starts guessed from
    the grid and checked) is the plain running mean to the bit, across block edges,
    on even, uneven and repeated ticks, with NaN readings and too few of them."""
    rng = np.random.default_rng(13)
    for trial in range(12):
        n = int(rng.integers(200, 1500))
        ticks = np.arange(n) * [1.0, 0.5, 0.37][trial % 3] + rng.uniform(0, 100)
        if trial % 4 == 3:
            ticks = np.sort(rng.uniform(0.0, n, n))
        if trial % 6 == 5:
            ticks = np.repeat(ticks[: n // 2], 2)
        values = rng.normal(3.5, 0.4, ticks.size)
        values[rng.random(ticks.size) < [0.05, 0.6][trial % 2]] = np.nan
        span_s = [300.0, 30.0, 7.3][trial % 3]
        ok = np.isfinite(values)
        sums = np.concatenate(([0.0], np.cumsum(np.where(ok, values, 0.0))))
        counts = np.concatenate(([0], np.cumsum(ok)))
        lo = np.searchsorted(ticks, ticks - span_s, side="right")
        with np.errstate(divide="ignore", invalid="ignore"):
            want = (sums[1:] - sums[lo]) / (counts[1:] - counts[lo])
        want[counts[1:] - counts[lo] < max(span_s / 2, 1)] = np.nan
        for block in (97, 16000):
            monkeypatch.setattr(arousal_series, "_BLOCK", block)
            got = _series_running_mean(ticks, values, span_s)
            assert got.tobytes() == want.tobytes(), (trial, block)


def stretches(rng: np.random.Generator, n: int, mean_run: float, p: float) -> np.ndarray:
    """``n`` flags in stretches of about ``mean_run``, each set with chance ``p``."""
    flags, at = np.empty(n, bool), 0
    while at < n:
        size = int(rng.geometric(1.0 / mean_run))
        flags[at : at + size] = rng.random() < p
        at += size
    return flags


def test_the_gate_by_stretches_is_the_live_gate_tick_by_tick() -> None:
    """``_gate_series`` (stretches of clean and usable ticks) says at every tick what
    ``QualityGate.update`` says offered the ticks with signal one by one: long and
    short stretches, every tick its own stretch, ticks without signal, repeated and
    unordered times, NaN times and rates, nothing usable."""
    rng = np.random.default_rng(29)
    cfg = EstimatorConfig()
    for trial in range(60):
        n = int(rng.integers(1, 600))
        t: np.ndarray = np.cumsum(rng.uniform(0.2, 2.0, n)) + rng.uniform(-50.0, 50.0)
        if trial % 2:  # on a grid: runs of exactly ``ok_after_s``
            t = np.arange(n) * [1.0, 0.5][trial % 4 // 2] + float(rng.integers(-50, 50))
        # Stretches of a length drawn per trial: from one tick to hundreds.
        mean_run = [1.0, 3.0, 40.0, 300.0][trial % 4]
        usable = stretches(rng, n, mean_run, 0.8)
        rate = np.where(
            stretches(rng, n, mean_run, 0.7), rng.uniform(0.0, 0.08, n), rng.uniform(0.0, 0.3, n)
        )
        signal = stretches(rng, n, mean_run, 0.9) if trial % 3 else np.ones(n, bool)
        if trial % 5 == 1:
            t[rng.integers(0, n, 3)] = np.nan
            rate[rng.integers(0, n, 3)] = np.nan
        if trial % 7 == 2:
            t = np.repeat(t[: (n + 1) // 2], 2)[:n]
        if trial % 11 == 3:
            rng.shuffle(t)
        if trial % 13 == 4:
            usable[:] = False
        live = QualityGate(cfg)
        want = [bool(s) and live.update(float(x), bool(u), float(r)) for x, s, u, r in
                zip(t, signal, usable, rate, strict=True)]  # fmt: skip
        got = _gate_series(t, signal, usable, rate, cfg)
        assert got.tolist() == want, trial


def test_running_counts_by_steps_are_the_sums() -> None:
    """Few flags (or few unflagged) counted by repeating the count between them:
    the running sum's counts, dtype and all, at every density and length."""
    rng = np.random.default_rng(31)
    for n in (0, 1, 2, 7, 100, 5000):
        for share in (0.0, 0.002, 0.02, 0.1, 0.5, 0.9, 0.98, 0.999, 1.0):
            flags = rng.random(n) < share
            want = np.concatenate(([0], np.cumsum(flags))).astype(np.int32)
            assert running_count(flags).tobytes() == want.tobytes(), (n, share)


def test_counts_one_off_another_arrays_are_the_checked_ones() -> None:
    """A count guessed from another array's, one place off (raw beats known from
    those ended, corrected ended from those known), checked only beside the
    places where the arrays are not one off: what checking every guess gives,
    NaN keys and guesses clipped at either end included."""
    rng = np.random.default_rng(37)
    for trial in range(200):
        n = int(rng.integers(0, 60))
        w = np.sort(np.round(rng.uniform(0.0, 50.0, n)))  # ties
        off = [-1, 1][trial % 2]
        v = np.empty(n)
        for j in range(n):
            v[j] = w[min(max(j - off, 0), n - 1)]
        odd = rng.random(n) < [0.0, 0.1, 0.5][trial % 3]
        v[odd] += rng.choice([-0.5, 0.0, 0.5, 3.0], int(odd.sum()))
        v.sort()
        keys = np.sort(rng.uniform(-5.0, 55.0, int(rng.integers(1, 80))))
        keys[rng.random(keys.size) < 0.1] = np.round(keys[0])  # keys on values
        if trial % 5 == 4:
            keys[rng.integers(0, keys.size)] = np.nan
        guess = np.clip(w.searchsorted(keys, side="right") + off, 0, n)
        want = Sorted(v).counts(keys, guess.copy())
        got = _one_off(v, w, keys, guess.copy(), off)
        assert got.tolist() == want.tolist(), trial
        finite = ~np.isnan(keys)
        assert np.array_equal(got[finite], v.searchsorted(keys[finite], side="right"))
