"""Resonance during a session: the live indicator, and the assessment's result.

``ResonanceTracker`` keeps the session's beats, cleaned as the estimator cleans
them, and estimates over the last ``window_s`` (64 s) how much of heart rate's
variation is one slow wave (coherence), that wave's rate and heart rate's
swing. It is an estimate and says so in its event.

``ResonanceEstimator`` and ``ResonanceController`` wrap the arousal estimator
and the pacing controller so the loop needs nothing new: the estimator hands
each sample to the tracker as well, and the controller adds a ``resonance``
event every ``update_s`` (5 s) and, when the session ran an assessment, the
``resonance_assessed`` result once its last step is over (or the session is
stopped). Both stay pure: no clock, no I/O.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from biofeedback.models import (
    Action,
    ArousalEstimate,
    HeartSample,
    ResonanceAssessed,
    ResonanceUpdate,
    SessionEvent,
    SourceStatus,
    Zone,
)
from biofeedback.pacing.controller import PacingController
from biofeedback.signals.arousal import ArousalEstimator, EstimatorConfig, beats_of
from biofeedback.signals.breath_estimate import BreathEstimate
from biofeedback.signals.line_fit import LineX, line_x, without_line
from biofeedback.signals.live_beats import LiveBeats, LiveCleaner
from biofeedback.signals.median import percentile, percentile_between, percentile_rank
from biofeedback.signals.resonance import (
    LF_BAND_HZ,
    RESAMPLE_HZ,
    CleanBeats,
    RateWindow,
    assess,
    band_span,
    confidence_label,
    hann_taper,
    padded_points,
    spectrum_freqs,
    taper_energy,
)
from biofeedback.signals.slots import builder

if TYPE_CHECKING:
    # The assessment's plan loads with the assessment (~0.75 ms of any other session).
    from biofeedback.pacing.resonance_plan import AssessmentPlan
    from biofeedback.signals.line_fit import Floats

WINDOW_S = 64.0
UPDATE_S = 5.0
# Coherence: power within this of the LF peak, over all power from 0.0033 to 0.4 Hz.
_PEAK_HALF_WIDTH_HZ = 0.015
_TOTAL_BAND_HZ = (0.0033, 0.4)
# ``a.sum()`` without the method's Python wrapper (the same reduction it calls).
_sum = np.add.reduce
# ``ResonanceUpdate(t, window_s, coherence, peak_hz, peak_bpm, swing_bpm)`` at half
# the cost of its ``__init__`` (the same object: models/slots.py).
_update = builder(ResonanceUpdate, "t", "window_s", "coherence", "peak_hz", "peak_bpm", "swing_bpm")


class _KeptBeats(LiveBeats):
    """Where the tracker's ``LiveCleaner`` puts what it decides: the beats
    themselves (a reading resamples a window of them), not the running sums the
    arousal estimator's ``LiveBeats`` keeps; ``decide`` calls only these three.
    The corrected beats are kept as C doubles (``array``: an append costs what a
    list's does), so that a reading's window is its tail copied as a block, not a
    new array converted from two lists value by value."""

    def __init__(self) -> None:  # the sums of LiveBeats are not kept
        # A float, or an integer (a source may give them), stored as numpy's
        # conversion of a list would store it.
        self.t_s = array("d")
        self.nn_ms = array("d")
        self.raw_t_s: list[float] = []
        self.flagged: list[bool] = []
        # While the corrected beats' times never fall back (always, for a strap's
        # beats), a reading's window is the tail from one search, not a mask.
        # ``<=`` is False for NaN too: a window then falls back to the mask.
        self.ordered = True
        self._last_t_s = -math.inf

    def start_chunk(self) -> None:
        pass

    def add_beat(self, t_s: float, nn_ms: float, available_s: float) -> None:
        if not self._last_t_s <= t_s:
            self.ordered = False
        self._last_t_s = t_s
        self.t_s.append(t_s)
        self.nn_ms.append(nn_ms)

    def add_raw(self, t_s: float, available_s: float, flagged: bool) -> None:
        self.raw_t_s.append(t_s)
        self.flagged.append(flagged)

    def window(self, first: int) -> tuple[np.ndarray, np.ndarray]:
        """The beats from ``first`` on, as arrays (over copies of the tails: a view
        of the ``array`` itself would keep it from growing while it lives)."""
        return np.frombuffer(self.t_s[first:]), np.frombuffer(self.nn_ms[first:])

    def drop_before(self, t_s: float) -> None:
        """Drop the beats before ``t_s`` (numpy's search, as before, whether or not
        the times are in order)."""
        count = int(np.searchsorted(np.array(self.t_s), t_s))
        del self.t_s[:count], self.nn_ms[:count]
        count = int(np.searchsorted(np.array(self.raw_t_s), t_s))
        del self.raw_t_s[:count], self.flagged[:count]


class ResonanceTracker:
    """Cleaned beats of the session so far, and the live estimate from them."""

    def __init__(self, *, keep_all: bool = False, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._keep_all = keep_all
        # The arousal estimator's cleaner, beat by beat in floats: ``RRCleaner``'s
        # decisions and corrected beats to the bit (tests/test_clean_arrivals.py),
        # without numpy's per-call cost on the few beats of a reading.
        self._cleaner = LiveCleaner(EstimatorConfig().cleaner)
        self._kept = _KeptBeats()
        # Each reading's spectrum is written here (one array, not a new 64 kB one
        # each reading): a window of up to ``padded_points(0)`` points fills it.
        self._spectrum = np.empty(padded_points(0) // 2 + 1, dtype=np.complex128)

    def add_sample(self, sample: HeartSample) -> None:
        if not sample.usable or not sample.rr_ms:
            return
        # Beat times rebuilt from the arrival when the source sent none, as the
        # arousal estimator does (a source without them crashed the cleaner). The
        # running sums are summed notification by notification, as the estimator's.
        # Integers (a source may give them) are exact in the cleaner's arithmetic:
        # the same values as floats give, and ``beats`` hands floats out. The
        # sample's own tuples: the cleaner only reads them.
        if len(sample.beat_t_s) == len(sample.rr_ms):
            self._cleaner.push(sample.beat_t_s, sample.rr_ms)
        else:
            self._cleaner.push(*beats_of(sample))

    def _decide(self) -> None:
        # Decided when a reading needs the beats (every few seconds): each beat
        # once the next has arrived, as at every tick.
        kept = self._kept
        self._cleaner.decide(kept)
        if not self._keep_all and len(kept.t_s) > 4096:
            kept.drop_before(kept.t_s[-1] - 2.0 * self.window_s)

    @property
    def beats_ordered(self) -> bool:
        """Whether the cleaned beats' times never fell back (then a reading's
        window is a tail found by one search)."""
        return self._kept.ordered

    def beats(self) -> CleanBeats:
        self._decide()
        kept = self._kept
        return CleanBeats(
            np.array(kept.t_s, float),
            np.array(kept.nn_ms, float),
            np.array(kept.raw_t_s, float),
            np.array(kept.flagged, bool),
        )

    def reading(self, now_s: float) -> ResonanceUpdate:
        self._decide()
        kept = self._kept
        start_s = now_s - self.window_s
        if kept.ordered:
            # Ordered times: those at or after the window's start are a tail.
            t, nn = kept.window(bisect_left(kept.t_s, start_s))
        else:
            t, nn = kept.window(0)
            inside = t >= start_s
            t, nn = t[inside], nn[inside]
        figures = window_figures(t, nn, self.window_s, self._spectrum)
        if figures is None:
            return _update(now_s, self.window_s, None, None, None, None)
        coherence, peak_hz, swing = figures
        return _update(
            now_s,
            self.window_s,
            None if coherence is None else round(coherence, 3),
            None if peak_hz is None else round(peak_hz, 4),
            None if peak_hz is None else round(peak_hz * 60.0, 2),
            round(swing, 2),
        )


def window_figures(
    t_s: np.ndarray, nn_ms: np.ndarray, window_s: float, spectrum: np.ndarray | None = None
) -> tuple[float | None, float | None, float] | None:
    """Coherence, the LF peak (Hz) and heart rate's swing (bpm, 5th to 95th
    percentile) of one window's cleaned beats, unrounded; None when most of the
    window holds no beats. ``spectrum``: a complex array the transform may be
    written to, used when it has the transform's size (see ``_coherence``)."""
    # Array methods here and below: numpy's functions of the same name add their
    # dispatch to each call (the same arithmetic).
    if nn_ms.size < 16 or float(_sum(nn_ms)) / 1000.0 < 0.75 * window_s:
        return None
    grid = np.arange(t_s[0], t_s[-1], 1.0 / RESAMPLE_HZ)
    if grid.size < 32:
        return None
    hr = np.interp(grid, t_s, 60000.0 / nn_ms)
    grid -= grid[0]  # the line's x, in place (``grid[0]`` is a copy: the same values)
    plan = _plan(grid.size)
    hr = without_line(grid, hr, plan.line_x(grid))
    coherence, peak_hz = _coherence(hr, plan, spectrum)
    return coherence, peak_hz, _spread(hr, 5, 95)


