"""What the one fold costs the live loop per event.

The session loop folds every event into ``Progress`` and takes a ``Snapshot``
for the views (``biofeedback/loop/session.py``); the review folds a stored
session's events through the same ``Progress``. This times both per event over
the event stream of real simulated sessions (`biofeedback run --sim SCENARIO
--json`, estimates included, about one a second), so a change to the fold shows
what it adds to the loop. Run it on two commits to compare them (the peer is the
commit before a change, run the same way).

Run: .venv/bin/python benchmarks/progress.py [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import load_line, parse_args, spread  # noqa: E402
from biofeedback.loop.progress import Progress  # noqa: E402
from biofeedback.models import SessionEvent, event_from_dict  # noqa: E402

SCENARIOS = ("anxious", "dropouts", "panic")


def stream(scenario: str, duration_s: float, folder: Path) -> list[SessionEvent]:
    """A simulated session's events, as `run --json` prints them."""
    run = ("run", "--sim", scenario, "--seed", "1", "--speed", "max", "--headless", "--json")
    limits = ("--duration", str(duration_s), "--db", str(folder / "bench.db"))
    proc = subprocess.run(
        [sys.executable, "-m", "biofeedback", *run, *limits],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return [event_from_dict(json.loads(line)) for line in proc.stdout.splitlines()]


def per_event_s(events: list[SessionEvent], snapshot: bool, reps: int) -> float:
    """Seconds per event of folding ``events`` ``reps`` times (CPU time)."""
    start = time.process_time()
    for _ in range(reps):
        progress = Progress()
        for event in events:
            progress.apply(event)
            if snapshot:
                progress.snapshot()
    return (time.process_time() - start) / (reps * len(events))


def main() -> None:
    args = parse_args(__doc__)
    duration_s = 60.0 if args.quick else 1800.0
    runs, reps = (2, 2) if args.quick else (15, 20)
    scenarios = SCENARIOS[:1] if args.quick else SCENARIOS
    with tempfile.TemporaryDirectory() as tmp:
        events = [e for s in scenarios for e in stream(s, duration_s, Path(tmp))]
    print(f"{len(events)} events from {', '.join(scenarios)} ({duration_s:g} s each)")
    for label, snapshot in (("apply", False), ("apply + snapshot", True)):
        costs = [per_event_s(events, snapshot, reps) for _ in range(runs)]
        print(f"  {label:<18} CPU per event {spread(costs, 1e9, 'ns')}")
    print(load_line())


if __name__ == "__main__":
    main()
