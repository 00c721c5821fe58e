"""kill -9 a real recording process at random points: the record survives."""

from __future__ import annotations

import json
import random
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from biofeedback.store import Store
from tests.support.cli import run_cli

KILLS = 20
# --speed 20: a second of session time is 50 ms of wall time, so the
# recorder's per-second commits are what the test measures, not the CPU.
SPEED = "20"


def test_kill_9_at_random_points_loses_at_most_a_second(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    rng = random.Random(8)
    argv = [sys.executable, "-m", "biofeedback", "run", "--sim", "--headless", "--json"]
    # The simulated person is deterministic: a complete run is the reference
    # for which notifications each killed run had received.
    reference_db = tmp_path / "reference.db"
    done = run_cli(*argv[3:], "--speed", "max", "--duration", "60", "--db", str(reference_db))
    assert done.returncode == 0, done.stderr
    with Store(reference_db) as store:
        reference = store.load("latest").samples
    argv += ["--speed", SPEED, "--db", str(db)]
    killed: list[str] = []
    for _ in range(KILLS):
        wanted = rng.randint(1, 40)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        events: list[dict[str, Any]] = []
        try:
            while len(events) < wanted:
                line = proc.stdout.readline()
                assert line, f"the session ended before {wanted} lines"
                events.append(json.loads(line))
        finally:
            proc.kill()
            proc.wait(timeout=30)
            proc.stdout.close()
        reached_s = events[-1]["t"]
        session_id = events[0]["session_id"]
        killed.append(session_id)

        # The file opens, is intact, and holds this session up to a second back.
        check = sqlite3.connect(db)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
        with Store(db) as store:
            rec = store.load(session_id)
        assert not rec.session.finished
        # Every notification that came in more than a second before the last
        # line printed is on disk, unchanged.
        due = [s for s in reference if s.t_s <= reached_s - 1.0]
        assert rec.samples[: len(due)] == tuple(due), (wanted, reached_s, len(rec.samples))
        assert rec.session.last_t_s >= (due[-1].t_s if due else 0.0)
        recorded_types = [e.type for e in rec.events]
        printed = [e["type"] for e in events if e["type"] != "estimate" and e["t"] < reached_s - 1]
        assert recorded_types[: len(printed)] == printed

    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith("crash.db")]
    assert {stat.S_IMODE(p.stat().st_mode) for p in leftovers} == {0o600}
    with Store(db) as store:
        assert {s.session_id for s in store.sessions()} == set(killed)
    proc_review = run_cli("review", killed[-1], "--db", str(db))
    assert proc_review.returncode == 0, proc_review.stderr
    assert "UNFINISHED" in proc_review.stdout
    as_json = json.loads(run_cli("review", "--json", "--db", str(db)).stdout)
    assert as_json["status"] == "unfinished"
    assert as_json["session_id"] == killed[-1]
    history = json.loads(run_cli("history", "--json", "--db", str(db)).stdout)
    assert [s["finished"] for s in history["sessions"]] == [False] * KILLS
