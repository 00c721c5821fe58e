"""`biofeedback run` opens the dashboard on a terminal and prints when piped."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

from tests.test_cli import run_cli


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


def test_run_on_a_terminal_opens_the_dashboard_and_closes_with_q() -> None:
    out = run_on_terminal(
        ["run", "--sim", "--speed", "max", "--duration", "30", "--no-ratings"],
        until=b"Press q to close",
        then=b"q",
    )
    assert "Settle in" in out  # the first cue was drawn
    assert "GREEN" in out
    assert "duration reached after 0:30." in out, out[-300:]  # the line left behind


def test_run_piped_prints_events_instead_of_the_dashboard() -> None:
    proc = run_cli("run", "--sim", "--speed", "max", "--duration", "20")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "session_started" in lines[0]
    assert "session_ended" in lines[-1]
