"""Heart rate from a broker topic, as a live source."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Self

import aiomqtt

from biofeedback.broker import BrokerUrl, MqttConfigError, MqttSettings
from biofeedback.models import (
    HeartSample,
    SourceStatus,
)
from biofeedback.mqtt.connection import Broker, BrokerUnavailable, explain
from biofeedback.sensors.payload import decode_heart_payload

log = logging.getLogger(__name__)


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
        if self.skipped:
            log.warning("skipped %d broker messages that were not heart rate", self.skipped)

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
                level = logging.WARNING if self.skipped == 1 else logging.DEBUG
                log.log(
                    level,
                    "skipped a broker message that is not heart rate (%d so far)",
                    self.skipped,
                )
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
                log.debug("mqtt source: %s: %s", self.url.where, explain(exc))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, high)
