"""What the practice features add to `run`, `today` and `history`.

A store with 30 simulated 15-minute sessions (each built as `run` builds it, by
``build_session``, and recorded), then, each the median of 5 runs:

1. ``outcomes(store, 30)``: what `run` reads before a session to decide how
   gentle it is, and `today` to suggest a routine; beside ``store.sessions(30)``
   (the session rows alone, what `history` read before) as the peer;
2. ``decide`` over those outcomes (pure);
3. ``practice_history(store, 10)``: the patterns `history` adds, which
   summarise the latest ten sessions to find where you brace; beside
   summarising one session (what `review` does) as the peer;
4. `biofeedback history --json` and `biofeedback today --json` wall time, as a
   user runs them.

Run: .venv/bin/python benchmarks/practice.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biofeedback import review  # noqa: E402
from biofeedback.cli import SessionRequest, build_session  # noqa: E402
from biofeedback.cli.practice import practice_history  # noqa: E402
from biofeedback.practice.adapt import decide  # noqa: E402
from biofeedback.practice.ratings import Ratings  # noqa: E402
from biofeedback.store import Store, outcomes, save_ratings  # noqa: E402

SESSIONS = 30
SESSION_S = 900.0
RUNS = 5


async def record(db: Path, index: int) -> None:
    """`run --sim SCENARIO --seed I --protocol full --speed max`, one a day, recorded (and
    made gentler by the ones before it, as `run` does)."""
    scenario = "anxious" if index % 3 == 0 else "calm"
    request = SessionRequest(
        sim=scenario,
        seed=index,
        protocol="full",
        speed=None,
        duration_s=SESSION_S,
        audio="off",
        use_profile=False,
        db=str(db),
    )
    plan = build_session(
        request, session_id=f"s{index:03d}", started_at_unix_s=1.7e9 + index * 86400
    )
    await plan.run()


def median_s(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_s(*args: str, env: dict[str, str]) -> float:
    def once() -> None:
        subprocess.run(
            [sys.executable, "-m", "biofeedback", *args], env=env, capture_output=True, check=True
        )

    return median_s(once)


def main() -> None:
    global SESSIONS, SESSION_S, RUNS
    if _quick():
        SESSIONS, SESSION_S, RUNS = 3, 120.0, 1
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "s.db"
        start = time.perf_counter()
        for i in range(SESSIONS):
            asyncio.run(record(db, i))
        print(
            f"recorded {SESSIONS} sessions of {SESSION_S / 60:g} min in"
            f" {time.perf_counter() - start:.1f} s"
        )
        with Store(db) as store:
            for i, s in enumerate(store.sessions()):
                save_ratings(store, s.session_id, "before", Ratings(5, 2, 4))
                save_ratings(store, s.session_id, "after", Ratings(3 + i % 4, 2, 3))
            rows = median_s(lambda: store.sessions(SESSIONS))
            got = median_s(lambda: outcomes(store, SESSIONS))
            found = outcomes(store, SESSIONS)
            decided = median_s(lambda: decide(found, "full"))
            brace = median_s(lambda: practice_history(store, 10))
            one = median_s(lambda: review.summarize(store.load("latest")))
        print(
            f"outcomes(30):           {1000 * got:7.1f} ms  (session rows alone:"
            f" {1000 * rows:.1f} ms, ratio {got / rows:.1f}x)"
        )
        print(f"decide over 30:         {1000 * decided:7.3f} ms")
        print(
            f"practice_history(10):   {1000 * brace:7.1f} ms  (one review summary:"
            f" {1000 * one:.1f} ms, ratio {brace / one:.1f}x)"
        )
        env = dict(os.environ, BIOFEEDBACK_DB=str(db), XDG_CONFIG_HOME=str(Path(tmp) / "cfg"))
        print(f"history --json (CLI):   {1000 * cli_s('history', '--json', env=env):7.0f} ms")
        print(f"today --json (CLI):     {1000 * cli_s('today', '--json', env=env):7.0f} ms")
        print(f"protocols (CLI, peer):  {1000 * cli_s('protocols', env=env):7.0f} ms")


def _quick() -> bool:
    """``--quick``: tiny inputs, one run (tests/test_benchmarks.py runs it so)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    return bool(parser.parse_args().quick)


if __name__ == "__main__":
    main()
