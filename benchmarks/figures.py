"""What every benchmark prints its figures with: spreads (median, p90, range) over
several runs, and the ``--quick`` flag (tests/test_benchmarks.py runs each
benchmark that way so none rots). Absolute figures depend on the machine's load:
compare ours with the peer measured in the same run."""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(
    doc: str | None, parser: argparse.ArgumentParser | None = None
) -> argparse.Namespace:
    """The benchmark's own flags plus ``--quick`` (a small, fast run: checks that it
    still works; its figures mean little)."""
    p = parser or argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    return p.parse_args()


def runs_of(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall seconds of ``runs`` calls."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def timings(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``runs`` calls. CPU time (this process's) is the
    steadier figure when other programs share the cores."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return wall, cpu


def spread(values_s: list[float], scale: float = 1e3, unit: str = "ms") -> str:
    """Median, p90 and range of some timings, in ``unit`` (seconds x ``scale``)."""
    v = sorted(x * scale for x in values_s)
    p90 = v[min(len(v) - 1, round(0.9 * (len(v) - 1)))]
    digits = 1 if v[0] < 100 else 0
    return (
        f"median {statistics.median(v):.{digits}f} {unit}"
        f" (p90 {p90:.{digits}f}, range {v[0]:.{digits}f}-{v[-1]:.{digits}f}, n={len(v)})"
    )


def child_env() -> dict[str, str]:
    """The environment for a timed command: as a user's, with compiled modules.

    A shell with ``PYTHONDONTWRITEBYTECODE`` set (some CI and sandbox shells) makes
    every run compile the package from source, ~0.3-1 s of CPU that an installed
    package never pays; time the command a user runs, after one untimed run has
    written the caches."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def load_line() -> str:
    """The machine's load: absolute figures taken under load are slower than quiet."""
    avg = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"load average {avg} on {os.cpu_count()} CPUs"


def base_tree(rev: str, folder: Path) -> Path | None:
    """The package and the simulators at ``rev`` in ``folder``, for timing an older
    tree beside this one (None, said why, when git cannot give them)."""
    proc = subprocess.run(
        ["git", "archive", "--format=tar", rev, "biofeedback", "simulators"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    if proc.returncode != 0:
        print(f"before ({rev}): not measured: {proc.stderr.decode().strip()}")
        return None
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def trees_beside(base: str, folder: Path) -> dict[str, Path]:
    """The trees a benchmark times, by label: this one, after the tree at ``base``
    (the before, extracted under ``folder``) when git can give it."""
    old = base_tree(base, folder / "base")
    if old is None:
        return {"this tree": ROOT}
    return {f"before ({base})": old, "this tree": ROOT}


def replay_recording(folder: Path, hours: int, quick: bool) -> Path:
    """The recording the replay benchmarks play: the 60-minute NSRDB extract of
    tests/data/rr written ``hours`` times into ``folder`` (with ``quick``, the
    5-minute extract as it is)."""
    rr_dir = ROOT / "tests" / "data" / "rr"
    if quick:
        return rr_dir / "nsrdb_pyhrv_5min_nni.txt"
    rr = folder / "day.txt"
    rr.write_text((rr_dir / "nsrdb_pyhrv_60min_nni.txt").read_text() * hours)
    return rr


def run_child(
    argv: list[str], cwd: Path = ROOT, timeout_s: float = 300
) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of one run of a command to its end, and
    what it printed. CPU time is the steadier figure on a shared machine; wall time
    is what a user waits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout_s,
        cwd=cwd,
        env=child_env(),
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, proc.stdout.decode(errors="replace")


def timed(
    argv: list[str], runs: int, *, warm: bool = False, cwd: Path = ROOT, timeout_s: float = 300
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``runs`` runs of a command (after one untimed run
    with ``warm``: compiled modules, a warm disk cache)."""
    if warm:
        run_child(argv, cwd, timeout_s)
    wall, cpu = [], []
    for _ in range(runs):
        w, c, _ = run_child(argv, cwd, timeout_s)
        wall.append(w)
        cpu.append(c)
    return wall, cpu
