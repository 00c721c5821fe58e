"""Sessions recorded into a real store, as `biofeedback run` records them."""

from __future__ import annotations

import time
from pathlib import Path

from biofeedback.models import SessionInfo
from biofeedback.pacing.arousal import ArousalEstimator
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.protocols import load_protocol
from biofeedback.session import ActionInbox, VirtualClock, run_session
from biofeedback.store import RecorderSink
from simulators.source import SimulatedSource


def info(session_id: str, started: float = 1_700_000_000.0) -> SessionInfo:
    return SessionInfo(session_id, "full", "simulator:calm", started)


async def record_sim(
    db: Path, session_id: str, *, duration_s: float = 120.0, actions: ActionInbox | None = None
) -> None:
    controller = PacingController(
        load_protocol("full"),
    )
    await run_session(
        SimulatedSource("calm", seed=3),
        ArousalEstimator(),
        controller,
        [RecorderSink(db, virtual=True)],
        VirtualClock(None),
        info(session_id, time.time()),
        actions=actions,
        duration_s=duration_s,
    )
