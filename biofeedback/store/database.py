"""The open store: opening it safely, reading sessions back, deleting one."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from biofeedback import __version__
from biofeedback.models import (
    BreathTaken,
    ChestMotion,
    Recording,
    SessionEnded,
    SessionInfo,
    StoredSession,
    event_from_dict,
)
from biofeedback.store import schema
from biofeedback.store.errors import SessionNotFoundError, StoreError, StoreOpenError
from biofeedback.store.files import make_private_dir, tighten
from biofeedback.store.locks import is_recording, sweep_stale_locks
from biofeedback.store.rows import (
    BREATH_SOURCE_CODE_SQL,
    QUALITY_CODE_SQL,
    SESSION_COLUMNS,
    EstimateRows,
    SampleRows,
    UnreadRows,
    session_from_row,
    unpack_motion,
)

if TYPE_CHECKING:
    from biofeedback.store.baseline import RestingBaseline

    # Loaded by the session that writes (begin_session): review, history and the
    # exports only read.
    from biofeedback.store.writer import SessionWriter

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
QUICK_CHECK_S = 1.0
# How often (in SQLite's steps, ~10 ms of a check) the check looks at the clock: each
# look takes the GIL, which the check, on a thread of its own (StoreOpening), would
# otherwise wait for behind the caller's work every time.
QUICK_CHECK_STEPS = 1_000_000


class Store:
    """An open session store. Not for concurrent use from several threads."""

    def __init__(self, path: Path | str, *, check: bool = True) -> None:
        """``check=False``: a reader's open (review): the whole-file check is made
        only when a read fails, not up front (it reads every page: ~35 ms a day's
        session). Anything that records keeps the check at open, or has made it
        just before (StoreOpening)."""
        self.path = Path(path)
        self._check_at_open = check
        # A private copy of a read-only store and its log (see _open_private_copy).
        self._copy: Path | None = None
        try:
            self._db = self._open()
        except BaseException:
            self._drop_copy()
            raise

    def _open_private_copy(self) -> sqlite3.Connection:
        """A read-only store whose -wal holds its latest sessions (a recorder was
        killed before it could fold the log in), opened as a private copy.

        Opened ``immutable`` in place, SQLite would skip the -wal and show an
        older state without a word; opened in place without it, SQLite needs
        to write the -shm file next to it, which the folder does not allow.
        The copy (store and log, 0600 in a 0700 folder of our own) is read
        with the log and removed on close.
        """
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="biofeedback-read-"))
        self._copy = folder
        copy = folder / self.path.name
        try:
            for suffix in ("", "-wal"):
                source = Path(f"{self.path}{suffix}")
                target = Path(f"{copy}{suffix}")
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                shutil.copyfile(source, target)
        except OSError as exc:
            raise StoreOpenError(
                f"cannot read the latest sessions of {self.path}: they are in its -wal file,"
                f" in a folder this program cannot write, and copying them failed ({exc});"
                " copy the store and its -wal file to a folder you can write and open that"
            ) from None
        return sqlite3.connect(copy, isolation_level=None, check_same_thread=False)

    def _drop_copy(self) -> None:
        folder, self._copy = self._copy, None
        if folder is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)

    # -- opening

    def _open(self) -> sqlite3.Connection:
        fresh = not self.path.exists()
        if fresh:
            try:
                make_private_dir(self.path.parent)
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass  # another process created it a moment ago
            except OSError as exc:
                raise StoreOpenError(
                    f"cannot create the session store {self.path}: {exc}"
                ) from None
        elif self.path.is_dir():
            raise StoreOpenError(f"{self.path} is a folder, not a session store file")
        else:
            _refuse_if_emptied(self.path)
        # A store in a folder we cannot write (a read-only mount, a shared
        # archive) can still be reviewed: SQLite could not make its -shm file.
        self.read_only = not fresh and not (
            os.access(self.path.parent, os.W_OK) and os.access(self.path, os.W_OK)
        )
        try:
            if self.read_only and _has_log(self.path):
                db = self._open_private_copy()
            elif self.read_only:
                uri = f"file:{quote(str(self.path.absolute()))}?mode=ro&immutable=1"
                db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            else:
                db = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
        except sqlite3.Error as exc:
            raise StoreOpenError(f"cannot open the session store {self.path}: {exc}") from None
        try:
            self._prepare_patiently(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise _refusal(self.path, exc) from None
        except BaseException:
            db.close()
            raise
        return db

    def _prepare_patiently(self, db: sqlite3.Connection) -> None:
        # When two processes create a store at once, SQLite may refuse a lock
        # at once instead of waiting (waiting could deadlock): back off, retry.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._prepare(db)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check(db, self.path, whole=self._check_at_open)
        if self.read_only:
            return
        # Only once the file is known to be ours: a file refused as a store
        # keeps the mode it had.
        tighten(self.path)
        sweep_stale_locks(self.path)
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            log.warning("the session store %s could not switch to WAL", self.path)
        db.execute("PRAGMA synchronous = NORMAL")  # see the module docstring
        # Deleted health data is overwritten, not just unlinked from the b-tree.
        db.execute("PRAGMA secure_delete = ON")
        if schema.needs_migration(db):
            schema.migrate(db, self.path)

    def close(self) -> None:
        self._db.close()
        self._drop_copy()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot; SQLite errors become one clear StoreError."""
        try:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if not self._check_at_open:
                # Unchecked at open: a failed read says whether the store is damaged.
                try:
                    _quick_check(self._db, self.path)
                except sqlite3.DatabaseError as check_exc:
                    raise StoreOpenError(
                        f"{self.path} is damaged ({check_exc}); move it away and keep it"
                        " for recovery, or choose another file with --db"
                    ) from None
            raise StoreError(f"cannot read the session store {self.path}: {exc}") from None

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, rolled back whole on any failure; SQLite errors
        become one clear StoreError."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full) leaves the transaction open: the
                # next write could never begin.
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot write the session store {self.path}: {exc}") from None

    # -- queries

    def sessions(
        self, limit: int | None = None, *, protocol: str | None = None, virtual: bool | None = None
    ) -> list[StoredSession]:
        """Recorded sessions, newest first; only those of ``protocol`` and of a
        simulated or replayed heart or not (``virtual``) when those are given."""
        where: list[str] = []
        args: list[object] = []
        if protocol is not None:
            where.append("protocol = ?")
            args.append(protocol)
        if virtual is not None:
            where.append("virtual = ?")
            args.append(int(virtual))
        sql = f"SELECT {SESSION_COLUMNS} FROM sessions"
        if where:
            sql += f" WHERE {' AND '.join(where)}"
        sql += " ORDER BY started_at_unix_s DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.reading() as db:
            return [session_from_row(r) for r in db.execute(sql, args)]

    def session(self, ref: str = "latest") -> StoredSession:
        """A session by id, unique id prefix, or ``latest``."""
        return self.find(ref)[1]

    def find(self, ref: str) -> tuple[int, StoredSession]:
        """The session ``ref`` names (see ``session``) and its key in the store."""
        with self.reading() as db:
            if ref == "latest":
                rows = db.execute(
                    f"SELECT id, {SESSION_COLUMNS} FROM sessions"
                    " ORDER BY started_at_unix_s DESC, id DESC LIMIT 1"
                ).fetchall()
                if not rows:
                    raise SessionNotFoundError(
                        f"no sessions recorded in {self.path} yet; start one with"
                        " `biofeedback run --sim`"
                    )
            else:
                escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                rows = db.execute(
                    f"SELECT id, {SESSION_COLUMNS} FROM sessions"
                    " WHERE session_id LIKE ? ESCAPE '\\' LIMIT 2",
                    (escaped + "%",),
                ).fetchall()
                exact = [r for r in rows if r[1] == ref]
                rows = exact or rows
                if not rows:
                    raise SessionNotFoundError(
                        f"no session {ref!r} in {self.path}; see `biofeedback history`"
                    )
                if len(rows) > 1:
                    raise SessionNotFoundError(
                        f"{ref!r} matches more than one session; give more of its id"
                    )
        return rows[0][0], session_from_row(rows[0][1:])

    def load(self, ref: str = "latest", *, sample_rows: bool = True) -> Recording:
        """Everything recorded for one session.

        ``sample_rows=False`` (a summary or a plot): the samples' beats and count
        only, not their other columns; reading ``sample_rows`` is then an error.
        """
        key, session = self.find(ref)
        with self.reading() as db:
            # One JSON array decoded at once: half the cost of a decode per event.
            texts = [
                data
                for (data,) in db.execute(
                    "SELECT data FROM events WHERE session = ? ORDER BY seq", (key,)
                )
            ]
            events = tuple(map(event_from_dict, json.loads(f"[{','.join(texts)}]")))
            block = _column_block(db, key)
            if block is not None:
                estimates = EstimateRows.from_block(block[2])
            else:
                estimates = EstimateRows(
                    db.execute(
                        f"SELECT t_s, hr_bpm, rmssd_ms, arousal, {QUALITY_CODE_SQL},"
                        f" artifact_rate, breath_per_min, {BREATH_SOURCE_CODE_SQL}"
                        " FROM estimates WHERE session = ? ORDER BY seq",
                        (key,),
                    ).fetchall()
                )
            breaths = tuple(
                BreathTaken(onset + inhale + exhale, onset, inhale, exhale, depth)
                for onset, inhale, exhale, depth in db.execute(
                    "SELECT onset_t_s, inhale_s, exhale_s, depth_mg FROM breaths"
                    " WHERE session = ? ORDER BY seq",
                    (key,),
                )
            )
            rows: list[Any] = []
            if sample_rows or block is None:
                columns = "t_s, hr_bpm, contact, energy_kj, beats" if sample_rows else "beats"
                rows = db.execute(
                    f"SELECT {columns} FROM samples WHERE session = ? ORDER BY seq", (key,)
                ).fetchall()
        import numpy as np

        # Every beat at once (what review and plots need) without making a
        # tuple per notification; those are made if someone reads them.
        everything = b"".join(row[-1] for row in rows) if block is None else block[3]
        pairs = np.frombuffer(everything, "<f8")
        count = len(rows) if block is None else block[1]
        samples = SampleRows(rows) if sample_rows else UnreadRows(count)
        if block is None and session.end_reason is not None and not self.read_only:
            self._keep_block(key, estimates, len(rows), everything)
        return Recording(
            session,
            events,
            estimates,
            samples,
            tuple(pairs[0::2].tolist()),
            tuple(pairs[1::2].tolist()),
            breaths,
        )

    def _keep_block(self, key: int, estimates: EstimateRows, samples: int, beats: bytes) -> None:
        """Keep an ended session's columns as one block for the next read (a cache:
        a store that is busy, full or older keeps none, and nothing is lost)."""
        db = self._db
        if db.execute("PRAGMA user_version").fetchone()[0] < schema.COLUMN_BLOCKS_VERSION:
            return
        # Never wait on a recorder that holds the store: the next read tries again.
        db.execute("PRAGMA busy_timeout = 0")
        try:
            with self.writing() as tx:
                tx.execute(
                    "INSERT OR REPLACE INTO column_blocks VALUES (?, ?, ?, ?, ?)",
                    (key, len(estimates), samples, estimates.pack(), beats),
                )
        except StoreError as exc:
            log.debug("no column block kept for session %d: %s", key, exc)
        finally:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def motion(self, ref: str = "latest") -> list[ChestMotion]:
        """The chest motion kept raw with a session (``run --keep-raw``), in time order;
        empty when it was not kept."""
        key, _ = self.find(ref)
        with self.reading() as db:
            return [
                unpack_motion(t_s, rate_hz, blob)
                for t_s, rate_hz, blob in db.execute(
                    "SELECT t_s, rate_hz, xyz FROM motion WHERE session = ? ORDER BY seq", (key,)
                )
            ]

    def resting_baseline(
        self, *, recent: int = 5, include_virtual: bool = False
    ) -> RestingBaseline | None:
        """Median baseline of the ``recent`` latest completed sessions, or None.

        Simulated and replayed sessions are left out unless asked for: they are
        not this person's heart.
        """
        with self.reading() as db:
            rows = db.execute(
                "SELECT baseline_hr_bpm, baseline_rmssd_ms FROM sessions"
                " WHERE ended_at_unix_s IS NOT NULL AND baseline_hr_bpm IS NOT NULL"
                " AND (? OR virtual = 0)"
                " ORDER BY started_at_unix_s DESC, id DESC LIMIT ?",
                (include_virtual, recent),
            ).fetchall()
        if not rows:
            return None
        import statistics

        from biofeedback.store.baseline import RestingBaseline

        rmssd = [r[1] for r in rows if r[1] is not None]
        return RestingBaseline(
            hr_bpm=statistics.median(r[0] for r in rows),
            rmssd_ms=statistics.median(rmssd) if rmssd else None,
            sessions=len(rows),
        )

    # -- changes

    def delete(self, ref: str) -> StoredSession:
        """Remove one session and everything recorded with it."""
        if ref == "latest":
            raise StoreError("name the session to delete by its id (see `biofeedback history`)")
        key, session = self.find(ref)
        if is_recording(self.path, session.session_id):
            raise StoreError(
                f"session {session.session_id} is still being recorded; end it first,"
                " then delete it"
            )
        with self.writing() as db:
            for table in (
                "samples",
                "estimates",
                "events",
                "ratings",
                "shipped",
                "breaths",
                "motion",
                "column_blocks",
                "sessions",
            ):
                column = "id" if table == "sessions" else "session"
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (key,))
        # Do not leave the deleted pages readable in the write-ahead log.
        with contextlib.suppress(sqlite3.DatabaseError):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return session

    def begin_session(self, info: SessionInfo, *, virtual: bool = False) -> SessionWriter:
        """Register a new session and return the writer that appends to it."""
        from biofeedback.store.writer import SessionWriter

        extra = dict(info.extra)
        with self.writing() as db:
            cur = db.execute(
                "INSERT INTO sessions (session_id, started_at_unix_s, protocol, source, device,"
                " software_version, virtual, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.session_id,
                    info.started_at_unix_s,
                    info.protocol,
                    info.source,
                    info.device,
                    __version__,
                    int(virtual or bool(extra.get("virtual", False))),
                    json.dumps(extra, default=str),
                ),
            )
        assert cur.lastrowid is not None
        return SessionWriter(self, cur.lastrowid)


