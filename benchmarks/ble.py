"""BLE figures against the virtual strap, through bleak's real BlueZ backend.

- connect-to-first-sample: from opening ``BleSource`` (scan to find the strap,
  connect, read, subscribe) to the first HeartSample, strap at 1 Hz; the peer is
  bare bleak (find by address, connect, subscribe, first callback) on the same strap.
- notification-to-event latency: from the strap sending a notification (its
  trace, CLOCK_MONOTONIC is shared by processes) to the sample reaching a sink of
  a live ``run_session``; the peer is bare bleak's notification callback.

Run: .venv/bin/python benchmarks/ble.py   (needs dbus-daemon)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulators.bus import ADDRESS_ENV, PrivateSystemBus  # noqa: E402

ADDRESS = "C0:FF:EE:00:18:0D"
RUNS = 5
LATENCY_RATE_HZ = 25.0
LATENCY_S = 12.0


@contextmanager
def strap(bus: PrivateSystemBus, *args: str) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators", "strap", *args],
        cwd=ROOT,
        env=bus.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(20) or "ready" not in proc.stdout.readline():
            proc.kill()
            raise SystemExit("the virtual strap did not start")
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


async def ours_first_sample_s() -> tuple[float, float]:
    """(seconds to subscribed, seconds to the first sample)."""
    from biofeedback.models import HeartSample
    from biofeedback.sensors.ble import BleSource

    start = time.monotonic()
    async with BleSource(ADDRESS) as source:
        subscribed = time.monotonic() - start
        async for item in source:
            if isinstance(item, HeartSample):
                return subscribed, time.monotonic() - start
    raise AssertionError("source ended")


async def bare_bleak_first_notification_s() -> tuple[float, float]:
    from bleak import BleakClient, BleakScanner

    from biofeedback.sensors.ble import HR_MEASUREMENT

    start = time.monotonic()
    first = asyncio.get_running_loop().create_future()
    device = await BleakScanner.find_device_by_address(ADDRESS, timeout=10)
    assert device is not None
    async with BleakClient(device) as client:

        def on_first(_char: object, _data: bytearray) -> None:
            if not first.done():
                first.set_result(time.monotonic())

        await client.start_notify(HR_MEASUREMENT, on_first)
        subscribed = time.monotonic() - start
        arrived: float = await first
    return subscribed, arrived - start


async def ours_latencies(trace: Path) -> list[float]:
    """Notification sent -> sample handled by a sink of a live session."""
    from biofeedback.cli import SessionRequest, build_session
    from biofeedback.models import HeartSample, SessionEvent, SessionInfo

    class Stamps:
        name = "stamps"
        queue_size = 100_000

        def __init__(self) -> None:
            self.at: list[float] = []

        async def start(self, info: SessionInfo) -> None:
            return None

        async def handle(self, item: SessionEvent | HeartSample) -> None:
            if isinstance(item, HeartSample):
                self.at.append(time.monotonic())

        async def stop(self) -> None:
            return None

    sink = Stamps()
    with tempfile.TemporaryDirectory() as folder:
        # `run --device ADDRESS --duration S` as `run` wires it, without its sound,
        # profile or recorder: the latency of the live path alone.
        request = SessionRequest(
            device=ADDRESS,
            protocol="full",
            duration_s=LATENCY_S,
            audio="off",
            use_profile=False,
            db=str(Path(folder) / "sessions.db"),
            record=False,
        )
        await build_session(request, sinks=[sink], session_id="bench").run()
    return pair_up(trace, sink.at)


async def bare_bleak_latencies(trace: Path) -> list[float]:
    from bleak import BleakClient, BleakScanner

    from biofeedback.sensors.ble import HR_MEASUREMENT

    at: list[float] = []
    device = await BleakScanner.find_device_by_address(ADDRESS, timeout=10)
    assert device is not None
    async with BleakClient(device) as client:
        await client.start_notify(HR_MEASUREMENT, lambda _c, _d: at.append(time.monotonic()))
        await asyncio.sleep(LATENCY_S)
    return pair_up(trace, at)


def pair_up(trace: Path, received: list[float]) -> list[float]:
    sent = [json.loads(line)["mono_s"] for line in trace.read_text().splitlines()]
    # Nothing is lost on a local bus: the k-th sent is the k-th received.
    n = min(len(sent), len(received))
    return [r - s for s, r in zip(sent[:n], received[:n], strict=True)]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


def main() -> None:
    global RUNS, LATENCY_S
    if _quick():
        RUNS, LATENCY_S = 1, 2.0
    # bleak warns that bluetoothctl is missing; the figures are what we print.
    logging.getLogger("bleak").setLevel(logging.ERROR)
    ours: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    with PrivateSystemBus() as bus:
        os.environ[ADDRESS_ENV] = bus.address
        for _ in range(RUNS):
            with strap(bus):
                ours.append(asyncio.run(ours_first_sample_s()))
            with strap(bus):
                bare.append(asyncio.run(bare_bleak_first_notification_s()))
        with tempfile.TemporaryDirectory() as tmp:
            trace_ours, trace_bare = Path(tmp, "ours.jsonl"), Path(tmp, "bare.jsonl")
            rate = ["--rate", str(LATENCY_RATE_HZ)]
            with strap(bus, *rate, "--trace", str(trace_ours)):
                lat_ours = asyncio.run(ours_latencies(trace_ours))
            with strap(bus, *rate, "--trace", str(trace_bare)):
                lat_bare = asyncio.run(bare_bleak_latencies(trace_bare))

    ms = 1000.0

    def med(values: list[float]) -> float:
        return statistics.median(values)

    def row(label: str, runs: list[tuple[float, float]]) -> str:
        subscribed, first = med([r[0] for r in runs]), med([r[1] for r in runs])
        return f"  {label:<34} subscribed {subscribed:.3f} s  first sample {first:.3f} s"

    print(f"connect-to-first-sample (median of {RUNS} runs; the strap notifies at 1 Hz)")
    print(row("BleSource (find, connect, read)", ours))
    print(row("bare bleak (find, connect)", bare))
    ratio = med([r[1] for r in ours]) / med([r[1] for r in bare])
    print(f"  ratio ours/bare, first sample      {ratio:.2f}")
    print(f"notification-to-event latency ({LATENCY_RATE_HZ:g} Hz for {LATENCY_S:g} s)")
    for label, values in (("to a session sink", lat_ours), ("to bare bleak's callback", lat_bare)):
        print(
            f"  {label:<26} n={len(values):<4} median {med(values) * ms:.2f} ms"
            f"  p99 {p99(values) * ms:.2f} ms"
        )
    print(f"  ratio ours/bare, median            {med(lat_ours) / med(lat_bare):.2f}")


def _quick() -> bool:
    """``--quick``: tiny inputs, one run (tests/test_benchmarks.py runs it so)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    return bool(parser.parse_args().quick)


if __name__ == "__main__":
    main()
