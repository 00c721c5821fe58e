"""Time-domain heart-rate metrics over sliding time windows of corrected beats.

One small vectorised function per metric for a plain array of intervals, and
``BeatWindows``, which keeps running sums so that the same metrics over "the
last ``span_s`` seconds before each of many times" cost two binary searches and
a few subtractions per time: once a second live, or every second of a whole
recording at once for review.
"""

from __future__ import annotations

import numpy as np

from biofeedback.models.record import record
from biofeedback.signals.buffers import Growable


def mean_hr_bpm(nn_ms: np.ndarray) -> float:
    return float(60000.0 / np.mean(nn_ms))


def sdnn_ms(nn_ms: np.ndarray) -> float:
    """Sample standard deviation (n - 1), as Kubios and NeuroKit2 define SDNN."""
    return float(np.std(nn_ms, ddof=1))


def rmssd_ms(nn_ms: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(nn_ms) ** 2)))


@record(frozen=True, slots=True)
class WindowStats:
    """Metrics over the beats ending in ``(t - span_s, t]`` for each requested ``t``.

    NaN where a window holds too few beats (``beats`` < 2, ``diffs`` < 1).
    """

    beats: np.ndarray
    diffs: np.ndarray
    mean_nn_ms: np.ndarray
    sdnn_ms: np.ndarray
    rmssd_ms: np.ndarray

    @property
    def hr_bpm(self) -> np.ndarray:
        return 60000.0 / self.mean_nn_ms


