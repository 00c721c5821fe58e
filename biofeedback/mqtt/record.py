"""The whole record to the broker: a session's rows as the local store holds them.

The local record is the source: this side only reads what the store has
committed (through a ``RecordFeed`` the CLI hands in) and tells the feed what
the broker acknowledged (QoS 1), so whatever did not get through is simply
read again after a reconnect, or by `biofeedback sync` later. Nothing here
holds rows the store does not also hold, so a broker that is away costs no
memory and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import aiomqtt

from biofeedback.models import HeartSample, SessionEvent, SessionInfo
from biofeedback.models.record import record
from biofeedback.mqtt.connection import Broker, BrokerUnavailable, explain

log = logging.getLogger(__name__)

T = TypeVar("T")

SEND_EVERY_S = 1.0


@record(frozen=True, slots=True)
class Shipment:
    """One record message, and what to do once the broker holds it."""

    topic: str
    payload: bytes
    rows: int
    done: Callable[[], None]


class Blocking(Protocol):
    """Runs a blocking call off the event loop."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


class RecordFeed(Protocol):
    """What of a session the broker has not acknowledged yet (blocking; one thread)."""

    def pending(self, session_id: str) -> Sequence[Shipment]: ...

    def close(self) -> None: ...


@record
class ShipCounts:
    """What shipping the record has sent so far: messages and rows."""

    messages: int = 0
    rows: int = 0


async def ship(
    client: aiomqtt.Client,
    pending: Callable[[], Sequence[Shipment]],
    blocking: Blocking,
    counts: ShipCounts,
) -> None:
    """Publish until ``pending`` has nothing left; each message is done once acknowledged."""
    refusals = _refusals(client)
    while True:
        batch = await blocking(pending)
        if not batch:
            return
        refusals.clear()
        results = await asyncio.gather(
            *(client.publish(s.topic, s.payload, qos=1) for s in batch), return_exceptions=True
        )
        if refusals:
            # An acknowledgement that says "not stored" (MQTT 5): nothing of this
            # batch counts as delivered; the account may not publish there.
            raise aiomqtt.MqttError(
                f"the broker refused the record ({refusals[0]}); check that this runner's"
                f" account may publish under {batch[0].topic.rsplit('/', 2)[0]}/"
            )
        for shipment, result in zip(batch, results, strict=True):
            if result is not None:
                # Those after it may have arrived too: sent again, stored once.
                if isinstance(result, aiomqtt.MqttError):
                    raise result
                raise aiomqtt.MqttError(str(result))
            await blocking(shipment.done)
            counts.messages += 1
            counts.rows += shipment.rows


async def sync_sessions(
    broker: Broker,
    pending: Callable[[str], Sequence[Shipment]],
    sessions: Sequence[str],
) -> list[tuple[str, ShipCounts]]:
    """Send what the broker lacks of each session (`biofeedback sync`)."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-sync")
    loop = asyncio.get_running_loop()

    def blocking(fn: Callable[[], T]) -> Awaitable[T]:
        return loop.run_in_executor(executor, fn)

    done: list[tuple[str, ShipCounts]] = []
    try:
        async with broker.client(mqtt5=True) as client:
            for session_id in sessions:
                counts = ShipCounts()
                await ship(client, functools.partial(pending, session_id), blocking, counts)
                done.append((session_id, counts))
    except (aiomqtt.MqttError, OSError) as exc:
        raise BrokerUnavailable(explain(exc)) from None
    finally:
        executor.shutdown(wait=False)
    return done


def _refusals(client: aiomqtt.Client) -> list[str]:
    """Reason codes of PUBACKs that refused a message (aiomqtt does not report them)."""
    found: list[str] = getattr(client, "_biofeedback_refusals", None) or []
    if getattr(client, "_biofeedback_refusals", None) is None:
        paho = client._client  # noqa: SLF001 (aiomqtt ignores a refused PUBACK; paho hears it)
        original = paho.on_publish

        def on_publish(*args: Any) -> None:
            reason = args[3] if len(args) > 3 else None
            if reason is not None and getattr(reason, "is_failure", False):
                found.append(str(reason))
            if original is not None:
                original(*args)

        paho.on_publish = on_publish
        client._biofeedback_refusals = found  # type: ignore[attr-defined]  # noqa: SLF001
    return found


class RecordPublisher:
    """Session sink: publishes the session's record as the store commits it.

    About once a second it sends what the recorder committed since; when the
    session stops (after the recorder, which is first among the sinks) it sends
    the rest and the end message for at most ``flush_timeout_s``.
    """

    name = "mqtt-record"
    queue_size = 1_000

    def __init__(
        self,
        broker: Broker,
        feed: RecordFeed,
        *,
        every_s: float = SEND_EVERY_S,
        flush_timeout_s: float = 10.0,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.broker = broker
        self.feed = feed
        self.every_s = every_s
        self.flush_timeout_s = flush_timeout_s
        self.backoff_s = backoff_s
        self.counts = ShipCounts()
        self.connections = 0
        self.last_error: str | None = None
        self.complete = False
        self.session_id: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-feed")
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _blocking(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def start(self, info: SessionInfo) -> None:
        self.session_id = info.session_id
        self._task = asyncio.create_task(self._run(info.session_id), name="mqtt-record")

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        return  # the rows come from the store, once committed

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.flush_timeout_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        with contextlib.suppress(Exception):
            await self._blocking(self.feed.close)
        self._executor.shutdown(wait=False)

    def report_line(self) -> str:
        where = self.broker.url.where
        line = (
            f"mqtt record: {self.counts.rows} rows in {self.counts.messages} messages"
            f" acknowledged by {where}"
        )
        if not self.complete:
            line += (
                f"; the rest is kept in the local record: `biofeedback sync --mqtt URL"
                f" {self.session_id}` sends it"
            )
            if self.last_error:
                line += f" ({self.last_error})"
        return line

    async def _run(self, session_id: str) -> None:
        low, high = self.backoff_s
        backoff = low
        pending = _Pending(self.feed, session_id)
        while True:
            try:
                async with self.broker.client(mqtt5=True) as client:
                    self.connections += 1
                    backoff = low
                    await self._serve(client, pending)
                    return
            except (aiomqtt.MqttError, OSError) as exc:
                reason = explain(exc)
                if self.last_error is None:
                    log.warning(
                        "mqtt record: %s: %s; the record stays local and follows later",
                        self.broker.url.where,
                        reason,
                    )
                self.last_error = reason
            if self._stopping.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)
            backoff = min(backoff * 2, high)

    async def _serve(self, client: aiomqtt.Client, pending: _Pending) -> None:
        while True:
            stopping = self._stopping.is_set()
            await ship(client, pending, self._blocking, self.counts)
            if stopping:
                # The recorder has stopped: everything, end message included, is sent.
                self.complete = pending.ended
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.every_s)


class _Pending:
    """The feed for one session; remembers whether the end message went."""

    def __init__(self, feed: RecordFeed, session_id: str) -> None:
        self.feed = feed
        self.session_id = session_id
        self.ended = False

    def __call__(self) -> Sequence[Shipment]:
        found = self.feed.pending(self.session_id)
        if not found:
            self.ended = True
        return found
