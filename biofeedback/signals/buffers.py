"""A growable numpy array: amortised appends, cheap views, dropping old entries."""

from __future__ import annotations

import numpy as np


class Growable:
    """Append-only 1-D array with spare capacity; ``view`` is the filled part."""

    def __init__(self, dtype: type = np.float64, capacity: int = 256) -> None:
        self._data: np.ndarray = np.empty(capacity, dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def view(self) -> np.ndarray:
        """The filled part (a view: valid until the next ``drop_front`` in place)."""
        return self._data[: self._n]

    def extend(self, values: np.ndarray, *, own: bool = False) -> None:
        """Append ``values``. ``own``: the caller hands over a fresh array of this
        dtype; an empty buffer keeps it instead of copying it (a whole recording)."""
        if own and self._n == 0 and values.dtype == self._data.dtype and values.ndim == 1:
            self._data, self._n = values, values.size
            return
        need = self._n + values.size
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : need] = values
        self._n = need

    def grow(self, count: int) -> np.ndarray:
        """Append ``count`` entries and return them, unset, for the caller to fill
        in place (a whole recording's statistics: no array to copy in)."""
        need = self._n + count
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._n = need
        return self._data[need - count : need]

    def drop_front(self, count: int, *, fresh: bool = False) -> None:
        """Forget the oldest ``count`` entries (indices shift down by ``count``).

        ``fresh``: move the rest into a new array with room for as many again,
        instead of down in place: every view handed out before keeps what it
        showed (appends never write over filled entries either), and a large
        array's memory can go once no view holds it."""
        count = min(count, self._n)
        left = self._n - count
        if fresh:
            data = np.empty(max(2 * left, 256), self._data.dtype)
            data[:left] = self._data[count : self._n]
            self._data = data
        else:
            self._data[:left] = self._data[count : self._n]
        self._n = left
