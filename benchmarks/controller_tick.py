"""The pacing controller's cost per tick, on the stream a real replay hands it (issue 28).

A 3 h replay (the 60-minute NSRDB extract of tests/data/rr written 3 times, and
benchmarks/hardening.py's day-long routine) is built as `run --replay DAY --headless
--json --speed max --audio off --no-ratings --protocol DAY.toml` builds it
(``build_session``, nothing saved) and run once, with the pacing controller's every
call recorded (a stand-in that writes each call down and passes it on). Then that
record is played into fresh copies of the controller, ``--runs`` times, timing each
``on_estimate`` and ``on_breath`` call on its own (CPU time, ``process_time_ns``:
the steadiest figure on a shared machine), and hashing every event it returns. The
same is done by the tree at ``--base`` (its package from `git archive`, in a child
process of its own), interleaved, so both see the same load; the events must be
identical.

    .venv/bin/python benchmarks/controller_tick.py [--runs N] [--base REV] [--quick]

Figures (2 cores shared with six other sessions, load 4.3-4.6; 5 interleaved runs
of each tree; 2026-12-07, before = 4fed2a8), the 3 h day's 10,799 ticks:

                           before (4fed2a8)          this tree
    on_estimate per call   median 11.43 us           5.89 us    (0.52x)
                           p90 17.56 us              9.23 us
                           all calls 166.9 ms        81.9 ms    (a 24 h day: 1.33 -> 0.66 s)
    on_breath per call     median 1.86 us            0.84 us
                           all calls 22.9 ms         10.6 ms    (a 24 h day: 0.18 -> 0.08 s)
    events                 identical (e6f013755441e4bf: every event's repr, hashed)

Where it went: frozen dataclasses built and thrown away each tick (the zone
judge's reading of the estimate, the evidence's input: a guarded ``setattr`` per
field) are tuples now; ``min``/``max`` calls on two floats and Enum members read
off their class (each ~0.1 us in Python 3.11) are written out or looked up once;
the signal watch returns at once on a tick with data and nothing to say; and at
each step the time left in a day-long routine is a kept count, not a sum over its
thousands of steps (pacing/planner.py).

Second round (2026-12-07, load ~2.3, 5 interleaved runs, before = 6d215c5): on_estimate
median 6.06 -> 5.97 us (runs 5.79-6.33 and 5.79-6.04), on_breath 0.85 -> 0.85 us: the
controller was left as the first round made it (only the breath watch's enum
members looked up once); events identical (e6f013755441e4bf).

``--quick``: the 5-minute extract, one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import (  # noqa: E402
    child_env,
    load_line,
    parse_args,
    replay_recording,
    trees_beside,
)
from benchmarks.hardening import day_protocol  # noqa: E402

# main when this round began: the "before".
BASE = "4fed2a8"
TIMED = ("on_estimate", "on_breath")

# Run in a child process from a tree's folder, so that tree's package is the one
# imported: record the replay's calls, then time them into fresh controllers.
CHILD = textwrap.dedent(
    """
    import asyncio, contextlib, copy, hashlib, io, json, statistics, sys, time
    from biofeedback.cli import SessionRequest, build_session

    rr, protocol, db, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    TIMED = ("on_estimate", "on_breath")
    CALLS = ("start", "on_estimate", "on_breath", "on_source_status", "on_action", "stop")


    class Recording:
        # The controller as the session sees it, writing each call down.
        def __init__(self, inner, calls):
            self._inner, self._calls = inner, calls

        def __getattr__(self, name):
            value = getattr(self._inner, name)
            if name not in CALLS:
                return value

            def call(*args):
                self._calls.append((name, args))
                return value(*args)

            return call


    asked = SessionRequest(
        replay=rr, protocol=protocol, headless=True, json=True, speed=None, audio="off",
        ratings=False, db=db, record=False,
    )
    plan = build_session(asked)
    fresh = copy.deepcopy(plan.controller.inner)
    calls = []
    plan.controller.inner = Recording(plan.controller.inner, calls)
    with contextlib.redirect_stdout(io.StringIO()):
        asyncio.run(plan.run())

    clock = time.process_time_ns
    per_call = {name: [] for name in TIMED}
    digest = ""
    for _ in range(runs):
        controller = copy.deepcopy(fresh)
        spent = {name: [] for name in TIMED}
        events = hashlib.sha256()
        for name, args in calls:
            method = getattr(controller, name)
            start = clock()
            said = method(*args)
            took = clock() - start
            if name in spent:
                spent[name].append(took)
            for event in said:
                events.update(repr(event).encode())
        digest = events.hexdigest()[:16]
        for name in TIMED:
            per_call[name].append(spent[name])
    print(json.dumps({"digest": digest, "per_call": per_call}))
    """
)


def measure(
    tree: Path, rr: Path, protocol: Path, db: Path, runs: int
) -> tuple[str, dict[str, list[list[int]]]]:
    """The digest of the events and each timed call's CPU ns, per pass, of one child."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(rr), str(protocol), str(db), str(runs)],
        cwd=tree,
        check=True,
        capture_output=True,
        timeout=600,
        env=child_env(),
    )
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return str(result["digest"]), {name: result["per_call"][name] for name in TIMED}


def summary(runs_ns: list[list[int]], ticks_a_day: int) -> str:
    """Median of the runs' per-call medians, p90, and the runs' total, in us and ms."""
    medians = [statistics.median(r) / 1e3 for r in runs_ns]
    p90s = [sorted(r)[int(0.9 * (len(r) - 1))] / 1e3 for r in runs_ns]
    totals = [sum(r) / 1e6 for r in runs_ns]
    calls = len(runs_ns[0])
    total = statistics.median(totals)
    return (
        f"median {statistics.median(medians):.2f} us (runs {min(medians):.2f}-{max(medians):.2f}),"
        f" p90 {statistics.median(p90s):.2f} us, all {calls} calls {total:.1f} ms"
        f" ({total / calls * ticks_a_day / 1e3:.2f} s over a 24 h replay's {ticks_a_day} ticks)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed passes per tree")
    parser.add_argument("--base", default=BASE, help="the commit timed as the before")
    args = parse_args(__doc__, parser)
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rr = replay_recording(folder, 3, args.quick)
        protocol = day_protocol(folder)
        trees = trees_beside(args.base, folder)
        results: dict[str, list[tuple[str, dict[str, list[list[int]]]]]] = {
            label: [] for label in trees
        }
        # One child per tree and pass, alternating, so both see the same load.
        for n in range(runs):
            for i, (label, tree) in enumerate(trees.items()):
                db = folder / f"run{n}_{i}.db"
                results[label].append(measure(tree, rr, protocol, db, 1))
    print(f"the pacing controller per call over a replay ({rr.name}, {runs} runs; CPU):")
    for label, passes in results.items():
        for name in TIMED:
            runs_ns = [per_call[name][0] for _, per_call in passes]
            print(f"  {label:<20} {name:<12} {summary(runs_ns, 86_385)}")
    digests = {digest for passes in results.values() for digest, _ in passes}
    said = "identical" if len(digests) == 1 else "DIFFER"
    print(f"events returned: {said} ({', '.join(sorted(digests))})")
    print(load_line())


if __name__ == "__main__":
    main()
