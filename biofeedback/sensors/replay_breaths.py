"""Chest motion rebuilt from a session's breaths, for a stored session replayed
without its raw motion (``run --replay STORE#SESSION`` of a session recorded
without ``--keep-raw``).

The store keeps every breath seen on the chest (the onset of its in-breath,
in and out seconds, depth in milli-g) and each breath held (``breath_held``).
From them this makes what a strap on a still, reclined chest would read at
25 Hz: gravity, plus each breath tilting the strap by its depth (rising over
its in-breath, falling over its out-breath, smoothly), a held breath kept near
its top for as long as it was held. The rebuilt motion goes through the same
path as ``--replay-acc``, so the live breath estimate, holds, reminders and
breath evidence run again on it. It is the breath as the record saw it, not
the chest itself: no tensing, fidgeting or noise, and where the record has no
breath for longer than ``STILL_MAX_S`` (motion, a lost strap) no chest motion
is replayed at all, as the breath was unreadable there the first time too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from biofeedback.models import BreathTaken, ChestMotion

RATE_HZ = 25.0
BATCH_S = 1.0
G_MG = 1000.0
# A reclined seat: gravity 40 degrees from upright towards the back.
TILT_DEG = 40.0
# Stillness before the first breath (and after the last), so its turns show.
LEAD_S = 2.0
# Between breaths the chest rests this long at most; a longer stretch without a
# breath in the record replays no motion.
STILL_MAX_S = 8.0
# A hold keeps the breath this near its top (inside any estimator's hold band).
HOLD_LEVEL = 0.97
# A hold's turns stay this far inside the breath it was held in.
HOLD_MARGIN_S = 0.2
# The eased turns into and out of a hold are near its top already: the hold is
# seen from about this long before its plateau begins and after it ends.
HOLD_TRIM_S = 0.5
# Neither half of a breath is drawn shorter than this.
MIN_HALF_S = 0.1

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BreathShape:
    """The breath's level (milli-g of tilt) at each knot, eased between them, over
    the stretches ``spans`` where motion is replayed."""

    knot_t_s: Floats
    knot_mg: Floats
    spans: tuple[tuple[float, float], ...]

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
        eased = (1.0 - np.cos(np.pi * u)) / 2.0
        out: Floats = v[i] + (v[j] - v[i]) * eased
        out[(t_s < k[0]) | (t_s > k[-1])] = 0.0
        return out


def breath_shape(
    breaths: Sequence[BreathTaken], holds: Sequence[tuple[float, float]]
) -> BreathShape:
    """The knots of the breaths (in time order) and the holds ((started s, seconds))."""
    ordered = sorted(breaths, key=lambda b: b.onset_t_s)
    knots: list[tuple[float, float]] = []
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
        points = [(onset, 0.0), (peak, b.depth_mg), (end, 0.0)]
        for started, lasted in holds:
            h0 = max(started + HOLD_TRIM_S, onset + HOLD_MARGIN_S)
            h1 = min(started + lasted - HOLD_TRIM_S, end - HOLD_MARGIN_S)
            if h1 > h0:
                top = HOLD_LEVEL * b.depth_mg
                points = [p for p in points if not h0 < p[0] < h1 or p[0] == peak]
                points += [(h0, top), (h1, top)]
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
    return BreathShape(t, v, tuple(spans))


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
    for start_s, end_s in shape.spans:
        first = math.ceil(start_s * rate_hz)
        last = math.floor(end_s * rate_hz)
        for lo in range(first, last + 1, per_batch):
            t = np.arange(lo, min(lo + per_batch, last + 1)) / rate_hz
            # The breath pitches the strap about its x axis by its depth in milli-g.
            alpha = shape.level(t) / G_MG
            y = G_MG * (gy * np.cos(alpha) - gz * np.sin(alpha))
            z = G_MG * (gy * np.sin(alpha) + gz * np.cos(alpha))
            yield ChestMotion(
                t_s=float(t[-1]),
                rate_hz=rate_hz,
                x_mg=(0.0,) * len(t),
                y_mg=tuple(y.tolist()),
                z_mg=tuple(z.tolist()),
            )
