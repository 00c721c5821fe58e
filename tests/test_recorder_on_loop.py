"""A session at --speed max is recorded on the event loop's own thread, everything
of a second of wall time in one commit, not batch by batch through a worker thread
(issue 28: the hand-overs cost more than the writes); a session in real time keeps
its worker thread and a commit per heart sample. The rows are the same either way."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from biofeedback.cli import SessionRequest, build_session
from biofeedback.store import RecorderSink


def _recorded(db: Path, speed: float | None) -> tuple[RecorderSink, list[tuple[object, ...]]]:
    request = SessionRequest(
        sim="calm",
        seed=3,
        protocol="full",
        zone="green",
        speed=speed,
        duration_s=300.0,
        audio="off",
        use_profile=False,
        db=str(db),
    )
    plan = build_session(request, session_id="s", started_at_unix_s=1_700_000_000.0)
    recorders = [s for s in plan.sinks if isinstance(s, RecorderSink)]
    assert len(recorders) == 1
    asyncio.run(plan.run())
    con = sqlite3.connect(db)
    try:
        rows = [
            row
            for table in ("samples", "estimates", "events", "breaths", "column_blocks")
            for row in con.execute(f"SELECT * FROM {table}")
        ]
    finally:
        con.close()
    return recorders[0], rows


def test_a_session_at_full_speed_is_recorded_in_a_few_commits(tmp_path: Path) -> None:
    fast, fast_rows = _recorded(tmp_path / "max.db", None)
    assert fast.on_loop
    # 300 s of session in well under a second or two of wall time: one commit a
    # second (the first batch may be cut at its second), not one per heart sample.
    assert fast.items_written > 400
    assert 1 <= fast.commits <= 3, fast.commits
    # At 10,000 times real time the worker thread writes as before: the same rows.
    threaded, threaded_rows = _recorded(tmp_path / "fast.db", 10_000.0)
    assert not threaded.on_loop
    assert threaded.items_written == fast.items_written
    assert threaded_rows == fast_rows
