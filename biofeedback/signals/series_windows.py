"""The batch path's windowed metrics at every tick of a whole recording.

The figures of ``measure_windows`` over ``BeatWindows``/``FlagWindows``, to the
bit, for one recording's cleaned beats at once. The cost of those is mostly
binary searches (each ~1.5 ms per 100,000 beats): here one search finds how many
raw beats had ended by each tick, and every other count (beats known, window
starts, the corrected beats') is guessed from it and checked against its
neighbours, so each is the search's own answer at a fraction of its cost.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from biofeedback.signals.arousal import EstimatorConfig, Measures
from biofeedback.signals.rr_clean import CleanedChunk


def ascending(v: np.ndarray) -> bool:
    """Non-decreasing and without NaN: a binary search's answer is then unique."""
    return bool(v.size == 0 or ((v[1:] >= v[:-1]).all() and not np.isnan(v[0])))


class Sorted:
    """An ascending array (no NaN), for many ``searchsorted(keys, side="right")``
    whose answers are nearly known: each guess is checked against its neighbours
    and only the ones that miss are searched."""

    def __init__(self, v: np.ndarray) -> None:
        self.v = v
        # padded[g] is v[g - 1], padded[g + 1] is v[g]: the answer is g when
        # v[g - 1] <= key < v[g], with -inf/+inf standing in past either end.
        self._padded = np.concatenate(([-np.inf], v, [np.inf]))

    def counts(
        self, keys: np.ndarray, guess: np.ndarray, sure: np.ndarray | None = None
    ) -> np.ndarray:
        """The counts at ``keys``; ``guess`` (modified) is right wherever ``sure``."""
        np.clip(guess, 0, self.v.size, out=guess)
        check = np.arange(keys.size) if sure is None else np.flatnonzero(~sure)
        if check.size == 0:
            return guess
        g, k = guess[check], keys[check]
        wrong = check[(self._padded[g] > k) | (self._padded[g + 1] <= k)]
        if wrong.size:
            guess[wrong] = self.v.searchsorted(keys[wrong], side="right")
        return guess


def nearly(v: np.ndarray, keys: np.ndarray, base: np.ndarray, block: int = 64) -> np.ndarray:
    """A guess at ``v.searchsorted(keys, side="right")`` from counts ``base`` that are
    off by an amount changing only now and then (corrected beats against raw ones):
    ``base`` plus the offset searched at the start of each ``block`` of keys."""
    sample = np.arange(0, keys.size, block)
    offset = v.searchsorted(keys[sample], side="right") - base[sample]
    guess: np.ndarray = base + np.repeat(offset, block)[: keys.size]
    return guess


