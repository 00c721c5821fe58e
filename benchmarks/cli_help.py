"""How long `biofeedback --help` and a 15-minute simulated session take, whole
process, beside bare `python -c pass` of the same virtual environment (the peer,
measured in the same run), and the session as it was at ``--base`` (the package
and the simulators at that commit, extracted with `git archive` and run from their
own folder), with whether both print the same events for the same seed.

Goals (issue 28): --help <= 5x `python -c pass`; `run --sim --headless --json
--speed max --duration 900` <= 0.3 s. Wall time is what a user waits; CPU time
(user + system) is the steadier figure on a shared machine.

    .venv/bin/python benchmarks/cli_help.py [--runs N] [--base REV] [--store-mb MB] [--quick]

``--store-mb 7.5`` times each session against a copy of a store of that many MB
of past sessions (a person's store after weeks; every open checks all its pages).

Figures, second round (2026-12-07, before = 1ee3cee, this branch's base; medians
of 11 interleaved runs, 2 cores shared with other sessions, load 3-4):

                         new store each run         a 7.6 MB store
    python -c pass       CPU 21-24 ms               CPU 21 ms
    --help               CPU 41-47 ms = 1.9-2.0x    CPU 40 ms = 1.9x (goal <= 5x: met)
    900 s session CPU    420 -> 408 ms (0.97x),     408 -> 380 ms (0.93x)
                         382 -> 370 ms (0.97x)
                         p90 436 -> 435, 406 -> 384 p90 438 -> 396
                         = 17.3-17.5x python -c     = 18.2x python -c pass
    900 s session wall   911 -> 888, 402 -> 396 ms  444 -> 396 ms
    printed events       identical (809 lines)      identical (809 lines)

An A/B of the recorder alone (same load, 11 runs each, the rest of this branch
in all three): 438 ms writing through its worker thread, 418 on the loop's thread
(below), 411 with no recorder at all.

First round (before = 341feb4, load 6-8): 496 -> 417 ms CPU, p90 532 -> 440.

Goal 0.3 s: NOT met.

Where a session's CPU goes now (in-process timings, this machine):

    interpreter                        ~22 ms
    imports                            ~190 ms: numpy ~65 (plus OpenBLAS, one
                                       thread: cli/__init__.py), asyncio with ssl,
                                       sqlite3, json, inspect ~45, the package and
                                       the simulators ~70, of which creating the 92
                                       dataclasses on this path is most (~0.65 ms
                                       each: models.events 19, models.core 6,
                                       simulators.scenario 5, ...; every one is
                                       used by a headless simulated run, so none
                                       can load lazily); simulators.chest now loads
                                       only for a scenario with a chest
    the session itself                 ~165 ms: the resonance reading every 5 s
                                       ~50, the breath rate from the beats ~25,
                                       the arousal estimate ~18, the controller
                                       ~13, printing ~10, the simulator ~10, the
                                       parser ~3 (it builds every command; left
                                       as it is); the recorder ~40 -> ~7 (below)
    interpreter exit                   ~8 ms (objects frozen for the exit)

The recorder, before -> after:

    store opens                        two (the wiring's, then the recorder's),
                                       each a PRAGMA quick_check reading every
                                       page (~5 ms a 1.9 MB store, ~12 ms of the
                                       run a 7.6 MB one, growing with it) -> one:
                                       the wiring's checked store is handed to
                                       the recorder (a damaged store is still
                                       refused before the session)
    the writer thread                  ~40 ms, of which SQLite's own work is ~3
                                       and the Python building the rows ~8: the
                                       rest was the interpreter handed back and
                                       forth between the worker thread and the
                                       session loop (sqlite3 lets other threads
                                       run at each step of a statement, and
                                       executemany steps once a row) and a commit
                                       per batch (~30 a session) -> at --speed
                                       max (a virtual clock, nothing waits in
                                       real time) the writes are made on the
                                       loop's thread once a second of wall time
                                       (one commit a session of 0.4 s); elsewhere
                                       many rows a statement (one step per ~99
                                       rows, not per row); the same rows either way

Left above 0.3 s: numpy's import, the dataclasses' creation (the interpreter's
own code generation; not lazy-loadable here), the estimators (signals/arousal.py,
breath_estimate.py, rr_clean.py: other helpers' files) and asyncio's import.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import (  # noqa: E402
    base_tree,
    child_env,
    load_line,
    parse_args,
    spread,
    timed,
)

# main when issue 28's session work began: the "before" of the figures above.
BASE = "4fed2a8"


def seeded_store(session: list[str], folder: Path, megabytes: float) -> Path:
    """A store of past sessions of at least ``megabytes`` MB, recorded by this tree (a
    person's store after weeks of practice: each open checks every page of it)."""
    db = folder / "seed.db"
    while not db.exists() or db.stat().st_size < megabytes * 1e6:
        subprocess.run(
            [*session, "--db", str(db)], check=True, capture_output=True, timeout=300, cwd=ROOT
        )
    return db


def printed_events(argv: list[str], tree: Path, db: Path) -> str:
    """What a session prints, with its fresh session id masked (the one thing that
    differs between two runs of the same seed)."""
    proc = subprocess.run(
        [*argv, "--db", str(db)], check=True, capture_output=True, timeout=300, cwd=tree
    )
    return re.sub(r'"session_id":"[0-9a-f]+"', '"session_id":"-"', proc.stdout.decode())


def instructions(argv: list[str], tree: Path, folder: Path) -> int | None:
    """Instructions one run of ``argv`` executes, counted by valgrind's callgrind
    (~80x slower than a run): unlike time, the same on a quiet machine and a loaded
    one, so a change of a few percent shows. None when valgrind is not installed."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", f"--callgrind-out-file={folder / 'callgrind.out'}", *argv],
        check=True,
        capture_output=True,
        timeout=900,
        cwd=tree,
        env=child_env(),
    )
    found = re.search(r"Collected : (\d+)", proc.stderr.decode(errors="replace"))
    return None if found is None else int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--base", default=BASE, help="the commit timed as the before")
    parser.add_argument(
        "--store-mb",
        type=float,
        default=0.0,
        metavar="MB",
        help="time each session against a copy of a store this big (default: a new one)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each tree's session's instructions once (valgrind; ~30 s each)",
    )
    args = parse_args(__doc__, parser)
    runs = 1 if args.quick else args.runs
    # `python -m biofeedback` from each tree's folder (an old checkout's benchmark
    # times its own code).
    exe = [sys.executable, "-m", "biofeedback"]
    duration = "60" if args.quick else "900"
    session = [*exe, "run", "--sim", "--headless", "--json", "--no-ratings", "--speed", "max"]
    session += ["--duration", duration]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trees = {"this tree": ROOT}
        old = base_tree(args.base, folder / "base")
        if old is not None:
            trees = {f"before ({args.base})": old, **trees}
        # Decisions unchanged: each tree's events for the same seed, each with a
        # fresh store (a store's past sessions shape the routine).
        printed = {
            label: printed_events(session, tree, folder / f"same{n}.db")
            for n, (label, tree) in enumerate(trees.items())
        }
        helps = {
            subprocess.run(
                [*exe, "--help"], check=True, capture_output=True, timeout=60, cwd=tree
            ).stdout
            for tree in trees.values()
        }
        # A store of its own per tree: the person's store may be another version's
        # (and keeps no benchmark sessions).
        argv_of = {
            label: [*session, "--db", str(folder / f"timed{n}.db")] for n, label in enumerate(trees)
        }
        if args.store_mb > 0:
            seed = seeded_store(session, folder, 0.5 if args.quick else args.store_mb)
            for n in range(len(trees)):
                shutil.copyfile(seed, folder / f"timed{n}.db")
            print(f"each session's store: a copy of one of {seed.stat().st_size / 1e6:.1f} MB")
        python: tuple[list[float], list[float]] = ([], [])
        help_s: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in trees}
        session_s: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in trees}
        # Interleaved, so that each sees the same load.
        for n in range(runs):
            commands: list[tuple[tuple[list[float], list[float]], list[str], Path]] = [
                (python, [sys.executable, "-c", "pass"], ROOT),
            ]
            commands += [(help_s[t], [*exe, "--help"], tree) for t, tree in trees.items()]
            commands += [(session_s[t], argv_of[t], tree) for t, tree in trees.items()]
            for figures, argv, cwd in commands:
                wall, cpu = timed(argv, 1, warm=n == 0, cwd=cwd, timeout_s=120)
                figures[0].extend(wall)
                figures[1].extend(cpu)
        # Each on a new store of its own, after the timed runs (compiled modules).
        counted = {
            label: instructions([*session, "--db", str(folder / f"counted{n}.db")], tree, folder)
            for n, (label, tree) in enumerate(trees.items())
            if args.instructions
        }
    peer_wall, peer_cpu = statistics.median(python[0]), statistics.median(python[1])
    rows = [
        ("python -c pass (peer)", python, ""),
    ]
    rows += [(f"--help (-m), {t}", help_s[t], "goal <= 5x python -c pass") for t in trees]
    rows += [(f"{duration} s session, {t}", session_s[t], "goal 900 s <= 0.3 s") for t in trees]
    for label, (wall, cpu), goal in rows:
        print(f"{label:<34} wall {spread(wall, 1e3, 'ms')}")
        print(f"{'':<34} CPU  {spread(cpu, 1e3, 'ms')}")
        print(
            f"{'':<34} = {statistics.median(wall) / peer_wall:.1f}x python -c pass wall,"
            f" {statistics.median(cpu) / peer_cpu:.1f}x its CPU{'; ' + goal if goal else ''}"
        )
    if len(trees) == 2:
        before, after = (statistics.median(cpu) for _, cpu in session_s.values())
        lines = [p.count("\n") for p in printed.values()]
        same = len(set(printed.values())) == 1
        print(
            f"session CPU {before * 1e3:.0f} -> {after * 1e3:.0f} ms ({after / before:.2f}x);"
            f" printed events {'identical' if same else 'DIFFER'} ({lines[-1]} lines,"
            " session id masked)"
        )
        print(f"--help output {'identical' if len(helps) == 1 else 'DIFFERS'}")
    if counted:
        counts = {label: n for label, n in counted.items() if n is not None}
        if len(counts) < len(counted):
            print("instructions: not counted (needs valgrind)")
        else:
            shown = " -> ".join(f"{label} {n / 1e6:,.0f} M" for label, n in counts.items())
            first, last = next(iter(counts.values())), list(counts.values())[-1]
            ratio = f" ({last / first:.3f}x)" if len(counts) == 2 else ""
            print(f"{duration} s session instructions (callgrind): {shown}{ratio}")
    print(load_line())


if __name__ == "__main__":
    main()
