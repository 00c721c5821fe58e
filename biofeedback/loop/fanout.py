"""Fan-out to sinks: each sink hears a session through its own queue and task.

A sink that is slow loses its oldest items (a live view wants the freshest),
and a sink that fails is set aside with the reason; neither delays the loop in
``session.py`` or the other sinks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from biofeedback.models import (
    BreathTaken,
    ChestMotion,
    HeartSample,
    SessionEvent,
    SessionInfo,
    SourceStatus,
)
from biofeedback.models.record import record

if TYPE_CHECKING:
    # Only a progress-aware sink's items carry one; the module loads with the first
    # such sink (session.py), not with a headless run.
    from biofeedback.loop.progress import Snapshot

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Receives every event (and every raw sample) of a session, in order.

    Each sink runs in its own task behind its own bounded queue, so a slow or
    failing sink never delays the pacing loop or the other sinks. A sink with a
    class attribute ``hears_samples = False`` is handed events only, no raw samples.
    """

    name: str
    queue_size: int

    async def start(self, info: SessionInfo) -> None: ...

    async def handle(self, item: SessionEvent | HeartSample) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class StatusAware(Protocol):
    """A sink that also hears the source's connection reports (e.g. battery level)."""

    async def handle_status(self, status: SourceStatus) -> None: ...


@runtime_checkable
class TroubleReporting(Protocol):
    """A sink that says at once when it stops doing its job, and when it is back.

    The watcher gets one line for a person, or None when the trouble is over.
    """

    def watch_trouble(self, watcher: Callable[[str | None], None]) -> None: ...


@runtime_checkable
class ProgressAware(Protocol):
    """A sink that takes each event with where the session stood just after it (the
    loop's one fold), instead of ``handle``: a dropped item cannot leave it behind."""

    async def handle_progress(self, event: SessionEvent, snapshot: Snapshot) -> None: ...


@runtime_checkable
class BreathRecording(Protocol):
    """A sink that keeps each breath seen on the chest (the recorder), and with
    ``keep_raw`` the chest motion itself. No other sink hears either."""

    keep_raw: bool

    async def handle_breath(self, item: BreathTaken | ChestMotion) -> None: ...


@runtime_checkable
class BatchAware(Protocol):
    """A sink that takes everything its queue holds in one call, in order, instead
    of ``handle`` (and ``handle_breath``) an item at a time: at --speed max a turn
    of the loop queues hundreds of items, and a call per item adds up. Used only
    for a sink that is neither ``StatusAware`` nor ``ProgressAware`` (those items
    are told apart, one at a time)."""

    async def handle_batch(
        self, items: Sequence[SessionEvent | HeartSample | BreathTaken | ChestMotion]
    ) -> None: ...


@record
class SinkReport:
    """How one sink fared: the events it dropped (its queue full) and why it failed, if
    it did."""

    name: str
    dropped: int = 0
    failed: str | None = None


@record(frozen=True, slots=True)
class _WithProgress:
    """An event queued with the session's progress as it stood at that event."""

    event: SessionEvent
    snapshot: Snapshot


_Queued = SessionEvent | HeartSample | SourceStatus | _WithProgress | BreathTaken | ChestMotion


class SinkRunner:
    """One sink behind its own bounded queue and task.

    The queue is a plain deque and one future the idle task waits on: an
    ``asyncio.Queue``'s put, get and task_done per item were ~7 % of a replay
    at --speed max, where every beat and event passes through here."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.report = SinkReport(sink.name)
        self._size = max(sink.queue_size, 1)
        self._items: deque[_Queued] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.wants_status = isinstance(sink, StatusAware)
        self.wants_progress = isinstance(sink, ProgressAware)
        self.wants_breaths = isinstance(sink, BreathRecording)
        self.wants_motion = isinstance(sink, BreathRecording) and sink.keep_raw
        # A sink that says it ignores raw samples (``hears_samples = False``) is not
        # handed them: at --speed max a queue trip per beat per sink adds up.
        self.wants_samples = bool(getattr(sink, "hears_samples", True))
        self._handle_batch = (
            sink.handle_batch
            if isinstance(sink, BatchAware) and not (self.wants_status or self.wants_progress)
            else None
        )

    async def start(self, info: SessionInfo) -> None:
        await self.sink.start(info)
        self._task = asyncio.create_task(self._run(), name=f"sink:{self.sink.name}")

    def offer(
        self,
        item: SessionEvent | HeartSample | SourceStatus | BreathTaken | ChestMotion,
        snapshot: Snapshot | None = None,
    ) -> None:
        """Queue ``item`` (an event with its ``snapshot`` for a ``ProgressAware`` sink)."""
        if self.report.failed is not None:
            return
        items = self._items
        if len(items) >= self._size:
            # Drop the oldest item: the freshest state matters most to a live view.
            items.popleft()
            self.report.dropped += 1
        if snapshot is not None and self.wants_progress and isinstance(item, SessionEvent):
            items.append(_WithProgress(item, snapshot))
        else:
            items.append(item)
        if self._wakeup is not None:
            self._wake()

    def _wake(self) -> None:
        waiter = self._wakeup
        # Woken once: the items offered until the task runs need no call here.
        self._wakeup = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _run(self) -> None:
        items = self._items
        sink = self.sink
        while True:
            if not items:
                if self._closing:
                    return
                self._wakeup = asyncio.get_running_loop().create_future()
                await self._wakeup
                self._wakeup = None
                continue
            if self._handle_batch is not None:
                # Neither status nor progress is queued for a batch sink (``__init__``).
                batch = cast(
                    "list[SessionEvent | HeartSample | BreathTaken | ChestMotion]", list(items)
                )
                items.clear()
                try:
                    await self._handle_batch(batch)
                except Exception as exc:  # a sink's failure must not end the session
                    self._failed(exc)
                    return
                continue
            item = items.popleft()
            try:
                if isinstance(item, SourceStatus):
                    if isinstance(sink, StatusAware):
                        await sink.handle_status(item)
                elif isinstance(item, BreathTaken | ChestMotion):
                    if isinstance(sink, BreathRecording):
                        await sink.handle_breath(item)
                elif isinstance(item, _WithProgress):
                    if isinstance(sink, ProgressAware):
                        await sink.handle_progress(item.event, item.snapshot)
                else:
                    await sink.handle(item)
            except Exception as exc:  # a sink's failure must not end the session
                self._failed(exc)
                return

    def _failed(self, exc: Exception) -> None:
        log.warning("sink %s failed: %s", self.sink.name, exc)
        self.report.failed = str(exc) or type(exc).__name__
        # Nobody will take what is queued.
        self._items.clear()

    async def _drain(self) -> None:
        # Everything queued is handled before the sink stops (the end is a flag,
        # not an item: it never waits for room in a full queue).
        assert self._task is not None
        self._closing = True
        self._wake()
        await asyncio.shield(self._task)

    async def finish(self, timeout_s: float) -> None:
        if self._task is None:
            return
        if self.report.failed is None:
            try:
                await asyncio.wait_for(self._drain(), timeout_s)
            except TimeoutError:
                log.warning("sink %s did not drain within %.0f s", self.sink.name, timeout_s)
                self._task.cancel()
        try:
            await self.sink.stop()
        except Exception as exc:
            log.info("sink %s failed to stop: %s", self.sink.name, exc)
            self.report.failed = self.report.failed or str(exc)
