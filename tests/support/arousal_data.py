"""Real recordings in, injected artifacts and arousal ramps, and how the estimator fares.

Shared by ``benchmarks/arousal.py`` (prints the figures) and ``tests/test_arousal*.py``
(asserts the goals of issue 5). The recordings are tests/data/rr (see its README
for their sources and licences).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biofeedback.models import ArousalEstimate, Contact, HeartSample
from biofeedback.signals.arousal import ArousalEstimator, EstimatorConfig

SHARED_RR = Path(__file__).resolve().parent.parent / "data" / "rr"
# Long enough for a baseline and something after it; all taken at rest.
RESTING = (
    "polar_h10_slow_breathing_rr.csv",
    "nsrdb_pyhrv_5min_nni.txt",
    "nsrdb_pyhrv_60min_nni.txt",
)
PVC = "polar_h10_pvc_isolated_rr.csv"
RAMP_BPM = (10.0, 15.0, 20.0)
RAMP_TAU_S = 15.0
RAMP_RMSSD_DROP = 0.4


def load_rr(name: str, folder: Path = SHARED_RR) -> np.ndarray:
    """RR intervals (ms) of one recording, in order."""
    path = folder / name
    if path.suffix == ".csv":
        return np.loadtxt(path, delimiter=",", skiprows=1, usecols=1)
    return np.loadtxt(path)


def beat_times(rr_ms: np.ndarray) -> np.ndarray:
    """Beat end times (s) from the running sum of the intervals."""
    return np.cumsum(rr_ms) / 1000.0


def samples_from_rr(rr_ms: np.ndarray) -> list[HeartSample]:
    """Notifications as a strap sends them: one a second, carrying the beats that
    ended since the previous one (arrival times from the cumulative RR)."""
    t = beat_times(rr_ms)
    second = np.ceil(t).astype(int)
    out = []
    bounds = np.flatnonzero(np.diff(second)) + 1
    for idx in np.split(np.arange(rr_ms.size), bounds):
        rr = tuple(float(v) for v in rr_ms[idx])
        out.append(
            HeartSample(
                float(second[idx[0]]),
                round(60000.0 / rr[-1]),
                rr,
                tuple(float(v) for v in t[idx]),
                Contact.DETECTED,
            )
        )
    return out


def run_stream(
    samples: Sequence[HeartSample],
    estimator: ArousalEstimator,
    ticks_s: Iterable[float] | None = None,
) -> list[ArousalEstimate]:
    """Feed samples in time order and ask for an estimate at each tick (1 Hz default)."""
    if ticks_s is None:
        end = samples[-1].t_s if samples else 0.0
        ticks_s = np.arange(1.0, end + 1.0, 1.0)
    out = []
    i = 0
    for now in ticks_s:
        while i < len(samples) and samples[i].t_s <= now:
            estimator.add_sample(samples[i])
            i += 1
        out.append(estimator.estimate(float(now)))
    return out


def inject_artifacts(
    rr_ms: np.ndarray, share: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Turn ``share`` of the beats into strap artifacts, mixed evenly: missed beats
    (two intervals merged), extra beats (one interval split) and premature beats
    (short then long, the pair's sum kept). Returns (new series, artifact beats)."""
    n_events = max(round(share * rr_ms.size / 1.5), 1)
    # Events at least 4 beats apart so they stay distinct.
    slots = np.arange(4, rr_ms.size - 4, 5)
    chosen = np.sort(rng.choice(slots, size=min(n_events, slots.size), replace=False))
    kinds = rng.integers(0, 3, size=chosen.size)
    out: list[float] = []
    artifacts = 0
    prev = 0
    for i, kind in zip(chosen, kinds, strict=True):
        out.extend(rr_ms[prev:i])
        a, b = float(rr_ms[i]), float(rr_ms[i + 1])
        if kind == 0:  # missed: the beat between i and i + 1 was not detected
            out.append(a + b)
            artifacts += 1
        elif kind == 1:  # extra: a spurious detection inside interval i
            cut = rng.uniform(0.25, 0.75)
            out.extend((a * cut, a * (1 - cut), b))
            artifacts += 2
        else:  # premature beat: short, then the compensatory pause
            early = rng.uniform(0.25, 0.45) * a
            out.extend((a - early, b + early))
            artifacts += 2
        prev = i + 2
    out.extend(rr_ms[prev:])
    return np.asarray(out), artifacts


def inject_ramp(
    rr_ms: np.ndarray,
    onset_s: float,
    rise_bpm: float,
    tau_s: float = RAMP_TAU_S,
    rmssd_drop: float = RAMP_RMSSD_DROP,
) -> np.ndarray:
    """An arousal episode from ``onset_s`` on: HR rises by ``rise_bpm`` and beat-to-beat
    variation shrinks by ``rmssd_drop``, both as 1 - exp(-t / tau)."""
    # Split each interval into a slow level (15-beat running mean) and the
    # beat-to-beat part around it: the level carries HR, the rest carries RMSSD.
    kernel = np.ones(15) / 15
    padded = np.pad(rr_ms, 7, mode="edge")
    level = np.convolve(padded, kernel, mode="valid")
    wiggle = rr_ms - level
    out = rr_ms.astype(float, copy=True)
    t = 0.0
    for i in range(rr_ms.size):
        since = t - onset_s
        if since > 0:
            grown = 1.0 - math.exp(-since / tau_s)
            hr = 60000.0 / level[i] + rise_bpm * grown
            out[i] = 60000.0 / hr + wiggle[i] * (1.0 - rmssd_drop * grown)
        t += out[i] / 1000.0
    return out


@dataclass(frozen=True, slots=True)
class AlarmStats:
    """How often the arousal index crossed a threshold with nothing happening."""

    monitored_s: float
    above_share: float
    crossings: int
    held_10s: int

    @property
    def crossings_per_hour(self) -> float:
        return self.crossings * 3600.0 / self.monitored_s if self.monitored_s else 0.0

    @property
    def held_per_hour(self) -> float:
        return self.held_10s * 3600.0 / self.monitored_s if self.monitored_s else 0.0


def alarm_stats(arousal: np.ndarray, threshold: float, hold_s: int = 10) -> AlarmStats:
    """Share of judged (non-NaN) 1 Hz ticks above ``threshold``, upward crossings,
    and episodes above it for ``hold_s`` ticks or more (what would step a zone down)."""
    judged = arousal[np.isfinite(arousal)]
    above = judged > threshold
    edges = np.diff(np.concatenate(([0], above.astype(int), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return AlarmStats(
        monitored_s=float(judged.size),
        above_share=float(above.mean()) if judged.size else 0.0,
        crossings=int(starts.size),
        held_10s=int(np.count_nonzero(ends - starts >= hold_s)),
    )


def ramp_onsets(rr_ms: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Random onsets after the baseline has settled and at least 90 s before the end."""
    config = EstimatorConfig()
    first = config.baseline_s + 40.0
    last = float(beat_times(rr_ms)[-1]) - 90.0
    return np.sort(rng.uniform(first, last, size=count))


def crossing_latency(
    t_s: np.ndarray, arousal: np.ndarray, onset_s: float, threshold: float, limit_s: float = 90.0
) -> float:
    """Seconds from the onset to the first tick above the threshold (inf if none)."""
    after = (t_s >= onset_s) & (t_s <= onset_s + limit_s) & (arousal > threshold)
    hits = np.flatnonzero(after)
    return float(t_s[hits[0]] - onset_s) if hits.size else math.inf
