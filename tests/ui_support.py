"""Helpers for the dashboard tests: a simulated session the test steps through.

``SteppedSource`` wraps the real simulator and yields its items only up to a
session time the test allows, so a session on ``VirtualClock(None)`` stands
still between the test's steps: what the screen shows at session time T is
exactly what the session did up to T, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Self

from textual.pilot import Pilot

from biofeedback.models import HeartSample, SessionEvent, SessionInfo, SourceStatus, Zone
from biofeedback.pacing.arousal import ArousalEstimator
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.protocols import load_protocol
from biofeedback.session import ActionInbox, VirtualClock
from biofeedback.ui.app import BiofeedbackApp, DashboardSettings, SessionPlan, create_app
from biofeedback.ui.screens import SessionScreen
from simulators.source import SimulatedSource

Item = HeartSample | SourceStatus


class SteppedSource:
    """The simulator, held at a session time the test moves forward.

    ``drops`` are (lost_s, back_s) spans: the strap reports a disconnect at
    lost_s, sends nothing until back_s, then reports it is back.
    """

    virtual = True

    def __init__(
        self,
        scenario: str = "calm",
        seed: int = 1,
        *,
        drops: tuple[tuple[float, float], ...] = (),
        battery_pct: int | None = None,
    ) -> None:
        self.inner = SimulatedSource(scenario, seed=seed)
        self.description = self.inner.description
        self.drops = drops
        self.battery_pct = battery_pct
        self.limit_s = 0.0
        self.last_t_s = 0.0
        self._moved = asyncio.Event()
        self._waiting = asyncio.Event()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # The session is over: nobody will ask for more, so stop waiting for that.
        self._waiting.set()

    def observe(self, event: SessionEvent) -> None:
        self.inner.observe(event)

    async def advance_to(self, t_s: float) -> None:
        """Let the session run up to ``t_s`` and return once it waits there."""
        self.limit_s = t_s
        self._waiting.clear()
        self._moved.set()
        await asyncio.wait_for(self._waiting.wait(), timeout=30)

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._items()

    async def _items(self) -> AsyncIterator[Item]:
        if self.battery_pct is not None:
            yield await self._held(SourceStatus(0.5, True, "strap connected", self.battery_pct))
        drops = list(self.drops)
        async for sample in self.inner:
            if drops and sample.t_s >= drops[0][0]:
                lost_s, back_s = drops.pop(0)
                yield await self._held(SourceStatus(lost_s, False, "strap out of range"))
                yield await self._held(
                    SourceStatus(back_s, True, "strap reconnected", self.battery_pct)
                )
            if any(lost <= sample.t_s < back for lost, back in self.drops):
                continue
            yield await self._held(sample)

    async def _held(self, item: Item) -> Item:
        while item.t_s > self.limit_s:
            self._moved.clear()
            self._waiting.set()
            await self._moved.wait()
        self.last_t_s = item.t_s
        return item


def stepped_plan(
    source: SteppedSource, *, sinks: tuple[object, ...] = (), zone: Zone = Zone.GREEN
) -> SessionPlan:
    controller = PacingController(
        load_protocol("full"),
        yellow=load_protocol("breath-partial"),
        red=load_protocol("passive-rest"),
        start_zone=zone,
    )
    return SessionPlan(
        source=source,
        estimator=ArousalEstimator(),
        controller=controller,
        clock=VirtualClock(None),
        info=SessionInfo("ui-test", "full", source.description, 0.0),
        sinks=sinks,  # type: ignore[arg-type]
        actions=ActionInbox(),
        title="Full body",
    )


def stepped_app(
    source: SteppedSource, *, sinks: tuple[object, ...] = (), motion: bool = False
) -> BiofeedbackApp:
    return create_app(
        stepped_plan(source, sinks=sinks), DashboardSettings(reduced_motion=not motion)
    )


async def until(pilot: Pilot[Any], done: Callable[[], bool], rounds: int = 500) -> None:
    """Let the app process messages until ``done()`` holds (bounded, no timing)."""
    for _ in range(rounds):
        if done():
            return
        await pilot.pause()
    raise AssertionError("the dashboard never got there")


def session_screen(app: BiofeedbackApp) -> SessionScreen:
    screen = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(screen, SessionScreen)
    return screen


async def step_to(pilot: Pilot[Any], source: SteppedSource, t_s: float) -> SessionScreen:
    """Run the session to ``t_s`` and wait until the screen shows that time."""
    await source.advance_to(t_s)
    screen = session_screen(pilot.app)  # type: ignore[arg-type]
    await until(pilot, lambda: screen.state.t_s >= source.last_t_s)
    await pilot.pause()
    return screen
