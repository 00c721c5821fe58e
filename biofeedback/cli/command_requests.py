"""What `setup`, `today` and `plan` were asked for: typed values filled from their flags
by ``cli.request`` (``setup_request``, ``today_request``, ``plan_request``).

Apart from the commands' modules: a session's start uses other parts of those (the
profile, the ratings), and making these classes was ~0.5 ms of every start.
"""

from __future__ import annotations

from biofeedback.models.record import record


@record(frozen=True, slots=True)
class SetupRequest:
    """What `setup` was asked to do."""

    position: str | None = None
    eyes: str | None = None
    painful: str | None = None  # REGION[,REGION], or "none" to clear
    tension_starts: str | None = None  # REGION, or "none" to clear
    gentle_joints: bool | None = None
    back_pain: bool | None = None
    show: bool = False
    json: bool = False
    reset: bool = False


@record(frozen=True, slots=True)
class TodayRequest:
    """What `today` was asked."""

    json: bool = False
    at: str | None = None  # 'YYYY-MM-DD HH:MM', as if it were then
    db: str | None = None


@record(frozen=True, slots=True)
class PlanRequest:
    """What `plan` was asked."""

    json: bool = False
    ics: str | None = None  # a calendar file to write
    save: bool = False
