"""A recorded session opens its store once: the wiring's open (which refuses a
damaged store before the session, reading every page) is the recorder's too. And
the recorder's batches, written many rows a statement, are stored whole."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from pathlib import Path

from biofeedback.models import Contact, HeartSample, SessionInfo
from biofeedback.store import Store
from tests.support.store import record_sim

# Every SQLite open this process makes while a test listens, and the thread it is
# made on (an audit hook cannot be removed again, so it only records while asked to).
_opens: list[tuple[str, str]] = []
_listening: list[bool] = []


def _hook(event: str, args: tuple[object, ...]) -> None:
    if _listening and event == "sqlite3.connect":
        _opens.append((str(args[0]), threading.current_thread().name))


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
    # (Besides the connection of the whole-file check, which only reads, made on a thread of
    # its own while the session starts, where there is a second core: StoreOpening.)
    opened = [Path(p).resolve() for p, thread in _opens if thread != "store-open"]
    assert opened == [db.resolve()], _opens
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


def test_a_batch_of_hundreds_of_rows_is_stored_whole_and_in_order(tmp_path: Path) -> None:
    """The writer inserts many rows a statement: a batch longer than one statement
    takes (a long stall, a fast replay) loses, repeats and reorders none."""
    db = tmp_path / "s.db"
    samples = [
        HeartSample(
            t_s=n * 0.5,
            hr_bpm=None if n % 7 == 0 else 60.0 + n % 11,
            rr_ms=(1000.0 - n, 990.0) if n % 3 else (),
            beat_t_s=(n * 0.5 - 0.1, n * 0.5) if n % 3 else (),
            contact=Contact.DETECTED if n % 2 else Contact.UNSUPPORTED,
            energy_kj=n if n % 5 == 0 else None,
        )
        for n in range(1, 351)
    ]
    with Store(db) as store:
        writer = store.begin_session(SessionInfo("big", "full", "test", 1_700_000_000.0))
        writer.write(samples[:3])
        writer.write(samples[3:])
        rows = store.load("big").sample_rows
    assert len(rows) == len(samples)
    for row, sample in zip(rows, samples, strict=True):
        t_s, hr_bpm, rr_ms, beat_t_s, contact, energy_kj = row
        assert (t_s, hr_bpm, contact, energy_kj) == (
            sample.t_s,
            sample.hr_bpm,
            sample.contact,
            sample.energy_kj,
        )
        assert (rr_ms, beat_t_s) == (sample.rr_ms, sample.beat_t_s)
