"""The batch path's windowed metrics at every tick of a whole recording.

The figures of ``measure_windows`` over ``BeatWindows``/``FlagWindows``, to the
bit, for one recording's cleaned beats at once. The cost of those is mostly
binary searches (each ~1.5 ms per 100,000 beats): here the raw beats ended by
each tick come from the even grid of ticks (``Sorted.on_grid``), the raw beats
known are guessed from those and the guess checked against its neighbours; the
corrected beats known follow from the raw ones and what the cleaner split or
merged (``RRCleaner.uneven``; without it, guessed and checked), those ended are
guessed and checked; and a window's start is, on the grid, a tick a fixed number
back, whose count is read (``Starts``: only the starts between ticks searched).
"""

from __future__ import annotations

import math

import numpy as np

from biofeedback.models.record import record
from biofeedback.signals.arousal import EstimatorConfig, Measures
from biofeedback.signals.rr_clean import CleanedChunk, Uneven


def ascending(v: np.ndarray) -> bool:
    """Non-decreasing and without NaN: a binary search's answer is then unique."""
    return bool(v.size == 0 or ((v[1:] >= v[:-1]).all() and not np.isnan(v[0])))


class Sorted:
    """An ascending array (no NaN), for many ``searchsorted(keys, side="right")``
    whose answers are nearly known: each guess is checked against its neighbours
    and only the ones that miss are searched."""

    def __init__(self, v: np.ndarray) -> None:
        self.v = v

    def counts(
        self, keys: np.ndarray, guess: np.ndarray, unsure: np.ndarray | None = None
    ) -> np.ndarray:
        """The counts at ``keys``; ``guess`` (modified, within ``0..len(v)``) is
        right wherever ``unsure`` is False (without ``unsure``: checked everywhere)."""
        if self.v.size == 0:
            guess[:] = 0
            return guess
        # The answer is g when v[g - 1] <= key < v[g]. The values are read with
        # the places clipped into v (no padded copy of it): at either end (g of 0
        # or len(v)) both reads are one value, so one test fails and the guess is
        # searched, whatever it was.
        if unsure is None:
            value = np.take(self.v, guess, mode="clip")
            off = np.less_equal(value, keys)
            np.subtract(guess, 1, out=guess)
            np.take(self.v, guess, mode="clip", out=value)
            np.add(guess, 1, out=guess)
            off |= value > keys  # (a NaN key passes both, as it did past either end)
            if not off.any():  # (nearly always so on a grid: no list of none to make)
                return guess
            wrong = np.flatnonzero(off)
        else:
            check = np.flatnonzero(unsure)
            g, k = guess[check], keys[check]
            off = np.take(self.v, g, mode="clip") <= k
            off |= np.take(self.v, g - 1, mode="clip") > k  # (as above: a NaN key passes)
            wrong = check[off]
        if wrong.size:
            guess[wrong] = self.v.searchsorted(keys[wrong], side="right")
        return guess

    def on_grid(self, ticks: np.ndarray) -> np.ndarray:
        """``counts(ticks)`` for ticks on an even ascending grid, from guesses: each
        value's first tick at or after it is its distance from the first tick in
        steps, rounded up, and a tick counts the values whose first tick it is or
        follows (each guess then checked, as ``counts`` does)."""
        step = float(ticks[1] - ticks[0]) if ticks.size >= 2 else 0.0
        if not step > 0.0 or self.v.size == 0:
            return self.v.searchsorted(ticks, side="right")
        # A block of values at a time through one scratch array, into their places.
        first = np.empty(self.v.size, np.intp)
        scratch = np.empty(min(self.v.size, _BLOCK))
        for lo in range(0, self.v.size, _BLOCK):
            part = scratch[: min(_BLOCK, self.v.size - lo)]
            np.subtract(self.v[lo : lo + part.size], ticks[0], out=part)
            if step != 1.0:  # (a division by 1 changes no value)
                part /= step
            np.ceil(part, out=part)
            # Ascending: only the first can be before the first tick, only the
            # last past the last (clipped there alone, not the whole block).
            part[: part.searchsorted(0.0)] = 0.0
            part[part.searchsorted(ticks.size, side="right") :] = ticks.size
            first[lo : lo + part.size] = part
        ended = np.bincount(first, minlength=ticks.size + 1)[: ticks.size]
        del first
        return self.counts(ticks, np.cumsum(ended, out=ended))

    def before(self, counts: np.ndarray) -> np.ndarray:
        """The value before each count, ``v[c - 1]`` (-inf for a count of 0)."""
        if self.v.size == 0:
            return np.full(counts.shape, -np.inf)
        last: np.ndarray = np.take(self.v, counts - 1, mode="clip")
        none = counts == 0
        if none.any():
            last[none] = -np.inf
        return last


