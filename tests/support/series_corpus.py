"""Recordings for checking the batch estimator against the live one, and against itself
before and after a change (``digest``).

Cases: every real recording in tests/data/rr as it is and with strap artifacts,
arousal ramps late and from the very start (a rising opening: retaken, or marked
rising), a slow rise in the opening (postponed, then retaken longer), signal gaps,
and a baseline handed over from earlier sessions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from biofeedback.models import Contact, HeartSample
from biofeedback.signals.arousal import ArousalEstimator
from biofeedback.signals.arousal_series import (
    BASELINE_HOWS,
    QUALITIES,
    SeriesEstimate,
    estimate_series,
)
from tests.support.arousal_data import (
    PVC,
    RESTING,
    SHARED_RR,
    beat_times,
    inject_artifacts,
    inject_ramp,
    load_rr,
)


@dataclass(frozen=True, slots=True)
class SeriesCase:
    label: str
    rr_ms: np.ndarray
    t_s: np.ndarray
    baseline_hr_bpm: float | None = None
    baseline_rmssd_ms: float | None = None

    def estimate(self) -> SeriesEstimate:
        return estimate_series(
            self.rr_ms,
            self.t_s,
            baseline_hr_bpm=self.baseline_hr_bpm,
            baseline_rmssd_ms=self.baseline_rmssd_ms,
        )

    def live(self) -> ArousalEstimator:
        return ArousalEstimator(
            baseline_hr_bpm=self.baseline_hr_bpm, baseline_rmssd_ms=self.baseline_rmssd_ms
        )

    def samples(self) -> list[HeartSample]:
        """One notification per beat, sent as it ends, without the strap's own HR: what
        the live estimator knows at any moment is then exactly what the batch one
        knows (beats by their end times, HR from the beats alone)."""
        return [
            HeartSample(float(t), None, (float(rr),), (float(t),), Contact.DETECTED)
            for t, rr in zip(self.t_s, self.rr_ms, strict=True)
        ]


def _case(
    label: str, rr: np.ndarray, hr_bpm: float | None = None, rmssd_ms: float | None = None
) -> SeriesCase:
    return SeriesCase(label, rr, beat_times(rr), hr_bpm, rmssd_ms)


def _slow_rise(rr: np.ndarray, rise_bpm: float, until_s: float) -> np.ndarray:
    """HR rising linearly by ``rise_bpm`` over the first ``until_s`` seconds, then level."""
    out = rr.astype(float, copy=True)
    t = 0.0
    for i in range(rr.size):
        grown = min(t / until_s, 1.0)
        out[i] = 60000.0 / (60000.0 / rr[i] + rise_bpm * grown)
        t += out[i] / 1000.0
    return out


def _with_gaps(rr: np.ndarray, gaps: list[tuple[float, float]]) -> SeriesCase:
    """Beats inside each (from_s, to_s) lost: no beats there, times kept."""
    t = beat_times(rr)
    keep = np.ones(rr.size, bool)
    for lo, hi in gaps:
        keep &= ~((t > lo) & (t <= hi))
    return SeriesCase(f"gaps {gaps}", rr[keep], t[keep])


def build_series_corpus(folder: Path = SHARED_RR) -> list[SeriesCase]:
    rng = np.random.default_rng(28)
    cases: list[SeriesCase] = []
    for name in (*RESTING, PVC):
        rr = load_rr(name, folder)
        cases.append(_case(name, rr))
        for share in (0.02, 0.05, 0.2):
            noisy, _ = inject_artifacts(rr, share, rng)
            cases.append(_case(f"{name} {share:.0%} artifacts", noisy))
    rest = load_rr(RESTING[1], folder)
    strap = load_rr(RESTING[0], folder)
    for base in (rest, strap):
        for onset_s in (0.0, 10.0, 30.0, 120.0):
            for rise in (6.0, 10.0, 20.0):
                cases.append(_case(f"ramp +{rise} at {onset_s}", inject_ramp(base, onset_s, rise)))
        for rise, until_s in ((5.0, 60.0), (6.0, 90.0), (7.0, 120.0), (12.0, 70.0)):
            rising = _slow_rise(base, rise, until_s)
            cases.append(_case(f"slow rise +{rise} over {until_s}", rising))
        cases.append(_case("given baseline", base, 60.0, 40.0))
        cases.append(_case("given HR only", base, 70.0))
    cases.append(_with_gaps(rest, [(20.0, 45.0), (150.0, 160.0)]))
    cases.append(_with_gaps(rest, [(5.0, 90.0)]))
    cases.append(_with_gaps(strap, [(40.0, 52.0), (70.0, 71.5), (200.0, 260.0)]))
    return cases


def digest(series: SeriesEstimate) -> str:
    """Every array the batch path returns, to the bit."""
    h = hashlib.sha256()
    for f in fields(series):
        value = getattr(series, f.name)
        arrays = [getattr(value, g.name) for g in fields(value)] if f.name == "beats" else [value]
        for a in arrays:
            a = np.asarray(a)
            # The codes hashed as the numpy strings they once were (the quality's 9
            # characters wide), so digests still compare with older ones.
            if f.name == "quality":
                a = QUALITIES[a].astype("<U9")
            elif f.name == "baseline_how":
                a = BASELINE_HOWS[a].astype(str)
            h.update(a.astype(str).tobytes() if a.dtype.kind in "OU" else a.tobytes())
    return h.hexdigest()


def corpus_digest(folder: Path = SHARED_RR) -> str:
    h = hashlib.sha256()
    for case in build_series_corpus(folder):
        h.update(digest(case.estimate()).encode())
    return h.hexdigest()
