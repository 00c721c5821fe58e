"""Arousal from live RR intervals: clean, window, compare with the baseline.

Pure: samples go in with their own times, ``estimate(now_s)`` comes out. No
clock, no I/O.

How an estimate is made (about once a second):

1. Beats are cleaned one by one (``rr_clean``: missed, extra and premature
   beats are flagged and corrected; raw values kept). A beat is decided when the
   next one has arrived, so the windows lag by one beat (~1 s).
2. Over the corrected beats: HR over the last 12 s, RMSSD over 30 s and 60 s,
   and the share of flagged raw beats over 60 s (``artifact_rate``).
3. Baseline: the medians of the per-second HR and ln RMSSD readings over the
   opening 60 s (HR from 12 s on, RMSSD from 30 s on), or the values of an
   earlier session given to the constructor. RMSSD is then judged against the
   lower of its baseline and its own 5-minute mean: the opening is usually slow
   guided breathing, which inflates RMSSD, and ordinary breathing afterwards is
   not vagal withdrawal.
4. Two parts, each in units of a resting person's natural variation
   (tests/data/rr/README.md): ``hr_z`` = (HR - baseline) / 3 bpm and
   ``rmssd_drop_z`` = (reference ln RMSSD - ln RMSSD) / 0.25 (positive when
   RMSSD has fallen). ``arousal = 0.7 * hr_z + 0.3 * max(rmssd_drop_z, 0)``:
   RMSSD rising never raises it; without HRV (``hr_only``) the HR part alone.
5. Quality: ``no_signal`` when no usable sample (contact not NOT_DETECTED,
   carrying HR or RR) came for 5 s (the first 5 s count as waiting:
   ``hr_only`` with no values); ``hr_only`` when over 15 % of the last minute's
   beats were flagged or RMSSD cannot be computed; else ``ok``.

For the controller (what the numbers mean for pacing decisions):

- ``arousal`` is the one number to compare with the thresholds. On the strap
  recording at rest it stays below 2 over 99 % of the time (2 % artifacts
  injected); on ambulatory Holter extracts, whose HR wanders by +10 bpm now
  and then, 85-95 %. A +15 bpm rise (tau 15 s) crosses 2 after about 15 s on
  a steady resting heart, 20-25 s on a wandering one (benchmarks/arousal.py).
  None until a baseline exists.
- Tensing raises HR by itself for a few seconds: during a ``tense`` step and
  the first ~10 s of the release after it (the 12 s window still holds the
  tensing beats) a rise in ``hr_z`` is the exercise. Arousal shows as
  ``rmssd_drop_z`` rising too (above ~1) or ``hr_z`` staying up past that
  window; tensing leaves ``rmssd_drop_z`` flat or lower (the quick HR change
  even adds beat-to-beat variation).
- Slow breathing raises RMSSD (``rmssd_drop_z`` well below 0) and swings HR
  with the breath, so during ``breath`` steps ``hr_z`` is noisier by a
  fraction; prefer a sustained condition (the 10 s hold) over single ticks.
  Negative ``rmssd_drop_z`` never lowers ``arousal``: the calm it shows is not
  used to step up faster.
- ``quality`` ``hr_only``: ``rmssd_drop_z`` is None and ``arousal`` rests on
  HR alone (less evidence: consider waiting longer before stepping up).
  ``no_signal``: all values None; pacing should hold.
- ``artifact_rate`` is worth showing: above a few per cent the strap fit is
  poor (a wetted, snug strap fixes most).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from biofeedback.models import ArousalEstimate, HeartSample, Quality
from biofeedback.pacing.hrv import BeatWindows, FlagWindows
from biofeedback.pacing.rr_clean import CleanerConfig, RRCleaner


@dataclass(frozen=True, slots=True)
class EstimatorConfig:
    hr_window_s: float = 12.0
    rmssd_window_s: float = 30.0
    rmssd_long_window_s: float = 60.0
    artifact_window_s: float = 60.0
    baseline_s: float = 60.0
    # Fewest per-second readings a baseline is taken from (HR; half that for RMSSD).
    baseline_min_ticks: int = 20
    no_signal_after_s: float = 5.0
    # Above this share of flagged beats, HRV means nothing: judge on HR alone.
    hr_only_artifact_rate: float = 0.15
    min_hr_beats: int = 3
    min_rmssd_diffs: int = 10
    # Natural variation at rest, the units of hr_z and rmssd_drop_z
    # (tests/data/rr/README.md: SD of 10 s mean HR 2.9-5.5 bpm, of 30 s ln
    # RMSSD 0.17-0.31). A person whose earlier sessions show a steadier or a
    # more wandering heart can be given their own.
    hr_scale_bpm: float = 3.0
    ln_rmssd_scale: float = 0.25
    # arousal = hr_weight * hr_z + rmssd_weight * max(rmssd_drop_z, 0)
    hr_weight: float = 0.7
    rmssd_weight: float = 0.3
    # RMSSD is judged against the lower of its baseline and its mean over this
    # long: a baseline taken during slow guided breathing is inflated, and
    # normal breathing afterwards is not vagal withdrawal.
    rmssd_reference_s: float = 300.0
    cleaner: CleanerConfig = field(default_factory=CleanerConfig)


@dataclass(frozen=True, slots=True)
class Measures:
    hr_bpm: np.ndarray
    rmssd_ms: np.ndarray
    rmssd_60s_ms: np.ndarray
    sdnn_60s_ms: np.ndarray
    artifact_rate: np.ndarray


def measure_windows(
    beats: BeatWindows, rate: np.ndarray, t_s: np.ndarray, cfg: EstimatorConfig
) -> Measures:
    """Windowed metrics at each of ``t_s`` (the streaming and the batch path)."""
    spans = np.array([cfg.hr_window_s, cfg.rmssd_window_s, cfg.rmssd_long_window_s])
    st = beats.stats(t_s[:, None], spans)
    usable = rate <= cfg.hr_only_artifact_rate
    nan = np.nan
    # Below the strap's 1 ms resolution RMSSD is noise; the floor keeps its log finite.
    rmssd = np.maximum(st.rmssd_ms, 1.0)
    return Measures(
        hr_bpm=np.where(st.beats[:, 0] >= cfg.min_hr_beats, st.hr_bpm[:, 0], nan),
        rmssd_ms=np.where(usable & (st.diffs[:, 1] >= cfg.min_rmssd_diffs), rmssd[:, 1], nan),
        rmssd_60s_ms=np.where(
            usable & (st.diffs[:, 2] >= 2 * cfg.min_rmssd_diffs), rmssd[:, 2], nan
        ),
        sdnn_60s_ms=np.where(
            usable & (st.beats[:, 2] >= 2 * cfg.min_rmssd_diffs), st.sdnn_ms[:, 2], nan
        ),
        artifact_rate=rate,
    )


def score(
    hr_bpm: np.ndarray,
    ln_rmssd: np.ndarray,
    baseline_hr_bpm: np.ndarray,
    reference_ln_rmssd: np.ndarray,
    cfg: EstimatorConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hr_z, rmssd_drop_z, arousal); NaN where not computable."""
    hr_z = (hr_bpm - baseline_hr_bpm) / cfg.hr_scale_bpm
    drop_z = (reference_ln_rmssd - ln_rmssd) / cfg.ln_rmssd_scale
    # RMSSD above its reference (slow breathing) must never add arousal, and
    # without HRV (artifacts) HR alone speaks.
    vagal = np.where(np.isnan(drop_z), 0.0, np.maximum(drop_z, 0.0))
    arousal = cfg.hr_weight * hr_z + cfg.rmssd_weight * vagal
    return hr_z, drop_z, arousal