class _Bins:
    """What every reading of a spectrum size shares: its frequencies, the total
    band's and the LF band's index spans, and the bins near each peak."""

    def __init__(self, points: int) -> None:
        freqs = spectrum_freqs(points, RESAMPLE_HZ)
        self.points = points
        self.freqs = freqs
        lo, hi = band_span(freqs, _TOTAL_BAND_HZ)
        lf_lo, lf_hi = band_span(freqs, LF_BAND_HZ)
        if lf_lo < lf_hi and not lo <= lf_lo <= lf_hi <= hi:
            raise ValueError("the LF band must lie inside the total band")
        self.lo, self.hi, self.lf_lo, self.lf_hi = lo, hi, lf_lo, lf_hi
        self._near: dict[int, slice] = {}

    def near(self, peak: int) -> slice:
        """Where the total band's powers lie within the half width of
        ``freqs[peak]``: the bins of the mask ``|freqs - freqs[peak]| <= half
        width`` over the band, as one run (rising frequencies: the distance to the
        peak falls, then rises; the same powers in the same order, so the same
        sum), worked out once per peak bin (the LF band's, a few hundred)."""
        near = self._near.get(peak)
        if near is None:
            freqs = self.freqs
            inside = np.flatnonzero(
                np.abs(freqs[self.lo : self.hi] - freqs[peak]) <= _PEAK_HALF_WIDTH_HZ
            )
            first, last = int(inside[0]), int(inside[-1])
            if last - first + 1 != inside.size:
                raise ValueError("the bins near a peak must be one run")
            near = self._near[peak] = slice(first, last + 1)
        return near