class StoreOpening:
    """A store's whole-file check made on a thread of its own while the caller goes
    on (a session's start loads its modules meanwhile): SQLite releases the GIL as
    it reads, so on a second core the check, which grows with the store, costs the
    caller nothing.

    The thread only reads, on a connection of its own: nothing is written to the
    store until the caller asks for it with ``store()``, once every other check of
    its own has passed (a refused request leaves the file as it was, schema, mode and
    journal). ``store()`` opens it there, on the caller's thread, without the check
    made already, or raises the check's refusal; ``discard()`` stops the check
    without waiting for a locked store.
    """

    @staticmethod
    def worthwhile() -> bool:
        """True when the process may run on a second core: on one, the thread would
        only add its switching (~1.5 ms a start measured, pinned to one core)."""
        try:
            return len(os.sched_getaffinity(0)) > 1
        except AttributeError:  # no affinity on this system
            return (os.cpu_count() or 1) > 1

    @classmethod
    def begin(cls, path: Path) -> StoreOpening | None:
        """The check of ``path`` started, or None where the store is to be opened in
        place as before: a new, read-only or unfinished store (a log to fold in or a
        journal to roll back: even reading it writes), one core, or a thread the
        system refuses."""
        if not (
            path.is_file()
            and os.access(path, os.W_OK)
            and os.access(path.parent, os.W_OK)
            and not _has_log(path)
            and not Path(f"{path}-journal").exists()
            and cls.worthwhile()
        ):
            return None
        opening = cls(path)
        try:
            opening._thread.start()
        except RuntimeError:  # no thread to be had (a container's limit on them)
            return None
        return opening

    def __init__(self, path: Path) -> None:
        self.path = path
        self._error: BaseException | None = None
        self._stop = threading.Event()
        # Guards the connection against an interrupt as the thread closes it.
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        # A daemon: never holds the program's exit.
        self._thread = threading.Thread(target=self._check, name="store-open", daemon=True)

    def _check(self) -> None:
        try:
            # No busy wait inside SQLite (an interrupt does not end it): the wait
            # for a locked store is the loop below, which discard() can stop.
            db = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            self._error = StoreOpenError(f"cannot open the session store {self.path}: {exc}")
            return
        with self._lock:
            self._db = db
        try:
            # The same deadline as Store._prepare_patiently's.
            deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
            while not self._stop.is_set():
                try:
                    _check(db, self.path, whole=True)
                    return
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() > deadline:
                        raise
                self._stop.wait(0.02)
        except sqlite3.DatabaseError as exc:
            self._error = _refusal(self.path, exc)
        except BaseException as exc:  # the caller's to raise, where it asks for the store
            self._error = exc
        finally:
            with self._lock:
                self._db = None
                db.close()

    def store(self) -> Store:
        """The store, opened here (its migration and other writes made now), or the
        check's refusal."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return Store(self.path, check=False)

    def discard(self) -> None:
        """Stop the check: the thread closes its connection as it ends, at once."""
        self._stop.set()
        # Stopped, it ends within milliseconds: waiting that long leaves the caller no
        # connection still open (never the store's busy wait). An interrupt that lands
        # between two of its statements is lost (SQLite clears it): hence again.
        for _ in range(100):
            with self._lock:
                if self._db is not None:
                    self._db.interrupt()
            self._thread.join(timeout=0.01)
            if not self._thread.is_alive():
                return


def end_unfinished(path: Path, session_id: str, reason: str, *, timeout_s: float = 0.5) -> bool:
    """Record ``session_id`` as ended for ``reason`` when its recorder could not
    (the program is about to exit hard, its loop stuck): True when it was written.

    Its own short-lived connection, waiting at most ``timeout_s`` for the store:
    this runs on the way out and must not hold the exit up.
    """
    try:
        db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "SELECT id, last_t_s FROM sessions WHERE session_id = ? AND end_reason IS NULL",
            (session_id,),
        ).fetchone()
        if row is None:
            db.execute("ROLLBACK")
            return False
        key, last_t_s = row
        ended = SessionEnded(last_t_s, session_id, reason, last_t_s)
        seq = db.execute(
            "SELECT coalesce(max(seq) + 1, 0) FROM events WHERE session = ?", (key,)
        ).fetchone()[0]
        db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
            (key, seq, last_t_s, ended.type, json.dumps(ended.to_dict())),
        )
        db.execute(
            "UPDATE sessions SET ended_at_unix_s = ?, end_reason = ?, duration_s = ? WHERE id = ?",
            (time.time(), reason, last_t_s, key),
        )
        db.execute("COMMIT")
        return True
    except sqlite3.Error as exc:
        log.info("could not record the end of %s: %s", session_id, exc)
        return False
    finally:
        db.close()


# A store file this long at 0 bytes is not one being created right now
# (that takes milliseconds): something emptied it.
EMPTY_GRACE_S = 5.0


def _column_block(db: sqlite3.Connection, key: int) -> tuple[int, int, bytes, bytes] | None:
    """The session's kept block (estimates, samples, estimate block, beats) while it
    holds every row of both tables, else None (none kept, older, or an older store)."""
    if db.execute("PRAGMA user_version").fetchone()[0] < schema.COLUMN_BLOCKS_VERSION:
        return None
    row = db.execute(
        "SELECT estimates, samples, estimate_block, beats FROM column_blocks WHERE session = ?",
        (key,),
    ).fetchone()
    if row is None:
        return None
    # Rows are appended with gapless seq numbers from 0: the last + 1 is the count.
    counts = tuple(
        db.execute(
            f"SELECT coalesce(max(seq) + 1, 0) FROM {table} WHERE session = ?", (key,)
        ).fetchone()[0]
        for table in ("estimates", "samples")
    )
    estimates, samples, block, beats = row
    if counts != (estimates, samples) or len(block) != estimates * 64 or len(beats) % 16:
        return None
    return estimates, samples, block, beats


def _check(db: sqlite3.Connection, path: Path, *, whole: bool) -> None:
    """What opening a store reads before it writes anything: that the file is a
    session store this version reads and, when ``whole``, that it is not damaged."""
    # One snapshot: another process may be creating the schema right now.
    db.execute("BEGIN")
    try:
        schema.check_identity(db, path)
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
    if whole:
        _quick_check(db, path)


def _quick_check(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged store now, not after a session that could not be saved.

    Bounded in time: a store too big to check in ``QUICK_CHECK_S`` is
    opened unchecked (SQLite still reports damage on the pages it reads).
    """
    deadline = time.monotonic() + QUICK_CHECK_S
    db.set_progress_handler(lambda: int(time.monotonic() > deadline), QUICK_CHECK_STEPS)
    try:
        rows = db.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        log.debug("the store %s is too big to check in %g s", path, QUICK_CHECK_S)
        return
    finally:
        db.set_progress_handler(None, 0)
    if rows and rows[0][0] != "ok":
        raise StoreOpenError(
            f"{path} is damaged ({' '.join(str(rows[0][0]).split())[:80]});"
            " move it away and keep it for recovery, or choose another file with --db"
        )


