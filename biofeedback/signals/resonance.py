"""Personal resonance: how strongly the heart answers breathing at each rate.

Breathing at a person's resonance rate (adults about 4.5-6.5 breaths a minute)
makes heart rate swing far more than other rates do (Lehrer & Gevirtz 2014;
Shaffer & Meehan 2020). The stepped assessment paces a few rates in turn; each
rate's window of beats is scored here on the heart's response, as the classic
assessment does (Lehrer et al. 2013 list these criteria):

- ``swing_bpm``: peak-to-trough heart rate within each breath, the median over
  the window's breaths, and ``paced_swing_bpm``: peak-to-trough of the one
  smooth wave at the pacing rate fitted to the whole window;
- ``lf_power_ms2`` and ``peak_hz``: RR power in the low-frequency band
  (0.04-0.15 Hz) and where the spectrum peaks;
- ``phase_agreement``: how steadily heart rate keeps the same phase to the
  pacer from breath to breath (1: locked; 0: no relation);
- ``smoothness``: the share of the window's heart-rate variance that is one
  smooth wave at the pacing rate (1: a clean sine).

Beats are cleaned first (``rr_clean``, as live), and a window with too many
corrected beats or too little data is marked unusable rather than scored.

Pure: arrays in, dataclasses out; no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from biofeedback.models.record import record
from biofeedback.signals.median import median
from biofeedback.signals.rr_clean import CleanerConfig, RRCleaner

LF_BAND_HZ = (0.04, 0.15)
RESAMPLE_HZ = 4.0
# The first seconds of a rate are the change-over: the breath in progress
# finishes, and the heart takes a few breaths to settle into the new rhythm.
# The baroreflex rings on for a few of its own cycles (tens of seconds), so
# the first 40 s of a rate still carry the rate before it.
SKIP_S = 40.0
MAX_ARTIFACT_SHARE = 0.2
MIN_COVERAGE = 0.6
# How the criteria add up to one score: the paced wave's swing, the per-breath
# swing and LF power say how big the response is, smoothness and phase
# agreement how clean. The paced wave and smoothness weigh most: they ignore
# noise and the other slow rhythms (benchmarks/resonance.py compares).
WEIGHTS = {"paced": 0.35, "smooth": 0.3, "lf": 0.15, "swing": 0.1, "phase": 0.1}
_PAD_POINTS = 8192


@record(frozen=True, slots=True)
class RateWindow:
    """Where one paced rate ran (session seconds)."""

    rate_bpm: float
    start_s: float
    end_s: float


@record(frozen=True, slots=True)
class RateScore:
    """How the heart answered one paced rate: its swing, LF power, peak, phase
    agreement and smoothness, and whether the window was usable."""

    rate_bpm: float
    swing_bpm: float | None
    lf_power_ms2: float | None
    peak_hz: float | None
    phase_agreement: float | None
    smoothness: float | None
    artifact_share: float
    usable: bool
    paced_swing_bpm: float | None = None
    """Peak-to-trough of the one smooth wave at the pacing rate."""
    score: float = 0.0
    """0-1, relative to the best rate of the same assessment."""
    followed: bool | None = None
    """False when the chest showed the rate was not breathed (then not scored);
    None when there was no chest motion to tell."""

    def to_dict(self) -> dict[str, Any]:
        def r(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "rate_bpm": round(self.rate_bpm, 3),
            "score": round(self.score, 3),
            "swing_bpm": r(self.swing_bpm, 2),
            "paced_swing_bpm": r(self.paced_swing_bpm, 2),
            "lf_power_ms2": r(self.lf_power_ms2, 1),
            "peak_hz": r(self.peak_hz, 4),
            "phase_agreement": r(self.phase_agreement, 3),
            "smoothness": r(self.smoothness, 3),
            "artifact_share": round(self.artifact_share, 3),
            "usable": self.usable,
            "followed": self.followed,
        }


@record(frozen=True, slots=True)
class ResonanceResult:
    """What a resonance assessment found (each figure below), with each rate's score."""

    best_rate_bpm: float | None
    """The rate the heart answered most, refined between the paced rates."""
    confidence: float
    """0-1: how clearly the best rate stands out, and how clean the data were."""
    scores: tuple[RateScore, ...]
    peak_hz: float | None
    """The spectral peak in the best rate's window."""

    @property
    def confidence_label(self) -> str:
        return confidence_label(self.confidence)


def confidence_label(confidence: float) -> str:
    if confidence >= 0.7:
        return "high"
    if confidence >= 0.4:
        return "medium"
    return "low"