class _Plan:
    """What every reading of ``n`` points shares: the line fit's sums of its x,
    the taper, the density's scale and the spectrum's bins (``tapered_spectrum``'s,
    made once per size)."""

    def __init__(self, n: int) -> None:
        # The grid less its start is ``k / RESAMPLE_HZ`` to the bit unless the
        # window straddles a power of two in seconds (the grid's values then round):
        # its sums are those of this x when its bytes are.
        x: Floats = np.arange(n, dtype=np.float64)
        x *= 1.0 / RESAMPLE_HZ
        self._x_bytes = x.tobytes()
        self._line_x = line_x(x)
        points = padded_points(n)
        bins = _BINS.get(points)
        if bins is None:
            bins = _BINS[points] = _Bins(points)
        self.taper = taper = hann_taper(n)
        self.bins = bins
        # ``density /= RESAMPLE_HZ * taper_energy(taper)``: the divisor, once.
        self.scale = float(RESAMPLE_HZ * taper_energy(taper))

    def line_x(self, x: np.ndarray) -> LineX | None:
        """``line_x(x)`` worked out once, for an x of the usual grid; else None."""
        return self._line_x if x.tobytes() == self._x_bytes else None


# A live reading's windows come in a few sizes (64 s at 4 Hz: ~256 points); windows
# longer than the padding give other spectrum sizes: both start over past a bound.
_PLANS: dict[int, _Plan] = {}
_BINS: dict[int, _Bins] = {}


def _plan(n: int) -> _Plan:
    plan = _PLANS.get(n)
    if plan is None:
        if len(_PLANS) >= 64:
            _PLANS.clear()
        if len(_BINS) >= 8:
            _BINS.clear()
        plan = _PLANS[n] = _Plan(n)
    return plan


