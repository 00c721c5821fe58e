"""The live resonance reading takes one transform for its LF peak and its
coherence, and sums over slices of the band: the figures must be those of the
two-transform, whole-spectrum arithmetic it replaced, to the bit (issue 28: a
session's events stay identical)."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.pacing.resonance_live import _coherence
from biofeedback.signals.line_fit import without_line
from biofeedback.signals.resonance import LF_BAND_HZ, RESAMPLE_HZ, lf_spectrum, tapered_spectrum


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


def test_the_line_removed_is_polyfit_and_polyval_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(32, 400))
        start_s = rng.uniform(0.0, 90_000.0)
        grid = np.arange(start_s, start_s + n / RESAMPLE_HZ, 1.0 / RESAMPLE_HZ)
        x = grid - grid[0]
        hr = rng.normal(70.0, 5.0, grid.size) + rng.uniform(-0.2, 0.2) * x
        expected = hr - np.polyval(np.polyfit(x, hr, 1), x)
        assert np.array_equal(without_line(x, hr), expected)
    flat = np.full(64, 61.5)
    x = np.arange(64) / RESAMPLE_HZ
    assert np.array_equal(without_line(x, flat), flat - np.polyval(np.polyfit(x, flat, 1), x))
