"""Sessions recorded into a real store, as `biofeedback run` records them."""

from __future__ import annotations

from pathlib import Path

from biofeedback.cli import SessionRequest, build_session
from biofeedback.models import SessionInfo
from biofeedback.session import ActionInbox


def info(session_id: str, started: float = 1_700_000_000.0) -> SessionInfo:
    return SessionInfo(session_id, "full", "simulator:calm", started)


async def record_sim(
    db: Path, session_id: str, *, duration_s: float = 120.0, actions: ActionInbox | None = None
) -> None:
    """`biofeedback run --sim calm --seed 3 --protocol full --zone green --speed max`."""
    request = SessionRequest(
        sim="calm",
        seed=3,
        protocol="full",
        zone="green",
        speed=None,
        duration_s=duration_s,
        audio="off",
        use_profile=False,
        db=str(db),
    )
    plan = build_session(request, actions=actions, session_id=session_id)
    await plan.run()
