"""Arousal from live RR intervals: clean, window, compare with the baseline.

Pure: samples go in with their own times, ``estimate(now_s)`` comes out. No
clock, no I/O.

How an estimate is made (about once a second):

1. Beats are cleaned one by one (``rr_clean``'s rules: missed, extra and
   premature beats are flagged and corrected; raw values kept). A beat is
   decided when the next one has arrived, so the windows lag by one beat (~1 s).
   Live, cleaning and the windowed sums run in plain Python (``live_beats``,
   ~15 us an estimate); ``measure_windows`` is the vectorised twin the batch
   path (``arousal_series``) uses, and both give the same figures.
2. Over the corrected beats: HR over the last 12 s (and 5 s and 10 s for the
   step-down detector), RMSSD over 30 s and 60 s, and the share of flagged raw
   beats over 60 s (``artifact_rate``).
3. Baseline (``baseline.py``): the medians of the per-second HR and ln RMSSD
   readings over the opening 50 s (HR from 12 s on, RMSSD from 30 s on) when
   the opening is steady; a rising opening waits or is marked ``rising``; or
   the values of an earlier session given to the constructor. Also the
   person's resting noise of the 10 s HR. RMSSD is then judged against the
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
   ``hr_only`` with no values); ``hr_only`` as soon as over 15 % of the last
   minute's beats were flagged or RMSSD cannot be computed, and back to ``ok``
   only after 30 s with at most 8 % flagged (``QualityGate``: no flapping).

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
from collections.abc import Iterable
from dataclasses import field
from typing import TYPE_CHECKING

import numpy as np

from biofeedback.models import ArousalEstimate, HeartSample, Quality
from biofeedback.models.record import record
from biofeedback.signals.baseline import BaselineCollector, BaselineConfig
from biofeedback.signals.live_beats import LiveBeats, LiveCleaner
from biofeedback.signals.rr_clean import CleanerConfig
from biofeedback.signals.slots import builder

if TYPE_CHECKING:
    # The batch path's windows (arousal_series.py loads them); the live estimator's
    # are LiveBeats, so a session never loads hrv.py.
    from biofeedback.signals.hrv import BeatWindows


@record(frozen=True, slots=True)
class EstimatorConfig:
    """The live arousal estimator's windows, timings and thresholds."""

    hr_window_s: float = 12.0
    hr_fast_window_s: float = 5.0
    hr_mid_window_s: float = 10.0
    """The step-down detector's two HRs: 5 s shows a big rise within seconds,
    10 s spans a whole slow breath (6/min), so the breath's swing cancels out."""
    rmssd_window_s: float = 30.0
    rmssd_long_window_s: float = 60.0
    artifact_window_s: float = 60.0
    baseline_s: float = 50.0
    """Decided before the 60 s settle ends (see baseline.py for when it waits)."""
    # Fewest per-second readings a baseline is taken from (HR; half that for RMSSD).
    baseline_min_ticks: int = 20
    no_signal_after_s: float = 5.0
    # Above this share of flagged beats, HRV means nothing: judge on HR alone.
    hr_only_artifact_rate: float = 0.15
    # Once on HR alone, HRV is trusted again only after this long with at most
    # ``ok_artifact_rate`` flagged (no ok/hr_only flapping around 15 %).
    ok_after_s: float = 30.0
    ok_artifact_rate: float = 0.08
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

    @property
    def opening(self) -> BaselineConfig:
        return BaselineConfig(
            hr_window_s=self.hr_window_s,
            hr_fast_window_s=self.hr_fast_window_s,
            hr_mid_window_s=self.hr_mid_window_s,
            rmssd_window_s=self.rmssd_window_s,
            baseline_s=self.baseline_s,
            baseline_min_ticks=self.baseline_min_ticks,
        )


@record(frozen=True, slots=True)
class Measures:
    """The batch path's measures of a recording, one array each, a value a tick."""

    hr_bpm: np.ndarray
    hr_fast_bpm: np.ndarray
    hr_mid_bpm: np.ndarray
    rmssd_ms: np.ndarray
    rmssd_60s_ms: np.ndarray
    sdnn_60s_ms: np.ndarray
    artifact_rate: np.ndarray


