"""Simulated sessions wired as `biofeedback run` wires them (``build_session``).

Each session gets a store of its own unless the test names one: a session
recorded earlier in the same store could make the next one gentler.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.session import ActionInbox, RealClock, SessionPlan, Sink
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.resonance_live import ResonanceController
from biofeedback.pacing.rules import PacingConfig
from biofeedback.sensors import HeartRateSource


def fresh_store() -> Path:
    """A store path of its own beside the test's private one (see conftest)."""
    return Path(os.environ["BIOFEEDBACK_DB"]).parent / f"{uuid.uuid4().hex}.db"


def simulated_plan(
    scenario: str = "calm",
    seed: int | None = None,
    *,
    protocol: str = "full",
    zone: str = "green",
    speed: float | None = None,
    duration_s: float | None = None,
    sinks: Sequence[Sink] = (),
    actions: ActionInbox | None = None,
    source: HeartRateSource | None = None,
    db: Path | None = None,
    record: bool = False,
    session_id: str | None = None,
    pacing: PacingConfig | None = None,
    real_clock: RealClock | None = None,
) -> SessionPlan:
    """`biofeedback run --sim SCENARIO --seed SEED --protocol P --zone Z --speed max`,
    without a profile or sound; ``source`` replaces the simulator (a changed person).
    Not recorded unless ``record`` (the recorder triples a session's time at max speed);
    the store is still read, as `run` reads it. A live ``source`` needs ``speed=1.0``,
    as `run` refuses --speed for a strap, and ``real_clock`` when it stamps its items
    on one; ``pacing``: other pacing rules."""
    request = SessionRequest(
        sim=scenario,
        seed=seed,
        protocol=protocol,
        zone=zone,
        speed=speed,
        duration_s=duration_s,
        audio="off",
        use_profile=False,
        db=str(db or fresh_store()),
        record=record,
    )
    return build_session(
        request,
        source=source,
        sinks=sinks,
        actions=actions,
        session_id=session_id,
        pacing=pacing,
        real_clock=real_clock,
    )


def pacing_of(plan: SessionPlan) -> PacingController:
    """The pacing controller inside the plan's (the resonance wrapper's inner one)."""
    wrapper = plan.controller
    assert isinstance(wrapper, ResonanceController)
    return wrapper.inner
