"""A session's store, when it exists, is opened and checked on a thread of its own
while the session's modules load (``store.StoreOpening``, used by ``build_session``):
the same store, refused for the same faults at the same point, and never left open."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from biofeedback.cli import SessionRequest, UsageError, build_session
from biofeedback.routines.protocols import ProtocolError
from biofeedback.store import Store, StoreOpenError, StoreOpening
from tests.support.store import record_sim

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="open files read in /proc")

# The thread each SQLite connection of this process was made on, while a test listens
# (an audit hook cannot be removed again, so it only records while asked to).
_connected_on: list[tuple[str, str]] = []
_listening: list[bool] = []


def _hook(event: str, args: tuple[object, ...]) -> None:
    if _listening and event == "sqlite3.connect":
        _connected_on.append((str(args[0]), threading.current_thread().name))


sys.addaudithook(_hook)


def _request(db: Path, **changes: object) -> SessionRequest:
    options: dict[str, object] = {
        "sim": "calm",
        "seed": 3,
        "protocol": "full",
        "speed": None,
        "duration_s": 30.0,
        "audio": "off",
        "use_profile": False,
        "headless": True,
        "db": str(db),
    }
    return SessionRequest(**{**options, **changes})  # type: ignore[arg-type]


def _open_here(db: Path) -> list[str]:
    """This process's open files that are the store or its log."""
    names = {str(db.resolve()), f"{db.resolve()}-wal", f"{db.resolve()}-shm"}
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target in names:
            found.append(target)
    return found


def _damage(db: Path) -> bytes:
    with sqlite3.connect(db) as raw:
        page = raw.execute("PRAGMA page_size").fetchone()[0]
        assert raw.execute("PRAGMA page_count").fetchone()[0] > 8
    raw.close()
    with open(db, "r+b") as fh:
        fh.seek(3 * page)
        fh.write(b"\xa5" * 4 * page)  # pages 4-7
    return db.read_bytes()


def _listen() -> None:
    _connected_on.clear()
    _listening.append(True)


def test_an_existing_store_is_opened_beside_the_start_a_new_one_as_before(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    _listen()
    try:
        asyncio.run(record_sim(db, "first", duration_s=30))  # made new: on this thread
        first = list(_connected_on)
        _connected_on.clear()
        plan = build_session(_request(db), session_id="second")
        beside = list(_connected_on)
        asyncio.run(plan.run())
    finally:
        _listening.clear()
    assert first == [(str(db), "MainThread")]
    # (On a single core the thread would only cost: the store is opened in place.)
    assert beside == [(str(db), "store-open" if len(os.sched_getaffinity(0)) > 1 else "MainThread")]
    assert not [t for t in threading.enumerate() if t.name == "store-open"]
    # The store handed over is the recorder's: the session is saved in it, and closed.
    with Store(db) as store:
        assert [s.session_id for s in store.sessions()] == ["second", "first"]
        assert store.load("second").session.end_reason is not None
    assert _open_here(db) == []


def test_an_earlier_mistake_is_told_first_and_the_store_is_closed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "first", duration_s=30))
    damaged = _damage(db)
    # A routine that does not exist is told before the store's damage, as before...
    with pytest.raises(ProtocolError, match="no-such"):
        build_session(_request(db, protocol="no-such"))
    # ... and so is a flag the routine cannot follow; the store opened meanwhile is
    # closed, untouched.
    with pytest.raises(UsageError, match="one-side-at-a-time"):
        build_session(_request(db, protocol="breath-partial", sides=True))
    assert not [t for t in threading.enumerate() if t.name == "store-open"]
    assert _open_here(db) == []
    assert db.read_bytes() == damaged
    # Then the store's damage, at the point it always was: before the session.
    with pytest.raises(StoreOpenError, match="damaged"):
        build_session(_request(db))
    assert _open_here(db) == []
    assert db.read_bytes() == damaged


def test_the_thread_is_used_only_with_a_second_core_to_run_on() -> None:
    # A process pinned to one core (as a child pinned by taskset would be) opens in place.
    code = (
        "import os\n"
        "from biofeedback.store import StoreOpening\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "print(StoreOpening.worthwhile())\n"
    )
    pinned = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert pinned.stdout.split() == ["False"], pinned.stderr
    assert StoreOpening.worthwhile() == (len(os.sched_getaffinity(0)) > 1)


def test_a_new_store_is_not_made_for_a_request_that_fails(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    with pytest.raises(ProtocolError):
        build_session(_request(db, protocol="no-such"))
    assert not db.exists()
    asyncio.run(build_session(_request(db), session_id="made").run())
    with Store(db) as store:
        assert [s.session_id for s in store.sessions()] == ["made"]