class BeatWindows:
    """Corrected beats with running sums, for windowed metrics at any times."""

    def __init__(self, *, max_gap_s: float = 1.5) -> None:
        # Two beats further apart than their interval plus this were not
        # consecutive (the signal dropped between them): no difference across.
        self.max_gap_s = max_gap_s
        self._t = Growable()
        self._nn = Growable()
        self._available = Growable()
        self._sums = {name: Growable() for name in ("nn", "nn2", "d2", "dn")}
        for buf in self._sums.values():
            buf.extend(np.zeros(1))

    def __len__(self) -> int:
        return len(self._t)

    @property
    def last_t_s(self) -> float | None:
        return float(self._t.view[-1]) if len(self._t) else None

    def extend(self, t_s: np.ndarray, nn_ms: np.ndarray, available_s: np.ndarray) -> None:
        """Append beats: end times, intervals, and when each became known."""
        if nn_ms.size == 0:
            return
        prev_t = self._t.view[-1:] if len(self._t) else t_s[:1] - nn_ms[:1] / 1000.0
        prev_nn = self._nn.view[-1:] if len(self._nn) else nn_ms[:1]
        prev_first = len(self._t) == 0
        t_all = np.concatenate((prev_t, t_s))
        nn_all = np.concatenate((prev_nn, nn_ms))
        diff = np.diff(nn_all)
        valid = np.diff(t_all) <= nn_ms / 1000.0 + self.max_gap_s
        if prev_first:
            valid[0] = False
        self._t.extend(t_s)
        self._nn.extend(nn_ms)
        self._available.extend(available_s)
        for name, step in (
            ("nn", nn_ms),
            ("nn2", nn_ms * nn_ms),
            ("d2", np.where(valid, diff * diff, 0.0)),
            ("dn", valid.astype(float)),
        ):
            buf = self._sums[name]
            buf.extend(buf.view[-1] + np.cumsum(step))

    def stats(self, t_s: np.ndarray, span_s: np.ndarray | float) -> WindowStats:
        """Metrics for every ``t_s`` and ``span_s`` (numpy broadcasting applies),
        over the beats already known at ``t_s``."""
        # Called every second live: plain ndarray methods, no warning contexts.
        t = self._t.view
        hi = np.minimum(
            t.searchsorted(t_s, side="right"),
            self._available.view.searchsorted(t_s, side="right"),
        )
        lo = t.searchsorted(t_s - span_s, side="right")
        s = self._sums
        beats = hi - lo
        nn = s["nn"].view
        total = nn[hi] - nn[lo]
        nn2 = s["nn2"].view
        squares = nn2[hi] - nn2[lo]
        # The difference ending at beat j belongs to the window when j - 1 does too.
        inner = np.minimum(lo + 1, hi)
        d2 = s["d2"].view[hi] - s["d2"].view[inner]
        dn = s["dn"].view[hi] - s["dn"].view[inner]
        nan = np.full(beats.shape, np.nan)
        mean = np.divide(total, beats, out=nan.copy(), where=beats > 0)
        var = np.divide(squares - total * mean, beats - 1, out=nan.copy(), where=beats > 1)
        rmssd = np.sqrt(np.divide(d2, dn, out=nan, where=dn > 0))
        return WindowStats(beats, dn, mean, np.sqrt(np.maximum(var, 0.0)), rmssd)

    def bounds(self, t_s: np.ndarray, span_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hi, lo): the beats of each window are ``[lo, hi)``, per ``t_s`` and, for
        ``lo``, per span (one row each). The batch path's cheaper ``stats``: each
        metric is then taken only for the spans that need it."""
        t = self._t.view
        hi = _known_before(t, self._available.view, t_s)
        starts = t_s[None, :] - span_s[:, None]
        lo = np.empty(starts.shape, np.intp)
        at_ticks = _Counts(t, t_s)
        for row, (span, keys) in enumerate(zip(span_s.tolist(), starts, strict=True)):
            lo[row] = at_ticks.shifted(keys, span)
        return hi, lo

    def hr_bpm_of(self, hi: np.ndarray, lo: np.ndarray, min_beats: int) -> np.ndarray:
        """``stats(...).hr_bpm`` where a window holds ``min_beats`` (>= 1), else NaN."""
        nn = self._sums["nn"].view
        beats = hi - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (nn[hi] - nn[lo]) / beats
            return np.where(beats >= min_beats, 60000.0 / mean, np.nan)

    def rmssd_ms_of(self, hi: np.ndarray, lo: np.ndarray, min_diffs: int) -> np.ndarray:
        """``stats(...).rmssd_ms`` where a window holds ``min_diffs`` (>= 1), else NaN."""
        inner = np.minimum(lo + 1, hi)
        d2 = self._sums["d2"].view
        dn = self._sums["dn"].view
        count = dn[hi] - dn[inner]
        with np.errstate(divide="ignore", invalid="ignore"):
            rmssd = np.sqrt((d2[hi] - d2[inner]) / count)
        return np.where(count >= min_diffs, rmssd, np.nan)

    def sdnn_ms_of(self, hi: np.ndarray, lo: np.ndarray, min_beats: int) -> np.ndarray:
        """``stats(...).sdnn_ms`` where a window holds ``min_beats`` (>= 2), else NaN."""
        nn = self._sums["nn"].view
        nn2 = self._sums["nn2"].view
        beats = hi - lo
        total = nn[hi] - nn[lo]
        with np.errstate(divide="ignore", invalid="ignore"):
            var = (nn2[hi] - nn2[lo] - total * (total / beats)) / (beats - 1)
        return np.where(beats >= min_beats, np.sqrt(np.maximum(var, 0.0)), np.nan)

    def forget_before(self, t_s: float) -> None:
        """Drop beats ending before ``t_s`` (keeps memory flat in long sessions)."""
        if len(self._t) < 4096:
            return
        drop = int(self._t.view.searchsorted(t_s, side="left"))
        self._t.drop_front(drop)
        self._nn.drop_front(drop)
        self._available.drop_front(drop)
        for buf in self._sums.values():
            buf.drop_front(drop)


class FlagWindows:
    """Raw beats and whether each was flagged: the artifact rate over a window."""

    def __init__(self) -> None:
        self._t = Growable()
        self._available = Growable()
        self._flags = Growable()
        self._flags.extend(np.zeros(1))

    def extend(self, t_s: np.ndarray, flagged: np.ndarray, available_s: np.ndarray) -> None:
        if t_s.size == 0:
            return
        self._t.extend(t_s)
        self._available.extend(available_s)
        self._flags.extend(self._flags.view[-1] + np.cumsum(flagged, dtype=float))

    def rate(self, t_s: np.ndarray, span_s: float) -> np.ndarray:
        """Share of flagged raw beats in ``(t - span_s, t]`` already known at ``t``;
        0 for an empty window."""
        t = self._t.view
        hi = _known_before(t, self._available.view, t_s)
        lo = t.searchsorted(t_s - span_s, side="right")
        flagged = self._flags.view[hi] - self._flags.view[lo]
        rate: np.ndarray = np.divide(flagged, hi - lo, out=np.zeros(hi.shape), where=hi > lo)
        return rate

    def forget_before(self, t_s: float) -> None:
        if len(self._t) < 4096:
            return
        drop = int(self._t.view.searchsorted(t_s, side="left"))
        self._t.drop_front(drop)
        self._available.drop_front(drop)
        self._flags.drop_front(drop)


# Below this many times a plain binary search per time is cheaper.
_SHIFT_FROM = 256


class _Counts:
    """``t.searchsorted(keys, side="right")`` for window starts ``keys = times - span``.

    On an evenly spaced grid of times (a whole recording, once a second) a window's
    start is, to the last bit or nearly, an earlier grid time: the count there is
    almost always the answer. Each guess is checked against its neighbours in
    ``t`` and the few that miss are searched, so the answer is the search's own,
    at a fraction of its cost (one search serves every span).
    """

    def __init__(self, t: np.ndarray, times: np.ndarray) -> None:
        self._t = t
        self._times = times
        self._step = float(times[1] - times[0]) if times.size >= _SHIFT_FROM else 0.0
        self._at: np.ndarray | None = None

    def shifted(self, keys: np.ndarray, span: float) -> np.ndarray:
        t = self._t
        shift = round(span / self._step) if self._step > 0 else 0
        if shift <= 0 or shift >= keys.size or t.size == 0:
            counts: np.ndarray = t.searchsorted(keys, side="right")
            return counts
        if self._at is None:
            self._at = t.searchsorted(self._times, side="right")
        guess = np.concatenate((np.zeros(shift, np.intp), self._at[:-shift]))
        n = t.size
        after_last = t[np.maximum(guess - 1, 0)] <= keys
        before_next = t[np.minimum(guess, n - 1)] > keys
        right = ((guess == 0) | after_last) & ((guess == n) | before_next)
        if not right.all():
            wrong = np.flatnonzero(~right)
            guess[wrong] = t.searchsorted(keys[wrong], side="right")
        return guess


def _known_before(t: np.ndarray, available: np.ndarray, at_s: np.ndarray) -> np.ndarray:
    """How many beats had ended and were known at each of ``at_s``: the fewer of the
    beats ended and the beats known by then. A beat is known once it has ended,
    so when the known times ascend (as the cleaner's do) one search suffices."""
    known = available.searchsorted(at_s, side="right")
    if (np.diff(available) < 0).any() or (available < t).any():
        return np.minimum(t.searchsorted(at_s, side="right"), known)
    return known
