"""Beat-by-beat RR cleaning: flag missed, extra and ectopic beats and correct them.

In the spirit of Lipponen and Tarvainen (2019, J Med Eng Technol 43:173): every
beat is judged against thresholds taken from the recent distribution of the
person's own beat-to-beat changes, and by the pattern it makes with its
neighbours (a premature beat is short then long; a missed beat is about twice
the local median; a spurious extra beat splits one interval into two that add
up to it). Two departures, both for streaming:

- Causal, with one beat of look-ahead: beat ``i`` is decided when beat ``i + 1``
  has arrived, from the raw beats before it. The statistics depend on the raw
  data only, never on earlier decisions, so cleaning a whole recording at once
  and cleaning it one notification at a time give the same answer (the batch
  path is the streaming path called once).
- A median rule instead of quartile thresholds: the reference is the median of
  the previous 11 beats, the spread is the mean beat-to-beat change with each
  change clipped at a fixed share of that median, and the threshold is capped
  at that share too. A run of abnormal beats (frequent ectopy) can therefore
  never raise its own threshold past the cap, which is what makes quartile
  thresholds miss all five premature beats of ``polar_h10_pvc_isolated_rr.csv``.

Corrections keep the time base: a missed beat is split into equal parts, an
extra beat is merged into its neighbour, a premature/compensatory pair is
replaced by two beats of their mean, and an unexplained long or short beat by
the local median. The raw intervals and a kind per raw beat are kept for review.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import IntEnum

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from biofeedback.models.record import record
from biofeedback.signals.buffers import Growable
from biofeedback.signals.median import median


class BeatKind(IntEnum):
    """What the cleaner decided about one raw beat."""

    NORMAL = 0
    MISSED = 1  # about 2 or 3 normal intervals: the strap missed beats; split
    EXTRA = 2  # one interval split in two by a spurious beat; merged
    ECTOPIC = 3  # premature beat and its compensatory pause; both set to their mean
    LONG = 4  # an isolated long beat with no better explanation; set to the median
    SHORT = 5  # an isolated short beat with no better explanation; set to the median


@record(frozen=True, slots=True)
class CleanerConfig:
    """The RR cleaner's windows and thresholds."""

    median_beats: int = 11
    spread_beats: int = 91
    # Mean |change| x 2.7 equals L&T's 5.2 quartile deviations for Gaussian changes.
    spread_gain: float = 2.7
    # Threshold bounds as shares of the local median: the floor keeps a very steady
    # (or 7.8 ms quantised) rhythm from flagging its own small wobbles; the cap is
    # the median rule above.
    floor_rel: float = 0.06
    cap_rel: float = 0.2
    # Whatever the pattern, a beat this far from the median is not sinus rhythm.
    outlier_rel: float = 0.45


@record(frozen=True, slots=True)
class CleanedChunk:
    """What one call to ``RRCleaner.process`` decided.

    ``raw_*`` and ``kind`` are per raw beat, in order; ``t_s``/``nn_ms`` are the
    corrected beats (a split beat adds entries, a merged one removes one).
    ``*available_s`` is when each was decided: the end of its look-ahead beat.
    Windowing by it lets a whole recording replay exactly what a live
    estimator, which must wait for that beat, had at each moment.

    The arrays are read-only: ``raw_t_s``/``raw_rr_ms`` are views of the
    cleaner's own buffers (which never write over them); where no beat was
    split or merged ``t_s``/``available_s`` are the raw arrays themselves, and
    where none was flagged ``nn_ms`` is ``raw_rr_ms``.
    """

    raw_t_s: np.ndarray
    raw_rr_ms: np.ndarray
    kind: np.ndarray
    raw_available_s: np.ndarray
    t_s: np.ndarray
    nn_ms: np.ndarray
    available_s: np.ndarray


_EMPTY = np.empty(0)
_EMPTY.flags.writeable = False
_NO_KINDS = np.empty(0, np.int8)
_NO_KINDS.flags.writeable = False


@record(frozen=True, slots=True)
class Uneven:
    """The raw beats of a chunk that became other than one corrected beat: their
    places among the chunk's raw beats (ascending), and how many more beats each
    became (-1: merged into its partner; 1 or 2: split). Every other raw beat is
    one corrected beat, and each corrected beat keeps its raw beat's decision
    time: the corrected beats known at any moment follow from the raw ones."""

    at: np.ndarray
    more: np.ndarray


