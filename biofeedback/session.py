"""The one loop: source -> estimator -> controller -> sinks.

This module owns the clock. The estimator and controller are handed ``now``
and never see the clock themselves, so a session can run in real time (a
strap), in scaled virtual time (the simulator at ``--speed 4``) or as fast as
the CPU allows (``--speed max``, tests and benchmarks) with the same code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from biofeedback.fanout import Sink as Sink
from biofeedback.fanout import SinkReport as SinkReport
from biofeedback.fanout import SinkRunner
from biofeedback.fanout import StatusAware as StatusAware
from biofeedback.fanout import TroubleReporting as TroubleReporting
from biofeedback.models import (
    Action,
    ArousalEstimate,
    Estimate,
    HeartSample,
    SessionEnded,
    SessionEvent,
    SessionInfo,
    SessionStarted,
    SourceStatus,
    Zone,
)
from biofeedback.sensors import EventAware, HeartRateSource, SourceItem
from biofeedback.sensors.limits import implausible

log = logging.getLogger(__name__)

TICK_S = 1.0


# --------------------------------------------------------------------------
# Clocks


class Clock(Protocol):
    """Session time in seconds since the session started."""

    virtual: bool

    def now(self) -> float: ...

    async def advance_to(self, t_s: float) -> None:
        """Return once session time has reached ``t_s``."""


class RealClock:
    """Wall time, for live sources."""

    virtual = False

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    async def advance_to(self, t_s: float) -> None:
        delay = t_s - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


class VirtualClock:
    """Simulated time: ``speed`` times real time, or as fast as possible (None)."""

    virtual = True

    def __init__(self, speed: float | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._t_s = 0.0
        self._wall_start = time.monotonic()

    def now(self) -> float:
        return self._t_s

    async def advance_to(self, t_s: float) -> None:
        if t_s < self._t_s:
            return
        if self.speed is None:
            # Let sink tasks and the UI run between steps of virtual time.
            await asyncio.sleep(0)
        else:
            # Measured from the start, so rounding errors never accumulate.
            due = self._wall_start + t_s / self.speed
            delay = due - time.monotonic()
            await asyncio.sleep(max(delay, 0.0))
        self._t_s = t_s


# --------------------------------------------------------------------------
# User actions


class ActionInbox:
    """User actions waiting for the loop: live ones, or scripted at set times."""

    def __init__(self) -> None:
        self._live: deque[Action] = deque()
        self._scripted: list[tuple[float, Action]] = []
        self._arrived = asyncio.Event()

    def put(self, action: Action) -> None:
        self._live.append(action)
        self._arrived.set()

    def schedule(self, t_s: float, action: Action) -> None:
        self._scripted.append((t_s, action))
        self._scripted.sort(key=lambda item: item[0])

    def due(self, now_s: float) -> list[Action]:
        out: list[Action] = []
        while self._scripted and self._scripted[0][0] <= now_s:
            out.append(self._scripted.pop(0)[1])
        out.extend(self._live)
        self._live.clear()
        self._arrived.clear()
        return out

    def next_scripted_s(self) -> float:
        return self._scripted[0][0] if self._scripted else math.inf

    async def wait(self) -> None:
        await self._arrived.wait()


# --------------------------------------------------------------------------
# The core's two seams, as the loop sees them


class Estimator(Protocol):
    def add_sample(self, sample: HeartSample) -> None: ...

    def estimate(self, now_s: float) -> ArousalEstimate: ...


class Controller(Protocol):
    @property
    def zone(self) -> Zone: ...

    @property
    def protocol_name(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    @property
    def end_reason(self) -> str: ...

    def start(self, now_s: float) -> list[SessionEvent]: ...

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]: ...

    def on_source_status(self, now_s: float, status: SourceStatus) -> list[SessionEvent]: ...

    def on_action(self, now_s: float, action: Action) -> list[SessionEvent]: ...

    def stop(self, now_s: float, reason: str) -> list[SessionEvent]: ...


# --------------------------------------------------------------------------
# The loop


@dataclass
class SessionResult:
    session_id: str
    reason: str
    duration_s: float
    events: int
    sinks: list[SinkReport] = field(default_factory=list)
    # Samples left out at the boundary, and why the first one was.
    rejected_samples: int = 0
    first_rejection: str | None = None


async def run_session(
    source: HeartRateSource,
    estimator: Estimator,
    controller: Controller,
    sinks: Sequence[Sink],
    clock: Clock,
    info: SessionInfo,
    *,
    actions: ActionInbox | None = None,
    duration_s: float | None = None,
    drain_timeout_s: float = 10.0,
) -> SessionResult:
    """Run one session to its end and return how it ended."""
    loop = _Loop(source, estimator, controller, sinks, clock, info, actions or ActionInbox())
    return await loop.run(duration_s, drain_timeout_s)


@dataclass
class SessionPlan:
    """Everything one session needs. ``cli.plan_session`` builds it from the command
    line for a headless run, the dashboard and the tests alike; ``run`` runs it."""

    source: HeartRateSource
    estimator: Estimator
    controller: Controller
    clock: Clock
    info: SessionInfo
    sinks: Sequence[Sink] = ()
    actions: ActionInbox = field(default_factory=ActionInbox)
    duration_s: float | None = None
    title: str = ""

    async def run(
        self,
        *,
        first: Sequence[Sink] = (),
        trouble: Callable[[str | None], None] | None = None,
    ) -> SessionResult:
        """Run the session; ``first`` are sinks that hear each item before the plan's.

        ``trouble`` hears, the moment it happens, that a sink (the recorder on a
        full disk) stopped doing its job, and when it is back.
        """
        if trouble is not None:
            for sink in self.sinks:
                if isinstance(sink, TroubleReporting):
                    sink.watch_trouble(trouble)
        return await run_session(
            self.source,
            self.estimator,
            self.controller,
            [*first, *self.sinks],
            self.clock,
            self.info,
            actions=self.actions,
            duration_s=self.duration_s,
        )


class _Loop:
    def __init__(
        self,
        source: HeartRateSource,
        estimator: Estimator,
        controller: Controller,
        sinks: Sequence[Sink],
        clock: Clock,
        info: SessionInfo,
        actions: ActionInbox,
    ) -> None:
        self.source = source
        self.estimator = estimator
        self.controller = controller
        self.runners = [SinkRunner(s) for s in sinks]
        self.clock = clock
        self.info = info
        self.actions = actions
        self.events = 0
        self.next_tick_s = TICK_S
        self.end_reason: str | None = None
        self.started = False
        self.rejected_samples = 0
        self.first_rejection: str | None = None
        self._listener = source if isinstance(source, EventAware) else None

    async def run(self, duration_s: float | None, drain_timeout_s: float) -> SessionResult:
        self.limit_s = math.inf if duration_s is None else duration_s
        try:
            async with self.source:
                # A strap given by address is named only once found.
                self.info = dataclasses.replace(self.info, source=self.source.description)
                # Sinks start once the source is open: a strap that cannot be
                # reached or a refused broker leaves no empty session behind.
                for runner in self.runners:
                    await runner.start(self.info)
                self.started = True
                now = self.clock.now()
                self._emit(
                    [
                        SessionStarted(
                            now,
                            self.info.session_id,
                            self.controller.protocol_name,
                            self.info.source,
                            self.controller.zone,
                        )
                    ]
                )
                self._emit(self.controller.start(now))
                items = aiter(self.source)
                if self.clock.virtual:
                    await self._run_virtual(items)
                else:
                    await self._run_live(items)
        except asyncio.CancelledError as exc:
            # Ctrl-C, a signal, the app closing: the person's session was
            # interrupted. Whoever cancels may say how (``task.cancel(reason)``).
            said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else None
            self._finish(said or "interrupted")
            raise
        finally:
            self._finish("interrupted")
            for runner in self.runners:
                await runner.finish(drain_timeout_s)
        assert self.end_reason is not None
        return SessionResult(
            self.info.session_id,
            self.end_reason,
            self.clock.now(),
            self.events,
            [r.report for r in self.runners],
            self.rejected_samples,
            self.first_rejection,
        )

    # Virtual time: the source's item times are the timeline. Items are pulled
    # one at a time, so a closed-loop simulator has heard every event up to
    # the previous item before it computes the next one.
    async def _run_virtual(self, items: AsyncIterator[SourceItem]) -> None:
        while self.end_reason is None:
            item = await anext(items, None)
            if item is None:
                # A replay file has run out: the session ends with its data, as a
                # live source's would.
                self._finish("source ended")
                return
            await self._ticks_until(item.t_s)
            if self.end_reason is not None:
                return
            await self.clock.advance_to(item.t_s)
            self._handle_actions()
            self._handle_item(item)

    async def _ticks_until(self, t_s: float) -> None:
        while self.end_reason is None:
            next_s = min(self.next_tick_s, self.actions.next_scripted_s(), self.limit_s)
            if next_s > t_s or next_s == math.inf:
                return
            await self.clock.advance_to(next_s)
            self._handle_actions()
            self._tick_if_due()

    # Live: items arrive when they arrive; ticks and actions interleave.
    async def _run_live(self, items: AsyncIterator[SourceItem]) -> None:
        pending: asyncio.Task[SourceItem | None] = asyncio.ensure_future(anext(items, None))
        action_wait: asyncio.Task[None] = asyncio.ensure_future(self.actions.wait())
        try:
            while self.end_reason is None:
                wake_s = min(self.next_tick_s, self.actions.next_scripted_s(), self.limit_s)
                timeout = max(wake_s - self.clock.now(), 0.0)
                done, _ = await asyncio.wait(
                    {pending, action_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if action_wait in done:
                    action_wait = asyncio.ensure_future(self.actions.wait())
                self._handle_actions()
                if pending in done:
                    item = pending.result()
                    if item is None:
                        self._finish("source ended")
                        return
                    self._handle_item(item)
                    pending = asyncio.ensure_future(anext(items, None))
                self._tick_if_due()
        finally:
            for task in (pending, action_wait):
                task.cancel()
            await asyncio.gather(pending, action_wait, return_exceptions=True)

    def _tick_if_due(self) -> None:
        now = self.clock.now()
        if now >= self.limit_s:
            self._finish("duration reached")
        if self.end_reason is None and now >= self.next_tick_s:
            # A live loop that fell behind skips the missed ticks: one estimate
            # of the present beats several of the past.
            self.next_tick_s += TICK_S
            if self.next_tick_s <= now:
                self.next_tick_s = now + TICK_S
            self._tick(now)

    def _tick(self, now: float) -> None:
        est = self.estimator.estimate(now)
        self._emit(
            [Estimate(now, est.hr_bpm, est.rmssd_ms, est.arousal, est.quality, est.artifact_rate)]
        )
        self._emit(self.controller.on_estimate(now, est))
        self._check_finished()

    def _handle_item(self, item: SourceItem) -> None:
        if isinstance(item, HeartSample):
            problem = implausible(item)
            if problem is not None:
                # Not a heart: counted and reported, never estimated or stored.
                self.rejected_samples += 1
                if self.first_rejection is None:
                    self.first_rejection = problem
                    log.info("left out a sample that cannot be heart data: %s", problem)
                return
            self.estimator.add_sample(item)
            for runner in self.runners:
                runner.offer(item)
        else:
            for runner in self.runners:
                if runner.wants_status:
                    runner.offer(item)
            self._emit(self.controller.on_source_status(self.clock.now(), item))

    def _handle_actions(self) -> None:
        for action in self.actions.due(self.clock.now()):
            self._emit(self.controller.on_action(self.clock.now(), action))
            self._check_finished()

    def _check_finished(self) -> None:
        if self.end_reason is None and self.controller.finished:
            self._finish(self.controller.end_reason)

    def _finish(self, reason: str) -> None:
        if self.end_reason is not None or not self.started:
            return
        self.end_reason = reason
        now = self.clock.now()
        # However the session ends, the step under way gets its step_ended, so
        # the record says how long it really ran (a no-op once the controller
        # has finished by itself).
        self._emit(self.controller.stop(now, reason))
        self._emit([SessionEnded(now, self.info.session_id, reason, now, self.rejected_samples)])

    def _emit(self, events: Iterable[SessionEvent]) -> None:
        for event in events:
            self.events += 1
            if self._listener is not None:
                self._listener.observe(event)
            for runner in self.runners:
                runner.offer(event)
