"""``list_median.median`` gives what ``statistics.median`` gives, to the bit and the
type, on awkward inputs (the baseline and the practice outcomes took theirs from
``statistics``)."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterable, Iterator

import numpy as np
import pytest

from biofeedback.signals.list_median import median


def _same(ours: object, theirs: object) -> bool:
    """Equal to the bit (a NaN to a NaN, -0.0 apart from 0.0) and of the same type."""
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, float | np.floating):
        return np.float64(ours).tobytes() == np.float64(theirs).tobytes()  # type: ignore[arg-type]
    return ours == theirs


def _cases() -> Iterator[list[float]]:
    rng = random.Random(11)
    yield [72.0]
    yield [0.0, -0.0]
    yield [-0.0, 0.0]
    yield [-0.0]
    yield [1, 2]  # ints: the middle two averaged to a float
    yield [1, 2, 3]
    yield [True, False, True]
    yield [1, 2.5, 4]
    yield [math.inf, -math.inf]
    yield [math.inf, 1.0, math.inf]
    yield [1e308, 1e308]  # their sum overflows, as statistics' does
    yield [0.1, 0.2]
    yield [math.nan, 1.0, 2.0]
    yield [1.0, math.nan, 2.0, 3.0]
    yield [3.0, 2.0, 1.0, math.nan]
    yield [60.0] * 7
    for n in range(1, 40):
        values = [round(rng.gauss(70.0, 6.0), rng.randrange(4)) for _ in range(n)]
        if n % 7 == 0:
            values[rng.randrange(n)] = math.nan
        yield values
        yield [float(v) for v in values]


# numpy warns where the sum of two middle scalars overflows (1e308) or is inf - inf.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("values", list(_cases()))
def test_the_median_is_the_statistics_one(values: list[float]) -> None:
    theirs = statistics.median(values)
    assert _same(median(values), theirs), (values, median(values), theirs)
    # Any iterable once, as statistics takes: a generator, a tuple, numpy scalars.
    generated: Iterable[float] = (v for v in values)
    assert _same(median(generated), theirs)
    assert _same(median(tuple(values)), theirs)
    scalars = [np.float64(v) for v in values]
    assert _same(median(scalars), statistics.median(scalars))


def test_no_values_no_median() -> None:
    with pytest.raises(ValueError, match="no median"):
        statistics.median([])
    with pytest.raises(ValueError, match="no median"):
        median([])