def measure_windows(
    beats: BeatWindows, rate: np.ndarray, t_s: np.ndarray, cfg: EstimatorConfig
) -> Measures:
    """Windowed metrics at each of ``t_s`` (the streaming and the batch path)."""
    spans = np.array(
        [
            cfg.hr_window_s,
            cfg.rmssd_window_s,
            cfg.rmssd_long_window_s,
            cfg.hr_fast_window_s,
            cfg.hr_mid_window_s,
        ]
    )
    hi, lo = beats.bounds(t_s, spans)
    usable = rate <= cfg.hr_only_artifact_rate
    nan = np.nan
    # Below the strap's 1 ms resolution RMSSD is noise; the floor keeps its log finite.
    rmssd = np.maximum(beats.rmssd_ms_of(hi, lo[1], cfg.min_rmssd_diffs), 1.0)
    rmssd_60 = np.maximum(beats.rmssd_ms_of(hi, lo[2], 2 * cfg.min_rmssd_diffs), 1.0)
    return Measures(
        hr_bpm=beats.hr_bpm_of(hi, lo[0], cfg.min_hr_beats),
        hr_fast_bpm=beats.hr_bpm_of(hi, lo[3], cfg.min_hr_beats),
        hr_mid_bpm=beats.hr_bpm_of(hi, lo[4], cfg.min_hr_beats),
        rmssd_ms=np.where(usable, rmssd, nan),
        rmssd_60s_ms=np.where(usable, rmssd_60, nan),
        sdnn_60s_ms=np.where(usable, beats.sdnn_ms_of(hi, lo[2], 2 * cfg.min_rmssd_diffs), nan),
        artifact_rate=rate,
    )


