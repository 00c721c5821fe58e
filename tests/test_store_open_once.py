"""A recorded session opens its store once: the wiring's open (which refuses a
damaged store before the session, reading every page) is the recorder's too."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from biofeedback.store import Store
from tests.support.store import record_sim

# Every SQLite open this process makes while a test listens (an audit hook cannot
# be removed again, so it only records while asked to).
_opens: list[str] = []
_listening: list[bool] = []


def _hook(event: str, args: tuple[object, ...]) -> None:
    if _listening and event == "sqlite3.connect":
        _opens.append(str(args[0]))


sys.addaudithook(_hook)


def test_a_recorded_session_opens_its_store_once_and_closes_it(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "first", duration_s=30))  # a store with a past session
    _opens.clear()
    _listening.append(True)
    try:
        asyncio.run(record_sim(db, "second", duration_s=60))
    finally:
        _listening.clear()
    assert [Path(p).resolve() for p in _opens] == [db.resolve()], _opens
    # Closed at the end: the last connection to close folds the log in and removes it.
    assert not Path(f"{db}-wal").exists()
    with Store(db) as store:
        recording = store.load("second")
        assert recording.session.end_reason is not None
        assert len(recording.samples) > 50
        assert [s.session_id for s in store.sessions()] == ["second", "first"]
    # And the file is a sound store, checked whole.
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()
