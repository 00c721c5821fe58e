"""Chest motion rebuilt from a session's breaths, for a stored session replayed
without its raw motion (``run --replay STORE#SESSION`` of a session recorded
without ``--keep-raw``).

The store keeps every breath seen on the chest (the onset of its in-breath,
in and out seconds, depth in milli-g) and each breath held (``breath_held``).
From them this makes what a strap on a still, reclined chest would read at
25 Hz: gravity, plus each breath tilting the strap by its depth (rising over
its in-breath, falling over its out-breath, round at the bottom and sharp at
the top), a held breath eased into and out of a stretch near its top for as
long as it was held (a hold no noted breath holds gets a breath of the usual
size around it). A breath noted while the estimate had in and out swapped for
a moment (it begins well inside the breath before) is left out. The rebuilt
motion goes through the same path as ``--replay-acc``, so the live breath
estimate, holds, reminders and
breath evidence run again on it. It is the breath as the record saw it, not
the chest itself: no tensing, fidgeting or noise; and where the record has no
breath for longer than ``STILL_MAX_S`` (the breath was unreadable there: the
person moved, most often) the chest is replayed moving, so the estimate loses
the breath there again instead of taking the stillness for a hold.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from biofeedback.models import BreathTaken, ChestMotion
from biofeedback.models.record import record

RATE_HZ = 25.0
BATCH_S = 1.0
CHUNK_BATCHES = 60
G_MG = 1000.0
# A reclined seat: gravity 40 degrees from upright towards the back.
TILT_DEG = 40.0
# Stillness before the first breath (and after the last), so its turns show.
LEAD_S = 2.0
# Between breaths the chest rests this long at most; a longer stretch without a
# breath in the record was one the estimate could not read (the person moved,
# most often): it is replayed as a strap shaking a few times a second, so the
# estimate says "moving" there as it did, instead of a long stillness (a hold).
STILL_MAX_S = 8.0
SHAKE_MG = 100.0
SHAKE_HZ = 3.0
# A hold keeps the breath this near its top (inside any estimator's hold band).
HOLD_LEVEL = 0.97
# A hold's turns stay this far inside the breath it was held in.
HOLD_MARGIN_S = 0.2
# A breath that begins this much (s) before the one before it ended is left out.
OVERLAP_S = 0.5
# A hold is eased into and out of: it is seen from about this long before its
# plateau and until this long after. Its plateau is drawn this much shorter at
# each end, but never shorter than HOLD_LEAST_S (nor than it was held).
HOLD_TRIM_S = 0.45
HOLD_LEAST_S = 2.5
# The breath estimate smooths over half a second before it reads a depth; a
# breath drawn so sharp that this would take more than this share is drawn so.
SMOOTH_S = 0.5
MAX_LOSS = 0.3
# Neither half of a breath is drawn shorter than this.
MIN_HALF_S = 0.1

Floats = npt.NDArray[np.float64]


@record(frozen=True, slots=True)
class BreathShape:
    """The breath's level (milli-g of tilt) at each knot, eased between them, over
    the stretches ``spans`` where motion is replayed."""

    knot_t_s: Floats
    knot_mg: Floats
    # Per knot: the stretch to the next one is eased round at both ends (a held
    # breath, as it was recorded) rather than sharp at the top.
    knot_round: npt.NDArray[np.bool_]
    spans: tuple[tuple[float, float], ...]

    @property
    def moving(self) -> list[tuple[float, float]]:
        """Between the stretches with breaths: where the chest is replayed moving."""
        return [(a[1], b[0]) for a, b in zip(self.spans, self.spans[1:], strict=False)]

    def level(self, t_s: Floats) -> Floats:
        """The level at each time (0 outside the knots)."""
        k = self.knot_t_s
        v = self.knot_mg
        if len(k) == 0:
            return np.zeros_like(t_s)
        i = np.clip(np.searchsorted(k, t_s, side="right") - 1, 0, len(k) - 1)
        j = np.minimum(i + 1, len(k) - 1)
        width = k[j] - k[i]
        u = np.where(width > 0, (t_s - k[i]) / np.where(width > 0, width, 1.0), 0.0)
        u = np.clip(u, 0.0, 1.0)
        # Round at the bottom, sharp at the top: a breath that is not held must
        # not dwell near its top as long as a held one (a broad top reads as a hold).
        rising = v[j] >= v[i]
        sharp = np.where(rising, 1.0 - np.cos(0.5 * np.pi * u), np.sin(0.5 * np.pi * u))
        eased = np.where(self.knot_round[i], (1.0 - np.cos(np.pi * u)) / 2.0, sharp)
        out: Floats = v[i] + (v[j] - v[i]) * eased
        out[(t_s < k[0]) | (t_s > k[-1])] = 0.0
        return out


def _drawn_depth(depth_mg: float, in_s: float, out_s: float) -> float:
    """How deep to draw a breath so that it reads ``depth_mg`` deep: a breath's
    depth is read after ``SMOOTH_S`` of smoothing, which takes off a sharp top
    about pi/16 of the smoothing times the two slopes' sum (a quick breath's the most)."""
    loss = math.pi / 16.0 * SMOOTH_S * (1.0 / in_s + 1.0 / out_s)
    return depth_mg / (1.0 - min(loss, MAX_LOSS))


def _with_lone_holds(
    chain: list[BreathTaken], holds: Sequence[tuple[float, float]]
) -> list[BreathTaken]:
    """The chain with a breath of the session's usual in, out and depth around each
    hold that no breath of the record holds (the breath it was held in was not
    noted whole), fitted between its neighbours."""
    if not chain:
        return chain
    in_s = statistics.median(b.inhale_s for b in chain)
    out_s = statistics.median(b.exhale_s for b in chain)
    depth = statistics.median(b.depth_mg for b in chain)
    onsets = [b.onset_t_s for b in chain]
    ends = [b.onset_t_s + b.inhale_s + b.exhale_s for b in chain]
    added: list[BreathTaken] = []
    for started, lasted in holds:
        k = bisect.bisect_right(onsets, started)
        if k and started < ends[k - 1]:
            continue  # held in a breath of the record
        onset = max(started - in_s, ends[k - 1] if k else -math.inf, 0.0)
        end = started + lasted + out_s
        if k < len(chain):
            end = min(end, onsets[k])
        if end - started > lasted / 2 and started - onset >= MIN_HALF_S:
            added.append(BreathTaken(end, onset, started - onset, end - started, depth))
    return sorted([*chain, *added], key=lambda b: b.onset_t_s)


def _chain(breaths: Sequence[BreathTaken]) -> list[BreathTaken]:
    """The breaths in time order, each beginning where the one before ended.

    A breath whose in-breath began well inside the one before is left out: the
    estimate noted it while it had the chest's sign turned for a moment (in
    and out swapped, half a breath off), and drawn too it would bend both.
    """
    chain: list[BreathTaken] = []
    for b in sorted(breaths, key=lambda b: b.onset_t_s):
        if chain:
            last = chain[-1]
            if b.onset_t_s < last.onset_t_s + last.inhale_s + last.exhale_s - OVERLAP_S:
                continue
        chain.append(b)
    return chain


def breath_shape(
    breaths: Sequence[BreathTaken], holds: Sequence[tuple[float, float]]
) -> BreathShape:
    """The knots of the breaths (in time order) and the holds ((started s, seconds))."""
    ordered = _with_lone_holds(_chain(breaths), holds)
    held = sorted(holds)
    starts = [h[0] for h in held]
    longest = max((h[1] for h in held), default=0.0)
    knots: list[tuple[float, float, bool]] = []
    spans: list[tuple[float, float]] = []
    for n, b in enumerate(ordered):
        onset = b.onset_t_s
        end = onset + b.inhale_s + b.exhale_s
        if n + 1 < len(ordered):
            # The next breath begins where this one ended (a hair before, at times).
            end = min(end, ordered[n + 1].onset_t_s)
        if end - onset < 2 * MIN_HALF_S or not 0 < b.depth_mg < math.inf:
            continue
        peak = min(max(onset + b.inhale_s, onset + MIN_HALF_S), end - MIN_HALF_S)
        # Sharp at the top unless held (then round, and no sharp top to lose).
        sharp = _drawn_depth(b.depth_mg, peak - onset, end - peak)
        points = [(onset, 0.0, False), (peak, sharp, False), (end, 0.0, False)]
        near = held[bisect.bisect_left(starts, onset - longest) : bisect.bisect_left(starts, end)]
        for started, lasted in near:
            trim = min(HOLD_TRIM_S, max((lasted - HOLD_LEAST_S) / 2.0, 0.0))
            h0 = max(started + trim, onset + HOLD_MARGIN_S)
            h1 = min(started + lasted - trim, end - HOLD_MARGIN_S)
            if h1 > h0:
                top = HOLD_LEVEL * b.depth_mg
                points = [p for p in points if not h0 < p[0] < h1 or p[0] == peak]
                points += [(h0, top, True), (h1, top, True)]
        if any(p[2] for p in points):
            points = [(t, b.depth_mg if t == peak else v, True) for t, v, _ in points]
        points.sort()
        if knots and knots[-1][0] >= points[0][0]:
            points = points[1:]  # the trough shared with the breath before
        knots += points
        if spans and onset - spans[-1][1] <= STILL_MAX_S:
            spans[-1] = (spans[-1][0], end)
        else:
            if spans:
                spans[-1] = (spans[-1][0], spans[-1][1] + LEAD_S)
            spans.append((max(onset - LEAD_S, 0.0), end))
    if spans:
        spans[-1] = (spans[-1][0], spans[-1][1] + LEAD_S)
    t = np.array([p[0] for p in knots], dtype=np.float64)
    v = np.array([p[1] for p in knots], dtype=np.float64)
    rounded = np.array([p[2] for p in knots], dtype=np.bool_)
    return BreathShape(t, v, rounded, tuple(spans))


def chest_motion(
    breaths: Sequence[BreathTaken],
    holds: Sequence[tuple[float, float]],
    rate_hz: float = RATE_HZ,
    batch_s: float = BATCH_S,
) -> Iterator[ChestMotion]:
    """The rebuilt chest motion in batches of ``batch_s``, in time order (made as
    it is read: a day of it is never held at once)."""
    shape = breath_shape(breaths, holds)
    tilt = math.radians(TILT_DEG)
    gy, gz = -math.cos(tilt), -math.sin(tilt)
    per_batch = max(round(batch_s * rate_hz), 1)
    if not shape.spans:
        return
    moving = np.array(shape.moving, dtype=np.float64).reshape(-1, 2)
    first = math.ceil(shape.spans[0][0] * rate_hz)
    last = math.floor(shape.spans[-1][1] * rate_hz)
    # Made a minute at a time (numpy's cost is per call), handed out a batch at a time.
    chunk = per_batch * CHUNK_BATCHES
    for start in range(first, last + 1, chunk):
        t = np.arange(start, min(start + chunk, last + 1)) / rate_hz
        # The breath pitches the strap about its x axis by its depth in milli-g.
        alpha = shape.level(t) / G_MG
        x = np.zeros_like(t)
        y = G_MG * (gy * np.cos(alpha) - gz * np.sin(alpha))
        z = G_MG * (gy * np.sin(alpha) + gz * np.cos(alpha))
        if len(moving):
            k = np.searchsorted(moving[:, 0], t, side="left") - 1
            shaking = (k >= 0) & (t < moving[np.maximum(k, 0), 1])
            if shaking.any():
                wave = SHAKE_MG * np.sin(2.0 * math.pi * SHAKE_HZ * t) * shaking
                x, y, z = x + wave, y - wave, z + 0.5 * wave
        xs, ys, zs, ts = x.tolist(), y.tolist(), z.tolist(), t.tolist()
        for lo in range(0, len(ts), per_batch):
            hi = min(lo + per_batch, len(ts))
            yield ChestMotion(
                t_s=ts[hi - 1],
                rate_hz=rate_hz,
                x_mg=tuple(xs[lo:hi]),
                y_mg=tuple(ys[lo:hi]),
                z_mg=tuple(zs[lo:hi]),
            )