def nearly(v: np.ndarray, keys: np.ndarray, base: np.ndarray, block: int = 64) -> np.ndarray:
    """A guess at ``v.searchsorted(keys, side="right")`` from counts ``base`` that are
    off by an amount changing only now and then (corrected beats against raw ones):
    ``base`` plus the offset searched at the start of each ``block`` of keys, in
    ``base``'s place."""
    sample = np.arange(0, keys.size, block)
    offset = v.searchsorted(keys[sample], side="right") - base[sample]
    # Each whole block as a row, its offset added to the row (no repeated offsets).
    whole = keys.size // block * block
    rows = base[:whole].view()
    rows.shape = (whole // block, block)  # (a view, or an error: never a copy)
    rows += offset[: whole // block, None]
    base[whole:] += offset[whole // block :]
    np.clip(base, 0, v.size, out=base)
    return base


def ticks_back(ticks: np.ndarray, span_s: float) -> int:
    """How many ticks before a tick a window of ``span_s`` ending there starts, on
    an even grid of ticks (0: no grid, every start is searched)."""
    step = float(ticks[1] - ticks[0]) if ticks.size >= 2 else 0.0
    # Repeated, descending or NaN first ticks: no grid.
    back = span_s / step if step > 0 else 0.0
    by = round(back) if math.isfinite(back) and back > 0 else 0
    return by if by < ticks.size else 0


class Starts:
    """Where the windows of ``span_s`` ending at ticks ``lo..hi - 1`` start.

    On an even grid a window's start (the tick less the span) is, to the bit, the
    tick ``by`` before nearly everywhere, and the count of values up to it is then
    that tick's: whatever is read at the start (the count, a running sum there) is
    what was read at that tick (``at_starts``). The other ticks (``odd``, from
    ``lo``: the first ``by`` of the ticks, and the starts between ticks) have their
    counts searched (``odd_counts``).
    """

    def __init__(self, v: np.ndarray, ticks: np.ndarray, span_s: float, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi
        self.by = by = ticks_back(ticks, span_s)
        size = hi - lo
        keys = ticks[lo:hi] - span_s
        unsure = np.empty(size, bool)
        first = min(max(by - lo, 0), size) if by else size  # the first with a tick by before
        unsure[:first] = True
        np.not_equal(keys[first:], ticks[lo + first - by : hi - by], out=unsure[first:])
        self.odd = np.flatnonzero(unsure)
        self.odd_counts = v.searchsorted(keys[self.odd], side="right")

    def at_starts(self, past: np.ndarray, past_from: int, odd: np.ndarray) -> np.ndarray:
        """The values at the window starts, from ``past`` (the values at ticks
        ``past_from`` on, up to ``hi``) and ``odd`` (those at the odd starts): a
        view of ``past`` when no start is odd (read only), else a new array."""
        size = self.hi - self.lo
        begin = self.lo - self.by - past_from  # the tick by before lo, in ``past``
        if begin >= 0 and not self.odd.size:
            return past[begin : begin + size]
        out = np.empty(size, past.dtype)
        skip = min(max(-begin, 0), size)  # (ticks before ``past`` starts: all odd)
        out[skip:] = past[begin + skip : begin + size]
        out[self.odd] = odd
        return out


def cumulative(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Running sum (as floats) with a leading 0, as ``BeatWindows`` keeps it (into
    ``out``)."""
    out = np.empty(values.size + 1) if out is None else out
    out[0] = 0.0
    np.cumsum(values, dtype=float, out=out[1:])
    return out


def running_count(flags: np.ndarray) -> np.ndarray:
    """How many of ``flags`` hold before each place, with a leading 0 (as exact as
    ``cumulative``'s floats, and a 32-bit count sums booleans twice as fast).

    Where few hold, or few do not (flagged beats, missing readings), the count
    steps only at those: it is repeated between them, a fraction of the cost of
    a sum at every place (which goes one place after another).
    """
    size = flags.size
    held = np.count_nonzero(flags)
    if min(held, size - held) > size // 32:
        out = np.empty(size + 1, np.int32)
        out[0] = 0
        np.cumsum(flags, dtype=np.int32, out=out[1:])
        return out
    rare = held <= size - held
    steps = np.flatnonzero(flags if rare else ~flags)
    # The count before place k is j from just past the j-th step to the (j+1)-th.
    lengths = np.diff(steps, prepend=-1, append=size)
    out = np.repeat(np.arange(steps.size + 1, dtype=np.int32), lengths)
    if not rare:
        np.subtract(np.arange(size + 1, dtype=np.int32), out, out=out)
    return out


def squares_cumulative(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``cumulative(values * values)`` without the squares' own array (into ``out``)."""
    out = np.empty(values.size + 1) if out is None else out
    out[0] = 0.0
    np.multiply(values, values, out=out[1:])
    np.cumsum(out[1:], out=out[1:])
    return out


# ``Measures``' fields, in order: the rows ``measure_series`` writes.
MEASURES = tuple(Measures.__dataclass_fields__)


def measure_series(
    beats: CleanedChunk,
    ticks: np.ndarray,
    raw_at: np.ndarray,
    cfg: EstimatorConfig,
    into: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
    uneven: Uneven | None = None,
) -> Measures | None:
    """``measure_windows`` at every tick, from the cleaned beats of a whole recording
    and ``raw_at`` (how many raw beats had ended by each tick), into the rows of
    ``into`` (one per field of ``Measures``, in order). None when a time array is
    not ascending: the caller then takes the general path. ``raw_at`` is used as
    scratch (its memory takes the corrected beats' counts: no new arrays), and
    so is ``scratch`` (floats, contiguous), where the beats' running sums go if
    they fit (memory the caller has and needs only later: no fresh pages).
    ``uneven``: the cleaner's ``RRCleaner.uneven`` for these beats (the corrected
    beats known by each tick then follow from the raw ones: no search)."""
    if not (ascending(beats.raw_t_s) and ascending(beats.raw_available_s)):
        return None
    corrected = bool(beats.kind.any())
    if corrected and not (ascending(beats.t_s) and ascending(beats.available_s)):
        return None
    raw_t = Sorted(beats.raw_t_s)
    # A raw beat is known once the next one has ended (a pair's partner with it).
    raw_known = _one_off(beats.raw_available_s, raw_t.v, ticks, np.maximum(raw_at - 1, 0), -1)
    if (beats.raw_available_s < raw_t.v).any():
        np.minimum(raw_known, raw_at, out=raw_known)
        uneven = None  # (the raw beats known are no longer those decided)
    rows = np.empty((len(MEASURES), ticks.size)) if into is None else into
    _artifact_rate(beats, raw_t, raw_known, raw_at, ticks, cfg, rows[-1])
    if not corrected:
        return _measures(raw_t, beats.nn_ms, raw_known, raw_at, ticks, rows, cfg, scratch)
    t = Sorted(beats.t_s)
    known, at = _corrected_counts(beats, t, raw_known, raw_at, ticks, uneven)
    return _measures(t, beats.nn_ms, known, at, ticks, rows, cfg, scratch)


def _corrected_counts(
    beats: CleanedChunk,
    t: Sorted,
    raw_known: np.ndarray,
    raw_at: np.ndarray,
    ticks: np.ndarray,
    uneven: Uneven | None,
) -> tuple[np.ndarray, np.ndarray]:
    """How many corrected beats were known, and had ended, by each tick (in the
    places of the raw beats' counts)."""
    avail = Sorted(beats.available_s)
    if uneven is None:
        known = avail.counts(ticks, nearly(avail.v, ticks, raw_known))
    else:
        # Each raw beat known brings its corrected beats, known with it (the raw
        # decision times ascending, the raw beats known are the first so many).
        more = np.concatenate((np.zeros(1, uneven.more.dtype), np.cumsum(uneven.more)))
        lengths = np.diff(uneven.at, prepend=-1, append=beats.raw_t_s.size)
        before = np.repeat(more, lengths)  # corrected beats more than raw ones before each
        known = np.add(raw_known, before[raw_known], out=raw_known)
    at = np.add(known, 1, out=raw_at)
    np.minimum(at, t.v.size, out=at)
    at = _one_off(t.v, avail.v, ticks, at, 1)
    if (avail.v < t.v).any():
        np.minimum(known, at, out=known)
    return known, at


def _one_off(
    v: np.ndarray, w: np.ndarray, keys: np.ndarray, guess: np.ndarray, off: int
) -> np.ndarray:
    """``Sorted(v).counts(keys, guess)``, where ``guess`` is the count of ``w``
    (ascending, no NaN) up to each key plus ``off``, clipped into ``0..len(v)``.

    Mostly ``v[j]`` is ``w[j - off]`` (a beat is known when the next has ended):
    a guess g is then right whatever its key where ``v[g - 1]`` and ``v[g]`` are
    those of w (with n of w up to the key and g = n + off, ``w[n - 1]`` is at
    most the key and ``w[n]`` above it; a clipped guess only widens that). Only
    the guesses beside the other places are checked, as ``counts`` checks each.
    """
    same = np.zeros(v.size, bool)  # v[j] is w[j - off]
    lo, hi = max(off, 0), min(v.size, w.size + off)
    if hi > lo:
        np.equal(v[lo:hi], w[lo - off : hi - off], out=same[lo:hi])
    # Sure of g: v[g - 1] is known at most the key (or g is 0), v[g] above it
    # (or g is len(v)).
    sure = np.ones(v.size + 1, bool)
    sure[1:] = same
    sure[:-1] &= same
    unsure = np.take(sure, guess)
    np.logical_not(unsure, out=unsure)
    return Sorted(v).counts(keys, guess, unsure)


def _artifact_rate(
    beats: CleanedChunk,
    raw_t: Sorted,
    raw_known: np.ndarray,
    raw_at: np.ndarray,
    ticks: np.ndarray,
    cfg: EstimatorConfig,
    into: np.ndarray,
) -> None:
    """The share of flagged raw beats among the known ones in the artifact window
    (0 without any), into ``into`` (a block of ticks at a time: its counts stay
    small)."""
    flags = running_count(beats.kind != 0)
    for b in range(0, ticks.size, _BLOCK):
        e = min(b + _BLOCK, ticks.size)
        start = Starts(raw_t.v, ticks, cfg.artifact_window_s, b, e)
        lo = start.at_starts(raw_at, 0, start.odd_counts)
        flagged = flags[raw_known[b:e]]
        flagged -= flags[lo]
        known = np.subtract(raw_known[b:e], lo)
        rate = into[b:e]
        rate.fill(0.0)
        np.divide(flagged, known, out=rate, where=known > 0)


# Ticks per block: a block's arrays stay in the cache and below the 128 KiB at
# which the allocator maps fresh pages for each, and the blocks are few (each
# costs ~60 numpy calls).
_BLOCK = 16000


def _measures(
    t: Sorted,
    nn: np.ndarray,
    known: np.ndarray,
    at: np.ndarray,
    ticks: np.ndarray,
    rows: np.ndarray,
    cfg: EstimatorConfig,
    scratch: np.ndarray | None,
) -> Measures:
    """The metrics over the beats known at each tick, in windows ending there, into
    ``rows`` (the last already holds the artifact rate)."""
    sums = _Sums.of(t.v, nn, scratch)
    names = ("hr", "hr_fast", "hr_mid", "rmssd", "rmssd_60", "sdnn")
    out = dict(zip(names, rows, strict=False))
    rate = rows[-1]
    with np.errstate(divide="ignore", invalid="ignore"):  # empty windows divide by 0
        for lo_tick in range(0, ticks.size, _BLOCK):
            hi_tick = min(lo_tick + _BLOCK, ticks.size)
            block = slice(lo_tick, hi_tick)
            ends = _Ends(sums, known[block])

            def start(span_s: float, lo: int = lo_tick, hi: int = hi_tick) -> np.ndarray:
                starts = Starts(t.v, ticks, span_s, lo, hi)
                return starts.at_starts(at, 0, starts.odd_counts)

            ends.hr(start(cfg.hr_window_s), cfg.min_hr_beats, out["hr"][block])
            ends.hr(start(cfg.hr_fast_window_s), cfg.min_hr_beats, out["hr_fast"][block])
            ends.hr(start(cfg.hr_mid_window_s), cfg.min_hr_beats, out["hr_mid"][block])
            ends.rmssd(start(cfg.rmssd_window_s), cfg.min_rmssd_diffs, out["rmssd"][block])
            lo_long = start(cfg.rmssd_long_window_s)
            ends.rmssd(lo_long, 2 * cfg.min_rmssd_diffs, out["rmssd_60"][block])
            ends.sdnn(lo_long, 2 * cfg.min_rmssd_diffs, out["sdnn"][block])
    unusable = rate > cfg.hr_only_artifact_rate
    return Measures(
        hr_bpm=out["hr"],
        hr_fast_bpm=out["hr_fast"],
        hr_mid_bpm=out["hr_mid"],
        rmssd_ms=blank(unusable, out["rmssd"]),
        rmssd_60s_ms=blank(unusable, out["rmssd_60"]),
        sdnn_60s_ms=blank(unusable, out["sdnn"]),
        artifact_rate=rate,
    )


@record(frozen=True, slots=True)
class _Sums:
    """The beats' running sums, as ``BeatWindows.extend`` keeps them for a first chunk."""

    nn: np.ndarray
    nn2: np.ndarray
    d2: np.ndarray
    # None: every beat but the first has a difference (no gap), so a window's
    # differences are its beats less one and need no count of their own.
    dn: np.ndarray | None

    @classmethod
    def of(cls, t: np.ndarray, nn: np.ndarray, scratch: np.ndarray | None = None) -> _Sums:
        """The sums, in ``scratch`` if all three fit (else in arrays of their own)."""
        size = nn.size + 1
        if scratch is not None and scratch.size >= 3 * size:
            total, nn2, d2 = scratch[: 3 * size].reshape(3, size)
        else:
            total, nn2, d2 = np.empty((3, size))
        # The first beat has no difference; two beats further apart than their
        # interval plus 1.5 s were not consecutive (the signal dropped between).
        # (in place, in the sums' own arrays: a long recording's temporaries are
        # fresh pages each; the time apart and the most it may be go where the
        # sums will)
        valid = np.zeros(nn.size, bool)
        apart = np.subtract(t[1:], t[:-1], out=d2[2:])
        most = np.divide(nn[1:], 1000.0, out=nn2[2:])
        most += 1.5
        np.less_equal(apart, most, out=valid[1:])
        # The squared differences, summed where they land: d2[k] sums the first k.
        d2[:2] = 0.0
        np.subtract(nn[1:], nn[:-1], out=d2[2:])
        np.multiply(d2[2:], d2[2:], out=d2[2:])
        gapless = bool(valid[1:].all())
        if not gapless:
            d2[1:][~valid] = 0.0
        np.cumsum(d2[1:], out=d2[1:])
        return cls(
            cumulative(nn, total),
            squares_cumulative(nn, nn2),
            d2,
            None if gapless else running_count(valid),
        )


class _Ends:
    """Windows ending at some ticks (``hi``: the beats known there): the metrics
    of ``BeatWindows`` (``hr_bpm_of`` and the rest), to the bit, into given arrays
    (in place, under the caller's ``np.errstate``: empty windows divide by 0)."""

    def __init__(self, sums: _Sums, hi: np.ndarray) -> None:
        self.sums = sums
        self.hi = hi
        self.nn_hi = sums.nn[hi]
        self.d2_hi = sums.d2[hi]
        self.dn_hi = None if sums.dn is None else sums.dn[hi]

    def hr(self, lo: np.ndarray, min_beats: int, into: np.ndarray) -> None:
        beats = self.hi - lo
        mean = self.sums.nn[lo]
        np.subtract(self.nn_hi, mean, out=mean)
        mean /= beats
        np.divide(60000.0, mean, out=into)
        into[beats < min_beats] = np.nan

    def rmssd(self, lo: np.ndarray, min_diffs: int, into: np.ndarray) -> None:
        inner = np.add(lo, 1)
        np.minimum(inner, self.hi, out=inner)
        if self.dn_hi is None or self.sums.dn is None:
            count = self.hi - inner  # both at least 1, or both 0
        else:
            count = self.dn_hi - self.sums.dn[inner]
        np.subtract(self.d2_hi, self.sums.d2[inner], out=into)
        into /= count
        np.sqrt(into, out=into)
        into[count < min_diffs] = np.nan
        # Below the strap's 1 ms resolution RMSSD is noise; the floor keeps its log finite.
        np.maximum(into, 1.0, out=into)

    def sdnn(self, lo: np.ndarray, min_beats: int, into: np.ndarray) -> None:
        beats = self.hi - lo
        count = beats.astype(float)  # (exact: cast once, not for each division)
        total = self.sums.nn[lo]
        np.subtract(self.nn_hi, total, out=total)
        nn2 = self.sums.nn2
        var = nn2[self.hi]
        var -= nn2[lo]
        spread = total / count
        spread *= total
        var -= spread
        count -= 1.0
        var /= count
        np.maximum(var, 0.0, out=var)
        np.sqrt(var, out=into)
        into[beats < min_beats] = np.nan


def blank(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` with NaN where ``mask`` holds, in place (for arrays of our own:
    ``np.where`` would make a new one)."""
    if mask.any():
        values[mask] = np.nan
    return values