# --------------------------------------------------------------------------
# Beats


@record(frozen=True, slots=True)
class CleanBeats:
    """Every beat of a stretch of recording, cleaned, with the raw beats' flags."""

    t_s: np.ndarray
    nn_ms: np.ndarray
    raw_t_s: np.ndarray
    flagged: np.ndarray


def clean_beats(
    beat_t_s: Sequence[float] | np.ndarray,
    rr_ms: Sequence[float] | np.ndarray,
    config: CleanerConfig | None = None,
) -> CleanBeats:
    t = np.asarray(beat_t_s, float)
    rr = np.asarray(rr_ms, float)
    cleaner = RRCleaner(config)
    cleaner.push(t, rr)
    chunk = cleaner.process(final=True)
    return CleanBeats(chunk.t_s, chunk.nn_ms, chunk.raw_t_s, chunk.kind != 0)


# --------------------------------------------------------------------------
# One window


def score_window(beats: CleanBeats, window: RateWindow, *, skip_s: float = SKIP_S) -> RateScore:
    """The heart's response to one paced rate (criteria only; ``score`` stays 0)."""
    start_s = window.start_s + min(skip_s, 0.4 * (window.end_s - window.start_s))
    end_s = window.end_s
    raw = (beats.raw_t_s >= start_s) & (beats.raw_t_s < end_s)
    artifact_share = float(np.mean(beats.flagged[raw])) if raw.any() else 1.0
    inside = (beats.t_s >= start_s) & (beats.t_s < end_s)
    t, nn = beats.t_s[inside], beats.nn_ms[inside]
    period_s = 60.0 / window.rate_bpm if window.rate_bpm > 0 else math.inf
    span_s = end_s - start_s
    covered_s = float(np.sum(nn)) / 1000.0 if nn.size else 0.0
    if (
        nn.size < 8
        or span_s < min(2.0 * period_s, 30.0)
        or covered_s < MIN_COVERAGE * span_s
        or artifact_share > MAX_ARTIFACT_SHARE
    ):
        return RateScore(window.rate_bpm, None, None, None, None, None, artifact_share, False)
    grid = np.arange(t[0], t[-1], 1.0 / RESAMPLE_HZ)
    if grid.size < 16:
        return RateScore(window.rate_bpm, None, None, None, None, None, artifact_share, False)
    rr_grid = _detrend(np.interp(grid, t, nn))
    hr_grid = _detrend(np.interp(grid, t, 60000.0 / nn))
    lf_power, peak_hz = lf_spectrum(rr_grid)
    swing, phase, smooth, paced = None, None, None, None
    if math.isfinite(period_s):
        freq_hz = 1.0 / period_s
        swing = _median_breath_swing(grid, hr_grid, window.start_s, period_s)
        phase = _phase_agreement(grid, hr_grid, window.start_s, period_s, freq_hz)
        paced, smooth = _sine_fit(grid, hr_grid, freq_hz)
    return RateScore(
        window.rate_bpm, swing, lf_power, peak_hz, phase, smooth, artifact_share, True, paced
    )


def lf_spectrum(series: np.ndarray, fs_hz: float = RESAMPLE_HZ) -> tuple[float, float | None]:
    """Power (units² of the series) in the LF band and the frequency where it peaks."""
    return lf_of(*tapered_spectrum(series, fs_hz), fs_hz)


