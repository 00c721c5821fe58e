"""What one past session left behind, as much as the practice decisions need."""

from __future__ import annotations

from biofeedback.models import Zone
from biofeedback.models.record import record
from biofeedback.practice.ratings import Ratings

# A session shorter than this is a try-out, not a practice.
PRACTICE_MIN_S = 120.0


@record(frozen=True, slots=True)
class SessionOutcome:
    """One recorded session, reduced for cross-session decisions.

    ``final_hr_bpm`` is the median heart rate of the final two minutes (as
    review measures it); ``lowest_zone`` the most guarded zone the session
    reached (red when it stepped down to passive rest).
    """

    session_id: str
    protocol: str
    started_at_unix_s: float
    virtual: bool
    finished: bool
    length_s: float
    baseline_hr_bpm: float | None = None
    final_hr_bpm: float | None = None
    lowest_zone: Zone | None = None
    before: Ratings | None = None
    after: Ratings | None = None

    @property
    def practised(self) -> bool:
        """A practice of the person's own: finished, of their heart (not simulated
        or replayed) and at least ``PRACTICE_MIN_S`` long."""
        return self.finished and not self.virtual and self.length_s >= PRACTICE_MIN_S

    @property
    def hr_change_bpm(self) -> float | None:
        if self.baseline_hr_bpm is None or self.final_hr_bpm is None:
            return None
        return self.final_hr_bpm - self.baseline_hr_bpm
