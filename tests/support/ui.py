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

from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.session import SessionPlan, Sink
from biofeedback.models import ChestMotion, HeartSample, SessionEvent, SourceStatus, Zone
from biofeedback.ui.app import BiofeedbackApp, DashboardSettings, create_app
from biofeedback.ui.screens import SessionScreen
from simulators.source import SimulatedSource

Item = HeartSample | SourceStatus | ChestMotion


class SteppedSource:
    """The simulator, held at a session time the test moves forward.

    Items flow until the first one past the limit has gone through (so every
    tick up to the limit has run), then the next waits for ``advance_to``.
    ``battery_pct`` adds the battery report a real strap sends on connecting.
    """

    virtual = True

    def __init__(
        self, scenario: str = "calm", seed: int | None = None, *, battery_pct: int | None = None
    ) -> None:
        self.inner = SimulatedSource(scenario, seed=seed)
        self.description = self.inner.description
        self.battery_pct = battery_pct
        self.limit_s = 0.0
        self.last_t_s = 0.0
        self.strict = False
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

    async def advance_to(self, t_s: float, *, strict: bool = False) -> None:
        """Let the session run up to ``t_s`` and return once it waits there.

        ``strict`` holds back the first item past ``t_s`` too: the session then
        stands at its last item before ``t_s`` (inside a dropout, at its start).
        """
        self.limit_s = t_s
        self.strict = strict
        self._waiting.clear()
        self._moved.set()
        await asyncio.wait_for(self._waiting.wait(), timeout=30)

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._items()

    async def _items(self) -> AsyncIterator[Item]:
        if self.battery_pct is not None:
            yield SourceStatus(0.0, True, "strap connected", self.battery_pct)
        async for item in self.inner:
            while self.last_t_s > self.limit_s or (self.strict and item.t_s > self.limit_s):
                self._moved.clear()
                self._waiting.set()
                await self._moved.wait()
            if not isinstance(item, ChestMotion):
                # Chest motion feeds the breath estimate only: the screen never sees
                # its time, so it is not what a step waits for.
                self.last_t_s = item.t_s
            yield item


def stepped_plan(
    source: SteppedSource,
    *,
    sinks: tuple[Sink, ...] = (),
    zone: Zone = Zone.GREEN,
    protocol: str | None = None,
    imagery: str = "",
) -> SessionPlan:
    """The plan `biofeedback run --sim --zone ZONE --speed max` (with --protocol and
    --imagery when given) makes, on ``source``."""
    request = SessionRequest(
        sim="calm", zone=zone.value, speed=None, protocol=protocol, imagery=imagery
    )
    return build_session(request, dashboard=True, source=source, sinks=sinks)


def stepped_app(
    source: SteppedSource,
    *,
    sinks: tuple[Sink, ...] = (),
    motion: bool = False,
) -> BiofeedbackApp:
    plan = stepped_plan(source, sinks=sinks)
    return create_app(plan, DashboardSettings(reduced_motion=not motion))


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


async def step_to(
    pilot: Pilot[Any], source: SteppedSource, t_s: float, *, strict: bool = False
) -> SessionScreen:
    """Run the session to ``t_s`` and wait until the screen shows that time."""
    await source.advance_to(t_s, strict=strict)
    screen = session_screen(pilot.app)  # type: ignore[arg-type]
    await until(pilot, lambda: screen.state.t_s >= source.last_t_s)
    await pilot.pause()
    return screen


async def step_until(
    pilot: Pilot[Any],
    source: SteppedSource,
    done: Callable[[SessionScreen], bool],
    *,
    limit_s: float = 900.0,
) -> SessionScreen:
    """Run the session a second at a time until ``done(screen)`` holds."""
    t_s = source.last_t_s
    while t_s < limit_s:
        t_s += 1.0
        screen = await step_to(pilot, source, t_s)
        if done(screen):
            return screen
    raise AssertionError(f"the session never got there by {limit_s} s")
