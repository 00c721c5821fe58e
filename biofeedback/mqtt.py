"""MQTT: publish a session's telemetry, take heart rate from a broker, watch runners.

The only module that imports aiomqtt. Three parts share one connection recipe
(``Broker``): ``MqttPublisher`` (a session sink), ``MqttSource`` (a live
heart-rate source) and ``watch_runners`` (the monitor's feed). The schema of
what is published lives in ``biofeedback.telemetry``.

Broker trouble never reaches the session: the publisher keeps a bounded
outbox, reconnects with backoff, and only counts what it could not deliver.
Credentials come from the environment or the config file, never from the
command line, and never appear in a log line or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiomqtt

from biofeedback.broker import BrokerUrl, MqttConfigError, MqttSettings, validate_runner_id
from biofeedback.models import (
    Estimate,
    HeartSample,
    SessionEnded,
    SessionEvent,
    SessionInfo,
    SourceStatus,
)
from biofeedback.sensors import SourceError
from biofeedback.sensors.payload import decode_heart_payload
from biofeedback.telemetry import (
    OFFLINE,
    ONLINE,
    TOPIC_ROOT,
    BrokerLink,
    RunnerTracker,
    RunnerUpdate,
    discovery_configs,
    parse_update,
    runner_topic,
)

log = logging.getLogger(__name__)


class BrokerUnavailable(SourceError):
    """The heart-rate broker could not be reached or refused us."""


@dataclass(frozen=True)
class Broker:
    """How to reach one broker: URL, settings and the TLS context, checked once."""

    url: BrokerUrl
    settings: MqttSettings
    tls: ssl.SSLContext | None

    @classmethod
    def prepare(cls, url: BrokerUrl, settings: MqttSettings) -> Broker:
        """Raise ``MqttConfigError`` now for unreadable certificates, not mid-session."""
        tls = None
        if url.tls or settings.ca_file:
            try:
                tls = ssl.create_default_context(cafile=settings.ca_file)
                if settings.cert_file:
                    tls.load_cert_chain(settings.cert_file, settings.key_file)
            except (OSError, ssl.SSLError) as exc:
                files = [settings.ca_file, settings.cert_file, settings.key_file]
                named = ", ".join(f for f in files if f) or "the system's certificates"
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise MqttConfigError(
                    f"cannot use the MQTT TLS files ({named}): {reason}"
                ) from None
        return cls(url, settings, tls)

    def client(self, *, will: aiomqtt.Will | None = None) -> aiomqtt.Client:
        client = aiomqtt.Client(
            self.url.host,
            self.url.port,
            username=self.url.username or self.settings.username,
            password=self.settings.password,
            will=will,
            keepalive=15,
            timeout=5.0,
            tls_context=self.tls,
            # Small telemetry messages must leave at once, not wait for Nagle.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # A batch of QoS 1 publishes in flight is normal here, not worth a warning.
        client.pending_calls_threshold = 64
        return client


def _explain(exc: BaseException) -> str:
    """One line about a broker failure; never the credentials."""
    text = str(exc).strip() or type(exc).__name__
    if "authori" in text.lower() or "username or password" in text.lower():
        return f"the broker refused our credentials ({text})"
    return text


def _dumps(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


# --------------------------------------------------------------------------
# The publisher's outbox: pure, bounded, events before state


@dataclass(slots=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int
    retain: bool


class Outbox:
    """Messages waiting for the broker.

    Events are kept first: they are the record, published with QoS 1, and
    only the oldest are dropped once ``capacity`` is exceeded. State is a
    snapshot: only the newest waits, and a newer one drops the stale one.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._events: deque[Outgoing] = deque()
        self._state: Outgoing | None = None
        self.dropped_events = 0
        self.dropped_states = 0

    def __len__(self) -> int:
        return len(self._events) + (self._state is not None)

    def put_event(self, message: Outgoing) -> None:
        self._events.append(message)
        while len(self._events) > self.capacity:
            self._events.popleft()
            self.dropped_events += 1

    def put_state(self, message: Outgoing) -> None:
        if self._state is not None:
            self.dropped_states += 1
        self._state = message

    def take(self, limit: int) -> tuple[list[Outgoing], Outgoing | None]:
        """Up to ``limit`` events, oldest first, then the state if there is room."""
        events = [self._events.popleft() for _ in range(min(limit, len(self._events)))]
        state = None
        if len(events) < limit and self._state is not None:
            state, self._state = self._state, None
        return events, state

    def give_back(self, events: Iterable[Outgoing], state: Outgoing | None) -> None:
        """Return unsent messages to the front, in their order."""
        self._events.extendleft(reversed(list(events)))
        while len(self._events) > self.capacity:
            self._events.popleft()
            self.dropped_events += 1
        if state is not None:
            if self._state is None:
                self._state = state
            else:
                self.dropped_states += 1

    def abandon(self) -> None:
        """Count everything still waiting as dropped (the session is over)."""
        self.dropped_events += len(self._events)
        self.dropped_states += self._state is not None
        self._events.clear()
        self._state = None


# --------------------------------------------------------------------------
# The publisher sink


