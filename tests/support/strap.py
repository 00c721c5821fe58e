"""Helpers for BLE tests: a private system bus and the virtual strap on it.

The strap runs either in the test's own event loop (so a test can drop the
link or inject a payload at a moment of its choosing) or as a separate
``python -m simulators strap`` process (for tests that run the CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import selectors
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from biofeedback.models import ChestMotion
from simulators.bus import ADDRESS_ENV, PrivateSystemBus
from simulators.strap import Running, StrapOptions, serve
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent.parent
STRAP_ADDRESS = "C0:FF:EE:00:18:0D"
STRAP_NAME = "Virtual Strap 180D"
DECOY_ADDRESS = "C0:FF:EE:00:18:1D"
READY_TIMEOUT_S = 20.0


@contextlib.asynccontextmanager
async def strap_in_loop(
    options: StrapOptions | None = None, **kwargs: Any
) -> AsyncIterator[Running]:
    """Serve the virtual BlueZ in this loop; the bus comes from the environment."""
    got: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(options or StrapOptions(), ready=got.set_result, **kwargs), name="test:strap"
    )
    try:
        waits: set[asyncio.Future[Any]] = {got, task}
        done, _ = await asyncio.wait(waits, timeout=READY_TIMEOUT_S, return_when="FIRST_COMPLETED")
        if task in done:
            task.result()  # raises why it stopped
        assert got in done, "the virtual strap did not come up"
        yield got.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.contextmanager
def strap_process(bus: PrivateSystemBus, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m simulators strap ARGS`` on ``bus``, once it says it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators", "strap", *args],
        cwd=ROOT,
        env=bus.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = _line_within(proc, READY_TIMEOUT_S)
        assert "ready" in line, f"strap did not start: {line!r} {_stderr_of(proc)}"
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def run_cli_on_bus(
    bus_address: str, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, with the system bus pointed at ``bus_address``."""
    return run_cli(*args, timeout=timeout, env={ADDRESS_ENV: bus_address})


def _line_within(proc: subprocess.Popen[str], timeout_s: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            return ""
    return proc.stdout.readline()


def _stderr_of(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None or proc.stderr is None:
        return ""
    return proc.stderr.read()


def counted_breath(
    rate_hz: float = 50.0, batch_s: float = 0.5, total_s: float = 120.0
) -> Iterator[ChestMotion]:
    """Chest motion in strap time: a sine breath (15 breaths/min) on sitting gravity.

    ``x_mg`` counts the samples (0, 1, 2...), so a test can tell which sample of
    the strap's stream it got and when the strap took it (``x / rate_hz``).
    """
    n = round(rate_hz * batch_s)
    for k in range(round(total_s / batch_s)):
        idx = range(k * n, (k + 1) * n)
        phase = [2 * math.pi * 0.25 * i / rate_hz for i in idx]
        yield ChestMotion(
            t_s=((k + 1) * n - 1) / rate_hz,
            rate_hz=rate_hz,
            x_mg=tuple(float(i) for i in idx),
            y_mg=tuple(-990.0 + 8.0 * math.sin(p) for p in phase),
            z_mg=tuple(120.0 + 30.0 * math.sin(p) for p in phase),
        )
