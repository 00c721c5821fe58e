"""The median of a 1-D array, to the bit what ``np.median`` gives.

``np.median`` checks for masked arrays on every call, and that check imports
``numpy.ma`` (~30 ms of a command's start) the first time. The selection below
is the same one numpy makes (a partition), and the middle two are averaged the
same way, so every figure derived from a median is unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def median(values: npt.ArrayLike) -> float:
    """Median of ``values`` (NaN if any is NaN, or if there are none)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return math.nan
    k = n // 2
    # The largest goes last too: NaN sorts last, as numpy's own check relies on.
    kth = sorted({k - 1, k, n - 1}) if n % 2 == 0 else sorted({k, n - 1})
    part = np.partition(x, kth)
    if math.isnan(part[-1]):
        return math.nan
    if n % 2:
        return float(part[k])
    return float((part[k - 1] + part[k]) / 2.0)