@dataclass(frozen=True, slots=True)
class PublisherCounts:
    events_published: int
    states_published: int
    events_dropped: int
    states_dropped: int
    connections: int
    last_error: str | None


class MqttPublisher:
    """Session sink: status, ~1 Hz state and every event to the broker.

    ``handle`` only updates memory, so the session's queue never backs up;
    a background task owns the connection. ``stop`` flushes for at most
    ``flush_timeout_s`` and then gives up, counting what was not delivered.
    """

    name = "mqtt"
    queue_size = 10_000

    def __init__(
        self,
        url: BrokerUrl,
        settings: MqttSettings,
        *,
        capacity: int = 10_000,
        flush_timeout_s: float = 5.0,
        backoff_s: tuple[float, float] = (0.5, 30.0),
        in_flight: int = 16,
    ) -> None:
        self.url = url
        self.settings = settings
        self.broker = Broker.prepare(url, settings)
        self.runner = validate_runner_id(settings.runner)
        self.outbox = Outbox(capacity)
        self.tracker = RunnerTracker()
        self.flush_timeout_s = flush_timeout_s
        self.backoff_s = backoff_s
        self.in_flight = in_flight
        self.events_published = 0
        self.states_published = 0
        self.connections = 0
        self.last_error: str | None = None
        self.connected = asyncio.Event()
        self._status_topic = runner_topic(self.runner, "status")
        self._state_topic = runner_topic(self.runner, "state")
        self._events_topic = runner_topic(self.runner, "events")
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- the Sink protocol

    async def start(self, info: SessionInfo) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mqtt:{self.runner}")

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, HeartSample):
            return
        self.outbox.put_event(Outgoing(self._events_topic, _dumps(item.to_dict()), 1, False))
        state = self.tracker.apply(item)
        if isinstance(item, Estimate | SessionEnded):
            self.outbox.put_state(Outgoing(self._state_topic, _dumps(state.to_dict()), 0, True))
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        task = self._task
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), self.flush_timeout_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception as exc:  # the connection task's own failure is only counted
            self.last_error = _explain(exc)
        self.outbox.abandon()

    # -- figures

    @property
    def counts(self) -> PublisherCounts:
        return PublisherCounts(
            self.events_published,
            self.states_published,
            self.outbox.dropped_events,
            self.outbox.dropped_states,
            self.connections,
            self.last_error,
        )

    def report_line(self) -> str:
        c = self.counts
        line = (
            f"mqtt: {c.events_published} events and {c.states_published} states published"
            f" to {self.url.where} as {self.runner!r}; dropped {c.events_dropped} events"
            f" and {c.states_dropped} stale states"
        )
        if c.connections == 0:
            line += f"; never connected: {c.last_error or 'no attempt finished'}"
        elif c.connections > 1:
            line += f"; reconnected {c.connections - 1} times"
        return line

    # -- the connection

    async def _run(self) -> None:
        low, high = self.backoff_s
        backoff = low
        will = aiomqtt.Will(self._status_topic, OFFLINE, qos=1, retain=True)
        while True:
            try:
                async with self.broker.client(will=will) as client:
                    self.connections += 1
                    self.connected.set()
                    if self.last_error is not None:
                        log.info("mqtt: connected to %s again", self.url.where)
                    backoff = low
                    await self._serve(client)
                    return
            except (aiomqtt.MqttError, OSError) as exc:
                self.connected.clear()
                self._note_failure(exc)
            if self._stopping.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)
                return
            backoff = min(backoff * 2, high)

    def _note_failure(self, exc: BaseException) -> None:
        reason = _explain(exc)
        if self.last_error is None:
            log.warning(
                "mqtt: %s: %s; the session goes on and telemetry will follow when it can",
                self.url.where,
                reason,
            )
        else:
            log.debug("mqtt: %s: %s", self.url.where, reason)
        self.last_error = reason

    async def _serve(self, client: aiomqtt.Client) -> None:
        await client.publish(self._status_topic, ONLINE, qos=1, retain=True)
        if self.settings.discovery:
            await client.subscribe(f"{self.settings.discovery_prefix}/status", qos=1)
            await self._announce(client)
        # Reading is how a dead connection shows itself while we have nothing to send.
        reader = asyncio.create_task(self._listen(client))
        try:
            while True:
                if not self.outbox:
                    if self._stopping.is_set():
                        break
                    self._wake.clear()
                    waker = asyncio.create_task(self._wake.wait())
                    await asyncio.wait({waker, reader}, return_when=asyncio.FIRST_COMPLETED)
                    waker.cancel()
                    if reader.done():
                        reader.result()
                        raise aiomqtt.MqttError("the broker closed the connection")
                    continue
                await self._send_some(client)
            # Heart data is private: the state kept on the broker after the
            # session says how it ended, without the person's measurements.
            final = self.tracker.state.without_measurements()
            await client.publish(self._state_topic, _dumps(final.to_dict()), qos=1, retain=True)
            await client.publish(self._status_topic, OFFLINE, qos=1, retain=True)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await reader

    async def _send_some(self, client: aiomqtt.Client) -> None:
        events, state = self.outbox.take(self.in_flight)
        batch = [*events, *([state] if state is not None else [])]
        try:
            results = await asyncio.gather(
                *(client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain) for m in batch),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            # Stopped mid-flight: not known to be delivered, so counted as not.
            self.outbox.give_back(events, state)
            raise
        failed = [m for m, r in zip(batch, results, strict=True) if r is not None]
        self.events_published += sum(1 for m, r in zip(events, results, strict=False) if r is None)
        if state is not None and results[-1] is None:
            self.states_published += 1
        if failed:
            self.outbox.give_back(
                [m for m in failed if m is not state], state if state in failed else None
            )
            error = next(r for r in results if r is not None)
            if isinstance(error, aiomqtt.MqttError):
                raise error
            raise aiomqtt.MqttError(str(error))

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if message.payload == ONLINE.encode() and self.settings.discovery:
                # Home Assistant restarted: it forgets what it was told.
                await self._announce(client)

    async def _announce(self, client: aiomqtt.Client) -> None:
        for topic, config in discovery_configs(
            self.runner,
            prefix=self.settings.discovery_prefix,
            expire_after_s=self.settings.expire_after_s,
        ).items():
            await client.publish(topic, _dumps(config), qos=1, retain=True)


