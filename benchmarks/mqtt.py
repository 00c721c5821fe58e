"""Many runners publishing telemetry through a local mosquitto at once.

N simulated sessions (the real loop, estimator and controller, paced at real
speed) each publish through their own ``MqttPublisher`` to a mosquitto on a
free loopback port, while this process subscribes to every runner's events.
Prints: QoS 1 events lost (goal 0), event-to-receive latency (median, p99;
from the moment the session emitted the event to its arrival at the
subscriber, so it includes the sink queue and the broker), and CPU per
runner, next to a peer run of the same sessions without MQTT in the same run.
The starts are spread evenly over the first second, as independent runners'
would be.

    python benchmarks/mqtt.py [--runners 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiomqtt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(folder: Path, port: int) -> subprocess.Popen[str]:
    conf = folder / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "log_dest stderr"]
    lines.append("set_tcp_nodelay true")
    if os.geteuid() == 0:
        lines.append("user root")
    conf.write_text("\n".join(lines) + "\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen(
        [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if " running" in line:
            return proc
    raise SystemExit("mosquitto did not start")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# The runners' process


async def run_runners(port: int, runners: int, seconds: float, with_mqtt: bool) -> dict[str, Any]:
    from biofeedback.broker import MqttSettings, parse_url
    from biofeedback.cli import SessionRequest, build_session
    from biofeedback.loop.session import Sink, VirtualClock
    from biofeedback.mqtt import MqttPublisher

    url = parse_url(f"mqtt://127.0.0.1:{port}")
    stores = tempfile.TemporaryDirectory()
    starts: dict[str, float] = {}
    publishers: dict[str, MqttPublisher] = {}

    async def one(i: int) -> tuple[str, int]:
        name = f"r{i:03d}"
        # Real runners do not all start in the same millisecond: spread the
        # starts over one tick, or every tick would be one burst of them all.
        await asyncio.sleep(i / runners)
        sinks: list[Sink] = []
        if with_mqtt:
            publishers[name] = MqttPublisher(url, MqttSettings(runner=name))
            sinks.append(publishers[name])
        # `run --sim calm --seed I --zone green --speed 1`, as `run` wires it (not recorded).
        request = SessionRequest(
            sim="calm",
            seed=i,
            protocol="full",
            zone="green",
            speed=1.0,
            duration_s=seconds,
            audio="off",
            use_profile=False,
            db=str(Path(stores.name) / f"{name}.db"),
            record=False,
        )
        plan = build_session(request, sinks=sinks, session_id=name)
        # The clock counts from its creation: event t happens at start + t.
        assert isinstance(plan.clock, VirtualClock)
        starts[name] = plan.clock.wall_start_s
        result = await plan.run()
        return name, result.events

    cpu0 = time.process_time()
    with stores:
        done = await asyncio.gather(*(one(i) for i in range(runners)))
    cpu = time.process_time() - cpu0
    return {
        "cpu_s": cpu,
        "starts": starts,
        "events": dict(done),
        "published": {n: p.counts.events_published for n, p in publishers.items()},
        "dropped": {n: p.counts.events_dropped for n, p in publishers.items()},
        "states": sum(p.counts.states_published for p in publishers.values()),
    }


# --------------------------------------------------------------------------
# The watcher (this process)


async def watch(
    port: int,
    received: list[tuple[str, float, str, float]],
    ready: asyncio.Event,
    arrived: asyncio.Event,
) -> None:
    async with aiomqtt.Client("127.0.0.1", port, max_queued_incoming_messages=0) as client:
        await client.subscribe("biofeedback/+/events", qos=1)
        ready.set()
        async for message in client.messages:
            now = time.monotonic()
            payload = message.payload
            assert isinstance(payload, bytes)
            event = json.loads(payload)
            runner = message.topic.value.split("/")[1]
            received.append((runner, float(event["t"]), event["type"], now))
            arrived.set()


async def bench(runners: int, seconds: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    port = free_port()
    broker = start_broker(folder, port)
    received: list[tuple[str, float, str, float]] = []
    ready, arrived = asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(watch(port, received, ready, arrived))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        broker_cpu0 = cpu_s(broker.pid)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--runners-process",
            str(port),
            "--runners",
            str(runners),
            "--seconds",
            str(seconds),
            stdout=subprocess.PIPE,
        )
        out, _ = await child.communicate()
        broker_cpu = cpu_s(broker.pid) - broker_cpu0
        figures = json.loads(out)
        expected = sum(figures["mqtt"]["events"].values())

        async def all_in() -> None:
            while len({r[:3] for r in received}) < expected:
                arrived.clear()
                await arrived.wait()

        # What has not arrived 10 s after the runners ended counts as lost.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in(), 10)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await watcher
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    report(figures, received, runners, seconds, broker_cpu)


def report(
    figures: dict[str, Any],
    received: list[tuple[str, float, str, float]],
    runners: int,
    seconds: float,
    broker_cpu: float,
) -> None:
    mqtt = figures["mqtt"]
    expected = sum(mqtt["events"].values())
    unique: dict[tuple[str, float, str], float] = {}
    for runner, t, kind, at in received:
        unique.setdefault((runner, t, kind), at)
    lost = expected - len(unique)
    latency_ms = sorted(
        (at - (mqtt["starts"][runner] + t)) * 1000 for (runner, t, _), at in unique.items()
    )
    p99 = latency_ms[min(len(latency_ms) - 1, int(len(latency_ms) * 0.99))]
    # Events from before a runner's first connection wait for it: shown apart.
    steady_ms = sorted(
        (at - (mqtt["starts"][runner] + t)) * 1000
        for (runner, t, _), at in unique.items()
        if t >= 2.0
    )
    steady_p99 = steady_ms[min(len(steady_ms) - 1, int(len(steady_ms) * 0.99))]
    cpu_mqtt = mqtt["cpu_s"] / runners / seconds * 100
    cpu_peer = figures["peer"]["cpu_s"] / runners / seconds * 100
    print(f"runners {runners}, {seconds:g} s each at real speed, through a local mosquitto")
    print(
        f"QoS 1 events: {expected} emitted, {len(unique)} received, lost {lost} (goal 0);"
        f" duplicates {len(received) - len(unique)};"
        f" publisher counts: {sum(mqtt['published'].values())} published,"
        f" {sum(mqtt['dropped'].values())} dropped; {mqtt['states']} states"
    )
    print(
        f"event -> received latency: median {statistics.median(latency_ms):.1f} ms,"
        f" p99 {p99:.1f} ms, max {latency_ms[-1]:.1f} ms;"
        f" after the first 2 s: median {statistics.median(steady_ms):.1f} ms,"
        f" p99 {steady_p99:.1f} ms"
    )
    print(
        f"CPU per runner: {cpu_mqtt:.3f} % of a core with MQTT,"
        f" {cpu_peer:.3f} % without (peer run, same sessions);"
        f" ratio {cpu_mqtt / cpu_peer:.2f}; MQTT alone {cpu_mqtt - cpu_peer:.3f} %"
    )
    print(f"mosquitto: {broker_cpu / runners / seconds * 100:.3f} % of a core per runner")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runners-process", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.runners, args.seconds = 5, 3.0
    if args.runners_process:
        mqtt = asyncio.run(run_runners(args.runners_process, args.runners, args.seconds, True))
        peer = asyncio.run(run_runners(args.runners_process, args.runners, args.seconds, False))
        print(json.dumps({"mqtt": mqtt, "peer": peer}))
        return
    asyncio.run(bench(args.runners, args.seconds))


if __name__ == "__main__":
    main()
