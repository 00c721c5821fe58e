"""Ctrl-C on the dashboard asks the session's own question (stop now? what you did
is saved), on a real pseudo-terminal, instead of Textual's "press ctrl+q to quit"."""

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
from pathlib import Path

from tests.support.cli import ROOT, run_cli


def _drive(args: list[str], steps: list[tuple[bytes, bytes]], timeout_s: float = 60.0) -> str:
    """Run the CLI on an 80x24 pseudo-terminal; for each step, once its text has
    been drawn (after the previous step's keys), type its keys. ``timeout_s`` is
    a generous bound for a loaded machine: it returns as soon as the steps are done."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", *args],
        cwd=ROOT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, TERM="xterm-256color"),
        start_new_session=True,
    )
    seen = b""
    since = 0  # where the current step starts looking
    todo = list(steps)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 65536)
            if todo and todo[0][0] in seen[since:]:
                until, keys = todo.pop(0)
                since = seen.index(until, since) + len(until)
                os.write(master, keys)
            if proc.poll() is not None and not ready:
                break
        assert not todo, f"never saw {todo[0][0]!r}: {seen[-1500:]!r}"
        assert proc.wait(timeout=10) == 0, seen[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(slave)
        os.close(master)
    return seen.decode("utf-8", "replace")


def test_ctrl_c_on_the_dashboard_opens_the_stop_question(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    out = _drive(
        ["run", "--sim", "--no-ratings", "--audio", "off", "--db", str(db)],
        [
            (b"Settle in", b"\x03"),
            # Stopped by the person, the program leaves once the session is saved
            # (whether its last screen was drawn first is a race: not waited for).
            (b"Stop the session now?", b"y"),
        ],
    )
    assert "ctrl+q" not in out
    review = run_cli("review", "--json", "--db", str(db))
    assert review.returncode == 0, review.stderr
    assert json.loads(review.stdout)["end_reason"] == "stopped by user"