def _beats_of(sample: HeartSample) -> tuple[np.ndarray, np.ndarray]:
    """Beat end times and intervals; times are rebuilt from the arrival when absent."""
    rr = np.asarray(sample.rr_ms, float)
    if len(sample.beat_t_s) == rr.size:
        return np.asarray(sample.beat_t_s, float), rr
    # The last interval ended about when the notification was sent.
    ends = sample.t_s - (np.sum(rr) - np.cumsum(rr)) / 1000.0
    return ends, rr


def nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


class ArousalEstimator:
    """Streaming estimator; feed it samples in time order."""

    def __init__(
        self,
        config: EstimatorConfig | None = None,
        *,
        baseline_hr_bpm: float | None = None,
        baseline_rmssd_ms: float | None = None,
    ) -> None:
        self.config = cfg = config or EstimatorConfig()
        self._cleaner = RRCleaner(cfg.cleaner)
        self._beats = BeatWindows()
        self._flags = FlagWindows()
        self._first_seen_s: float | None = None
        self._start_s: float | None = None  # start of the baseline period
        self._last_signal_s: float | None = None
        self._last_beat_s = -math.inf
        self._strap_hr: deque[tuple[float, float]] = deque()
        self._baseline = _BaselineCollector(cfg, baseline_hr_bpm, baseline_rmssd_ms)
        self._reference = _RunningMean(cfg.rmssd_reference_s)

    @property
    def baseline_ready(self) -> bool:
        return self._baseline.hr_bpm is not None

    def add_sample(self, sample: HeartSample) -> None:
        if self._first_seen_s is None:
            self._first_seen_s = sample.t_s
        if not sample.usable:
            return
        has_hr = sample.hr_bpm is not None and sample.hr_bpm > 0
        if not (has_hr or sample.rr_ms):
            return
        self._last_signal_s = sample.t_s
        if has_hr:
            assert sample.hr_bpm is not None
            self._strap_hr.append((sample.t_s, float(sample.hr_bpm)))
        if not sample.rr_ms:
            if self._start_s is None:
                self._start_s = sample.t_s
            return
        t_s, rr_ms = _beats_of(sample)
        # Rebuilt times can overlap the previous notification's: keep them ordered.
        t_s = np.maximum.accumulate(np.maximum(t_s, self._last_beat_s))
        self._last_beat_s = float(t_s[-1])
        if self._start_s is None:
            self._start_s = float(t_s[0])
        self._cleaner.push(t_s, rr_ms)

    def estimate(self, now_s: float) -> ArousalEstimate:
        cfg = self.config
        if self._first_seen_s is None:
            self._first_seen_s = now_s
        self._ingest(now_s)
        now = np.array([now_s])
        rates = self._flags.rate(now, cfg.artifact_window_s)
        rate = float(rates[0])
        if self._last_signal_s is None or now_s - self._last_signal_s > cfg.no_signal_after_s:
            # A session's first seconds are waiting, not lost signal.
            waiting = self._last_signal_s is None and (
                now_s - self._first_seen_s <= cfg.no_signal_after_s
            )
            quality = Quality.HR_ONLY if waiting else Quality.NO_SIGNAL
            return ArousalEstimate(
                now_s,
                None,
                None,
                None,
                quality,
                rate,
                baseline_hr_bpm=self._baseline.hr_bpm,
                baseline_rmssd_ms=self._baseline.rmssd_ms,
            )
        m = measure_windows(self._beats, rates, now, cfg)
        hr = float(m.hr_bpm[0])
        if math.isnan(hr):
            hr = self._strap_hr_bpm(now_s)
        rmssd = float(m.rmssd_ms[0])
        ok = not math.isnan(rmssd)
        ln_rmssd = math.log(rmssd) if ok else math.nan
        ln_60 = math.log(float(m.rmssd_60s_ms[0])) if np.isfinite(m.rmssd_60s_ms[0]) else math.nan
        assert self._start_s is not None
        self._baseline.offer(now_s - self._start_s, hr, ln_rmssd)
        if not math.isnan(ln_60):
            self._reference.add(now_s, ln_60)
        base = self._baseline
        reference = base.ln_rmssd if base.ln_rmssd is not None else math.nan
        if self._reference.full:
            reference = min(reference, self._reference.mean)
        base_hr = base.hr_bpm if base.hr_bpm is not None else math.nan
        x = np.array([hr, ln_rmssd, base_hr, reference])
        scored = score(x[0:1], x[1:2], x[2:3], x[3:4], cfg)
        hr_z, drop_z, arousal = (float(v[0]) for v in scored)
        return ArousalEstimate(
            now_s,
            nan_to_none(hr),
            nan_to_none(rmssd),
            nan_to_none(arousal),
            Quality.OK if ok else Quality.HR_ONLY,
            rate,
            hr_delta_bpm=nan_to_none(hr - base_hr),
            ln_rmssd_delta=nan_to_none(ln_rmssd - reference),
            baseline_hr_bpm=base.hr_bpm,
            baseline_rmssd_ms=base.rmssd_ms,
            hr_z=nan_to_none(hr_z),
            rmssd_drop_z=nan_to_none(drop_z),
            rmssd_60s_ms=nan_to_none(float(m.rmssd_60s_ms[0])),
        )

    def _ingest(self, now_s: float) -> None:
        chunk = self._cleaner.process()
        self._beats.extend(chunk.t_s, chunk.nn_ms, chunk.available_s)
        self._flags.extend(chunk.raw_t_s, chunk.kind != 0, chunk.raw_available_s)
        horizon = now_s - 2 * max(self.config.rmssd_long_window_s, self.config.artifact_window_s)
        self._beats.forget_before(horizon)
        self._flags.forget_before(horizon)
        while self._strap_hr and self._strap_hr[0][0] <= now_s - self.config.hr_window_s:
            self._strap_hr.popleft()

    def _strap_hr_bpm(self, now_s: float) -> float:
        """The strap's own HR over the HR window, for straps that send no RR."""
        if not self._strap_hr:
            return math.nan
        return sum(hr for _, hr in self._strap_hr) / len(self._strap_hr)