def _coherence(
    hr: np.ndarray, plan: _Plan | None = None, spectrum: np.ndarray | None = None
) -> tuple[float | None, float | None]:
    # One transform for the LF peak and the coherence (the same tapered, padded
    # spectrum as ``tapered_spectrum``'s, so the figures are those of two), and
    # one power spectrum: the LF band lies inside the total band, so its density
    # is a slice of the same powers (element by element what ``lf_of`` works out;
    # its LF power is not needed here). A reading every 5 s: the taper, the bands'
    # indices and the bins near each peak are worked out once, and the transform
    # is written to the caller's ``spectrum`` when it has the transform's size (the
    # same values as into a new array; ~6 us less than allocating 64 kB each time).
    if plan is None:
        plan = _plan(hr.size)
    bins = plan.bins
    lo, lf_lo, lf_hi = bins.lo, bins.lf_lo, bins.lf_hi
    if lf_lo >= lf_hi:
        return None, None
    if spectrum is not None and spectrum.size != bins.points // 2 + 1:
        spectrum = None
    spectrum = np.fft.rfft(hr * plan.taper, n=bins.points, out=spectrum)
    # In place, the same operations (numpy squares by ``x * x``).
    power = np.abs(spectrum[lo : bins.hi])
    power *= power
    density = power[lf_lo - lo : lf_hi - lo] * 2.0
    density /= plan.scale
    peak = lf_lo + int(density.argmax())
    peak_hz = bins.freqs.item(peak)
    total = float(_sum(power))
    if total <= 0:
        return None, peak_hz
    return min(float(_sum(power[bins.near(peak)])) / total, 1.0), peak_hz


# The ranks of a spread's two percentiles, by the number of values and percentiles.
_RANKS: dict[tuple[int, float, float], tuple[int, int, float, int, int, float]] = {}


def _spread(values: np.ndarray, low_pct: float, high_pct: float) -> float:
    """``percentile(values, high_pct) - percentile(values, low_pct)`` to the bit
    (``signals.median.percentile``'s ranks and interpolation), from one sort instead
    of two partitions (numpy sorts a few hundred floats faster than it selects).
    NaN if any value is NaN or there are none."""
    n = values.size
    if n == 0:
        return math.nan
    # ``np.sort`` is this copy and sort behind its dispatch.
    ordered = values.copy()
    ordered.sort()
    if math.isnan(ordered.item(n - 1)):  # NaN sorts last, as in a partition
        return math.nan
    key = (n, low_pct, high_pct)
    ranks = _RANKS.get(key)
    if ranks is None:
        if len(_RANKS) >= 256:
            _RANKS.clear()
        ranks = _RANKS[key] = (*percentile_rank(n, low_pct), *percentile_rank(n, high_pct))
    low_a, low_b, low_w, high_a, high_b, high_w = ranks
    a, b = ordered.item(low_a), ordered.item(low_b)
    c, d = ordered.item(high_a), ordered.item(high_b)
    if a == 0.0 or b == 0.0 or c == 0.0 or d == 0.0:
        # Zeros of both signs compare equal: a sort may place them differently
        # from a partition, so the sign of such a zero is left to percentile.
        return percentile(values, high_pct) - percentile(values, low_pct)
    return percentile_between(c, d, high_w) - percentile_between(a, b, low_w)


class ResonanceEstimator:
    """The arousal estimator, also handing every sample to the tracker."""

    def __init__(self, inner: ArousalEstimator, tracker: ResonanceTracker) -> None:
        self.inner = inner
        self.tracker = tracker

    def add_sample(self, sample: HeartSample) -> None:
        self.inner.add_sample(sample)
        self.tracker.add_sample(sample)

    def estimate(self, now_s: float) -> ArousalEstimate:
        return self.inner.estimate(now_s)


