"""How much heart a source can deliver: no more beats than time has passed.

Pure. A heart beats once per RR interval, so the RR intervals a source sends
cannot add up to much more than the time that went by. A budget of heart time
grows with the clock (up to ``burst_ms``, what a strap may hand over at once
after a gap) and each sample spends its intervals; a sample that would
overdraw it is more heart than there was time for (a replayed or flooded
topic), and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field

from biofeedback.models.record import record

# A strap that buffered beats through a short gap hands them over together;
# fifteen seconds of them is far more than any does.
BURST_MS = 15_000.0
# A sample with a heart rate but no intervals stands for a fraction of a second:
# at most four such a second pass (straps send one).
HR_ONLY_MS = 250.0


@record
class BeatBudget:
    """Heart time a source may still deliver, on the arrival clock ``t_s``."""

    burst_ms: float = BURST_MS
    hr_only_ms: float = HR_ONLY_MS
    _balance_ms: float = field(default=BURST_MS, init=False)
    _last_t_s: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._balance_ms = self.burst_ms

    def take(self, t_s: float, rr_ms: Sequence[float]) -> bool:
        """Spend a sample arriving at ``t_s``; False when there was no time for it."""
        if self._last_t_s is not None and t_s > self._last_t_s:
            self._balance_ms = min(
                self.burst_ms, self._balance_ms + (t_s - self._last_t_s) * 1000.0
            )
        if self._last_t_s is None or t_s > self._last_t_s:
            self._last_t_s = t_s
        cost_ms = sum(rr_ms) if rr_ms else self.hr_only_ms
        if cost_ms > self._balance_ms:
            return False
        self._balance_ms -= cost_ms
        return True
