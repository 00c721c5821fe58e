"""A session's store, when it exists, is checked on a thread of its own while the
session's modules load (``store.StoreOpening``, used by ``build_session``): the same
store, refused for the same faults at the same point, opened (and changed) only on the
caller's thread once every other check has passed, and never left open."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from biofeedback.cli import SessionRequest, UsageError, build_session
from biofeedback.routines.protocols import ProtocolError
from biofeedback.store import Store, StoreOpenError, StoreOpening
from tests.support.store import damage_pages, record_sim

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
    # Checked beside the start, then opened by the caller, after its own checks, for
    # the recorder. (On a single core the thread would only cost: checked in place.)
    checked = [(str(db), "store-open")] if len(os.sched_getaffinity(0)) > 1 else []
    assert beside == [*checked, (str(db), "MainThread")]
    assert not [t for t in threading.enumerate() if t.name == "store-open"]
    # The store handed over is the recorder's: the session is saved in it, and closed.
    with Store(db) as store:
        assert [s.session_id for s in store.sessions()] == ["second", "first"]
        assert store.load("second").session.end_reason is not None
    assert _open_here(db) == []


def test_an_earlier_mistake_is_told_first_and_the_store_is_closed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "first", duration_s=30))
    damaged = damage_pages(db, b"\xa5")
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


# `run`'s mistake with --audio-out, told before the session (and before the store).
_MISTAKE = ["--audio-out", "/nonexistent/x.wav"]
_MISTAKE_LINE = (
    "biofeedback run: error: cannot write --audio-out /nonexistent/x.wav:"
    " there is no folder /nonexistent; create it first"
)


def _run(db: Path, *extra: str, timeout_s: float = 20.0) -> subprocess.CompletedProcess[str]:
    """`biofeedback run --sim` in a process of its own (the CLI's exit code and lines)."""
    args = ["run", "--sim", "--headless", "--no-ratings", "--speed", "max", "--duration", "10"]
    return subprocess.run(
        [sys.executable, "-m", "biofeedback", *args, "--db", str(db), *extra],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_a_refused_request_leaves_an_older_store_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    asyncio.run(record_sim(db, "first", duration_s=30))
    # The store as a biofeedback of schema 6 left it: a rollback journal, mode 0644.
    with sqlite3.connect(db) as raw:
        raw.execute("ALTER TABLE shipped DROP COLUMN breaths")
        raw.execute("ALTER TABLE shipped DROP COLUMN motion")
        raw.execute("PRAGMA user_version = 6")
        assert raw.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    raw.close()
    db.chmod(0o644)
    before = db.read_bytes()
    refused = _run(db, *_MISTAKE)
    assert (refused.returncode, refused.stderr.splitlines()) == (2, [_MISTAKE_LINE])
    # Not migrated (an older biofeedback could not read it again), nor made WAL or private.
    assert db.read_bytes() == before
    assert db.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.db"]
    # Asked for properly, it is opened, migrated and made private as before.
    done = _run(db)
    assert done.returncode == 0, done.stderr
    assert db.stat().st_mode & 0o777 == 0o600
    with Store(db) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] > 6  # noqa: SLF001
        assert len(store.sessions()) == 2


def test_a_mistake_is_told_at_once_while_another_program_holds_the_store(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "first", duration_s=30))
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        began = time.monotonic()
        # (The store's own wait for the lock is 10 s: the timeout fails the old way.)
        refused = _run(db, *_MISTAKE, timeout_s=8.0)
        took_s = time.monotonic() - began
        # In-process too: the check waiting for the lock is stopped, not waited for...
        began = time.monotonic()
        with pytest.raises(UsageError, match="one-side-at-a-time"):
            build_session(_request(db, protocol="breath-partial", sides=True))
        here_s = time.monotonic() - began
        assert not [t for t in threading.enumerate() if t.name == "store-open"]
    finally:
        holder.close()
    assert (refused.returncode, refused.stderr.splitlines()) == (2, [_MISTAKE_LINE])
    assert took_s < 2.0
    assert here_s < 2.0
    # ... and leaves no connection of its own behind.
    assert _open_here(db) == []


def test_a_damaged_store_is_refused_before_the_session_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "first", duration_s=30))
    damaged = damage_pages(db, b"\xa5")
    refused = _run(db, "--json")
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"biofeedback run: error: {db} is damaged (")
    assert line.endswith("move it away and keep it for recovery, or choose another file with --db")
    assert refused.stdout == ""  # no session began
    assert db.read_bytes() == damaged


def test_a_thread_the_system_refuses_leaves_the_store_checked_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "first", duration_s=30))

    def refuse(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    # The operating system's refusal (a container's limit on threads) cannot be
    # made here for real.
    monkeypatch.setattr(threading.Thread, "start", refuse)
    _listen()
    try:
        plan = build_session(_request(db), session_id="second")
        opened = list(_connected_on)
    finally:
        _listening.clear()
    monkeypatch.undo()
    asyncio.run(plan.run())
    assert opened == [(str(db), "MainThread")]
    with Store(db) as store:
        assert [s.session_id for s in store.sessions()] == ["second", "first"]
    assert _open_here(db) == []


def test_an_unfinished_store_is_opened_in_place_not_beside(tmp_path: Path) -> None:
    """Even reading a store whose log holds sessions (a recorder killed) or whose
    journal is hot folds them in, a write: no thread for those, as for one core."""
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "first", duration_s=30))
    if not StoreOpening.worthwhile():
        assert StoreOpening.begin(db) is None
        return
    clean = StoreOpening.begin(db)
    assert clean is not None
    clean.discard()
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        version = writer.execute("PRAGMA user_version").fetchone()[0]
        writer.execute(f"PRAGMA user_version = {version}")  # a page in the log
        assert Path(f"{db}-wal").stat().st_size > 0
        assert StoreOpening.begin(db) is None
    finally:
        writer.close()
    journal = Path(f"{db}-journal")
    journal.write_bytes(b"")
    assert StoreOpening.begin(db) is None
    journal.unlink()
    assert not [t for t in threading.enumerate() if t.name == "store-open"]
    assert _open_here(db) == []
