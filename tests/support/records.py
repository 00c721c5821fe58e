"""A week of simulated sessions in a store, and the review and history views of it."""

from __future__ import annotations

from pathlib import Path

from biofeedback import review
from biofeedback.cli import SessionRequest, build_session
from biofeedback.store import Store
from biofeedback.ui.records import ReviewView

# 2026-03-02 08:00 UTC and the mornings after: fixed, so pictures do not move.
FIRST_START_S = 1_772_438_400.0
DAY_S = 86_400.0


async def record(
    db: Path, session_id: str, scenario: str, started_at_s: float, duration_s: float
) -> None:
    """One simulated session into the store, as `biofeedback run` records it."""
    request = SessionRequest(
        sim=scenario,
        protocol="full",
        zone="green",
        speed=None,
        duration_s=duration_s,
        audio="off",
        use_profile=False,
        db=str(db),
    )
    plan = build_session(request, session_id=session_id, started_at_unix_s=started_at_s)
    await plan.run()


async def recorded_week(db: Path) -> None:
    for day, (scenario, seconds) in enumerate(
        [("anxious", 300.0), ("calm", 240.0), ("calm", 200.0), ("anxious", 320.0)]
    ):
        await record(db, f"day{day + 1}-{scenario}", scenario, FIRST_START_S + day * DAY_S, seconds)


def review_view(db: Path, ref: str) -> ReviewView:
    with Store(db) as store:
        recording = store.load(ref)
    return ReviewView(recording, review.format_summary(review.summarize(recording)))


def history_of(db: Path) -> review.History:
    with Store(db) as store:
        return review.build_history(store.sessions())
