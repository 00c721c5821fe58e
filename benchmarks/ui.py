"""The dashboard's cost: time to first frame, CPU share and peak memory.

Runs `biofeedback run --sim --duration S` (default 60 s of session at real
speed) in an 80x24 pseudo-terminal, as a person would see it, and prints:

- time to first frame: from starting the process until the first cue is drawn
  (goal < 1.5 s);
- CPU share of one core while the session runs, from first frame to the end
  of the session (goal < 5 %);
- peak resident memory of the process (goal < 150 MB).

As a peer it runs the same session headless (events printed, no dashboard) in
the same way, and prints the ratios.

Usage: python benchmarks/ui.py [SECONDS] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import parse_args

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    first_output_s: float
    session_wall_s: float
    session_cpu_s: float
    peak_mb: float

    @property
    def cpu_share(self) -> float:
        return self.session_cpu_s / max(self.session_wall_s, 1e-9)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


@dataclass(frozen=True)
class Mode:
    """What to wait for on the terminal: the first frame, the end, the key to quit."""

    first: bytes
    ended: bytes
    quit_key: bytes | None


DASHBOARD = Mode(first=b"Settle in", ended=b"Press q to close", quit_key=b"q")
HEADLESS = Mode(first=b"session_started", ended=b"session_ended", quit_key=None)


def run_in_pty(argv: list[str], mode: Mode, limit_s: float) -> Figures:
    """Run ``argv`` on an 80x24 terminal; time the first frame and measure until the end.

    The process (its own session) is killed, with anything it started, if it
    has not ended within ``limit_s`` or if this benchmark stops early: a
    dashboard left behind would spin on an orphaned terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(os.environ, TERM="xterm-256color")
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    tail = b""
    first_s: float | None = None
    cpu_first = cpu_end = 0.0
    end_s: float | None = None
    usage = None
    try:
        while usage is None:
            if time.perf_counter() - start > limit_s:
                raise SystemExit(
                    f"benchmarks/ui.py: {argv} did not end within {limit_s:.0f} s"
                    f" (last output: {tail[-200:]!r})"
                )
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the process is gone
                    chunk = b""
                tail = (tail + chunk)[-4096:]
                now = time.perf_counter()
                if first_s is None and mode.first in tail:
                    first_s = now - start
                    cpu_first = cpu_s(proc.pid)
                if end_s is None and mode.ended in tail:
                    if first_s is None:
                        # A short session under load can end before its first
                        # cue is drawn: its first frame is then the last one.
                        first_s = now - start
                        cpu_first = cpu_s(proc.pid)
                    end_s = now - start
                    cpu_end = cpu_s(proc.pid)
                    if mode.quit_key is not None:
                        os.write(master, mode.quit_key)
            pid, _, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                usage = rusage
    finally:
        if usage is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    proc.returncode = 0  # reaped above
    if first_s is None or end_s is None:
        raise SystemExit(
            f"benchmarks/ui.py: {argv} never showed {mode} (last output: {tail[-300:]!r})"
        )
    return Figures(first_s, end_s - first_s, cpu_end - cpu_first, usage.ru_maxrss / 1024)


STARTS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seconds", nargs="?", default="60", help="session length (default 60)")
    args = parse_args(__doc__, parser)
    duration = "2" if args.quick else args.seconds
    starts = 1 if args.quick else STARTS
    limit_s = float(duration) * 3 + 60
    # Sessions are recorded: keep the benchmark's out of the user's own store.
    scratch = tempfile.mkdtemp(prefix="biofeedback-bench-")
    os.environ["BIOFEEDBACK_DB"] = str(Path(scratch) / "sessions.db")
    exe = shutil.which("biofeedback") or str(Path(sys.executable).with_name("biofeedback"))
    # No ratings form: nobody is at the terminal to answer it.
    run = [exe, "run", "--sim", "--no-ratings", "--duration", duration]
    ui = run_in_pty(run, DASHBOARD, limit_s)
    peer = run_in_pty([*run, "--headless"], HEADLESS, limit_s)
    # Start-up is short and noisy on a shared machine: take the median of a few.
    short = [exe, "run", "--sim", "--no-ratings", "--duration", "1"]
    ui_first = statistics.median(
        run_in_pty(short, DASHBOARD, 60).first_output_s for _ in range(starts)
    )
    peer_first = statistics.median(
        run_in_pty([*short, "--headless"], HEADLESS, 60).first_output_s for _ in range(starts)
    )
    shutil.rmtree(scratch)
    print(f"dashboard, {duration} s simulated session at real speed, 80x24 terminal")
    print(f"time to first frame   {ui_first:6.2f} s     median of {starts} (goal < 1.5 s)")
    print(f"CPU while running     {ui.cpu_share:6.1%} of one core  (goal < 5 %)")
    print(f"peak memory           {ui.peak_mb:6.1f} MB    (goal < 150 MB)")
    print(
        f"headless peer         first line {peer_first:.2f} s, CPU {peer.cpu_share:.1%},"
        f" peak {peer.peak_mb:.1f} MB"
    )
    print(
        f"dashboard / headless  first output x{ui_first / peer_first:.1f},"
        f" CPU +{(ui.cpu_share - peer.cpu_share) * 100:.1f} points,"
        f" peak memory x{ui.peak_mb / peer.peak_mb:.1f}"
    )


if __name__ == "__main__":
    main()