# --------------------------------------------------------------------------
# Heart rate from a broker


class MqttSource:
    """A live heart-rate source subscribed to one broker topic.

    Times are seconds on ``now`` (the session clock when given; else since
    this source was made). A lost broker yields ``SourceStatus`` items and is
    reconnected with backoff; a payload that is not heart rate is counted and
    skipped.
    """

    virtual = False

    def __init__(
        self,
        url: BrokerUrl,
        settings: MqttSettings,
        *,
        now: Callable[[], float] | None = None,
        backoff_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        if not url.topic:
            raise MqttConfigError("a heart-rate source needs a topic: mqtt://HOST/TOPIC")
        self.url = url
        self.topic = url.topic
        self.broker = Broker.prepare(url, settings)
        self.description = f"mqtt:{url.where}/{url.topic}"
        start = time.monotonic()
        self.now: Callable[[], float] = now or (lambda: time.monotonic() - start)
        self.backoff_s = backoff_s
        self.skipped = 0
        self._client: aiomqtt.Client | None = None

    async def __aenter__(self) -> Self:
        try:
            await self._connect()
        except aiomqtt.MqttError as exc:
            raise BrokerUnavailable(
                f"cannot take heart rate from {self.url.where}: {_explain(exc)};"
                " is the broker running and the address right?"
            ) from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._disconnect()

    def __aiter__(self) -> AsyncIterator[HeartSample | SourceStatus]:
        return self._items()

    async def _connect(self) -> None:
        client = self.broker.client()
        await client.__aenter__()
        self._client = client
        try:
            await client.subscribe(self.topic, qos=0)
        except aiomqtt.MqttError:
            await self._disconnect()
            raise

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _items(self) -> AsyncIterator[HeartSample | SourceStatus]:
        while True:
            client = self._client
            try:
                if client is None:
                    raise aiomqtt.MqttError("not connected")
                message = await anext(aiter(client.messages))
            except aiomqtt.MqttError as exc:
                yield SourceStatus(self.now(), False, f"lost the heart-rate broker: {exc}")
                await self._reconnect()
                yield SourceStatus(self.now(), True, "heart-rate broker back")
                continue
            payload = message.payload
            sample = (
                decode_heart_payload(bytes(payload), self.now())
                if isinstance(payload, bytes | bytearray)
                else None
            )
            if sample is None:
                self.skipped += 1
                log.debug("mqtt source: skipped a payload that is not heart rate")
                continue
            yield sample

    async def _reconnect(self) -> None:
        low, high = self.backoff_s
        backoff = low
        await self._disconnect()
        while True:
            try:
                await self._connect()
                return
            except aiomqtt.MqttError as exc:
                log.debug("mqtt source: %s: %s", self.url.where, _explain(exc))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, high)


# --------------------------------------------------------------------------
# Watching every runner on a broker


async def watch_runners(
    broker: Broker, *, backoff_s: tuple[float, float] = (0.5, 10.0)
) -> AsyncIterator[RunnerUpdate]:
    """Every runner's status, state and events, forever; reconnects on its own."""
    url = broker.url
    low, high = backoff_s
    backoff = low
    while True:
        try:
            async with broker.client() as client:
                await client.subscribe(f"{TOPIC_ROOT}/+/status", qos=1)
                await client.subscribe(f"{TOPIC_ROOT}/+/state", qos=0)
                await client.subscribe(f"{TOPIC_ROOT}/+/events", qos=1)
                backoff = low
                yield BrokerLink(True, f"watching {url.where}")
                async for message in client.messages:
                    update = parse_update(message.topic.value, message.payload)
                    if update is not None:
                        yield update
        except aiomqtt.MqttError as exc:
            yield BrokerLink(False, f"{url.where}: {_explain(exc)}; retrying in {backoff:g} s")
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, high)
