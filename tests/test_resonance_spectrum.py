"""The live resonance reading takes one transform for its LF peak and its
coherence, and sums over slices of the band: the figures must be those of the
two-transform, whole-spectrum arithmetic it replaced (issue 28: a session's events
stay identical). So must its shortcuts: the window as a tail of ordered beats,
both percentiles from one partition. The line removed is polyfit's from its closed
form (tests/test_line_fit.py), so the unrounded figures are the arithmetic
before's within 1e-9, the shown (rounded) ones identical."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from biofeedback.models import HeartSample, ResonanceUpdate
from biofeedback.pacing.resonance_live import (
    ResonanceTracker,
    _coherence,
    _spread,
    window_figures,
)
from biofeedback.signals.line_fit import without_line
from biofeedback.signals.median import percentile
from biofeedback.signals.resonance import LF_BAND_HZ, RESAMPLE_HZ, lf_spectrum, tapered_spectrum
from tests.support.arousal_data import load_rr, samples_from_rr


def _lf_as_before(series: np.ndarray, fs_hz: float = RESAMPLE_HZ) -> tuple[float, float | None]:
    n = series.size
    taper = np.hanning(n)
    spectrum = np.fft.rfft(series * taper, n=max(8192, n))
    freqs = np.fft.rfftfreq(max(8192, n), 1.0 / fs_hz)
    density = (np.abs(spectrum) ** 2) * 2.0 / (fs_hz * np.sum(taper**2))
    band = (freqs >= LF_BAND_HZ[0]) & (freqs <= LF_BAND_HZ[1])
    if not band.any():
        return 0.0, None
    df = freqs[1] - freqs[0]
    return float(np.sum(density[band]) * df), float(freqs[band][int(np.argmax(density[band]))])


def _coherence_as_before(hr: np.ndarray) -> tuple[float | None, float | None]:
    _, peak_hz = _lf_as_before(hr)
    if peak_hz is None:
        return None, None
    n = max(8192, hr.size)
    power = np.abs(np.fft.rfft(hr * np.hanning(hr.size), n=n)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / RESAMPLE_HZ)
    total_band = (freqs >= 0.0033) & (freqs <= 0.4)
    total = float(np.sum(power[total_band]))
    if total <= 0:
        return None, peak_hz
    near = total_band & (np.abs(freqs - peak_hz) <= 0.015)
    return min(float(np.sum(power[near])) / total, 1.0), peak_hz


@pytest.mark.parametrize("size", [32, 200, 255, 256, 257, 9000])
def test_lf_and_coherence_are_those_of_two_transforms_to_the_bit(size: int) -> None:
    rng = np.random.default_rng(size)
    t = np.arange(size) / RESAMPLE_HZ
    for _ in range(5):
        # A slow wave near resonance in noise, as a paced heart gives.
        hr = 6.0 * np.sin(2 * np.pi * rng.uniform(0.05, 0.12) * t) + rng.normal(0, 2, size)
        assert lf_spectrum(hr) == _lf_as_before(hr)
        assert _coherence(hr) == _coherence_as_before(hr)
    # A flat series has no power anywhere; a rate too low for the band finds none.
    flat = np.zeros(size)
    assert _coherence(flat) == _coherence_as_before(flat)
    assert lf_spectrum(hr, 0.05) == _lf_as_before(hr, 0.05)


def test_the_shared_taper_and_frequencies_cannot_be_changed_by_a_caller() -> None:
    _, freqs, taper = tapered_spectrum(np.ones(64))
    for shared in (freqs, taper):
        with pytest.raises(ValueError, match="read-only"):
            shared[0] = 1.0


def test_the_swing_is_two_percentiles_to_the_bit() -> None:
    rng = np.random.default_rng(12)
    for k in range(600):
        n = int(rng.integers(1, 700))
        values = rng.normal(0.0, 5.0, n)
        if k % 4 == 0:
            values = np.round(values)  # ties
        if k % 4 == 1:
            values = rng.choice([-0.0, 0.0, -1.0, 2.0], n)  # zeros of both signs
        want = percentile(values, 95) - percentile(values, 5)
        got = _spread(values, 5, 95)
        assert got == want, k
        assert np.signbit(got) == np.signbit(want), k
        assert got == np.percentile(values, 95) - np.percentile(values, 5), k
    for odd in (np.array([1.0, np.nan, 3.0]), np.array([]), np.array([np.inf, 1.0, 2.0])):
        want = percentile(odd, 95) - percentile(odd, 5)
        assert np.array_equal(_spread(odd, 5, 95), want, equal_nan=True)


def _figures_as_before(
    t: np.ndarray, nn: np.ndarray, now_s: float, window_s: float
) -> tuple[float | None, float | None, float] | None:
    """The reading's arithmetic before issue 28's shortcuts: a mask for the window,
    polyfit, two transforms, two percentiles."""
    inside = t >= now_s - window_s
    t, nn = t[inside], nn[inside]
    if nn.size < 16 or float(np.sum(nn)) / 1000.0 < 0.75 * window_s:
        return None
    grid = np.arange(t[0], t[-1], 1.0 / RESAMPLE_HZ)
    if grid.size < 32:
        return None
    hr = np.interp(grid, t, 60000.0 / nn)
    x = grid - grid[0]
    hr = hr - np.polyval(np.polyfit(x, hr, 1), x)
    coherence, peak_hz = _coherence_as_before(hr)
    return coherence, peak_hz, float(np.percentile(hr, 95) - np.percentile(hr, 5))


def _stream_readings(samples: list[HeartSample]) -> tuple[ResonanceTracker, int]:
    """Feed a tracker; at each reading (every 5 s) compare its figures, unrounded,
    and its event with the arithmetic before. Returns the tracker and how many
    readings had figures."""
    tracker = ResonanceTracker()
    scored = 0
    next_s = samples[0].t_s + 64.0
    for sample in samples:
        tracker.add_sample(sample)
        if sample.t_s < next_s:
            continue
        next_s += 5.0
        now_s = sample.t_s
        reading = tracker.reading(now_s)
        beats = tracker.beats()  # every beat so far (none forgotten yet)
        want = _figures_as_before(beats.t_s, beats.nn_ms, now_s, tracker.window_s)
        inside = beats.t_s >= now_s - tracker.window_s
        got = window_figures(beats.t_s[inside], beats.nn_ms[inside], tracker.window_s)
        # The closed-form line differs from polyfit's in the last bits alone.
        assert (got is None) == (want is None), now_s
        if got is not None and want is not None:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), now_s
        expected = ResonanceUpdate(now_s, tracker.window_s, None, None, None, None)
        if want is not None:
            scored += 1
            coherence, peak_hz, swing = want
            expected = ResonanceUpdate(
                now_s,
                tracker.window_s,
                None if coherence is None else round(coherence, 3),
                None if peak_hz is None else round(peak_hz, 4),
                None if peak_hz is None else round(peak_hz * 60.0, 2),
                round(swing, 2),
            )
        assert reading == expected, now_s
    return tracker, scored


def test_the_live_reading_is_the_arithmetic_before_on_ordered_and_unordered_beats(
    shared_rr: Path,
) -> None:
    rr = load_rr("polar_h10_slow_breathing_rr.csv", shared_rr)[:700]
    samples = samples_from_rr(rr)
    tracker, scored = _stream_readings(samples)
    assert tracker.beats_ordered
    assert scored > 50
    # A source whose beat times fall back once (a clock reset): the window is then
    # found by the mask, and the figures are still the arithmetic before.
    cut = len(samples) // 3
    back = [
        dataclasses.replace(s, beat_t_s=tuple(t - 30.0 for t in s.beat_t_s)) if i == cut else s
        for i, s in enumerate(samples)
    ]
    tracker, scored = _stream_readings(back)
    assert not tracker.beats_ordered
    assert scored > 50
    # A heart rate that never changes (a metronome source): the line's residuals
    # are the fit's rounding alone, and the shown figures come from them, so only
    # the same arithmetic to the bit shows the same figures.
    tracker, scored = _stream_readings(samples_from_rr(np.full(300, 923.0)))
    assert scored > 30


def _figures_afresh(
    t: np.ndarray, nn: np.ndarray, window_s: float
) -> tuple[float | None, float | None, float] | None:
    """The reading's arithmetic with nothing kept from one reading to the next:
    the line fitted over x afresh, the spectrum's bins found afresh."""
    if nn.size < 16 or float(np.sum(nn)) / 1000.0 < 0.75 * window_s:
        return None
    grid = np.arange(t[0], t[-1], 1.0 / RESAMPLE_HZ)
    if grid.size < 32:
        return None
    hr = without_line(grid - grid[0], np.interp(grid, t, 60000.0 / nn))
    coherence, peak_hz = _coherence_as_before(hr)
    return coherence, peak_hz, percentile(hr, 95) - percentile(hr, 5)