class _BaselineCollector:
    """Per-second readings over the opening period; their medians become the baseline."""

    def __init__(self, cfg: EstimatorConfig, hr_bpm: float | None, rmssd_ms: float | None) -> None:
        self.cfg = cfg
        self.hr_bpm = hr_bpm
        self.ln_rmssd = math.log(rmssd_ms) if rmssd_ms else None
        self._hr: list[float] = []
        self._ln: list[float] = []

    @property
    def rmssd_ms(self) -> float | None:
        return math.exp(self.ln_rmssd) if self.ln_rmssd is not None else None

    def offer(self, elapsed_s: float, hr_bpm: float, ln_rmssd: float) -> None:
        cfg = self.cfg
        if self.hr_bpm is None and elapsed_s >= cfg.hr_window_s and not math.isnan(hr_bpm):
            self._hr.append(hr_bpm)
        if self.ln_rmssd is None and elapsed_s >= cfg.rmssd_window_s and not math.isnan(ln_rmssd):
            self._ln.append(ln_rmssd)
        if elapsed_s < cfg.baseline_s:
            return
        if self.hr_bpm is None and len(self._hr) >= cfg.baseline_min_ticks:
            self.hr_bpm = float(np.median(self._hr))
        if self.ln_rmssd is None and len(self._ln) >= cfg.baseline_min_ticks // 2:
            self.ln_rmssd = float(np.median(self._ln))


class _RunningMean:
    """Mean of the values added over the last ``span_s`` seconds."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._items: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    @property
    def full(self) -> bool:
        return bool(self._items) and len(self._items) >= self.span_s / 2

    @property
    def mean(self) -> float:
        return self._sum / len(self._items)

    def add(self, t_s: float, value: float) -> None:
        self._items.append((t_s, value))
        self._sum += value
        while self._items[0][0] <= t_s - self.span_s:
            self._sum -= self._items.popleft()[1]
