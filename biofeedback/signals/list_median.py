"""The median of a few plain numbers, to the bit what ``statistics.median`` gives.

``statistics`` loads ``fractions`` and ``decimal`` (~2 ms of every session's
start) for its exact arithmetic, which a median of floats never uses: the
middle of the sorted values, or the mean of the middle two, computed the same
way. For arrays, ``signals.median`` (numpy's selection) is the one to use.
"""

from __future__ import annotations

from collections.abc import Iterable


def median(values: Iterable[float]) -> float:
    """The middle of ``values`` when sorted, or the mean of the middle two (as
    ``statistics.median``: a NaN lands where sorting leaves it). ValueError when
    there are none."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("no median of no values")
    if n % 2 == 1:
        return ordered[n // 2]
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2