def score(
    hr_bpm: np.ndarray,
    ln_rmssd: np.ndarray,
    baseline_hr_bpm: np.ndarray,
    reference_ln_rmssd: np.ndarray,
    cfg: EstimatorConfig,
    into: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hr_z, rmssd_drop_z, arousal); NaN where not computable. Into the three
    rows of ``into`` if given (a long recording's series: no temporaries)."""
    hr_z, drop_z, arousal = np.empty((3, np.size(hr_bpm))) if into is None else into
    np.divide(np.subtract(hr_bpm, baseline_hr_bpm, out=hr_z), cfg.hr_scale_bpm, out=hr_z)
    np.subtract(reference_ln_rmssd, ln_rmssd, out=drop_z)
    np.divide(drop_z, cfg.ln_rmssd_scale, out=drop_z)
    # RMSSD above its reference (slow breathing) must never add arousal, and
    # without HRV (artifacts) HR alone speaks: fmax takes 0 for NaN (drop_z is
    # never -0.0, a difference of equal values being +0.0).
    vagal = np.fmax(drop_z, 0.0, out=arousal)
    vagal *= cfg.rmssd_weight
    arousal += cfg.hr_weight * hr_z
    return hr_z, drop_z, arousal


# ``ArousalEstimate(*values)``, every field in order, at half the cost (one a tick).
_estimate = builder(ArousalEstimate)
# Looked up once: on Python 3.11 reading a member off its enum class costs ~0.25 us.
_OK = Quality.OK
_HR_ONLY = Quality.HR_ONLY


def beats_of(sample: HeartSample) -> tuple[list[float], list[float]]:
    """Beat end times and intervals; times are rebuilt from the arrival when absent."""
    # map, not a comprehension: a notification carries a beat or two, and on
    # Python 3.11 a comprehension's own call costs more than that.
    rr = list(map(float, sample.rr_ms))
    if len(sample.beat_t_s) == len(rr):
        return list(map(float, sample.beat_t_s)), rr
    # The last interval ended about when the notification was sent.
    total = sum(rr)
    ends = []
    running = 0.0
    for v in rr:
        running += v
        ends.append(sample.t_s - (total - running) / 1000.0)
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
        self._cleaner = LiveCleaner(cfg.cleaner)
        self._beats = LiveBeats()
        self._first_seen_s: float | None = None
        self._start_s: float | None = None  # start of the baseline period
        self._last_signal_s: float | None = None
        self._last_beat_s = -math.inf
        self._strap_hr: deque[tuple[float, float]] = deque()
        self._baseline = BaselineCollector(cfg.opening, baseline_hr_bpm, baseline_rmssd_ms)
        self._gate = QualityGate(cfg)
        self._reference = _RunningMean(cfg.rmssd_reference_s)
        self._rmssd_of: tuple[float | None, float] = (None, math.nan)  # (ln, its exp)
        # Beats older than this are no window's: forgotten (see ``LiveBeats.forget_before``).
        self._keep_s = 2 * max(cfg.rmssd_long_window_s, cfg.artifact_window_s)

    @property
    def baseline_ready(self) -> bool:
        return self._baseline.hr_bpm is not None

    def add_sample(self, sample: HeartSample) -> None:
        arrived_s = sample.t_s
        if self._first_seen_s is None:
            self._first_seen_s = arrived_s
        if not sample.usable:
            return
        hr_bpm = sample.hr_bpm
        if hr_bpm is not None and hr_bpm > 0:
            self._strap_hr.append((arrived_s, float(hr_bpm)))
        elif not sample.rr_ms:
            return
        self._last_signal_s = arrived_s
        if not sample.rr_ms:
            if self._start_s is None:
                self._start_s = arrived_s
            return
        if len(sample.beat_t_s) == len(sample.rr_ms):
            # ``beats_of``'s floats, the times converted as they are put in order below.
            given: Iterable[float] = map(float, sample.beat_t_s)
            rr_ms = list(map(float, sample.rr_ms))
        else:
            given, rr_ms = beats_of(sample)
        # Rebuilt times can overlap the previous notification's: keep them ordered.
        last = self._last_beat_s
        t_s = []
        for t in given:
            if t < last:
                t = last
            else:
                last = t
            t_s.append(t)
        self._last_beat_s = last
        if self._start_s is None:
            self._start_s = t_s[0]
        self._cleaner.push(t_s, rr_ms)

    def estimate(self, now_s: float) -> ArousalEstimate:
        cfg = self.config
        if self._first_seen_s is None:
            self._first_seen_s = now_s
        # Newly decided beats in; beats and strap readings older than every window out
        # (written here, not in a method of their own: a call a tick costs more than
        # some of these steps).
        beats = self._beats
        self._cleaner.decide(beats)
        beats.forget_before(now_s - self._keep_s)
        strap_hr = self._strap_hr
        if strap_hr:
            oldest_s = now_s - cfg.hr_window_s
            while strap_hr and strap_hr[0][0] <= oldest_s:
                strap_hr.popleft()
        rate = beats.flagged_rate(now_s, cfg.artifact_window_s)
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
                hr_noise_bpm=self._baseline.noise_bpm,
                baseline_how=self._baseline.how,
                baseline_rise_bpm=self._baseline.rise_bpm,
            )
        # The same figures as ``measure_windows`` (the batch path), for one time.
        hi = beats.known(now_s)
        hr = beats.hr_bpm(now_s, cfg.hr_window_s, hi, cfg.min_hr_beats)
        if hr != hr:
            hr = self._strap_hr_bpm(now_s, cfg.hr_window_s)
        hr_fast = beats.hr_bpm(now_s, cfg.hr_fast_window_s, hi, cfg.min_hr_beats)
        if hr_fast != hr_fast:
            hr_fast = self._strap_hr_bpm(now_s, cfg.hr_fast_window_s)
        hr_mid = beats.hr_bpm(now_s, cfg.hr_mid_window_s, hi, cfg.min_hr_beats)
        if hr_mid != hr_mid:
            hr_mid = self._strap_hr_bpm(now_s, cfg.hr_mid_window_s)
        rmssd = math.nan
        rmssd_60 = math.nan
        if rate <= cfg.hr_only_artifact_rate:
            # Below the strap's 1 ms resolution RMSSD is noise; the floor keeps its log
            # finite (``max(x, 1.0)`` for a number, NaN kept: NaN < 1.0 is false).
            rmssd = beats.rmssd_ms(now_s, cfg.rmssd_window_s, hi, cfg.min_rmssd_diffs)
            if rmssd < 1.0:
                rmssd = 1.0
            rmssd_60 = beats.rmssd_ms(now_s, cfg.rmssd_long_window_s, hi, 2 * cfg.min_rmssd_diffs)
            if rmssd_60 < 1.0:
                rmssd_60 = 1.0
        ok = self._gate.update(now_s, rmssd == rmssd, rate)
        if ok:
            ln_rmssd = math.log(rmssd)
        else:
            rmssd = ln_rmssd = math.nan
        assert self._start_s is not None
        base = self._baseline
        if base.hr_bpm is None or base.ln_rmssd is None:
            # Once both are decided the collector takes nothing more (``offer``
            # returns at once): not asked each tick of a long session.
            base.offer(now_s - self._start_s, hr, hr_mid, ln_rmssd, hr_fast)
        # min(reference, the 5-minute mean) once that is full; NaN is never less.
        ln_60 = math.log(rmssd_60) if math.isfinite(rmssd_60) else math.nan
        mean = self._reference.add(now_s, ln_60)
        reference = base.ln_rmssd if base.ln_rmssd is not None else math.nan
        if mean < reference:
            reference = mean
        base_hr = base.hr_bpm if base.hr_bpm is not None else math.nan
        # ``BaselineCollector.rmssd_ms``, its ``exp`` taken once per baseline.
        ln_base = base.ln_rmssd
        rmssd_of = self._rmssd_of
        if ln_base is not None and ln_base is not rmssd_of[0]:
            self._rmssd_of = rmssd_of = (ln_base, math.exp(ln_base))
        hr_delta = hr - base_hr
        hr_z = hr_delta / cfg.hr_scale_bpm
        ln_delta = ln_rmssd - reference
        drop_z = (reference - ln_rmssd) / cfg.ln_rmssd_scale
        # max(drop_z, 0.0) for a number (-0.0 kept, as max keeps it), 0 for NaN.
        vagal = drop_z if drop_z >= 0.0 else 0.0
        arousal = cfg.hr_weight * hr_z + cfg.rmssd_weight * vagal
        # ``nan_to_none`` inline (ten a tick): NaN is the one value unequal to itself.
        # Every figure here is already a Python float; in the fields' order.
        return _estimate(
            now_s,
            hr if hr == hr else None,
            rmssd if rmssd == rmssd else None,
            arousal if arousal == arousal else None,
            _OK if ok else _HR_ONLY,
            rate,
            hr_delta if hr_delta == hr_delta else None,
            ln_delta if ln_delta == ln_delta else None,
            base.hr_bpm,
            rmssd_of[1] if ln_base is not None else None,
            hr_z if hr_z == hr_z else None,
            drop_z if drop_z == drop_z else None,
            rmssd_60 if rmssd_60 == rmssd_60 else None,
            hr_fast if hr_fast == hr_fast else None,
            hr_mid if hr_mid == hr_mid else None,
            base.noise_bpm,
            base.how,
            base.rise_bpm,
        )

    def _strap_hr_bpm(self, now_s: float, span_s: float) -> float:
        """The strap's own HR over the last ``span_s``, for straps that send no RR."""
        recent = [hr for t, hr in self._strap_hr if t > now_s - span_s]
        if not recent:
            return math.nan
        return sum(recent) / len(recent)


