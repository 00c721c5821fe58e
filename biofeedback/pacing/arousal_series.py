"""Arousal over a whole recording at once (review, benchmarks).

The same cleaner, windows and scoring as the streaming ``ArousalEstimator``,
computed for every tick in one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biofeedback.models import ArousalEstimate, Quality
from biofeedback.pacing.arousal import EstimatorConfig, measure_windows, nan_to_none, score
from biofeedback.pacing.hrv import BeatWindows, FlagWindows
from biofeedback.pacing.rr_clean import CleanedChunk, RRCleaner


@dataclass(frozen=True, slots=True)
class SeriesEstimate:
    """Per-tick estimates over a recording, plus its cleaned beats.

    Tick arrays hold NaN where the streaming estimator would say None.
    ``quality`` holds the ``Quality`` values as strings.
    """

    t_s: np.ndarray
    hr_bpm: np.ndarray
    rmssd_ms: np.ndarray
    rmssd_60s_ms: np.ndarray
    sdnn_60s_ms: np.ndarray
    artifact_rate: np.ndarray
    quality: np.ndarray
    hr_z: np.ndarray
    rmssd_drop_z: np.ndarray
    arousal: np.ndarray
    reference_ln_rmssd: np.ndarray
    baseline_hr_bpm: float | None
    baseline_rmssd_ms: float | None
    baseline_from_s: float | None
    beats: CleanedChunk

    @property
    def flagged_share(self) -> float:
        """Share of the raw beats the cleaner flagged."""
        kind = self.beats.kind
        return float(np.count_nonzero(kind) / kind.size) if kind.size else 0.0

    def estimate_at(self, i: int) -> ArousalEstimate:
        """Tick ``i`` as the streaming estimator would have reported it."""
        t = float(self.t_s[i])
        ready = self.baseline_from_s is not None and t >= self.baseline_from_s
        base_hr = self.baseline_hr_bpm if ready else None
        v = {
            name: nan_to_none(float(getattr(self, name)[i]))
            for name in ("hr_bpm", "rmssd_ms", "arousal", "hr_z", "rmssd_drop_z", "rmssd_60s_ms")
        }
        ref = float(self.reference_ln_rmssd[i])
        rmssd = v["rmssd_ms"]
        return ArousalEstimate(
            t,
            v["hr_bpm"],
            rmssd,
            v["arousal"],
            Quality(str(self.quality[i])),
            float(self.artifact_rate[i]),
            hr_delta_bpm=None if base_hr is None or v["hr_bpm"] is None else v["hr_bpm"] - base_hr,
            ln_rmssd_delta=None if rmssd is None or math.isnan(ref) else math.log(rmssd) - ref,
            baseline_hr_bpm=base_hr,
            baseline_rmssd_ms=self.baseline_rmssd_ms if ready else None,
            hr_z=v["hr_z"],
            rmssd_drop_z=v["rmssd_drop_z"],
            rmssd_60s_ms=v["rmssd_60s_ms"],
        )


def estimate_series(
    rr_ms: np.ndarray,
    t_s: np.ndarray | None = None,
    *,
    ticks_s: np.ndarray | None = None,
    config: EstimatorConfig | None = None,
    baseline_hr_bpm: float | None = None,
    baseline_rmssd_ms: float | None = None,
) -> SeriesEstimate:
    """Estimates once a second (or at ``ticks_s``) over a whole RR recording.

    ``t_s`` are the beat end times (default: the running sum of ``rr_ms``).
    """
    cfg = config or EstimatorConfig()
    rr = np.asarray(rr_ms, float)
    t = np.cumsum(rr) / 1000.0 if t_s is None else np.asarray(t_s, float)
    cleaner = RRCleaner(cfg.cleaner)
    cleaner.push(t, rr)
    beats = cleaner.process(final=True)
    windows = BeatWindows()
    windows.extend(beats.t_s, beats.nn_ms, beats.available_s)
    flags = FlagWindows()
    flags.extend(beats.raw_t_s, beats.kind != 0, beats.raw_available_s)
    ticks = np.arange(t[0] + 1.0, t[-1] + 1e-9, 1.0) if ticks_s is None else ticks_s
    m = measure_windows(windows, flags.rate(ticks, cfg.artifact_window_s), ticks, cfg)
    last = np.searchsorted(t, ticks, side="right") - 1
    signal = (last >= 0) & (ticks - t[np.maximum(last, 0)] <= cfg.no_signal_after_s)
    hr = np.where(signal, m.hr_bpm, np.nan)
    rmssd = np.where(signal, m.rmssd_ms, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_rmssd = np.log(rmssd)
        ln_60 = np.where(signal, np.log(m.rmssd_60s_ms), np.nan)
    quality = np.where(
        signal, np.where(np.isfinite(rmssd), Quality.OK.value, Quality.HR_ONLY.value), "no_signal"
    )
    elapsed = ticks - t[0]
    if baseline_hr_bpm is not None:
        base_hr: float | None = baseline_hr_bpm
        hr_from = -math.inf
    else:
        opening, hr_from = _series_opening(
            hr, elapsed, cfg.hr_window_s, cfg.baseline_min_ticks, cfg
        )
        base_hr = float(np.median(opening)) if opening.size else None
    if baseline_rmssd_ms:
        base_ln: float | None = math.log(baseline_rmssd_ms)
        ln_from = -math.inf
    else:
        ln_opening, ln_from = _series_opening(
            ln_rmssd, elapsed, cfg.rmssd_window_s, cfg.baseline_min_ticks // 2, cfg
        )
        base_ln = float(np.median(ln_opening)) if ln_opening.size else None
    base_hr_t = np.where(elapsed >= hr_from, np.nan if base_hr is None else base_hr, np.nan)
    base_ln_t = np.where(elapsed >= ln_from, np.nan if base_ln is None else base_ln, np.nan)
    reference = np.fmin(base_ln_t, _series_running_mean(ticks, ln_60, cfg.rmssd_reference_s))
    reference = np.where(np.isnan(base_ln_t), np.nan, reference)
    hr_z, drop_z, arousal = score(hr, ln_rmssd, base_hr_t, reference, cfg)
    return SeriesEstimate(
        t_s=ticks,
        hr_bpm=hr,
        rmssd_ms=rmssd,
        rmssd_60s_ms=np.where(signal, m.rmssd_60s_ms, np.nan),
        sdnn_60s_ms=np.where(signal, m.sdnn_60s_ms, np.nan),
        artifact_rate=m.artifact_rate,
        quality=quality,
        hr_z=hr_z,
        rmssd_drop_z=drop_z,
        arousal=arousal,
        reference_ln_rmssd=reference,
        baseline_hr_bpm=base_hr,
        baseline_rmssd_ms=math.exp(base_ln) if base_ln is not None else None,
        baseline_from_s=float(t[0] + hr_from) if base_hr is not None else None,
        beats=beats,
    )


def _series_opening(
    values: np.ndarray, elapsed_s: np.ndarray, skip_s: float, min_ticks: int, cfg: EstimatorConfig
) -> tuple[np.ndarray, float]:
    """The readings ``_BaselineCollector`` takes, and the elapsed time it decides at."""
    taken = (elapsed_s >= skip_s) & np.isfinite(values)
    count = np.cumsum(taken)
    ready = np.flatnonzero((elapsed_s >= cfg.baseline_s) & (count >= min_ticks))
    if ready.size == 0:
        return np.empty(0), math.inf
    k = int(ready[0])
    return values[: k + 1][taken[: k + 1]], float(elapsed_s[k])


def _series_running_mean(t_s: np.ndarray, values: np.ndarray, span_s: float) -> np.ndarray:
    """``_RunningMean`` at every tick: mean of the finite values in ``(t - span, t]``."""
    ok = np.isfinite(values)
    sums = np.concatenate(([0.0], np.cumsum(np.where(ok, values, 0.0))))
    counts = np.concatenate(([0], np.cumsum(ok)))
    hi = np.arange(1, t_s.size + 1)
    lo = np.searchsorted(t_s, t_s - span_s, side="right")
    n = counts[hi] - counts[lo]
    mean = np.divide(sums[hi] - sums[lo], n, out=np.full(t_s.size, np.nan), where=n > 0)
    return np.where(n >= span_s / 2, mean, np.nan)
