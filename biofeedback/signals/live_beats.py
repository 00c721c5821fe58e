"""The live estimator's beats: cleaning and windowed sums, one beat at a time.

The same arithmetic as ``rr_clean.RRCleaner`` with ``hrv.BeatWindows`` and
``hrv.FlagWindows`` (the batch path, which stays vectorised), in plain Python
floats. A live tick brings a beat or two, and numpy's per-call overhead on
arrays that small costs more than the sums themselves: this keeps an estimate
within a few tens of microseconds, so one process can follow thousands of
straps. Running sums are accumulated chunk by chunk exactly as the numpy path
does (a partial sum per chunk added to the total), so both give the same
figures to the last bit or two (``tests/test_live_beats.py`` holds them to it).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Sequence
from itertools import pairwise

from biofeedback.signals.rr_clean import BeatKind, CleanerConfig

_NORMAL = int(BeatKind.NORMAL)
_MISSED = int(BeatKind.MISSED)
_EXTRA = int(BeatKind.EXTRA)
_ECTOPIC = int(BeatKind.ECTOPIC)
_LONG = int(BeatKind.LONG)
_SHORT = int(BeatKind.SHORT)

# Keep this many beats before trimming the oldest (a minute is ~60-200 beats).
_TRIM_AT = 1024


class LiveCleaner:
    """``RRCleaner``'s decisions, beat by beat: each raw beat is decided once the
    next one has arrived."""

    def __init__(self, config: CleanerConfig | None = None) -> None:
        self.config = cfg = config or CleanerConfig()
        self._recent: deque[float] = deque(maxlen=cfg.median_beats)
        # ``sorted(self._recent)``, kept in step beat by beat (an insertion and a
        # removal cost half a sort of the window); None while a NaN is in the
        # window, whose order only ``sorted`` itself gives.
        self._sorted: list[float] | None = []
        # Running sum of clipped |change| before each of the last spread window's beats.
        self._csums: deque[float] = deque([0.0], maxlen=cfg.spread_beats + 1)
        self._seen = 0
        # Raw beats waiting for their look-ahead: (t_s, rr_ms, reference, threshold).
        self._pending: deque[tuple[float, float, float, float]] = deque()
        self._prev_rr: float | None = None  # the last decided raw beat

    def push(self, t_s: Sequence[float], rr_ms: Sequence[float]) -> None:
        """Append one notification's raw beats (times ascending)."""
        cfg = self.config
        recent = self._recent
        csums = self._csums
        w = cfg.median_beats
        mid = w // 2
        base = csums[-1]
        partial = 0.0
        spread_beats = cfg.spread_beats
        pending = self._pending
        # min/max written as comparisons (a call each costs more than the sum): the
        # same values, NaN included, as min/max keep their first argument unless
        # another compares smaller (greater).
        if len(t_s) != len(rr_ms):
            raise ValueError(f"{len(t_s)} beat times for {len(rr_ms)} intervals")
        # The lengths checked above: zip's ``strict`` keyword costs more than that.
        for t, x in zip(t_s, rr_ms):  # noqa: B905
            i = self._seen
            kept = self._sorted
            s = sorted(recent) if kept is None else kept
            if i >= w:
                ref = s[mid]
            elif i > 0:
                n = len(s)
                ref = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
            else:
                ref = x
            cap = cfg.cap_rel * ref
            # The spread is over the changes before this beat (csums[-1] is its sum):
            # min(i, spread_beats, i - 1) of them.
            count = i - 1 if i <= spread_beats else spread_beats
            if count >= 3:
                spread = (csums[-1] - csums[0]) / count
                th = cfg.spread_gain * spread
                floor = cfg.floor_rel * ref
                if floor > th:
                    th = floor
                if cap < th:
                    th = cap
            else:
                th = cap
            if i > 0:
                change = abs(x - recent[-1])
                if cap < change:
                    change = cap
            else:
                change = 0.0
            partial += change
            csums.append(base + partial)
            if kept is not None and x == x:
                # Equal values stay in arrival order, as the stable ``sorted`` leaves
                # them: the new one goes after its equals, and the one leaving (the
                # oldest) is the first of its equals.
                if i >= w:
                    del kept[bisect_left(kept, recent[0])]
                insort(kept, x)
                recent.append(x)
            else:
                recent.append(x)
                self._sorted = sorted(recent) if all(v == v for v in recent) else None
            pending.append((t, x, ref, th))
            self._seen = i + 1

    def decide(self, beats: LiveBeats) -> None:
        """Decide every pending beat whose look-ahead has arrived, into ``beats``."""
        pending = self._pending
        if len(pending) < 2:
            return
        beats.start_chunk()
        outlier_rel = self.config.outlier_rel
        prev = self._prev_rr
        while len(pending) >= 2:
            t, x, ref, th = pending.popleft()
            look_ahead = pending[0]
            t_next, nxt = look_ahead[0], look_ahead[1]
            if prev is None:
                prev = x
            kind = _NORMAL
            pair_next = False
            dev = x - ref
            if abs(x - prev) > th or abs(dev) > th:
                kind, pair_next = _classify(x, prev, nxt, ref, th, dev, outlier_rel)
            if not pair_next:
                beats.add_raw(t, t_next, kind != _NORMAL)
                if kind == _NORMAL:
                    beats.add_beat(t, x, t_next)
                elif kind == _MISSED:
                    count = round(x / ref)
                    value = x / count
                    for k in range(count):
                        beats.add_beat(t - (count - 1 - k) * value / 1000.0, value, t_next)
                else:  # an isolated long or short beat
                    beats.add_beat(t, ref, t_next)
                prev = x
                continue
            # A pair: this beat and its look-ahead, decided together.
            pending.popleft()
            beats.add_raw(t, t_next, True)
            beats.add_raw(t_next, t_next, True)
            pair_sum = x + nxt
            if kind == _ECTOPIC:
                beats.add_beat(t, pair_sum / 2, t_next)
                beats.add_beat(t_next, pair_sum / 2, t_next)
            else:
                beats.add_beat(t_next, pair_sum, t_next)
            prev = nxt
        self._prev_rr = prev


