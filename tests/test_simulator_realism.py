"""The calm simulated person looks like the real recordings in tests/data/rr.

Ranges are not typed in: each figure is measured here, with the same code, on
the three resting recordings (a Polar H10 during slow breathing and two MIT-BIH
Normal Sinus Rhythm Database segments; sources and licences in
tests/data/rr/README.md), and the simulated figure must fall between their
lowest and highest. Measured on them at the time of writing:

    figure                        polar slow   nsrdb 60 min   nsrdb 5 min
    mean HR (bpm)                   61.8          78.1          67.5
    RMSSD (ms, uncorrected)         37.4          60.5         101.3
    SD of 30 s mean HR (bpm)         1.65          3.60          2.88
    SD of 30 s ln RMSSD              0.171         0.301         0.225
    spectral peak (Hz)               0.062         0.097         0.241
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biofeedback.models import StepKind
from biofeedback.signals.hrv import mean_hr_bpm, rmssd_ms
from simulators.source import SimulatedSource
from tests.support.simulator import (
    drive,
    load_rr,
    spectral_peak_hz,
    step,
    window_spread,
)

RESTING = (
    "polar_h10_slow_breathing_rr.csv",
    "nsrdb_pyhrv_60min_nni.txt",
    "nsrdb_pyhrv_5min_nni.txt",
)
TEN_MINUTES_S = 600.0


def figures(rr_ms: np.ndarray) -> dict[str, float]:
    hr_spread, ln_rmssd_spread = window_spread(rr_ms, 30.0)
    return {
        "mean HR": mean_hr_bpm(rr_ms),
        "RMSSD": rmssd_ms(rr_ms),
        "SD of 30 s mean HR": hr_spread,
        "SD of 30 s ln RMSSD": ln_rmssd_spread,
    }


@pytest.fixture(scope="module")
def real_ranges(shared_rr: Path) -> dict[str, tuple[float, float]]:
    measured = [figures(load_rr(shared_rr / name)) for name in RESTING]
    return {
        key: (min(m[key] for m in measured), max(m[key] for m in measured)) for key in measured[0]
    }


def test_the_ranges_are_those_the_readme_reports(
    real_ranges: dict[str, tuple[float, float]],
) -> None:
    # tests/data/rr/README.md: polar 61.8 bpm, RMSSD 37.4; SD of 30 s windows
    # 1.7 (polar) to 3.6 bpm (nsrdb 60 min), ln RMSSD 0.17 to 0.31.
    assert real_ranges["mean HR"][0] == pytest.approx(61.8, abs=0.1)
    assert real_ranges["RMSSD"][0] == pytest.approx(37.4, abs=0.1)
    assert real_ranges["SD of 30 s mean HR"] == pytest.approx((1.7, 3.6), abs=0.06)
    assert real_ranges["SD of 30 s ln RMSSD"] == pytest.approx((0.17, 0.30), abs=0.015)


def test_calm_at_rest_falls_within_the_real_recordings(
    real_ranges: dict[str, tuple[float, float]],
) -> None:
    # Ten minutes is short: one run's window spreads vary as much as people do.
    # The scenario's own seed must land in range, and so must the typical run
    # (the median over ten seeds), which is what says the model is right.
    runs = [drive(SimulatedSource("calm", seed=seed), TEN_MINUTES_S) for seed in range(1, 11)]
    assert runs[0].source.seed == SimulatedSource("calm").seed
    measured = [figures(run.rr_ms) for run in runs]
    for key, (low, high) in real_ranges.items():
        own = measured[0][key]
        typical = float(np.median([m[key] for m in measured]))
        assert low <= own <= high, f"{key}: {own:.3f} not in {low:.3f}..{high:.3f}"
        assert low <= typical <= high, f"{key}: median {typical:.3f} not in {low:.3f}..{high:.3f}"
    # Breathing on their own (~0.25 Hz), as in the 5 min NSRDB segment (0.24 Hz).
    assert spectral_peak_hz(runs[0].rr_ms) == pytest.approx(0.25, abs=0.03)


def test_calm_paced_like_the_polar_recording_looks_like_it(shared_rr: Path) -> None:
    polar = load_rr(shared_rr / "polar_h10_slow_breathing_rr.csv")
    # The recording breathes at ~0.062 Hz; pace the simulated person at 16 s a breath.
    paced = step(0.0, StepKind.BREATH, breath=(6.5, 9.5))
    runs = [drive(SimulatedSource("calm", seed=s), TEN_MINUTES_S, [paced]) for s in range(1, 11)]
    assert spectral_peak_hz(polar) == pytest.approx(1 / 16, abs=0.005)
    for run in runs:
        assert spectral_peak_hz(run.rr_ms) == pytest.approx(1 / 16, abs=0.005)
    # Slow breathing swings RR widely (polar: SD 80 ms, RMSSD 37.4 ms, 61.8 bpm);
    # the typical simulated run is within a third of that one real person.
    assert np.median([np.std(r.rr_ms) for r in runs]) == pytest.approx(np.std(polar), rel=0.33)
    assert np.median([rmssd_ms(r.rr_ms) for r in runs]) == pytest.approx(rmssd_ms(polar), rel=0.33)
    assert np.median([mean_hr_bpm(r.rr_ms) for r in runs]) == pytest.approx(
        mean_hr_bpm(polar), abs=8.0
    )


def test_session_pace_puts_the_peak_at_the_breathing_rate() -> None:
    # The session's breath steps pace 4 s in, 6 s out: 0.1 Hz.
    run = drive(
        SimulatedSource("calm"), TEN_MINUTES_S, [step(0.0, StepKind.BREATH, breath=(4.0, 6.0))]
    )
    assert spectral_peak_hz(run.rr_ms) == pytest.approx(0.1, abs=0.005)
