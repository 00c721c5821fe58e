"""Issue 26's faults, each through the command line where a person meets it."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from biofeedback.store import Store
from tests.support.cli import ROOT

# -- 1: a closed terminal ends the dashboard, and SIGTERM always ends it


def _dashboard_on_a_pty(db: Path, *, controlling: bool) -> tuple[subprocess.Popen[bytes], int]:
    """`biofeedback run --sim calm` on the dashboard of a fresh pseudo-terminal.

    With ``controlling`` the terminal is the process's own (it is a session leader,
    as in a tmux pane), so closing it also sends SIGHUP; without, only the tty's
    reads and writes fail, as for a process the hang-up does not reach.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    argv = ["run", "--sim", "calm", "--no-ratings", "--audio", "off", "--db", str(db)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=dict(os.environ, TERM="xterm-256color"),
        preexec_fn=take_terminal if controlling else None,
        start_new_session=not controlling,
    )
    os.close(slave)
    return proc, master


def _until(done: Callable[[], bool], what: str, master: int | None = None) -> None:
    """Wait for ``done``, reading the terminal (if given) so the dashboard can draw."""
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, what
        if master is None:
            select.select([], [], [], 0.1)
            continue
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            os.read(master, 65536)


def _recording(db: Path) -> Callable[[], bool]:
    return lambda: bool(list(db.parent.glob(f"{db.name}-rec-*.lock")))


@pytest.mark.parametrize("controlling", [True, False], ids=["session-leader", "no-hangup"])
def test_closing_the_terminal_ends_the_dashboard_within_two_seconds(
    tmp_path: Path, controlling: bool
) -> None:
    db = tmp_path / "s.db"
    proc, master = _dashboard_on_a_pty(db, controlling=controlling)
    try:
        _until(_recording(db), "the session never started recording", master)
        os.close(master)  # the terminal window closes
        closed_at = time.monotonic()
        code = proc.wait(timeout=10)
        took_s = time.monotonic() - closed_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took_s < 2.5, f"took {took_s:.1f} s"
    assert code == 128 + signal.SIGHUP
    with Store(db) as store:
        session = store.session("latest")
    assert session.finished
    assert session.end_reason == "terminal closed"
    assert not _recording(db)(), "the recording lock (and with it the source) was let go"


def test_sigterm_ends_a_dashboard_stuck_on_a_terminal_that_reads_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    proc, master = _dashboard_on_a_pty(db, controlling=False)
    try:
        _until(_recording(db), "the session never started recording")

        def stuck() -> bool:
            # Nobody reads the terminal: its buffer fills, Textual's writer thread
            # blocks in write(), its queue fills, and the main thread waits on a lock.
            wchan = Path(f"/proc/{proc.pid}/wchan").read_text()
            return "futex" in wchan

        _until(stuck, "the dashboard never blocked on its full terminal")
        proc.send_signal(signal.SIGTERM)
        sent_at = time.monotonic()
        code = proc.wait(timeout=10)
        took_s = time.monotonic() - sent_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert took_s < 3, f"took {took_s:.1f} s"
    assert code == 128 + signal.SIGTERM