def test_what_a_reading_keeps_from_the_last_gives_its_figures_to_the_bit() -> None:
    # A window's grid less its start is k / 4 s to the bit, and the line fit's sums
    # of it are kept, unless the window straddles a power of two in seconds (its
    # grid's values then round): both kinds, and windows of other sizes.
    rng = np.random.default_rng(28)
    kinds = {"kept": 0, "afresh": 0}
    starts = [1000.0 + rng.uniform(0, 1), 4096.0 - rng.uniform(1, 40), 2.0**16 - 30.0]
    for start in starts + list(rng.uniform(60.0, 86400.0, 20)):
        for span_s in (40.0, 64.0, 64.3, 90.0):
            nn = 60000.0 / (65 + 8 * np.sin(np.arange(200) / 2.0) + rng.normal(0, 2, 200))
            t = start + np.cumsum(nn) / 1000.0
            t, nn = t[t <= t[0] + span_s], nn[t <= t[0] + span_s]
            grid = np.arange(t[0], t[-1], 1.0 / RESAMPLE_HZ)
            usual = (grid - grid[0]).tobytes() == (np.arange(grid.size) / 4.0).tobytes()
            kinds["kept" if usual else "afresh"] += 1
            got, want = window_figures(t, nn, span_s), _figures_afresh(t, nn, span_s)
            assert repr(got) == repr(want), (start, span_s)
    assert min(kinds.values()) > 5, kinds