def _classify(
    x: float, prev: float, nxt: float, ref: float, th: float, dev: float, outlier_rel: float
) -> tuple[int, bool]:
    """``rr_clean._classify`` for one beat: its kind, and whether it starts a pair."""
    a = (x - prev) / th
    b = (nxt - x) / th
    multiple = round(x / ref)
    missed = 2 <= multiple <= 3 and abs(x / multiple - ref) < th
    dip = a < -1 and dev < -th
    extra = dip and abs(x + nxt - ref) < th
    ectopic = dip and not extra and b > 1 and nxt - ref > th
    short = dip and not extra and not ectopic and b > 1
    long = a > 1 and b < -1 and dev > th and not missed
    kind = _NORMAL
    if abs(dev) > outlier_rel * ref:
        kind = _LONG if dev > 0 else _SHORT
    if long:
        kind = _LONG
    if short:
        kind = _SHORT
    if missed:
        kind = _MISSED
    if extra:
        kind = _EXTRA
    if ectopic:
        kind = _ECTOPIC
    return kind, extra or ectopic


class LiveBeats:
    """Corrected beats and flagged raw beats with running sums; metrics at ``now``."""

    def __init__(self, *, max_gap_s: float = 1.5) -> None:
        self.max_gap_s = max_gap_s
        self._t: list[float] = []
        self._avail: list[float] = []
        # Running sums with a leading 0: entry k sums the beats before beat k.
        self._nn = [0.0]
        self._d2 = [0.0]
        self._dn = [0.0]
        # Totals of the intervals and of the squared differences before this chunk,
        # and the chunk's partial sums. Counts (``_dn``, ``_flags``) need no chunks:
        # a sum of whole numbers is exact in whatever order it is taken.
        self._base = [0.0, 0.0]
        self._chunk = [0.0, 0.0]
        self._last_t: float | None = None  # the last beat's end, and its interval
        self._last_nn = 0.0
        self._raw_t: list[float] = []
        self._raw_avail: list[float] = []
        self._flags = [0.0]
        # Whether the times (and the availabilities) of the kept beats, and of the raw
        # beats, ascend: always, for a strap's beats, and then a search for ``now`` is
        # the last entry's test. Missed beats split across clamped times or NaN can
        # break it; then searches are binary, as they always were (a binary search of
        # a list out of order answers by its path), until a trim leaves it in order.
        self._in_order = True
        self._raw_in_order = True

    def start_chunk(self) -> None:
        """Beats decided together are summed together first, as the batch path does."""
        # Written in place: a tick decides a beat or two, and two new objects
        # a chunk cost more than the sums themselves.
        base, chunk = self._base, self._chunk
        base[0] = self._nn[-1]
        base[1] = self._d2[-1]
        chunk[0] = chunk[1] = 0.0

    def add_beat(self, t_s: float, nn_ms: float, available_s: float) -> None:
        c = self._chunk
        base = self._base
        last_t = self._last_t
        dn = self._dn
        # The difference with the beat before counts unless the signal dropped
        # between them (a 0 added to these non-negative sums would change no bit).
        if last_t is not None and t_s - last_t <= nn_ms / 1000.0 + self.max_gap_s:
            diff = nn_ms - self._last_nn
            c[1] += diff * diff
            dn.append(dn[-1] + 1.0)
        else:
            dn.append(dn[-1])
        self._last_t = t_s
        self._last_nn = nn_ms
        c[0] += nn_ms
        t, avail = self._t, self._avail
        if t and not (t[-1] <= t_s and avail[-1] <= available_s):
            self._in_order = False
        t.append(t_s)
        avail.append(available_s)
        self._nn.append(base[0] + c[0])
        self._d2.append(base[1] + c[1])

    def add_raw(self, t_s: float, available_s: float, flagged: bool) -> None:
        t, avail = self._raw_t, self._raw_avail
        if t and not (t[-1] <= t_s and avail[-1] <= available_s):
            self._raw_in_order = False
        t.append(t_s)
        avail.append(available_s)
        flags = self._flags
        flags.append(flags[-1] + 1.0 if flagged else flags[-1])

    def hr_bpm(self, now_s: float, span_s: float, hi: int, min_beats: int) -> float:
        """Mean HR over the beats in ``(now - span, now]`` (``hi`` from ``known``);
        NaN with fewer than ``min_beats``."""
        lo = bisect_right(self._t, now_s - span_s)
        beats = hi - lo
        if beats < min_beats or beats <= 0:
            return math.nan
        return 60000.0 / ((self._nn[hi] - self._nn[lo]) / beats)

    def rmssd_ms(self, now_s: float, span_s: float, hi: int, min_diffs: int) -> float:
        """RMSSD over the same window; NaN with fewer than ``min_diffs`` differences."""
        lo = bisect_right(self._t, now_s - span_s)
        # The difference ending at beat j belongs to the window when j - 1 does too.
        inner = lo + 1 if lo < hi else hi  # min(lo + 1, hi), without the call
        dn = self._dn[hi] - self._dn[inner]
        if dn < min_diffs or dn <= 0:
            return math.nan
        return math.sqrt((self._d2[hi] - self._d2[inner]) / dn)

    def known(self, now_s: float) -> int:
        """How many beats end by ``now`` and were decided by then."""
        t = self._t
        if self._in_order and t and t[-1] <= now_s and self._avail[-1] <= now_s:
            return len(t)
        ended = bisect_right(t, now_s)
        known = bisect_right(self._avail, now_s)
        return ended if ended < known else known

    def flagged_rate(self, now_s: float, span_s: float) -> float:
        """Share of flagged raw beats in ``(now - span, now]`` known at ``now``; 0 if none."""
        t = self._raw_t
        if self._raw_in_order and t and t[-1] <= now_s and self._raw_avail[-1] <= now_s:
            hi = len(t)
        else:
            hi = bisect_right(t, now_s)
            known = bisect_right(self._raw_avail, now_s)
            if known < hi:
                hi = known
        lo = bisect_right(t, now_s - span_s)
        if hi <= lo:
            return 0.0
        return (self._flags[hi] - self._flags[lo]) / (hi - lo)

    def forget_before(self, t_s: float) -> None:
        """Drop beats ending before ``t_s`` once there are many (memory stays flat)."""
        if len(self._t) >= _TRIM_AT:
            drop = bisect_left(self._t, t_s)
            for buf in (self._t, self._avail, self._nn, self._d2, self._dn):
                del buf[:drop]
            # Out of order, looked at again once some of it is gone (not a tick
            # at a time while nothing is).
            if drop and not self._in_order:
                self._in_order = _ascending(self._t) and _ascending(self._avail)
        if len(self._raw_t) >= _TRIM_AT:
            drop = bisect_left(self._raw_t, t_s)
            for buf in (self._raw_t, self._raw_avail, self._flags):
                del buf[:drop]
            if drop and not self._raw_in_order:
                self._raw_in_order = _ascending(self._raw_t) and _ascending(self._raw_avail)


def _ascending(values: list[float]) -> bool:
    """Each value at least the one before (False for NaN)."""
    return all(a <= b for a, b in pairwise(values))