def tapered_spectrum(
    series: np.ndarray, fs_hz: float = RESAMPLE_HZ
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Hann-tapered series' spectrum, zero-padded to at least ``_PAD_POINTS``, its
    frequencies and the taper (one transform for a caller that needs more than
    ``lf_spectrum`` from it)."""
    n = series.size
    taper = hann_taper(n)
    points = padded_points(n)
    spectrum = np.fft.rfft(series * taper, n=points)
    return spectrum, spectrum_freqs(points, fs_hz), taper


def padded_points(n: int) -> int:
    """The transform's length for ``n`` values: zero-padded to at least ``_PAD_POINTS``."""
    return max(_PAD_POINTS, n)


# A live session asks for the same few sizes every few seconds: the taper and the
# frequencies are made once per size (read-only, as they are shared).
@functools.lru_cache(maxsize=64)
def hann_taper(n: int) -> np.ndarray:
    """``np.hanning(n)``, shared (read-only)."""
    taper = np.hanning(n)
    taper.setflags(write=False)
    return taper


def taper_energy(taper: np.ndarray) -> np.float64:
    """``np.sum(taper**2)`` of a ``hann_taper`` (worked out once per size)."""
    return _taper_energy(taper.size)


@functools.lru_cache(maxsize=64)
def _taper_energy(n: int) -> np.float64:
    energy: np.float64 = np.sum(hann_taper(n) ** 2)
    return energy


@functools.lru_cache(maxsize=8)
def spectrum_freqs(points: int, fs_hz: float) -> np.ndarray:
    """``np.fft.rfftfreq(points, 1 / fs_hz)``, shared (read-only)."""
    freqs = np.fft.rfftfreq(points, 1.0 / fs_hz)
    freqs.setflags(write=False)
    return freqs


def lf_of(
    spectrum: np.ndarray, freqs: np.ndarray, taper: np.ndarray, fs_hz: float = RESAMPLE_HZ
) -> tuple[float, float | None]:
    """``lf_spectrum`` from ``tapered_spectrum``'s result."""
    lo, hi = band_span(freqs, LF_BAND_HZ)
    if lo >= hi:
        return 0.0, None
    # One-sided density, scaled so that it sums to the series' variance (worked
    # out for the band only: the same values as the whole spectrum's, element by element).
    density = (np.abs(spectrum[lo:hi]) ** 2) * 2.0 / (fs_hz * taper_energy(taper))
    df = freqs[1] - freqs[0]
    power = float(np.sum(density) * df)
    peak = float(freqs[lo + int(np.argmax(density))])
    return power, peak


def band_span(freqs: np.ndarray, band_hz: tuple[float, float]) -> tuple[int, int]:
    """The slice of rising ``freqs`` from ``band_hz[0]`` to ``band_hz[1]``, both
    included: the indices where ``(freqs >= lo) & (freqs <= hi)``."""
    lo = int(np.searchsorted(freqs, band_hz[0], side="left"))
    hi = int(np.searchsorted(freqs, band_hz[1], side="right"))
    return lo, hi


def _detrend(series: np.ndarray) -> np.ndarray:
    x = np.arange(series.size, dtype=float)
    slope, intercept = np.polyfit(x, series, 1)
    result: np.ndarray = series - (slope * x + intercept)
    return result


def _cycles(grid: np.ndarray, origin_s: float, period_s: float) -> list[np.ndarray]:
    """Index masks of whole breaths on the pacer's clock inside the grid."""
    first = math.ceil((grid[0] - origin_s) / period_s)
    out = []
    k = first
    while origin_s + (k + 1) * period_s <= grid[-1] + 1e-9:
        lo = origin_s + k * period_s
        mask = (grid >= lo) & (grid < lo + period_s)
        if mask.sum() >= 4:
            out.append(mask)
        k += 1
    return out


def _median_breath_swing(
    grid: np.ndarray, hr: np.ndarray, origin_s: float, period_s: float
) -> float | None:
    swings = [float(np.ptp(hr[m])) for m in _cycles(grid, origin_s, period_s)]
    return median(swings) if swings else None


def _phase_agreement(
    grid: np.ndarray, hr: np.ndarray, origin_s: float, period_s: float, freq_hz: float
) -> float | None:
    phasors = []
    for m in _cycles(grid, origin_s, period_s):
        z = np.sum(hr[m] * np.exp(-2j * math.pi * freq_hz * (grid[m] - origin_s)))
        if abs(z) > 0:
            phasors.append(z / abs(z))
    if len(phasors) < 2:
        return None
    return float(abs(np.mean(phasors)))


def _sine_fit(grid: np.ndarray, hr: np.ndarray, freq_hz: float) -> tuple[float, float | None]:
    """Peak-to-trough of the wave at the pacing rate, and its share of the variance."""
    w = 2.0 * math.pi * freq_hz * grid
    basis = np.column_stack((np.cos(w), np.sin(w)))
    coef, *_ = np.linalg.lstsq(basis, hr, rcond=None)
    swing = 2.0 * float(np.hypot(*coef))
    total = float(np.sum(hr**2))
    if total <= 0:
        return swing, None
    fitted = basis @ coef
    return swing, float(min(np.sum(fitted**2) / total, 1.0))


# --------------------------------------------------------------------------
# A whole assessment


def assess(
    beats: CleanBeats,
    windows: Sequence[RateWindow],
    *,
    skip_s: float = SKIP_S,
    followed: Sequence[bool | None] = (),
) -> ResonanceResult:
    """Score each paced rate and pick the one the heart answered most.

    ``followed`` (one per window, when the chest could tell): a rate the
    person did not breathe is marked and left out, never scored."""
    raw_scores = [score_window(beats, w, skip_s=skip_s) for w in windows]
    for i, was in enumerate(followed[: len(raw_scores)]):
        if was is not None:
            kept = raw_scores[i].usable and was
            raw_scores[i] = dataclasses.replace(raw_scores[i], followed=was, usable=kept)
    usable = [s for s in raw_scores if s.usable and s.swing_bpm is not None]
    if not usable:
        return ResonanceResult(None, 0.0, tuple(raw_scores), None)
    best_of = {
        "swing": max(s.swing_bpm or 0.0 for s in usable),
        "lf": max(math.sqrt(s.lf_power_ms2 or 0.0) for s in usable),
        "phase": max(s.phase_agreement or 0.0 for s in usable),
        "smooth": max(s.smoothness or 0.0 for s in usable),
        "paced": max(s.paced_swing_bpm or 0.0 for s in usable),
    }

    def combined(s: RateScore) -> float:
        if not s.usable or s.swing_bpm is None:
            return 0.0
        parts = {
            "swing": s.swing_bpm,
            "lf": math.sqrt(s.lf_power_ms2 or 0.0),
            "phase": s.phase_agreement or 0.0,
            "smooth": s.smoothness or 0.0,
            "paced": s.paced_swing_bpm or 0.0,
        }
        return sum(WEIGHTS[k] * (parts[k] / best_of[k] if best_of[k] > 0 else 0.0) for k in WEIGHTS)

    scores = tuple(_with_score(s, combined(s)) for s in raw_scores)
    top = max(s.score for s in scores)
    if top > 0:
        scores = tuple(_with_score(s, s.score / top) for s in scores)
    best_index = max(range(len(scores)), key=lambda i: scores[i].score)
    best = scores[best_index]
    return ResonanceResult(
        _refine(scores, best_index),
        _confidence(scores, len(usable)),
        scores,
        best.peak_hz,
    )


def _with_score(s: RateScore, score: float) -> RateScore:
    return RateScore(
        s.rate_bpm,
        s.swing_bpm,
        s.lf_power_ms2,
        s.peak_hz,
        s.phase_agreement,
        s.smoothness,
        s.artifact_share,
        s.usable,
        s.paced_swing_bpm,
        score,
        s.followed,
    )


def _refine(scores: Sequence[RateScore], i: int) -> float:
    """The top of a parabola through the best rate and its paced neighbours."""
    by_rate = sorted(range(len(scores)), key=lambda k: scores[k].rate_bpm)
    pos = by_rate.index(i)
    best = scores[i]
    if pos == 0 or pos == len(by_rate) - 1:
        return best.rate_bpm
    lo, hi = scores[by_rate[pos - 1]], scores[by_rate[pos + 1]]
    if not (lo.usable and hi.usable):
        return best.rate_bpm
    x = np.array([lo.rate_bpm, best.rate_bpm, hi.rate_bpm])
    # A resonance peak is close to a Gaussian in rate: a parabola in the log.
    y = np.log(np.maximum([lo.score, best.score, hi.score], 1e-6))
    a, b, _ = np.polyfit(x, y, 2)
    if a >= 0:
        return best.rate_bpm
    vertex = -b / (2.0 * a)
    # Never further than halfway to a neighbour: beyond that the neighbour
    # would have scored higher.
    low = best.rate_bpm - (best.rate_bpm - lo.rate_bpm) / 2.0
    high = best.rate_bpm + (hi.rate_bpm - best.rate_bpm) / 2.0
    return float(round(min(max(vertex, low), high), 2))


def _confidence(scores: Sequence[RateScore], n_usable: int) -> float:
    """How far the best rate stands above the weakest, scaled by data quality."""
    if n_usable < 2:
        return 0.0
    values = [s.score for s in scores if s.usable]
    prominence = 1.0 - min(values)  # the best is 1
    quality = (
        n_usable
        / len(scores)
        * (1.0 - float(np.mean([s.artifact_share for s in scores if s.usable])))
    )
    return float(round(min(prominence / 0.3, 1.0) * quality, 3))


def breathing_peak_hz(
    beat_t_s: Sequence[float] | np.ndarray, rr_ms: Sequence[float] | np.ndarray
) -> float | None:
    """The LF spectral peak of a whole recording, cleaned as live (no pacing needed)."""
    beats = clean_beats(beat_t_s, rr_ms)
    if beats.t_s.size < 16:
        return None
    return score_window(
        beats, RateWindow(0.0, float(beats.t_s[0]), float(beats.t_s[-1]) + 1.0), skip_s=0.0
    ).peak_hz