def test_a_tracker_that_forgets_old_beats_reads_as_one_that_keeps_them() -> None:
    # Past 4,096 beats the live tracker drops all but the last two windows' beats
    # (the beats are kept as arrays, the window a view of them): its readings stay
    # those of a tracker that keeps every beat.
    rr = 60000.0 / (62 + 6 * np.sin(np.arange(5200) / 1.7)) + np.random.default_rng(3).normal(
        0, 15, 5200
    )
    samples = samples_from_rr(np.round(rr))
    forgets, keeps = ResonanceTracker(), ResonanceTracker(keep_all=True)
    next_s = samples[0].t_s + 64.0
    readings = 0
    for sample in samples:
        forgets.add_sample(sample)
        keeps.add_sample(sample)
        if sample.t_s >= next_s:
            next_s += 5.0
            readings += 1
            assert forgets.reading(sample.t_s) == keeps.reading(sample.t_s), sample.t_s
    assert forgets.beats().t_s.size < 4096 < keeps.beats().t_s.size
    assert readings > 800


def test_a_reading_written_into_a_spectrum_it_is_handed_is_the_reading_into_a_new_one() -> None:
    # The tracker hands each reading one array to write its transform to: the
    # figures are those of a new array whatever the array held before (NaN, the
    # last reading's), and an array of another size than the transform's (a window
    # longer than the padding) is left alone and a new one used.
    rng = np.random.default_rng(30)
    handed = np.full(8192 // 2 + 1, np.nan, dtype=np.complex128)
    seen = 0
    for span_s in (40.0, 64.0, 64.3, 300.0, 2100.0):
        for _ in range(4):
            count = int(span_s * 1.4) + 20
            nn = 60000.0 / (65 + 8 * np.sin(np.arange(count) / 2.0) + rng.normal(0, 2, count))
            t = rng.uniform(60.0, 80000.0) + np.cumsum(nn) / 1000.0
            t, nn = t[t <= t[0] + span_s], nn[t <= t[0] + span_s]
            before = handed.copy()
            got = window_figures(t, nn, span_s, handed)
            assert repr(got) == repr(window_figures(t, nn, span_s)), span_s
            if span_s * RESAMPLE_HZ > 8192:
                # Not its size: untouched (NaN compares unequal, so compare bytes).
                assert handed.tobytes() == before.tobytes()
            else:
                seen += not np.array_equal(handed, before, equal_nan=True)
    assert seen > 10
