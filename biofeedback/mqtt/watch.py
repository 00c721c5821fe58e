"""Watching every runner on a broker (the monitor's feed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiomqtt

from biofeedback.mqtt.connection import Broker, explain
from biofeedback.telemetry import (
    TOPIC_ROOT,
    BrokerLink,
    RunnerUpdate,
    parse_update,
)


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
            yield BrokerLink(False, f"{url.where}: {explain(exc)}; retrying in {backoff:g} s")
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, high)
