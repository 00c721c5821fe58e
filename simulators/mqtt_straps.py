"""`python -m simulators mqtt`: simulated straps publishing heart rate to a broker.

Each strap is a ``SimulatedSource`` paced in real time (or ``--speed`` times
faster) and publishes ``{"hr": 62, "rr_ms": [967, 951]}`` about once a second,
the payload ``biofeedback run --source mqtt://HOST/TOPIC`` reads. With several
straps each gets its own topic: ``TOPIC/1``, ``TOPIC/2``...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from urllib.parse import unquote, urlsplit

import aiomqtt

from biofeedback.models import Contact, HeartSample
from simulators.source import ScenarioError, SimulatedSource, scenario_names


class StrapUrlError(ValueError):
    """Not an ``mqtt://HOST[:PORT]/TOPIC`` URL."""


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
) -> int:
    """Publish until ``seconds`` of strap time have passed (forever if None)."""
    host, port, topic = parse_strap_url(url)
    sources = [SimulatedSource(scenario, seed=seed + i) for i in range(straps)]
    published = 0
    async with aiomqtt.Client(host, port) as client:
        start = time.monotonic()

        async def run(source: SimulatedSource, strap_topic: str) -> None:
            nonlocal published
            async for item in source:
                if seconds is not None and item.t_s > seconds:
                    return
                # A dropout is silence on the topic, as from a real strap.
                if not isinstance(item, HeartSample) or (item.hr_bpm is None and not item.rr_ms):
                    continue
                # Paced from the start, so delays never accumulate.
                await asyncio.sleep(max(start + item.t_s / speed - time.monotonic(), 0.0))
                payload: dict[str, object] = {
                    "hr": item.hr_bpm,
                    "rr_ms": [round(rr) for rr in item.rr_ms],
                }
                if item.contact is not Contact.UNSUPPORTED:
                    payload["contact"] = item.contact is Contact.DETECTED
                await client.publish(strap_topic, json.dumps(payload), qos=0)
                published += 1

        await asyncio.gather(
            *(run(s, t) for s, t in zip(sources, strap_topics(topic, straps), strict=True))
        )
    return published


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``mqtt`` on the simulators' command line."""
    p = sub.add_parser("mqtt", help="simulated straps publishing heart rate to a broker")
    p.add_argument("url", metavar="mqtt://HOST[:PORT]/TOPIC")
    p.add_argument("--straps", type=int, default=1, metavar="N", help="how many (default 1)")
    p.add_argument("--scenario", default="calm", help=f"one of: {', '.join(scenario_names())}")
    p.add_argument("--seed", type=int, default=0, help="seed of the first strap; +1 each")
    p.add_argument("--speed", type=float, default=1.0, help="times real time (default 1)")
    p.add_argument("--seconds", type=float, help="stop after this much strap time")
    p.set_defaults(handler=_cmd_mqtt)


def _cmd_mqtt(args: argparse.Namespace) -> int:
    if args.straps < 1 or args.speed <= 0:
        print("simulators mqtt: --straps and --speed must be positive", file=sys.stderr)
        return 2
    try:
        asyncio.run(
            publish_straps(
                args.url,
                straps=args.straps,
                scenario=args.scenario,
                seed=args.seed,
                speed=args.speed,
                seconds=args.seconds,
            )
        )
    except (StrapUrlError, ScenarioError, aiomqtt.MqttError) as exc:
        print(f"simulators mqtt: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
