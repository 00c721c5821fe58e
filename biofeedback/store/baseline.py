"""A person's usual resting values, as ``Store.resting_baseline`` finds them.

Apart from ``rows``: only a session of the person's own heart reads it (a simulated
or replayed one never does), so a simulated session's start does not make the class.
"""

from __future__ import annotations

from biofeedback.models.record import record


@record(frozen=True, slots=True)
class RestingBaseline:
    """A person's usual resting values, from the baselines of recent sessions."""

    hr_bpm: float
    rmssd_ms: float | None
    sessions: int
