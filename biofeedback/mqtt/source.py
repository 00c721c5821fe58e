"""Heart rate from a broker topic, as a live source."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import aiomqtt

from biofeedback.broker import BrokerUrl, MqttConfigError, MqttSettings
from biofeedback.models import (
    HeartSample,
    SourceStatus,
)
from biofeedback.mqtt.connection import Broker, BrokerUnavailable, explain
from biofeedback.sensors.beat_budget import BeatBudget
from biofeedback.sensors.limits import implausible
from biofeedback.sensors.payload import decode_heart_message

log = logging.getLogger(__name__)

# Samples waiting to be read: a strap sends about one a second, so this is
# a minute of slack, and all the memory a flood on the topic can take.
INBOX_SIZE = 64
SKIP_FLOOD = "arrived faster than they could be read"
SKIP_TOO_FAST = "more beats than time had passed"
# With nothing at all on the topic this long, the topic is probably wrong.
NO_DATA_HINT_S = 10.0


class _Inbox(asyncio.Queue[Any]):
    """The client's incoming queue: each message is screened as it arrives.

    aiomqtt hands every message to ``put_nowait`` from the network callback,
    before anyone reads it; screened there, junk and floods are counted and
    dropped at once instead of piling up in memory. What is queued is the
    decoded ``HeartSample`` (stamped on arrival), at most ``INBOX_SIZE``.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(INBOX_SIZE)
        self.screen: Callable[[aiomqtt.Message, bool], HeartSample | None] = lambda _m, _f: None

    def put_nowait(self, item: Any) -> None:
        sample = self.screen(item, self.full()) if isinstance(item, aiomqtt.Message) else None
        if sample is not None:
            super().put_nowait(sample)


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
        no_data_hint_s: float = NO_DATA_HINT_S,
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
        self.no_data_hint_s = no_data_hint_s
        # Messages skipped, by why (the ``SKIP_`` names): the session records them.
        self.skipped_messages: Counter[str] = Counter()
        self._budget = BeatBudget()
        self._heard = asyncio.Event()
        self._watchers: list[Callable[[str | None], None]] = []
        self._hinted = False
        self._hint_task: asyncio.Task[None] | None = None
        self._client: aiomqtt.Client | None = None

    @property
    def skipped(self) -> int:
        return sum(self.skipped_messages.values())

    def skip_counts(self) -> Mapping[str, int]:
        return dict(self.skipped_messages)

    def watch_trouble(self, watcher: Callable[[str | None], None]) -> None:
        """Hear a line when nothing arrives on the topic, and None once something does."""
        self._watchers.append(watcher)

    def _skip(self, reason: str) -> None:
        self.skipped_messages[reason] += 1
        if self.skipped == 1:
            log.warning("skipped a broker message (%s)", reason)

    def _screen(self, message: aiomqtt.Message, full: bool) -> HeartSample | None:
        """A message as it arrives: its sample, or None (counted) when skipped."""
        if not self._heard.is_set():
            self._heard.set()
            for watcher in self._watchers if self._hinted else ():
                watcher(None)
        payload = message.payload
        if not isinstance(payload, bytes | bytearray):
            self._skip("not heart rate")
            return None
        now = self.now()
        decoded = decode_heart_message(bytes(payload), now)
        if isinstance(decoded, str):
            self._skip(decoded)
            return None
        if implausible(decoded) is not None:
            # The session counts and leaves it out (see sensors.limits).
            return decoded
        # aiomqtt builds its queue from queue_type and keeps it private (2.x).
        inbox = self._client._queue if self._client is not None else None  # noqa: SLF001
        if inbox is not None and inbox.full():
            self._skip(SKIP_FLOOD)
            return None
        if not self._budget.take(now, decoded.rr_ms):
            self._skip(SKIP_TOO_FAST)
            return None
        return decoded

    async def __aenter__(self) -> Self:
        try:
            await self._connect()
        except aiomqtt.MqttError as exc:
            raise BrokerUnavailable(
                f"cannot take heart rate from {self.url.where}: {explain(exc)};"
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
        if self._hint_task is not None:
            self._hint_task.cancel()
        if self.skipped:
            log.warning("skipped %d broker messages that were not heart rate", self.skipped)

    def __aiter__(self) -> AsyncIterator[HeartSample | SourceStatus]:
        return self._items()

    async def _hint_when_silent(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._heard.wait(), self.no_data_hint_s)
            return
        self._hinted = True
        hint = f"no data on {self.topic} after {self.no_data_hint_s:g} s; is the topic right?"
        log.info(hint)
        for watcher in self._watchers:
            watcher(hint)

    async def _connect(self) -> None:
        client = self.broker.client(queue_type=_Inbox)
        inbox = client._queue  # noqa: SLF001 (the queue aiomqtt built from queue_type)
        assert isinstance(inbox, _Inbox)
        inbox.screen = self._screen
        await client.__aenter__()
        self._client = client
        try:
            await client.subscribe(self.topic, qos=0)
        except aiomqtt.MqttError:
            await self._disconnect()
            raise
        if self._hint_task is None:
            self._hint_task = asyncio.create_task(self._hint_when_silent())

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
                message: object = await anext(aiter(client.messages))
            except aiomqtt.MqttError as exc:
                yield SourceStatus(self.now(), False, f"lost the heart-rate broker: {exc}")
                await self._reconnect()
                yield SourceStatus(self.now(), True, "heart-rate broker back")
                continue
            # What the inbox queued: a sample, screened and stamped on arrival.
            if isinstance(message, HeartSample):
                yield message

    async def _reconnect(self) -> None:
        low, high = self.backoff_s
        backoff = low
        await self._disconnect()
        while True:
            try:
                await self._connect()
                return
            except aiomqtt.MqttError as exc:
                log.debug("mqtt source: %s: %s", self.url.where, explain(exc))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, high)
