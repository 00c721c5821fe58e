"""A straight line through a series by least squares: ``np.polyfit(x, y, 1)``'s
line, from its closed form rather than polyfit's scaled least squares.

Readings taken every few seconds (the breath rate from the beats, the live
resonance reading) remove a line from a short series each time; numpy's least
squares costs ~14 us a call, the closed form ~3 us. x and y are centred on their
means first (so the sums do not cancel): slope = sum(dx * dy) / sum(dx * dx),
offset = mean(y) - slope * mean(x).

How close to polyfit: not to the bit. The line over the points within 1e-12 of
their scale (the largest of |y| and the line's values; the slope within that
over x's spread), on random series and the readings' grids, x off zero by up to
ten spreads (tests/test_line_fit.py; ~5e-15 seen). Where x is far from zero for
its spread polyfit loses digits and this line is the nearer the exact one. No
decision moved: every scenario and stream event, the 3 h and 24 h replay days'
printed lines and the resonance sessions printed the same before and after (the
digests hashing the breath figures' unrounded floats were re-pinned).

Where polyfit has no single line (the rule, tests/test_line_fit.py):
- no points: (nan, nan) (polyfit raises);
- x all one value, or so nearly that polyfit's own rank cut (rcond = n * eps)
  calls it one: (0.0, mean(y)), the flat line through the mean. polyfit gives
  the line of least norm through the same point, so ``without_line`` leaves the
  same residuals (polyfit fails, "SVD did not converge", when the value is 0);
- a value not finite: (nan, nan) (polyfit gives nan for y, fails for x).
Where y is all one value the exact line leaves no residuals and polyfit's leaves
only its rounding, from which the resonance reading's coherence on a metronome
source was shown (0.111 on a steady 923 ms): there ``np.polyfit`` itself is called,
so those figures stay as they were.
Squares or sums that would overflow or underflow are fitted on the values scaled
to at most 1 (what polyfit's scaling does for it).
Pure: arrays in, numbers out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    # For annotations only: numpy.typing is ~0.8 ms of a session's start.
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

_EPS = 2.0**-52  # np.finfo(np.float64).eps
# Below this the squares have lost digits to underflow: fit the scaled values.
_TINY = 2.0**-600


class LineX(NamedTuple):
    """What ``line_fit`` needs of x alone (``line_x``): for an x fitted again and
    again (a reading's grid every few seconds), worked out once."""

    mean: float
    dx: Floats
    sxx: float
    sq: float  # |x|^2, in the centred sums


def line_x(x: Floats) -> LineX:
    """x's mean, its deviations from it (read-only: they may be shared), their
    sum of squares, and |x|^2 from those (``x`` not empty)."""
    n = len(x)
    # ``np.add.reduce``: what ``.sum()`` calls, without its Python wrapper.
    x_mean = float(np.add.reduce(x)) / n
    dx = x - x_mean
    dx.setflags(write=False)
    sxx = float(dx.dot(dx))
    return LineX(x_mean, dx, sxx, sxx + n * x_mean * x_mean)


def line_fit(x: Floats, y: Floats, known: LineX | None = None) -> tuple[float, float]:
    """Slope and offset of the least-squares line through 1-D float arrays x, y:
    ``np.polyfit(x, y, 1)``'s to ~1e-15 of the scale (the module's rule where
    polyfit has no single line). ``known``: ``line_x`` of an x equal to this one
    (the same figures: only x's own sums are not worked out again)."""
    n = len(x)
    if n == 0:
        return math.nan, math.nan
    x_mean, dx, sxx, x_sq = line_x(x) if known is None else known
    y_mean = float(np.add.reduce(y)) / n
    dy = y - y_mean
    sxy = float(dx.dot(dy))
    if not (x_sq < math.inf and math.isfinite(sxy) and math.isfinite(y_mean)):
        return _scaled_fit(x, y)  # a value not finite, or squares that overflow
    if x_sq < _TINY:
        return _scaled_fit(x, y)  # squares that underflow, or x all zero
    # polyfit's rank cut: its scaled columns x / |x| and ones / sqrt(n) are taken
    # as parallel when sxx / |x|^2 (the square of their angle's sine) is under
    # about (2 n eps)^2.
    if sxx <= (2.0 * n * _EPS) ** 2 * x_sq:
        return 0.0, y_mean
    if y.item(0) == y.item(-1) and (y == y[0]).all():
        # y one value (a metronome's heart rate): the exact line leaves nothing,
        # polyfit's leaves its rounding, and figures read from those residuals (the
        # resonance reading's coherence) were shown from it: polyfit's, to the bit.
        poly_slope, poly_offset = np.polyfit(x, y, 1).tolist()
        return poly_slope, poly_offset
    slope = sxy / sxx
    return slope, y_mean - slope * x_mean


def _scaled_fit(x: Floats, y: Floats) -> tuple[float, float]:
    """The fit of x / max|x| and y / max|y| scaled back, for series whose squares
    or sums overflow or underflow: (nan, nan) when a value is not finite, the flat
    line through the mean when x is all zero. The scaled x's largest value is 1,
    so its fit needs no further scaling."""
    n = len(x)
    x_scale = float(np.abs(x).max())
    y_scale = float(np.abs(y).max())
    if not (math.isfinite(x_scale) and math.isfinite(y_scale)):
        return math.nan, math.nan
    y_scale = y_scale or 1.0
    if x_scale == 0.0:
        return 0.0, y_scale * (float((y / y_scale).sum()) / n)
    slope, offset = line_fit(x / x_scale, y / y_scale)
    return slope * y_scale / x_scale, offset * y_scale


def without_line(x: Floats, y: Floats, known: LineX | None = None) -> Floats:
    """``y`` less its least-squares line over ``x`` (``line_fit``'s), the line
    evaluated as ``np.polyval`` evaluates it (``slope * x + offset``)."""
    slope, offset = line_fit(x, y, known)
    # In place: the same operations in the same order.
    result: Floats = slope * x
    result += offset
    np.subtract(y, result, out=result)
    return result
