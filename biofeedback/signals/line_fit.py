"""A straight line through a series, as ``np.polyfit(x, y, 1)`` finds it, to the bit.

Readings taken every few seconds (the breath rate from the beats, the live
resonance reading) remove a line from a short series each time; polyfit's checks
and options cost twice the fit itself, so its own steps are taken here directly.
Pure: arrays in, numbers out.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

_EPS = 2.0**-52  # np.finfo(np.float64).eps

Floats = npt.NDArray[np.float64]


def line_fit(x: Floats, y: Floats) -> tuple[float, float]:
    """Slope and offset: ``np.polyfit(x, y, 1)`` to the bit (the same scaled least
    squares) for 1-D float arrays."""
    n = len(x)
    # polyfit scales the columns of ``np.vander(x, 2)`` (the values, then ones) by
    # their norms. The ones' norm is sqrt(n) exactly; the values' squares are summed
    # in order, as the column sum (an axis-0 sum) adds them: a running sum's last.
    x_norm = math.sqrt(float((x * x).cumsum()[-1])) if n else 0.0
    if not (x_norm > 0.0 and math.isfinite(x_norm)):
        return _line_fit_as_polyfit(x, y)
    ones_norm = math.sqrt(n)
    # The scaled columns written as the rows of a block (contiguous writes): its
    # transpose is the same matrix, which lstsq copies into LAPACK's layout as it
    # would the other.
    columns = np.empty((2, n))
    np.divide(x, x_norm, out=columns[0])
    columns[1] = 1.0 / ones_norm
    # numpy's public least squares, as polyfit calls it (its private compiled
    # routine would save ~8 us a call but tie us to numpy's internals).
    slope, offset = np.linalg.lstsq(columns.T, y, n * _EPS)[0].tolist()
    return slope / x_norm, offset / ones_norm


def _line_fit_as_polyfit(x: Floats, y: Floats) -> tuple[float, float]:
    """polyfit's own steps, for the series the shortcut above does not cover (no
    values, all zero, or squares that overflow): whatever polyfit gives them."""
    lhs = np.empty((len(x), 2))
    lhs[:, 0] = x
    lhs[:, 1] = 1.0
    scale = np.sqrt((lhs * lhs).sum(axis=0))
    lhs /= scale
    c = np.linalg.lstsq(lhs, y, len(x) * _EPS)[0] / scale
    return float(c[0]), float(c[1])


def without_line(x: Floats, y: Floats) -> Floats:
    """``y - np.polyval(np.polyfit(x, y, 1), x)`` to the bit (``0 * x + b`` is ``b``
    exactly for a finite ``x``, as polyval evaluates it)."""
    slope, offset = line_fit(x, y)
    # In place, the same operations in the same order.
    result: Floats = slope * x
    result += offset
    np.subtract(y, result, out=result)
    return result
