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

Third round (issue 28; 2026-12-07, before = f7a5092, 5 interleaved runs, niced, load
6.2-7.4 on 2 cores shared with six other sessions), the 3 h day's 10,799 ticks:

                           before (f7a5092)          this tree
    on_estimate per call   median 6.89 us            5.52 us    (0.80x)
                           (runs 6.66-7.14)          (runs 5.40-5.75)
                           p90 14.77 us              12.63 us
                           all calls 117.2 ms        91.2 ms    (a 24 h day: 0.94 -> 0.73 s)
    on_breath per call     median 0.97 us            0.92 us
                           all calls 13.7 ms         12.4 ms
    events                 identical (e6f013755441e4bf)

(An earlier run of the same, at load 4.3-4.8, before the step-up skip in Green:
on_estimate median 6.46 -> 5.21 us, all calls 104.2 -> 77.8 ms.) Each figure
includes ~0.33 us of the timer itself (``process_time_ns`` is a system call).
Split by tick (a scratch harness timing the same calls): a tick where nothing
happens ~6.1 -> ~5.0 us, one where a step ends and the next starts (477 of
10,799) ~34 -> ~25 us.

What is skipped now, each exact (tests/test_pacing_shortcuts.py compares each with
the full work on random and awkward inputs): the two pressor shares once both
have faded to 0 after a tense step (``rules.PressorFade``: they only fall as
time goes on, until the next tense step ends); the evidence's fade and follow
factors (three ``exp``) while the seconds between readings and the config stay
the same (``evidence._factors``); the breath evidence's work on a tick without a
chest estimate (the heart's breath rate is never used there); the step-up
reckoning in Green (nothing is fuller, and the calm counted there is reset by
the change that leaves it). Done once: the closing's two steps and their
planned time, a routine's planned time, the session's planned length, the next
step (the queue's head, not a walk). Built cheaper: the tick's and the
evidence's NamedTuples by ``tuple.__new__`` (their own ``__new__`` is a Python
function, ~0.3 us for 12 fields).

The whole 24 h replay (``benchmarks/replay.py --base f7a5092 --runs 3``, niced,
load 6.2-6.4): CPU 12.44 -> 12.26 s (0.99x; ranges 11.9-13.0 and 12.2-12.5, the
size of the noise: the controller's part of a day is ~0.2 s less), printed lines
identical (111,995). The 3 h day, whole command: printed lines identical
(14,000, session id masked) and the store's rows identical (every table; session
id masked, wall-clock times left out).

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
BASE = "f7a5092"
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
