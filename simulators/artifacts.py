"""What the strap's electrodes make of the true beats.

Most beats come through as they are. At the scenario's rates a beat is missed
(one interval about twice as long), a spurious beat is detected inside an
interval (two short ones), or the heart fires an ectopic beat early in a
sinus beat's place (a short interval, then a compensatory long one, so the
rhythm after it is back on time, as in tests/data/rr/polar_h10_pvc_isolated).
Working on beat times rather than intervals keeps the timeline true: whatever
goes wrong, the beats after it fall where the heart put them.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from simulators.scenario import ArtifactRates

_BLOCK = 1024
# An ectopic beat comes after 50-70 % of the normal interval (the shared PVC
# recording shows 521 ms in ~1000 ms rhythm); a spurious beat anywhere inside.
_ECTOPIC_PREMATURITY = (0.5, 0.7)
_EXTRA_SPLIT = (0.3, 0.7)


class Label(StrEnum):
    """The truth about one reported interval (the one that ends at a detected beat)."""

    NORMAL = "normal"
    MISSED = "missed"
    EXTRA = "extra"
    ECTOPIC = "ectopic"


class Detector:
    """Feed true beat times in order; get back the detected ones, each labelled."""

    def __init__(self, rates: ArtifactRates, seed: int | np.random.SeedSequence) -> None:
        self.rates = rates
        self._rng = np.random.default_rng(seed)
        self._uniform: list[float] = []
        self._i = _BLOCK
        self._prev_t_s: float | None = None
        self._carry = Label.NORMAL
        self._missed = rates.missed
        self._extra = rates.missed + rates.extra
        self._ectopic = rates.missed + rates.extra + rates.ectopic
        # No artifact at all: every beat comes through as it is (no draw can fall
        # below a rate of 0, and the draws are this detector's own stream).
        self.clean = rates.missed == rates.extra == rates.ectopic == 0.0

    def restart(self) -> None:
        """The strap lost the rhythm (a gap): the next beat starts afresh."""
        self._prev_t_s = None
        self._carry = Label.NORMAL

    def feed(self, t_s: float) -> list[tuple[float, Label]]:
        prev = self._prev_t_s
        self._prev_t_s = t_s
        if prev is None:
            return [(t_s, Label.NORMAL)]
        if self._carry is not Label.NORMAL:
            # The interval that closes an artifact is never itself one: labels stay exact.
            label, self._carry = self._carry, Label.NORMAL
            return [(t_s, label)]
        u = self._draw()
        if u < self._missed:
            self._carry = Label.MISSED
            return []
        if u < self._extra:
            split = self._between(_EXTRA_SPLIT)
            return [(prev + split * (t_s - prev), Label.EXTRA), (t_s, Label.EXTRA)]
        if u < self._ectopic:
            self._carry = Label.ECTOPIC
            early = self._between(_ECTOPIC_PREMATURITY)
            return [(prev + early * (t_s - prev), Label.ECTOPIC)]
        return [(t_s, Label.NORMAL)]

    def _draw(self) -> float:
        if self._i >= len(self._uniform):
            self._uniform = self._rng.random(_BLOCK).tolist()
            self._i = 0
        value = self._uniform[self._i]
        self._i += 1
        return value

    def _between(self, bounds: tuple[float, float]) -> float:
        low, high = bounds
        return low + (high - low) * self._draw()