_NONE_UNEVEN = Uneven(np.empty(0, np.intp), np.empty(0, np.int64))
_NONE_UNEVEN.at.flags.writeable = False
_NONE_UNEVEN.more.flags.writeable = False


class RRCleaner:
    """Streaming cleaner: ``push`` raw beats, ``process`` to get decided ones."""

    def __init__(self, config: CleanerConfig | None = None) -> None:
        self.config = config or CleanerConfig()
        self._rr = Growable()
        self._t = Growable()
        self._ref = Growable()
        self._th = Growable()
        # Running sum of clipped |change| over beats, with a leading 0.
        self._clip_sum = Growable()
        self._clip_sum.extend(np.zeros(1))
        self._decided = 0  # raw beats [0, _decided) are decided (buffer indices)
        self._seen = 0  # raw beats ever pushed (for warm-up)
        # What the last ``process`` split or merged (its chunk's raw beats).
        self.uneven = _NONE_UNEVEN
        cfg = self.config
        # A threshold never exceeds the cap; with the cap a positive share of the
        # median below both the outlier share and 0.4, a beat within it of the
        # median is neither an outlier nor 1.5 medians long (see ``_classify``).
        self._bounded = 0.0 < cfg.cap_rel <= min(cfg.outlier_rel, 0.4)

    @property
    def pending(self) -> int:
        """Raw beats pushed but not yet decided (waiting for their look-ahead)."""
        return len(self._rr) - self._decided

    def push(
        self,
        t_s: np.ndarray,
        rr_ms: np.ndarray,
        *,
        arrivals: Sequence[int] | None = None,
        own_times: bool = False,
    ) -> None:
        """Append raw beats (times in s, ascending; intervals in ms).

        ``arrivals``: the beats came in notifications of these sizes. The running
        sum of changes is then summed notification by notification, to the bit
        what a push per notification gives, in one call.
        ``own_times``: ``t_s`` is the caller's to hand over (never written again);
        a first push keeps it instead of a copy (a whole recording's times).
        """
        if rr_ms.size == 0:
            return
        self._compact()
        start = len(self._rr)
        self._rr.extend(rr_ms)
        self._t.extend(t_s, own=own_times)
        rr = self._rr.view
        size = rr.size - start
        ref = self._ref.grow(size)
        self._reference(rr, start, ref)
        # The caps wait in the thresholds' places until each threshold is known,
        # and the clipped changes are summed where their sums go: for a whole
        # recording, no array beyond the ones kept (each new one is fresh pages).
        th = self._th.grow(size)
        cap = np.multiply(self.config.cap_rel, ref, out=th)
        base = self._clip_sum.view[-1]
        sums = self._clip_sum.grow(size)
        if start > 0:
            np.subtract(rr[start:], rr[start - 1 : -1], out=sums)
        else:
            np.subtract(rr[1:], rr[:-1], out=sums[1:])
            sums[0] = 0.0
        np.abs(sums, out=sums)
        np.minimum(sums, cap, out=sums)
        if self._seen == 0:
            sums[0] = 0.0  # the first beat has no predecessor
        for lo, hi in _spans(arrivals, size):
            np.cumsum(sums[lo:hi], out=sums[lo:hi])
            sums[lo:hi] += base
            base = sums[hi - 1]
        self._threshold(start, ref, th)
        self._seen += rr_ms.size

    def process(self, *, final: bool = False) -> CleanedChunk:
        """Decide every beat whose look-ahead has arrived (all of them if ``final``)."""
        n = len(self._rr)
        lo = self._decided
        hi = n if final else n - 1
        self.uneven = _NONE_UNEVEN
        if hi <= lo:
            return CleanedChunk(_EMPTY, _EMPTY, _NO_KINDS, _EMPTY, _EMPTY, _EMPTY, _EMPTY)
        rr = self._rr.view
        ref = self._ref.view[lo:hi]
        th = self._th.view[lo:hi]
        kind, first = _classify(rr, lo, hi, ref, th, self.config.outlier_rel, self._bounded)
        # A pair that starts on the last beat takes its look-ahead beat with it.
        end = hi + 1 if first.size and first[-1] == hi - lo - 1 else hi
        if end > hi:
            kind = np.concatenate((kind, kind[-1:]))
        t_all = self._t.view
        t_raw = t_all[lo:end]
        x = rr[lo:end]
        flagged = np.flatnonzero(kind != 0)
        ref_flagged = self._ref.view[lo:end][flagged]
        # Every statistic this call needed is read: a decided recording's go
        # before the corrected beats take memory of their own.
        del ref, th
        self._decided = end
        self._compact()
        # Each beat is decided when the next has ended (the last of a final call
        # at once), a pair's partner with its start.
        available = np.empty(end - lo)
        ahead = min(end + 1, n) - lo - 1
        available[:ahead] = t_all[lo + 1 : lo + 1 + ahead]
        available[ahead:] = t_all[n - 1]
        partner = first + 1
        available[partner] = t_raw[partner]
        t_c, nn, avail_c, self.uneven = _correct(
            t_raw, x, ref_flagged, kind, flagged, first, available
        )
        return CleanedChunk(*map(_frozen, (t_raw, x, kind, available, t_c, nn, avail_c)))

    # -- statistics of the raw beats before each new beat

    def _reference(self, rr: np.ndarray, start: int, out: np.ndarray) -> None:
        """Median of the previous ``median_beats`` raw beats, for beats ``start..``,
        into ``out``."""
        w = self.config.median_beats
        # A live chunk is a beat or two: a loop beats building window views.
        first_full = max(start, w) if rr.size - start > 8 else rr.size
        mid = w // 2
        for i in range(start, min(first_full, rr.size)):
            if i >= w:
                out[i - start] = np.partition(rr[i - w : i], mid)[mid]
            else:
                out[i - start] = median(rr[max(i - w, 0) : i]) if i > 0 else rr[0]
        if first_full < rr.size:
            _window_medians(rr[first_full - w : rr.size - 1], w, out[first_full - start :])

    def _threshold(self, start: int, ref: np.ndarray, th: np.ndarray) -> None:
        """Per beat from ``start``, into ``th`` (which holds the caps, the upper
        share x ``ref``): the spread of the changes before it, bounded by shares of
        its reference."""
        cfg = self.config
        span = cfg.spread_beats
        csum = self._clip_sum.view
        size = ref.size
        # Past the first ``span`` beats every window is whole (a compacted buffer
        # always keeps one behind the oldest undecided beat) and the warm-up
        # over: the mean change is the window's sum over ``span``, by slices.
        head = min(max(span + 1 - start, 0), size)
        if head:
            cap = th[:head].copy()
            idx = np.arange(start, start + head)
            first = np.maximum(idx - span, 0)
            count = idx - first
            if self._seen < span + 1:
                # In the warm-up the first beat's zero change is not a change.
                absolute = self._seen + (idx - start)
                count = np.minimum(count, absolute - 1)
            spread = np.empty(head)
            np.divide(csum[idx] - csum[first], count, out=spread, where=count > 0)
            spread[count <= 0] = 0.0
            spread *= cfg.spread_gain
            np.clip(spread, cfg.floor_rel * ref[:head], cap, out=th[:head])
            # Too few changes to know the spread: only flag what the cap flags.
            few = count < 3
            th[:head][few] = cap[few]
        if span < 3:
            return  # no spread is known: every threshold past the head is its cap
        # A block at a time, so the two scratch arrays stay in the cache.
        spread = np.empty(min(size - head, _BLOCK))
        floor = np.empty(spread.size)
        for lo in range(head, size, _BLOCK):
            hi = min(lo + _BLOCK, size)
            s, f = spread[: hi - lo], floor[: hi - lo]
            np.subtract(
                csum[start + lo : start + hi], csum[start + lo - span : start + hi - span], out=s
            )
            s /= span
            s *= cfg.spread_gain
            np.multiply(cfg.floor_rel, ref[lo:hi], out=f)
            np.clip(s, f, th[lo:hi], out=th[lo:hi])

    def _compact(self) -> None:
        keep = self.config.spread_beats + self.config.median_beats + 2
        drop = self._decided - keep
        if drop <= 0 or len(self._rr) < 4096:
            return
        # Into fresh arrays: the raw beats' are shared with the chunks handed out,
        # and a whole recording's statistics can go as soon as it is decided.
        for buf in (self._rr, self._t, self._ref, self._th, self._clip_sum):
            buf.drop_front(drop, fresh=True)
        self._decided -= drop