def _refusal(path: Path, exc: sqlite3.DatabaseError) -> StoreOpenError:
    """The one line that refuses a store SQLite could not open or check."""
    if isinstance(exc, sqlite3.OperationalError):
        if not _is_busy(exc):
            return StoreOpenError(f"cannot open the session store {path}: {exc}")
        return StoreOpenError(
            f"the session store {path} stayed locked by another program for"
            f" {BUSY_TIMEOUT_MS / 1000:g} s; try again"
        )
    return StoreOpenError(
        f"{path} is not a biofeedback session store or is damaged ({exc});"
        " move it away or choose another file with --db"
    )


def _refuse_if_emptied(path: Path) -> None:
    """A 0-byte file where a store should be is not silently made a new store:
    the sessions it held are gone, and the person should know before we go on."""
    try:
        info = path.stat()
    except OSError:
        return
    if info.st_size == 0 and time.time() - info.st_mtime > EMPTY_GRACE_S:
        raise StoreOpenError(
            f"{path} is empty (0 bytes), so whatever sessions it held are gone;"
            " restore it from a backup, or delete it to start a new store there"
        )


def _has_log(db_path: Path) -> bool:
    """True when the store's write-ahead log holds something."""
    try:
        return Path(f"{db_path}-wal").stat().st_size > 0
    except OSError:
        return False


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)