class ResonanceController:
    """The pacing controller plus the resonance events (see the module doc)."""

    def __init__(
        self,
        inner: PacingController,
        tracker: ResonanceTracker,
        *,
        assessment: bool = False,
        update_s: float = UPDATE_S,
    ) -> None:
        self.inner = inner
        self.tracker = tracker
        self.assessment = assessment
        self.update_s = update_s
        self._next_update_s = tracker.window_s
        self._events: list[SessionEvent] = []
        self._assessed = False
        # (time, following the pacer) from the chest, to mark rates not breathed.
        self._following: list[tuple[float, bool]] = []

    # The loop's view of a controller, passed through.
    @property
    def zone(self) -> Zone:
        return self.inner.zone

    @property
    def protocol_name(self) -> str:
        return self.inner.protocol_name

    @property
    def finished(self) -> bool:
        return self.inner.finished

    @property
    def end_reason(self) -> str:
        return self.inner.end_reason

    def start(self, now_s: float) -> list[SessionEvent]:
        self._next_update_s = now_s + self.tracker.window_s
        return self._seen(self.inner.start(now_s), now_s)

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        events = self.inner.on_estimate(now_s, estimate)
        if now_s >= self._next_update_s and not self.inner.finished:
            self._next_update_s += self.update_s * max(
                1, math.floor((now_s - self._next_update_s) / self.update_s) + 1
            )
            events = [*events, self.tracker.reading(now_s)]
        # Every tick passes here: a session without an assessment keeps nothing.
        return self._seen(events, now_s) if self.assessment else events

    def on_breath(self, now_s: float, breath: BreathEstimate) -> list[SessionEvent]:
        if not self.assessment:
            return self.inner.on_breath(now_s, breath)
        if breath.following is not None:
            self._following.append((now_s, breath.following))
        return self._seen(self.inner.on_breath(now_s, breath), now_s)

    def on_source_status(self, now_s: float, status: SourceStatus) -> list[SessionEvent]:
        return self._seen(self.inner.on_source_status(now_s, status), now_s)

    def on_action(self, now_s: float, action: Action) -> list[SessionEvent]:
        return self._seen(self.inner.on_action(now_s, action), now_s)

    def stop(self, now_s: float, reason: str) -> list[SessionEvent]:
        return self._seen(self.inner.stop(now_s, reason), now_s)

    def _seen(self, events: list[SessionEvent], now_s: float) -> list[SessionEvent]:
        if not self.assessment:
            return events
        # The steps' events say when each rate ran.
        self._events += events
        if self.assessment and self.inner.finished and not self._assessed:
            self._assessed = True
            events = [*events, self.result_event(now_s)]
        return events

    def windows(self) -> list[RateWindow]:
        from biofeedback.pacing.resonance_plan import rate_windows

        return rate_windows(self._events)

    def result_event(self, now_s: float) -> ResonanceAssessed:
        windows = self.windows()
        followed = [rate_followed(self._following, w) for w in windows]
        return assessed_event(now_s, self.tracker.beats(), windows, followed)


def rate_followed(
    following: Sequence[tuple[float, bool]], window: RateWindow, *, least: int = 20
) -> bool | None:
    """Whether the person breathed a rate, from the chest's readings past the
    window's first half minute (a breath or two to take it up); None when too few."""
    seen = [f for t, f in following if window.start_s + 30.0 <= t < window.end_s]
    if len(seen) < least:
        return None
    return sum(seen) >= len(seen) / 2


def assessed_event(
    now_s: float,
    beats: CleanBeats,
    windows: Sequence[RateWindow],
    followed: Sequence[bool | None] = (),
) -> ResonanceAssessed:
    """The assessment of ``windows`` as an event for the record; a rate the chest
    showed was not breathed is marked, not scored."""
    result = assess(beats, windows, followed=followed)
    return ResonanceAssessed(
        now_s,
        result.best_rate_bpm,
        result.confidence,
        confidence_label(result.confidence),
        result.peak_hz,
        tuple(score.to_dict() for score in result.scores),
    )


def with_resonance(
    estimator: ArousalEstimator,
    controller: PacingController,
    *,
    assessment: AssessmentPlan | None = None,
) -> tuple[ResonanceEstimator, ResonanceController]:
    """Any session with the live indicator; with ``assessment``, also its result."""
    tracker = ResonanceTracker(keep_all=assessment is not None)
    return (
        ResonanceEstimator(estimator, tracker),
        ResonanceController(controller, tracker, assessment=assessment is not None),
    )