def _spans(arrivals: Sequence[int] | None, size: int) -> list[tuple[int, int]]:
    """Index ranges of the notifications (one range for the whole push if none)."""
    if arrivals is None:
        return [(0, size)]
    spans, lo = [], 0
    for count in arrivals:
        spans.append((lo, lo + count))
        lo += count
    return spans


# Which comparisons of a sorting network for 11 values (Knuth's 35-comparator
# network, layer by layer) reach the middle output, and which of each pair's min
# and max are still needed there: 46 elementwise min/max over whole columns
# instead of a partition per window (a row-by-row select costs ~2x as much).
_MEDIAN_OF_11 = (
    (0, 9, True, True), (1, 6, True, True), (2, 4, True, True), (3, 7, True, True),
    (5, 8, True, True), (0, 1, True, True), (3, 5, True, True), (4, 10, True, True),
    (6, 9, True, True), (7, 8, True, True), (1, 3, True, True), (2, 5, True, True),
    (4, 7, True, True), (8, 10, True, False), (0, 4, False, True), (1, 2, False, True),
    (3, 7, True, True), (5, 9, True, False), (6, 8, True, True), (2, 6, True, True),
    (4, 5, True, True), (7, 8, True, False), (2, 4, False, True), (3, 6, True, True),
    (5, 7, True, False), (3, 4, False, True), (5, 6, True, False), (4, 5, False, True),
)  # fmt: skip


