"""`python -m simulators mqtt`: simulated straps publishing heart rate to a broker.

Each strap is a ``SimulatedSource`` paced in real time (or ``--speed`` times
faster) and publishes ``{"hr": 62, "rr_ms": [967, 951]}`` (or, with ``--raw``,
the strap's own 0x2A37 bytes) about once a second, as
``biofeedback run --source mqtt://HOST/TOPIC`` reads them. With several
straps each gets its own topic: ``TOPIC/1``, ``TOPIC/2``...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from biofeedback.models import Contact, HeartSample
from biofeedback.sensors import hrm
from simulators import SimulatorError


class StrapUrlError(SimulatorError):
    """Not an ``mqtt://HOST[:PORT]/TOPIC`` URL."""


class StrapBrokerError(SimulatorError):
    """The broker could not be reached, or went away."""


def strap_topics(topic: str, straps: int) -> list[str]:
    return [topic] if straps == 1 else [f"{topic}/{i}" for i in range(1, straps + 1)]


def parse_strap_url(url: str) -> tuple[str, int, str]:
    """Host, port and topic of ``mqtt://HOST[:PORT]/TOPIC``."""
    try:
        parts = urlsplit(url)
        port = parts.port or 1883
    except ValueError as exc:
        raise StrapUrlError(f"bad URL {url!r}: {exc}") from None
    topic = unquote(parts.path).strip("/")
    if parts.scheme != "mqtt" or not parts.hostname or not topic:
        raise StrapUrlError(f"bad URL {url!r}: expected mqtt://HOST[:PORT]/TOPIC")
    return parts.hostname, port, topic


async def publish_straps(
    url: str,
    *,
    straps: int = 1,
    scenario: str = "calm",
    seed: int = 0,
    speed: float = 1.0,
    seconds: float | None = None,
    raw: bool = False,
) -> int:
    """Publish until ``seconds`` of strap time have passed (forever if None)."""
    import aiomqtt

    from simulators.source import SimulatedSource

    host, port, topic = parse_strap_url(url)
    sources = [SimulatedSource(scenario, seed=seed + i) for i in range(straps)]
    published = 0
    try:
        async with aiomqtt.Client(host, port) as client:
            published = await _publish_all(client, sources, topic, speed, seconds, raw)
    except aiomqtt.MqttError as exc:
        raise StrapBrokerError(f"broker {host}:{port}: {exc}") from None
    return published


async def _publish_all(
    client: Any,
    sources: list[Any],
    topic: str,
    speed: float,
    seconds: float | None,
    raw: bool,
) -> int:
    published = 0
    start = time.monotonic()

    async def run(source: Any, strap_topic: str) -> None:
        nonlocal published
        async for item in source:
            if seconds is not None and item.t_s > seconds:
                return
            # A dropout is silence on the topic, as from a real strap.
            if not isinstance(item, HeartSample) or (item.hr_bpm is None and not item.rr_ms):
                continue
            # Paced from the start, so delays never accumulate.
            await asyncio.sleep(max(start + item.t_s / speed - time.monotonic(), 0.0))
            payload = _hrm_bytes(item) if raw else _json(item)
            await client.publish(strap_topic, payload, qos=0)
            published += 1

    topics = strap_topics(topic, len(sources))
    await asyncio.gather(*(run(s, t) for s, t in zip(sources, topics, strict=True)))
    return published


def _json(sample: HeartSample) -> str:
    payload: dict[str, object] = {"hr": sample.hr_bpm, "rr_ms": [round(rr) for rr in sample.rr_ms]}
    if sample.contact is not Contact.UNSUPPORTED:
        payload["contact"] = sample.contact is Contact.DETECTED
    return json.dumps(payload)


def _hrm_bytes(sample: HeartSample) -> bytes:
    """The notification a strap would have sent (0x2A37)."""
    return hrm.encode(
        hrm.HeartRateMeasurement(
            hr_bpm=round(sample.hr_bpm or 0),
            contact_supported=sample.contact is not Contact.UNSUPPORTED,
            contact_detected=sample.contact is Contact.DETECTED,
            rr_1024=tuple(hrm.rr_ms_to_1024(rr) for rr in sample.rr_ms) or None,
        )
    )


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("expected 1 or more")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {value!r}") from None
    if not (number > 0 and math.isfinite(number)):
        raise argparse.ArgumentTypeError("expected a positive, finite number")
    return number


def add_parser(sub: Any) -> None:
    """Register ``mqtt`` on the simulators' command line."""
    from simulators.scenario import scenario_names

    p = sub.add_parser(
        "mqtt",
        help="simulated straps publishing heart rate to a broker",
        description=(
            "Publish simulated straps' heart rate to an MQTT broker, as"
            " `biofeedback run --source mqtt://HOST/TOPIC` reads it. Several straps"
            " publish to TOPIC/1, TOPIC/2, ..."
        ),
    )
    p.add_argument("url", metavar="mqtt://HOST[:PORT]/TOPIC")
    p.add_argument(
        "--straps", type=_positive_int, default=1, metavar="N", help="how many (default 1)"
    )
    p.add_argument(
        "--scenario", default="calm", metavar="NAME", help=f"{', '.join(scenario_names())}"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first strap; +1 each")
    p.add_argument(
        "--speed", type=_positive_float, default=1.0, metavar="X", help="times real time"
    )
    p.add_argument(
        "--seconds", type=_positive_float, metavar="S", help="stop after S s of strap time"
    )
    p.add_argument("--raw", action="store_true", help="send Heart Rate Measurement bytes, not JSON")
    p.set_defaults(handler=_cmd_mqtt)


def _cmd_mqtt(args: argparse.Namespace) -> int:
    asyncio.run(
        publish_straps(
            args.url,
            straps=args.straps,
            scenario=args.scenario,
            seed=args.seed,
            speed=args.speed,
            seconds=args.seconds,
            raw=args.raw,
        )
    )
    return 0