class QualityGate:
    """``ok`` / ``hr_only`` with hysteresis: HRV is dropped as soon as it is unusable,
    and trusted again only after ``ok_after_s`` of clean beats."""

    def __init__(self, cfg: EstimatorConfig) -> None:
        self.cfg = cfg
        self._ok: bool | None = None  # None: not judged yet
        self._clean_since: float | None = None

    def update(self, now_s: float, hrv_usable: bool, artifact_rate: float) -> bool:
        cfg = self.cfg
        clean = hrv_usable and artifact_rate <= cfg.ok_artifact_rate
        if self._ok is None:
            if hrv_usable:
                self._ok = clean
        elif self._ok:
            self._ok = hrv_usable
        elif not clean:
            self._clean_since = None
        else:
            if self._clean_since is None:
                self._clean_since = now_s
            self._ok = now_s - self._clean_since >= cfg.ok_after_s
        if self._ok:
            self._clean_since = None
        return bool(self._ok) and hrv_usable


class _RunningMean:
    """Mean of the values added over the last ``span_s`` seconds."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._items: deque[tuple[float, float]] = deque()
        self._sum = 0.0
        self._full = span_s / 2

    def add(self, t_s: float, value: float) -> float:
        """Add ``value`` (unless NaN) at ``t_s``; the mean once the values span half
        of ``span_s`` (one a second), else NaN."""
        items = self._items
        if value == value:
            items.append((t_s, value))
            total = self._sum + value
            oldest_s = t_s - self.span_s
            while items[0][0] <= oldest_s:
                total -= items.popleft()[1]
            self._sum = total
        count = len(items)
        if count and count >= self._full:
            return self._sum / count
        return math.nan
