"""The median of a 1-D array, to the bit what ``np.median`` gives.

``np.median`` checks for masked arrays on every call, and that check imports
``numpy.ma`` (~30 ms of a command's start) the first time. The selection below
is the same one numpy makes (a partition), and the middle two are averaged the
same way, so every figure derived from a median is unchanged.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    # For annotations only (see line_fit.py).
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


def percentile(values: npt.ArrayLike, q_pct: float) -> float:
    """The ``q_pct``-th percentile of ``values``, to the bit what ``np.percentile``
    gives by default (linear between the two nearest order statistics), without the
    masked-array check that imports ``numpy.ma``. NaN if any value is NaN or there
    are none."""
    x = np.asarray(values, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return math.nan
    lo, hi, weight = percentile_rank(n, q_pct)
    part = np.partition(x, sorted({0, lo, hi, n - 1}))
    if math.isnan(part[-1]):
        return math.nan
    return percentile_between(float(part[lo]), float(part[hi]), weight)


def percentile_rank(n: int, q_pct: float) -> tuple[int, int, float]:
    """Where the ``q_pct``-th percentile of ``n`` values lies, as numpy's linear
    method finds it: the ranks of the two order statistics it lies between, and
    its weight from the lower one (``n`` > 0)."""
    virtual = (n - 1) * (q_pct / 100.0)
    below = float(math.floor(virtual))
    if virtual >= n - 1:
        # numpy marks both neighbours as the last (index -1), and its weight
        # is then measured from -1: kept, so the lerp below is numpy's to the bit.
        below, lo, hi = -1.0, n - 1, n - 1
    else:
        lo, hi = int(below), int(below) + 1
    return lo, hi, virtual - below


def percentile_between(a: float, b: float, weight: float) -> float:
    """The percentile between order statistics ``a`` and ``b`` at ``weight``."""
    diff = b - a
    # The side nearer the percentile is the anchor, as numpy's lerp does.
    return b - diff * (1.0 - weight) if weight >= 0.5 else a + diff * weight
