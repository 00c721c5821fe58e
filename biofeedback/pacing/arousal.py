"""Arousal from live RR intervals: clean, window, compare with the baseline.

Pure: samples go in with their own times, ``estimate(now_s)`` comes out. No
clock, no I/O.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from biofeedback.models import ArousalEstimate, HeartSample, Quality


@dataclass(frozen=True, slots=True)
class EstimatorConfig:
    hr_window_s: float = 12.0
    rmssd_window_s: float = 30.0
    baseline_s: float = 60.0
    no_signal_after_s: float = 5.0
    # Above this share of flagged beats, HRV means nothing: judge on HR alone.
    hr_only_artifact_rate: float = 0.15
    artifact_window_beats: int = 60
    # A person's natural spread over ~30 s windows at rest (shared/data/rr/README.md:
    # SD of 30 s mean HR 1.7-3.6 bpm, of 30 s ln RMSSD 0.17-0.31).
    hr_scale_bpm: float = 3.0
    ln_rmssd_scale: float = 0.25
    hr_weight: float = 0.6
    median_beats: int = 11
    artifact_tolerance: float = 0.25


@dataclass(frozen=True, slots=True)
class _Beat:
    t_s: float
    rr_ms: float
    clean_ms: float
    flagged: bool


class ArousalEstimator:
    """Streaming estimator; feed it samples in time order."""

    def __init__(
        self,
        config: EstimatorConfig | None = None,
        *,
        baseline_hr_bpm: float | None = None,
        baseline_rmssd_ms: float | None = None,
    ) -> None:
        self.config = config or EstimatorConfig()
        self._beats: deque[_Beat] = deque()
        self._recent_clean: deque[float] = deque(maxlen=self.config.median_beats)
        self._flags: deque[bool] = deque(maxlen=self.config.artifact_window_beats)
        self._last_sample_s: float | None = None
        self._last_hr_bpm: float | None = None
        self._first_s: float | None = None
        self._baseline_hr: float | None = baseline_hr_bpm
        self._baseline_ln_rmssd: float | None = (
            math.log(baseline_rmssd_ms) if baseline_rmssd_ms else None
        )
        self._baseline_fixed = baseline_hr_bpm is not None
        self._baseline_hr_values: list[float] = []
        self._baseline_ln_values: list[float] = []

    @property
    def baseline_ready(self) -> bool:
        return self._baseline_hr is not None

    def add_sample(self, sample: HeartSample) -> None:
        if self._first_s is None:
            self._first_s = sample.t_s
        if not sample.usable:
            return
        self._last_sample_s = sample.t_s
        if sample.hr_bpm is not None:
            self._last_hr_bpm = sample.hr_bpm
        beat_times = sample.beat_t_s or tuple(sample.t_s for _ in sample.rr_ms)
        for rr_ms, t_s in zip(sample.rr_ms, beat_times, strict=False):
            self._add_beat(t_s, rr_ms)

    def _add_beat(self, t_s: float, rr_ms: float) -> None:
        cfg = self.config
        if len(self._recent_clean) >= 3:
            ref = float(np.median(self._recent_clean))
            flagged = abs(rr_ms - ref) > cfg.artifact_tolerance * ref
        else:
            ref = rr_ms
            flagged = not 250.0 <= rr_ms <= 2000.0
        clean = ref if flagged else rr_ms
        if not flagged:
            self._recent_clean.append(rr_ms)
        self._flags.append(flagged)
        self._beats.append(_Beat(t_s, rr_ms, clean, flagged))
        horizon = t_s - max(cfg.rmssd_window_s, cfg.hr_window_s) - 5.0
        while self._beats and self._beats[0].t_s < horizon:
            self._beats.popleft()

    def estimate(self, now_s: float) -> ArousalEstimate:
        cfg = self.config
        artifact_rate = (sum(self._flags) / len(self._flags)) if self._flags else 0.0
        # Before the first sample, time is counted from the session start (0).
        last_s = self._last_sample_s if self._last_sample_s is not None else 0.0
        if self._last_sample_s is None and now_s <= cfg.no_signal_after_s:
            return ArousalEstimate(now_s, None, None, None, Quality.HR_ONLY, artifact_rate)
        if now_s - last_s > cfg.no_signal_after_s or self._last_sample_s is None:
            return ArousalEstimate(now_s, None, None, None, Quality.NO_SIGNAL, artifact_rate)
        hr = self._hr_bpm(now_s)
        rmssd = self._rmssd_ms(now_s)
        quality = Quality.OK
        if artifact_rate > cfg.hr_only_artifact_rate or rmssd is None:
            quality = Quality.HR_ONLY
            rmssd = None if artifact_rate > cfg.hr_only_artifact_rate else rmssd
        ln_rmssd = math.log(rmssd) if rmssd else None
        self._update_baseline(now_s, hr, ln_rmssd)
        hr_delta = None
        ln_delta = None
        arousal = None
        if self._baseline_hr is not None and hr is not None:
            hr_delta = hr - self._baseline_hr
            hr_z = hr_delta / cfg.hr_scale_bpm
            arousal = hr_z
            if (
                quality is Quality.OK
                and ln_rmssd is not None
                and self._baseline_ln_rmssd is not None
            ):
                ln_delta = ln_rmssd - self._baseline_ln_rmssd
                arousal = cfg.hr_weight * hr_z + (1 - cfg.hr_weight) * (
                    -ln_delta / cfg.ln_rmssd_scale
                )
        return ArousalEstimate(
            now_s,
            hr,
            rmssd,
            arousal,
            quality,
            artifact_rate,
            hr_delta_bpm=hr_delta,
            ln_rmssd_delta=ln_delta,
            baseline_hr_bpm=self._baseline_hr,
            baseline_rmssd_ms=(
                math.exp(self._baseline_ln_rmssd) if self._baseline_ln_rmssd is not None else None
            ),
        )

    def _window(self, now_s: float, span_s: float) -> np.ndarray:
        return np.fromiter(
            (b.clean_ms for b in self._beats if now_s - span_s < b.t_s <= now_s), dtype=float
        )

    def _hr_bpm(self, now_s: float) -> float | None:
        rr = self._window(now_s, self.config.hr_window_s)
        if rr.size >= 3:
            return float(60000.0 / rr.mean())
        return self._last_hr_bpm

    def _rmssd_ms(self, now_s: float) -> float | None:
        rr = self._window(now_s, self.config.rmssd_window_s)
        if rr.size < 10:
            return None
        return float(np.sqrt(np.mean(np.diff(rr) ** 2)))

    def _update_baseline(self, now_s: float, hr: float | None, ln_rmssd: float | None) -> None:
        if self._baseline_fixed or self._first_s is None:
            return
        if self._baseline_hr is not None:
            return
        # Skip the first 15 s while windows fill; average the rest of the opening.
        if now_s - self._first_s > 15.0:
            if hr is not None:
                self._baseline_hr_values.append(hr)
            if ln_rmssd is not None:
                self._baseline_ln_values.append(ln_rmssd)
        if now_s - self._first_s >= self.config.baseline_s and self._baseline_hr_values:
            self._baseline_hr = float(np.mean(self._baseline_hr_values))
            if self._baseline_ln_values:
                self._baseline_ln_rmssd = float(np.mean(self._baseline_ln_values))
