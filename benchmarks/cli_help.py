"""How long `biofeedback --help` and a 15-minute simulated session take, whole
process, beside bare `python -c pass` of the same virtual environment (the peer,
measured in the same run).

Goals (issue 28): --help <= 5x `python -c pass`; `run --sim --headless --json
--speed max --duration 900` <= 0.3 s. Wall time is what a user waits; CPU time
(user + system) is the steadier figure on a shared machine.

    .venv/bin/python benchmarks/cli_help.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import child_env, load_line, parse_args, spread  # noqa: E402


def timed(argv: list[str], runs: int, *, warm: bool = False) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``runs`` runs of a command (each to its end)."""
    import time

    wall, cpu = [], []
    env = child_env()
    if warm:
        subprocess.run(argv, check=True, capture_output=True, timeout=300, cwd=ROOT, env=env)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, timeout=120, cwd=ROOT, env=env)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median)")
    args = parse_args(__doc__, parser)
    runs = 1 if args.quick else args.runs
    # `python -m biofeedback` from this tree (an old checkout's benchmark times its own code).
    exe = [sys.executable, "-m", "biofeedback"]
    duration = "60" if args.quick else "900"
    session = [*exe, "run", "--sim", "--headless", "--json", "--no-ratings", "--speed", "max"]
    # A store of its own: the person's store may be another version's (and keeps no
    # benchmark sessions).
    store = tempfile.TemporaryDirectory()
    session += ["--duration", duration, "--db", str(Path(store.name) / "sessions.db")]
    # Interleaved, so that each sees the same load.
    python: tuple[list[float], list[float]] = ([], [])
    help_s: tuple[list[float], list[float]] = ([], [])
    session_s: tuple[list[float], list[float]] = ([], [])
    for n in range(runs):
        for figures, argv in (
            (python, [sys.executable, "-c", "pass"]),
            (help_s, [*exe, "--help"]),
            (session_s, session),
        ):
            wall, cpu = timed(argv, 1, warm=n == 0)
            figures[0].extend(wall)
            figures[1].extend(cpu)
    store.cleanup()
    peer_wall, peer_cpu = statistics.median(python[0]), statistics.median(python[1])
    for label, (wall, cpu), goal in (
        ("python -c pass (peer)", python, ""),
        ("biofeedback --help (-m)", help_s, "goal <= 5x python -c pass"),
        (f"{duration} s session, max", session_s, "goal 900 s <= 0.3 s"),
    ):
        print(f"{label:<24} wall {spread(wall, 1e3, 'ms')}")
        print(
            f"{'':<24} = {statistics.median(wall) / peer_wall:.1f}x python -c pass wall,"
            f" {statistics.median(cpu) / peer_cpu:.1f}x its CPU"
            f" (CPU median {statistics.median(cpu) * 1e3:.0f} ms){'; ' + goal if goal else ''}"
        )
    print(load_line())


if __name__ == "__main__":
    main()