def back(
    ticks: np.ndarray, counts: np.ndarray, span_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, guess, sure) for the counts at ``ticks - span_s``, from ``counts`` at
    the ticks: on an even grid a window's start is, to the bit or nearly, an earlier
    tick, whose count is then the answer."""
    keys = ticks - span_s
    guess = np.zeros(ticks.size, counts.dtype)
    sure = np.zeros(ticks.size, bool)
    by = round(span_s / float(ticks[1] - ticks[0])) if ticks.size >= 2 else 0
    if 0 < by < ticks.size:
        guess[by:] = counts[:-by]
        np.equal(keys[by:], ticks[:-by], out=sure[by:])
    return keys, guess, sure


def cumulative(values: np.ndarray) -> np.ndarray:
    """Running sum with a leading 0, as ``BeatWindows`` keeps it."""
    out = np.empty(values.size + 1)
    out[0] = 0.0
    np.cumsum(values, out=out[1:])
    return out


def measure_series(
    beats: CleanedChunk, ticks: np.ndarray, raw_at: np.ndarray, cfg: EstimatorConfig
) -> Measures | None:
    """``measure_windows`` at every tick, from the cleaned beats of a whole recording
    and ``raw_at`` (how many raw beats had ended by each tick). None when a time
    array is not ascending: the caller then takes the general path."""
    if not (ascending(beats.raw_t_s) and ascending(beats.raw_available_s)):
        return None
    corrected = bool(beats.kind.any())
    if corrected and not (ascending(beats.t_s) and ascending(beats.available_s)):
        return None
    raw_t, raw_avail = Sorted(beats.raw_t_s), Sorted(beats.raw_available_s)
    # A raw beat is known once the next one has ended (a pair's partner with it).
    raw_known = raw_avail.counts(ticks, raw_at - 1)
    if (raw_avail.v < raw_t.v).any():
        raw_known = np.minimum(raw_known, raw_at)
    lo = raw_t.counts(*back(ticks, raw_at, cfg.artifact_window_s))
    flags = cumulative((beats.kind != 0).astype(float))
    rate: np.ndarray = np.divide(
        flags[raw_known] - flags[lo],
        raw_known - lo,
        out=np.zeros(ticks.shape),
        where=raw_known > lo,
    )
    if corrected:
        t, avail = Sorted(beats.t_s), Sorted(beats.available_s)
        known = avail.counts(ticks, nearly(avail.v, ticks, raw_known))
        at = t.counts(ticks, known + 1)
        if (avail.v < t.v).any():
            known = np.minimum(known, at)
    else:
        t, known, at = raw_t, raw_known, raw_at
    return _measures(
        beats.t_s, beats.nn_ms, known, lambda span: t.counts(*back(ticks, at, span)), rate, cfg
    )


def _measures(
    t: np.ndarray,
    nn: np.ndarray,
    hi: np.ndarray,
    start: Callable[[float], np.ndarray],
    rate: np.ndarray,
    cfg: EstimatorConfig,
) -> Measures:
    """The metrics over the beats ``[start(span), hi)`` at each tick."""
    # The beats' running sums, as ``BeatWindows.extend`` keeps them for a first chunk.
    prev_t = np.concatenate((t[:1] - nn[:1] / 1000.0, t))
    diff = np.diff(np.concatenate((nn[:1], nn)))
    valid = np.diff(prev_t) <= nn / 1000.0 + 1.5
    if valid.size:
        valid[0] = False
    s_nn = cumulative(nn)
    s_d2 = cumulative(np.where(valid, diff * diff, 0.0))
    s_dn = cumulative(valid.astype(float))
    nn_hi, d2_hi, dn_hi = s_nn[hi], s_d2[hi], s_dn[hi]

    def hr(span_s: float) -> np.ndarray:
        lo = start(span_s)
        beats_in = hi - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (nn_hi - s_nn[lo]) / beats_in
            return np.where(beats_in >= cfg.min_hr_beats, 60000.0 / mean, np.nan)

    def rmssd(lo: np.ndarray, min_diffs: int) -> np.ndarray:
        inner = np.minimum(lo + 1, hi)
        count = dn_hi - s_dn[inner]
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.sqrt((d2_hi - s_d2[inner]) / count)
        # Below the strap's 1 ms resolution RMSSD is noise; the floor keeps its log finite.
        return np.maximum(np.where(count >= min_diffs, value, np.nan), 1.0)

    lo_long = start(cfg.rmssd_long_window_s)
    s_nn2 = cumulative(nn * nn)
    in_long = hi - lo_long
    total = nn_hi - s_nn[lo_long]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (s_nn2[hi] - s_nn2[lo_long] - total * (total / in_long)) / (in_long - 1)
    sdnn = np.where(in_long >= 2 * cfg.min_rmssd_diffs, np.sqrt(np.maximum(var, 0.0)), np.nan)
    unusable = rate > cfg.hr_only_artifact_rate
    return Measures(
        hr_bpm=hr(cfg.hr_window_s),
        hr_fast_bpm=hr(cfg.hr_fast_window_s),
        hr_mid_bpm=hr(cfg.hr_mid_window_s),
        rmssd_ms=blank(unusable, rmssd(start(cfg.rmssd_window_s), cfg.min_rmssd_diffs)),
        rmssd_60s_ms=blank(unusable, rmssd(lo_long, 2 * cfg.min_rmssd_diffs)),
        sdnn_60s_ms=blank(unusable, sdnn),
        artifact_rate=rate,
    )


def blank(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` with NaN where ``mask`` holds, in place (for arrays of our own:
    ``np.where`` would make a new one)."""
    if mask.any():
        values[mask] = np.nan
    return values