# The two middle values (ranks 4 and 5 from 0) of 10: Batcher's odd-even merge
# sorting network, kept where it reaches them, then each comparator dropped that
# they do not need (tests/test_arousal_clean.py checks every 0-1 input, which
# proves it for all inputs). Two neighbouring windows of 11 share 10 values; each
# median is then its own value clamped between those two: 44 + 4 min/max for
# two windows instead of 2 x 46.
_MIDDLE_OF_10 = (
    (0, 1, True, True), (2, 3, True, True), (0, 2, True, True), (1, 3, True, True),
    (1, 2, True, True), (4, 5, True, True), (6, 7, True, True), (4, 6, True, True),
    (5, 7, True, True), (5, 6, True, True), (0, 4, False, True), (2, 6, True, True),
    (2, 4, True, True), (1, 5, True, True), (3, 7, True, False), (3, 5, True, True),
    (1, 2, False, True), (3, 4, True, True), (8, 9, True, True), (4, 8, True, True),
    (2, 4, False, True), (6, 8, True, False), (5, 9, True, False), (3, 5, True, True),
    (3, 4, False, True), (5, 6, True, False),
)  # fmt: skip


_MEDIAN_BLOCK = _BLOCK = 8192


def _window_medians(rr: np.ndarray, w: int, out: np.ndarray | None = None) -> np.ndarray:
    """Median of every ``w`` consecutive values of ``rr`` (``w`` odd), into ``out``:
    the middle of each window, the same value a partition picks."""
    size = rr.size - w + 1
    out = np.empty(size) if out is None else out
    if w != 11 or np.isnan(rr).any():
        # NaN sorts last in a partition but wins every min/max.
        windows = sliding_window_view(rr, w)
        out[:] = np.partition(windows, w // 2, axis=1)[:, w // 2]
        return out
    if size > 1 and rr.all():
        # Without zeros (of either sign, equal but not the same bits) every way
        # of picking the middle value picks the same bits.
        _medians_in_pairs(rr, out)
        return out
    # Every wire gets a buffer of its own on its first write, plus one spare: no
    # new array per comparison, and, a block of windows at a time, all of them
    # stay in the cache (fresh pages and memory traffic cost more than the
    # comparisons).
    pool = np.empty((w + 1, min(size, _MEDIAN_BLOCK)))
    for lo in range(0, size, _MEDIAN_BLOCK):
        hi = min(lo + _MEDIAN_BLOCK, size)
        wire = _run_network(
            _MEDIAN_OF_11, [rr[lo + k : hi + k] for k in range(w)], [row[: hi - lo] for row in pool]
        )
        out[lo:hi] = wire[w // 2]
    return out


def _medians_in_pairs(rr: np.ndarray, out: np.ndarray) -> None:
    """``_window_medians`` for windows of 11 (no NaN, no zeros), two at a time:
    windows 2p and 2p + 1 share rr[2p + 1 .. 2p + 10]; with a and b the two middle
    values of those, the medians are rr[2p] and rr[2p + 11] each clamped to [a, b]."""
    size = rr.size - 10
    pairs = size // 2
    block = min(pairs, _MEDIAN_BLOCK)
    # Even and odd beats apart, so that every wire is a contiguous slice; ten
    # rows for the wires, two spare.
    pool = np.empty((14, block + 5))
    for p0 in range(0, pairs, _MEDIAN_BLOCK):
        p1 = min(p0 + _MEDIAN_BLOCK, pairs)
        n = p1 - p0
        even, odd = pool[12, : n + 5], pool[13, : n + 5]
        even[:] = rr[2 * p0 : 2 * p1 + 9 : 2]  # rr[2p] is even[p - p0]
        odd[:] = rr[2 * p0 + 1 : 2 * p1 + 10 : 2]  # rr[2p + 1] is odd[p - p0]
        # Shared value j of pair p is rr[2p + 1 + j].
        shared = [
            odd[j // 2 : j // 2 + n] if j % 2 == 0 else even[j // 2 + 1 : j // 2 + 1 + n]
            for j in range(10)
        ]
        spare = [row[:n] for row in pool[:12]]
        wire = _run_network(_MIDDLE_OF_10, shared, spare)
        low, high, clamp = wire[4], wire[5], spare[0]
        np.maximum(even[:n], low, out=clamp)
        np.minimum(clamp, high, out=out[2 * p0 : 2 * p1 : 2])
        np.maximum(odd[5 : 5 + n], low, out=clamp)
        np.minimum(clamp, high, out=out[2 * p0 + 1 : 2 * p1 : 2])
    if size % 2:
        out[size - 1] = np.partition(rr[size - 1 :], 5)[5]


def _run_network(
    network: tuple[tuple[int, int, bool, bool], ...],
    wire: list[np.ndarray],
    spare: list[np.ndarray],
) -> list[np.ndarray]:
    """The wires after ``network``'s comparators (min to the first, max to the
    second, each only where needed later): views of the input, or of ``spare``
    arrays, which each wire takes over on its first write (and one more)."""
    wire = list(wire)
    owned = [False] * len(wire)
    for i, j, low, high in network:
        a, b = wire[i], wire[j]
        if high and not owned[j]:
            wire[j], owned[j] = spare.pop(), True
        if low:
            smaller = spare.pop()
            np.minimum(a, b, out=smaller)
        if high:
            np.maximum(a, b, out=wire[j])  # in place when b is already wire j's
        if low:
            if owned[i]:
                spare.append(a)
            wire[i], owned[i] = smaller, True
    return wire


def _classify(
    rr: np.ndarray,
    lo: int,
    hi: int,
    ref: np.ndarray,
    th: np.ndarray,
    outlier_rel: float,
    bounded: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Kind per raw beat ``lo..hi - 1`` of ``rr``, and where (from ``lo``) each
    effective pair (this beat + the next) starts. Past the end of ``rr`` the
    look-ahead is unknown: no pair can start there.

    ``bounded``: no threshold is above the cap, a positive share of the median
    at most the outlier share and 0.4 (``RRCleaner._bounded``).
    """
    x = rr[lo:hi]
    # Only a few beats can be flagged, and ``_classify_odd`` judges those alone
    # (each exactly as over the whole chunk). A flag needs a jump from the
    # previous beat beyond the threshold (a long or short beat, a pair: |a| > 1),
    # an outlier, or 1.5 medians or more (missed). With ``bounded`` thresholds and
    # positive medians it also needs a distance from the median beyond the
    # threshold: an outlier or a beat of 1.5 medians is beyond the cap, and
    # every other kind asks for it. That is the cheap test, so it goes first.
    if bounded and ref.min() > 0.0:
        # A block at a time: the distances need no array of their own.
        near = np.empty(x.size, bool)
        dist = np.empty(min(x.size, _BLOCK))
        for b in range(0, x.size, _BLOCK):
            d = dist[: min(_BLOCK, x.size - b)]
            np.subtract(x[b : b + d.size], ref[b : b + d.size], out=d)
            np.abs(d, out=d)
            np.less_equal(d, th[b : b + d.size], out=near[b : b + d.size])
        if near.all():  # nearly every live chunk
            return np.zeros(x.size, np.int8), np.empty(0, np.intp)
        some = np.flatnonzero(~near)
        x_s, ref_s, th_s = x[some], ref[some], th[some]
        dist_s = np.abs(x_s - ref_s)
    else:
        some = np.arange(x.size)
        x_s, ref_s, th_s = x, ref, th
        dist_s = np.abs(x - ref)
    prev = rr[np.maximum(some + (lo - 1), 0)]  # the first beat is its own predecessor
    with np.errstate(invalid="ignore", divide="ignore"):
        odd = ~(np.abs(x_s - prev) <= th_s)
        odd |= ~(dist_s <= outlier_rel * ref_s)
        odd |= x_s / ref_s >= 1.5
    pick = np.flatnonzero(odd)
    kind = np.zeros(x.size, np.int8)
    if not pick.size:
        return kind, np.empty(0, np.intp)
    beat = some[pick]
    ahead = beat + (lo + 1)
    nxt = rr[np.minimum(ahead, rr.size - 1)]
    nxt[ahead >= rr.size] = np.nan
    odd_kind, odd_pair = _classify_odd(
        x_s[pick], prev[pick], nxt, ref_s[pick], th_s[pick], outlier_rel
    )
    kind[beat] = odd_kind
    first = _pair_starts(beat[odd_pair])
    # A pair's partner takes its kind.
    partner = first + 1
    partner = partner[partner < x.size]
    kind[partner] = kind[partner - 1]
    return kind, first


def _classify_odd(
    x: np.ndarray,
    prev: np.ndarray,
    nxt: np.ndarray,
    ref: np.ndarray,
    th: np.ndarray,
    outlier_rel: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Kind per beat, and whether it may start a pair, beat by beat (the pattern
    of each beat with its neighbours, given as arrays)."""
    dev = x - ref
    a = (x - prev) / th
    b = (nxt - x) / th
    with np.errstate(invalid="ignore", divide="ignore"):
        multiple = np.rint(x / ref)
        missed = (multiple >= 2) & (multiple <= 3) & (np.abs(x / multiple - ref) < th)
        dip = (a < -1) & (dev < -th)
        extra = dip & (np.abs(x + nxt - ref) < th)
        ectopic = dip & ~extra & (b > 1) & (nxt - ref > th)
        short = dip & ~extra & ~ectopic & (b > 1)
        long = (a > 1) & (b < -1) & (dev > th) & ~missed
    outlier = np.abs(dev) > outlier_rel * ref
    kind = np.zeros(x.size, np.int8)
    kind[outlier & (dev > 0)] = BeatKind.LONG
    kind[outlier & (dev < 0)] = BeatKind.SHORT
    kind[long] = BeatKind.LONG
    kind[short] = BeatKind.SHORT
    kind[missed] = BeatKind.MISSED
    kind[extra] = BeatKind.EXTRA
    kind[ectopic] = BeatKind.ECTOPIC
    return kind, extra | ectopic


def _pair_starts(candidate: np.ndarray) -> np.ndarray:
    """In each run of consecutive pair candidates (ascending indices), every other
    beat starts a pair (the one after a start is its partner, so it cannot start
    one itself)."""
    if candidate.size == 0:
        return candidate
    pos = np.arange(candidate.size)
    opens = np.ones(candidate.size, bool)
    np.not_equal(candidate[1:], candidate[:-1] + 1, out=opens[1:])
    # Position of the first candidate of the run each candidate belongs to.
    run_first = np.maximum.accumulate(np.where(opens, pos, 0))
    starts: np.ndarray = candidate[(pos - run_first) % 2 == 0]
    return starts


def _correct(
    t_raw: np.ndarray,
    x: np.ndarray,
    ref_flagged: np.ndarray,
    kind: np.ndarray,
    flagged: np.ndarray,
    first: np.ndarray,
    available_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Uneven]:
    """Corrected beats (times, intervals, decision times) for decided raw beats
    (``flagged``: where ``kind`` is not normal, ``ref_flagged`` their medians;
    ``first``: where each pair starts), and the raw beats that became other than
    one. Where nothing changes, the arrays given."""
    if not flagged.size:
        return t_raw, x, available_s, _NONE_UNEVEN
    # Flagged beats are few: their corrected values and parts, by index among them.
    flagged_kind = kind[flagged]
    value = x[flagged]
    count = np.ones(flagged.size, np.int64)
    missed = np.flatnonzero(flagged_kind == BeatKind.MISSED)
    at = flagged[missed]
    count[missed] = np.rint(x[at] / ref_flagged[missed]).astype(np.int64)
    value[missed] = x[at] / count[missed]
    single = np.flatnonzero((flagged_kind == BeatKind.LONG) | (flagged_kind == BeatKind.SHORT))
    value[single] = ref_flagged[single]
    second = first + 1
    pair_sum = x[first] + x[second]
    ectopic = kind[first] == BeatKind.ECTOPIC
    merged = ~ectopic
    start_at, partner_at = np.searchsorted(flagged, first), np.searchsorted(flagged, second)
    value[start_at[ectopic]] = pair_sum[ectopic] / 2
    value[partner_at[ectopic]] = pair_sum[ectopic] / 2
    value[partner_at[merged]] = pair_sum[merged]
    count[start_at[merged]] = 0
    extra = count - 1
    uneven = np.flatnonzero(extra)
    changed = Uneven(flagged[uneven], extra[uneven])
    if not uneven.size:
        nn = x.copy()
        nn[flagged] = value
        if nn.min() >= 0.0 and nn.max() < math.inf:
            # One part per beat: the times below would be the raw ones, to the bit.
            return t_raw, nn, available_s, changed
    # Each flagged beat's first part in the corrected beats, and the parts of the
    # split ones (a merged start has none).
    out_at = flagged + np.cumsum(extra) - extra
    nn, t_end, available = _repeat(
        (x, t_raw, available_s), flagged[uneven], count[uneven], x.size + int(extra.sum())
    )
    parts = count[count > 0]
    nn[np.repeat(out_at[count > 0], parts) + _part_of(parts)] = np.repeat(value[count > 0], parts)
    # Within a split beat, the k-th part ends (parts after it) x part length earlier.
    # Only flagged beats have other than one part: where each ends, from them.
    is_split = extra > 0
    split_parts = count[is_split]
    behind = _part_of(split_parts) - np.repeat(split_parts - 1, split_parts)
    where = np.repeat(out_at[is_split], split_parts) + _part_of(split_parts)
    if nn.min() >= 0.0 and nn.max() < math.inf:
        # Zero parts after: (0 x nn) / 1000 is +0.0 and t - 0.0 is t, to the bit.
        t_end[where] -= -behind * nn[where] / 1000.0
        return t_end, nn, available, changed
    after = np.zeros(nn.size, np.int64)
    after[where] = -behind
    return t_end - after * nn / 1000.0, nn, available, changed


def _part_of(parts: np.ndarray) -> np.ndarray:
    """0, 1, .. parts[i] - 1 for each i in turn: which part of its beat each part is."""
    ends = np.cumsum(parts)
    part: np.ndarray = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - parts, parts)
    return part


# Up to this many beats with other than one part (missed beats split, pairs
# merged) are copied around slice by slice; past it a per-beat count is cheaper.
FEW_UNEVEN = 128


def _repeat(
    arrays: tuple[np.ndarray, ...], at: np.ndarray, times: np.ndarray, total: int
) -> list[np.ndarray]:
    """``np.repeat(a, count)`` for each of ``arrays``, where ``count`` is 1 but
    ``times`` at ``at`` (ascending), and ``total`` its sum."""
    if at.size > FEW_UNEVEN:
        count = np.ones(arrays[0].size, np.int64)
        count[at] = times
        return [np.repeat(a, count) for a in arrays]
    outs = [np.empty(total, a.dtype) for a in arrays]
    src = dst = 0
    for j, c in zip(at.tolist(), times.tolist(), strict=True):
        run = j - src
        for a, out in zip(arrays, outs, strict=True):
            out[dst : dst + run] = a[src:j]
            out[dst + run : dst + run + c] = a[j]
        src, dst = j + 1, dst + run + c
    for a, out in zip(arrays, outs, strict=True):
        out[dst:] = a[src:]
    return outs


def _frozen(values: np.ndarray) -> np.ndarray:
    """``values``, read-only: a chunk's arrays may be views of the cleaner's own
    buffers, or one array for two fields."""
    values.flags.writeable = False
    return values
