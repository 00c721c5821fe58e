"""The CLI in its own process: plain, with a changed environment, or on a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_cli(
    *args: str, timeout: float = 60, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`biofeedback ARGS` run to its end; ``env`` adds to (or overrides) this one's."""
    return subprocess.run(
        [sys.executable, "-m", "biofeedback", *args],
        cwd=ROOT,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def live_run(*args: str) -> subprocess.Popen[str]:
    """`biofeedback run --headless --json ARGS` started, its events on ``stdout``."""
    return subprocess.Popen(
        [sys.executable, "-m", "biofeedback", "run", "--headless", "--json", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_event(proc: subprocess.Popen[str], kind: str) -> dict[str, object]:
    """Read a live run's events up to the first of ``kind``, and return it."""
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == kind:
            return dict(event)
    raise AssertionError(f"the run ended before {kind}: {proc.stderr and proc.stderr.read()}")


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0]


def run_on_terminal(
    args: list[str],
    until: bytes,
    then: bytes,
    timeout_s: float = 60,
    env: dict[str, str] | None = None,
) -> str:
    """Run the CLI on an 80x24 pseudo-terminal; type ``then`` once ``until`` is drawn."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, TERM="xterm-256color", **(env or {})),
        start_new_session=True,
    )
    seen = b""
    typed = False
    deadline = time.monotonic() + timeout_s
    try:
        # The slave stays open here too, so what the process wrote last can
        # still be read after it exits (Linux drops it once every slave closes).
        while time.monotonic() < deadline:
            exited = proc.poll() is not None
            ready, _, _ = select.select([master], [], [], 0.1 if exited else 0.5)
            if not ready:
                if exited:
                    break
                continue
            seen += os.read(master, 65536)
            if not typed and until in seen:
                os.write(master, then)
                typed = True
        assert proc.wait(timeout=10) == 0, seen[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(slave)
        os.close(master)
    assert typed, f"never saw {until!r}"
    return seen.decode("utf-8", "replace")
