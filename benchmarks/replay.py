"""How long a 24 h replay at --speed max takes, as a user runs it (issue 28: goal
<= 10 s): the whole command

    biofeedback run --replay DAY --headless --json --speed max --audio off
        --no-ratings --db DB --protocol DAY.toml

in a child process (the live resonance indicator, the printed JSON, the fan-out
and the recorder included), wall and CPU (user + system of the child), median
of --runs runs, beside the same command on the tree at ``--base`` (the package
and the simulators at that commit, from `git archive`, run from their own
folder), interleaved so that both see the same load; and whether both print the
same lines (session id masked).

The day: the 60-minute NSRDB extract of tests/data/rr written 24 times (112,416
beats), and a green routine of tense/release steps a day long
(benchmarks/hardening.py's). ``--quick``: the 5-minute extract, one run.

    .venv/bin/python benchmarks/replay.py [--runs N] [--base REV] [--quick]
"""

from __future__ import annotations

import argparse
import io
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import child_env, load_line, parse_args, spread  # noqa: E402
from benchmarks.hardening import RR_DIR, day_protocol  # noqa: E402

# integ when this work began: the "before".
BASE = "cfe7f57"
TIMEOUT_S = 900


def base_tree(rev: str, folder: Path) -> Path | None:
    """The package and the simulators at ``rev`` in ``folder`` (None, said why, when
    git cannot give them)."""
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


def timed_run(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run to its end, and what it printed (session id
    masked: the one thing two runs of the same input differ in)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT_S,
        cwd=cwd,
        env=child_env(),
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    printed = re.sub(r'"session_id":"[0-9a-f]+"', '"session_id":"-"', proc.stdout.decode())
    return wall, cpu, printed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per tree (median)")
    parser.add_argument("--base", default=BASE, help="the commit timed as the before")
    args = parse_args(__doc__, parser)
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.quick:
            rr = RR_DIR / "nsrdb_pyhrv_5min_nni.txt"
        else:
            rr = folder / "day.txt"
            rr.write_text((RR_DIR / "nsrdb_pyhrv_60min_nni.txt").read_text() * 24)
        beats = sum(1 for line in rr.read_text().splitlines() if line.strip())
        protocol = day_protocol(folder)
        trees = {"this tree": ROOT}
        old = base_tree(args.base, folder / "base")
        if old is not None:
            trees = {f"before ({args.base})": old, **trees}
        command = [sys.executable, "-m", "biofeedback", "run", "--replay", str(rr)]
        command += ["--headless", "--json", "--speed", "max", "--audio", "off", "--no-ratings"]
        command += ["--protocol", str(protocol)]
        wall: dict[str, list[float]] = {t: [] for t in trees}
        cpu: dict[str, list[float]] = {t: [] for t in trees}
        printed: dict[str, set[str]] = {t: set() for t in trees}
        for n in range(runs):
            for i, (label, tree) in enumerate(trees.items()):
                # A fresh store each run: past sessions shape the routine.
                db = folder / f"run{n}_{i}.db"
                w, c, out = timed_run([*command, "--db", str(db)], tree)
                wall[label].append(w)
                cpu[label].append(c)
                printed[label].add(out)
                db.unlink(missing_ok=True)
    print(f"replay of {beats} beats ({rr.name}) at --speed max, whole CLI command:")
    for label in trees:
        print(f"  {label:<22} wall {spread(wall[label], 1.0, 's')}")
        print(f"  {'':<22} CPU  {spread(cpu[label], 1.0, 's')}   goal (24 h): <= 10 s")
    lines = {label: next(iter(p)).count("\n") for label, p in printed.items()}
    if len(trees) == 2:
        (b_label, after_label) = list(trees)
        before_cpu, after_cpu = (statistics.median(cpu[t]) for t in trees)
        before_wall, after_wall = (statistics.median(wall[t]) for t in trees)
        outputs = printed[b_label] | printed[after_label]
        print(
            f"CPU {before_cpu:.2f} -> {after_cpu:.2f} s ({after_cpu / before_cpu:.2f}x),"
            f" wall {before_wall:.2f} -> {after_wall:.2f} s;"
            f" printed lines {'identical' if len(outputs) == 1 else 'DIFFER'}"
            f" ({lines[after_label]} lines, session id masked)"
        )
    print(load_line())


if __name__ == "__main__":
    main()
