"""Long series thinned to what a figure can show: per pixel column of the
panel, the lowest, the mean and the highest value of the samples it holds.

A band from the lowest to the highest value covers every pixel the line through
all the points would reach (a spike one second wide in a day keeps its height),
and the mean says where the values mostly were, at a fraction of the drawing
cost of 86,400 one-second estimates."""

from __future__ import annotations

import warnings

import numpy as np

from biofeedback.models.record import record

# Up to this many points a series is drawn as it is (an hour of one-second
# estimates, as the figure drew before it was decimated per pixel).
PLAIN_POINTS = 4000


@record(frozen=True)
class Envelope:
    """One entry per pixel column: its time (the mean of its samples' times)
    and the lowest, mean and highest value (NaN where it holds no value)."""

    x: np.ndarray
    low: np.ndarray
    mean: np.ndarray
    high: np.ndarray


def envelope(x: np.ndarray, y: np.ndarray, columns: int) -> Envelope | None:
    """``None`` when the series is short enough to draw as it is; else the
    envelope of runs of ``ceil(len / columns)`` samples (one pixel column's worth
    for evenly spaced ``x``), the last run included even when shorter."""
    n = x.size
    if n <= max(PLAIN_POINTS, 2 * columns):
        return None
    per = -(-n // columns)
    runs = -(-n // per)
    pad = runs * per - n
    # The last run is filled with NaN, which holds no value, at the last time.
    ys = np.concatenate((np.asarray(y, float), np.full(pad, np.nan))).reshape(runs, per)
    xs = np.concatenate((x, np.full(pad, np.nan))).reshape(runs, per)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a run of NaN stays NaN
        return Envelope(
            np.nanmean(xs, axis=1),
            np.nanmin(ys, axis=1),
            np.nanmean(ys, axis=1),
            np.nanmax(ys, axis=1),
        )
