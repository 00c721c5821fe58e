"""The publisher sink: a session's status, state and events to the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiomqtt

from biofeedback.broker import BrokerUrl, MqttSettings, validate_runner_id
from biofeedback.loop.progress import Snapshot
from biofeedback.models import (
    Estimate,
    HeartSample,
    PlanChosen,
    SessionEnded,
    SessionEvent,
    SessionInfo,
)
from biofeedback.models.record import record
from biofeedback.mqtt.connection import Broker, dumps, expiring, explain
from biofeedback.mqtt.outbox import Outbox, Outgoing
from biofeedback.telemetry import (
    OFFLINE,
    ONLINE,
    RunnerState,
    RunnerTracker,
    discovery_configs,
    runner_topic,
)

log = logging.getLogger(__name__)


@record(frozen=True, slots=True)
class PublisherCounts:
    """What the publisher has done so far: events and states published and dropped,
    connections made, the last error."""

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
        await self.handle_progress(item, None)

    async def handle_progress(self, item: SessionEvent, snapshot: Snapshot | None) -> None:
        """An event with where the session stood after it (the loop's fold): the
        state payload says where the session stands, whatever was dropped before."""
        if isinstance(item, PlanChosen):
            # The plan names painful regions and back pain: health details stay
            # in the person's own record, never on a shared broker.
            return
        self.outbox.put_event(Outgoing(self._events_topic, dumps(item.to_dict()), 1, False))
        state = self.tracker.apply(item, snapshot)
        if isinstance(item, Estimate | SessionEnded):
            # Retained for whoever looks in, but only while it is fresh: the broker
            # drops it ``expire_after_s`` after the last one, so a runner that dies
            # does not leave the person's vitals there (MQTT 5 message expiry).
            expiry_s = self.settings.expire_after_s
            self.outbox.put_state(
                Outgoing(self._state_topic, dumps(state.to_dict()), 0, True, expiry_s)
            )
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
            self.last_error = explain(exc)
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
                async with self.broker.client(will=will, mqtt5=True) as client:
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
        reason = explain(exc)
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
        if self.connections == 1:
            # A runner that crashed left its last heart rate, RMSSD and arousal
            # retained on the broker (its Will clears only the status): the
            # first thing this runner says is a state without them.
            await client.publish(
                self._state_topic, dumps(_without_vitals(self.tracker.state)), qos=1, retain=True
            )
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
            final = _without_vitals(self.tracker.state)
            await client.publish(self._state_topic, dumps(final), qos=1, retain=True)
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
                *(
                    client.publish(
                        m.topic, m.payload, qos=m.qos, retain=m.retain, properties=expiring(m)
                    )
                    for m in batch
                ),
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
            await client.publish(topic, dumps(config), qos=1, retain=True)


def _without_vitals(state: RunnerState) -> dict[str, object]:
    """The state as JSON, without the person's measurements."""
    return state.without_measurements().to_dict()
