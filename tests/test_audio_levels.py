"""Loudness as BS.1770 measures it, and the mix's levels set by it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.loudness import (
    SPEECH_LUFS,
    LoudnessMeter,
    integrated_lufs,
    k_weighting,
    normalise,
)
from biofeedback.audio.mixer import TONE_LUFS, render
from biofeedback.audio.score import BELL_LUFS, SIGN_LUFS, Schedule, Sounds, ToneRun


def _sine(hz: float, peak: float, seconds: float = 5.0, rate: int = SAMPLE_RATE_HZ) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return peak * np.sin(2 * np.pi * hz * t)


def test_the_k_weighting_at_48_khz_is_the_standards_table() -> None:
    (shelf_b, shelf_a), (high_b, high_a) = k_weighting(48000)
    # ITU-R BS.1770-4, tables 1 and 2.
    assert shelf_b == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285])
    assert shelf_a == pytest.approx([1.0, -1.69065929318241, 0.73248077421585])
    assert high_b == pytest.approx([1.0, -2.0, 1.0])
    assert high_a == pytest.approx([1.0, -1.99004745483398, 0.99007225036621])


@pytest.mark.parametrize("rate", [SAMPLE_RATE_HZ, 48000])
def test_a_1_khz_sine_at_minus_20_dbfs_reads_minus_23_lufs(rate: int) -> None:
    # Peak -20 dBFS: mean square -23.0 dB, and K-weighting leaves 1 kHz almost as is
    # (the standard: a 0 dBFS 1 kHz sine on one channel reads -3.01 LUFS).
    assert integrated_lufs(_sine(1000.0, 0.1, rate=rate), rate) == pytest.approx(-23.0, abs=0.1)
    assert integrated_lufs(_sine(997.0, 1.0, rate=rate), rate) == pytest.approx(-3.01, abs=0.1)


def test_the_meter_reads_as_the_filter_run_sample_by_sample() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.05, SAMPLE_RATE_HZ * 20)
    weighted = noise
    for b, a in k_weighting(SAMPLE_RATE_HZ):
        weighted = scipy.signal.lfilter(b, a, weighted)
    reference = -0.691 + 10 * np.log10(np.mean(weighted**2))
    meter = LoudnessMeter()
    for i in range(0, len(noise), 12345):  # any block sizes
        meter.add(noise[i : i + 12345])
    assert meter.integrated_lufs() == pytest.approx(reference, abs=0.1)


def test_gating_leaves_silence_and_quiet_stretches_out() -> None:
    tone = _sine(1000.0, 0.1)
    quiet = _sine(1000.0, 0.001)  # 40 dB down: under the relative gate
    padded = np.concatenate([tone, np.zeros(SAMPLE_RATE_HZ * 10), quiet])
    assert integrated_lufs(padded) == pytest.approx(-23.0, abs=0.15)
    assert integrated_lufs(np.zeros(SAMPLE_RATE_HZ)) == -np.inf


def test_normalise_sets_the_loudness_and_keeps_peaks_down() -> None:
    loud = _sine(300.0, 0.9).astype(np.float32)
    assert integrated_lufs(normalise(loud, SPEECH_LUFS)) == pytest.approx(SPEECH_LUFS, abs=0.2)
    # A short word is measured as if repeated to fill a gating block.
    word = _sine(300.0, 0.02, seconds=0.2).astype(np.float32)
    assert integrated_lufs(np.tile(normalise(word, SPEECH_LUFS), 4)) == pytest.approx(
        SPEECH_LUFS, abs=0.5
    )
    # Raising a peaky sound to the target would clip it: the peak limit wins.
    click = np.zeros(SAMPLE_RATE_HZ, dtype=np.float32)
    click[100] = 0.01
    assert np.abs(normalise(click, SPEECH_LUFS)).max() <= 0.9


def test_tones_sit_10_to_14_db_under_speech_and_bells_and_signs_under_it() -> None:
    tones = render(Schedule((), (ToneRun(0.0, 0.0, 4.0, 6.0),)), 0, SAMPLE_RATE_HZ * 60)
    level = integrated_lufs(tones)
    assert level == pytest.approx(TONE_LUFS, abs=0.5)
    assert 10.0 <= SPEECH_LUFS - level <= 14.0
    sounds = Sounds.make()
    assert integrated_lufs(np.tile(sounds.bell, 3)) == pytest.approx(BELL_LUFS, abs=1.5)
    assert integrated_lufs(np.tile(sounds.bell, 3)) < SPEECH_LUFS - 5
    for sign in (sounds.lost, sounds.restored, sounds.tense, sounds.step_down, sounds.step_up):
        assert integrated_lufs(np.tile(sign, 3)) == pytest.approx(SIGN_LUFS, abs=1.5)
