"""The session store: one SQLite file holding every recorded session.

WAL journal, a schema version with forward migrations, and an application
id so a foreign database is refused rather than written into. The recorder
sink writes as the session runs, in a worker thread, and commits at least once
a second; a session that never wrote its end (crash, power loss) stays
readable and is reported as unfinished.

Durability: ``synchronous=NORMAL``, so a commit is safe from a crash of the
program the moment it is made, and a second thread fsyncs the write-ahead log
about once a second, so a power cut loses about a second too. A slow disk then
delays only that fsync, never the commits (with ``FULL`` one stalled fsync
held back every commit behind it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import sqlite3
import stat
import statistics
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, overload

from biofeedback import BiofeedbackError, __version__
from biofeedback.models import (
    Baseline,
    Contact,
    Estimate,
    HeartSample,
    Quality,
    Recording,
    SampleRow,
    SessionEnded,
    SessionEvent,
    SessionInfo,
    SessionStarted,
    StoredSession,
    Zone,
    event_from_dict,
)

log = logging.getLogger(__name__)

ENV_DB = "BIOFEEDBACK_DB"
# "BFSS" in the header's application_id field: our files say whose they are.
APPLICATION_ID = 0x42465353
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000
COMMIT_EVERY_S = 1.0


class StoreError(BiofeedbackError):
    """The session store cannot be used as asked."""


class StoreOpenError(StoreError):
    """The file is not a usable session store (foreign, damaged or too new)."""


class SessionNotFoundError(StoreError):
    """No recorded session matches what was asked for."""


# --------------------------------------------------------------------------
# Paths and private files


def default_db_path() -> Path:
    """``$BIOFEEDBACK_DB``, else ``sessions.db`` in the user data dir (XDG)."""
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_data_path("biofeedback") / "sessions.db"


def resolve_db_path(option: str | None) -> Path:
    """``--db`` beats the environment, which beats the default."""
    return Path(option).expanduser() if option else default_db_path()


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents as 0700; existing ones are left alone."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)


def _tighten(db_path: Path) -> None:
    """Make an existing store 0600, and our own default folder 0700.

    SQLite gives the -wal and -shm files the database's mode, so a store
    copied in or made by an older version would spill health data into files
    others can read. A folder the user chose is theirs and is left alone.
    """
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, 0o600)
    if os.environ.get(ENV_DB) is None and db_path == default_db_path():
        with contextlib.suppress(OSError):
            os.chmod(db_path.parent, 0o700)


def open_private(path: Path, mode: str = "w", *, newline: str | None = None) -> IO[Any]:
    """Open a file for writing that only the user can read (0600), even if it existed."""
    path = Path(path)
    if _is_database(path):
        # An export aimed at a store by mistake would truncate every session in it.
        raise StoreError(f"{path} is a database; choose another file to export to")
    try:
        make_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8", newline=newline)


# The first bytes of SQLite's write-ahead log (either byte order).
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")


def _is_database(path: Path) -> bool:
    """A database or its write-ahead log: ours or anyone's, never to be overwritten."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return head == b"SQLite format 3\x00" or head[:4] in _WAL_MAGIC


def is_store_file(path: Path) -> bool:
    """True when ``path`` is an SQLite database (ours or not: opening tells)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


# --------------------------------------------------------------------------
# Schema


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, and a migration must be one transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


# A notification's beats live in its row as one BLOB of little-endian
# float64 pairs (beat time s, RR ms): a day is ~86,000 rows, not ~200,000, and
# reads back in a fraction of a second.
def _schema_v1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL UNIQUE,
            started_at_unix_s REAL NOT NULL,
            protocol TEXT NOT NULL,
            source TEXT NOT NULL,
            device TEXT,
            software_version TEXT NOT NULL,
            virtual INTEGER NOT NULL DEFAULT 0,
            extra TEXT NOT NULL DEFAULT '{}',
            start_zone TEXT,
            baseline_hr_bpm REAL,
            baseline_rmssd_ms REAL,
            last_t_s REAL NOT NULL DEFAULT 0,
            ended_at_unix_s REAL,
            end_reason TEXT,
            duration_s REAL
        );
        CREATE TABLE samples (
            session INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            t_s REAL NOT NULL,
            hr_bpm REAL,
            contact TEXT NOT NULL,
            energy_kj INTEGER,
            beats BLOB NOT NULL,
            PRIMARY KEY (session, seq)
        ) WITHOUT ROWID;
        CREATE TABLE estimates (
            session INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            t_s REAL NOT NULL,
            hr_bpm REAL,
            rmssd_ms REAL,
            arousal REAL,
            quality TEXT NOT NULL,
            artifact_rate REAL NOT NULL,
            PRIMARY KEY (session, seq)
        ) WITHOUT ROWID;
        CREATE TABLE events (
            session INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            t_s REAL NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (session, seq)
        ) WITHOUT ROWID;
        """,
    )


# MIGRATIONS[n] takes a store from schema version n to n + 1.
MIGRATIONS: Sequence[Callable[[sqlite3.Connection], None]] = (_schema_v1,)
assert len(MIGRATIONS) == SCHEMA_VERSION


# --------------------------------------------------------------------------
# The store


@dataclass(frozen=True, slots=True)
class RestingBaseline:
    """A person's usual resting values, from the baselines of recent sessions."""

    hr_bpm: float
    rmssd_ms: float | None
    sessions: int


_SESSION_COLUMNS = (
    "session_id, started_at_unix_s, protocol, source, device, software_version, virtual,"
    " start_zone, last_t_s, ended_at_unix_s, end_reason, duration_s,"
    " baseline_hr_bpm, baseline_rmssd_ms"
)


def _session_from_row(row: Sequence[Any]) -> StoredSession:
    return StoredSession(
        session_id=row[0],
        started_at_unix_s=row[1],
        protocol=row[2],
        source=row[3],
        device=row[4],
        software_version=row[5],
        virtual=bool(row[6]),
        start_zone=Zone(row[7]) if row[7] else None,
        last_t_s=row[8],
        ended_at_unix_s=row[9],
        end_reason=row[10],
        duration_s=row[11],
        baseline_hr_bpm=row[12],
        baseline_rmssd_ms=row[13],
    )


class Store:
    """An open session store. Not for concurrent use from several threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = self._open()

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
            _tighten(self.path)
        try:
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
        except sqlite3.OperationalError as exc:
            db.close()
            if not _is_busy(exc):
                raise StoreOpenError(f"cannot open the session store {self.path}: {exc}") from None
            raise StoreOpenError(
                f"the session store {self.path} stayed locked by another program for"
                f" {BUSY_TIMEOUT_MS / 1000:g} s; try again"
            ) from None
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreOpenError(
                f"{self.path} is not a biofeedback session store or is damaged ({exc});"
                " move it away or choose another file with --db"
            ) from None
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
        # One snapshot: another process may be creating the schema right now.
        db.execute("BEGIN")
        try:
            self._check_identity(db)
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            log.warning("the session store %s could not switch to WAL", self.path)
        db.execute("PRAGMA synchronous = NORMAL")  # see the module docstring
        # Deleted health data is overwritten, not just unlinked from the b-tree.
        db.execute("PRAGMA secure_delete = ON")
        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            self._migrate(db)

    def _check_identity(self, db: sqlite3.Connection) -> None:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if app_id != APPLICATION_ID:
            tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if app_id != 0 or tables or version:
                raise StoreOpenError(
                    f"{self.path} is a database of another program, not a biofeedback"
                    " session store; choose another file with --db"
                )
        if version > SCHEMA_VERSION:
            raise StoreOpenError(
                f"{self.path} was written by a newer biofeedback (store version {version},"
                f" this one reads up to {SCHEMA_VERSION}); upgrade biofeedback"
            )

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            self._check_identity(db)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for step in MIGRATIONS[version:]:
                step(db)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

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
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot; SQLite errors become one clear StoreError."""
        try:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read the session store {self.path}: {exc}") from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
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

    def sessions(self, limit: int | None = None) -> list[StoredSession]:
        """Recorded sessions, newest first."""
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY started_at_unix_s DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._reading() as db:
            return [_session_from_row(r) for r in db.execute(sql)]

    def session(self, ref: str = "latest") -> StoredSession:
        """A session by id, unique id prefix, or ``latest``."""
        return self._find(ref)[1]

    def _find(self, ref: str) -> tuple[int, StoredSession]:
        with self._reading() as db:
            if ref == "latest":
                rows = db.execute(
                    f"SELECT id, {_SESSION_COLUMNS} FROM sessions"
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
                    f"SELECT id, {_SESSION_COLUMNS} FROM sessions"
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
        return rows[0][0], _session_from_row(rows[0][1:])

    def load(self, ref: str = "latest") -> Recording:
        """Everything recorded for one session."""
        key, session = self._find(ref)
        with self._reading() as db:
            events = tuple(
                event_from_dict(json.loads(data))
                for (data,) in db.execute(
                    "SELECT data FROM events WHERE session = ? ORDER BY seq", (key,)
                )
            )
            # Enum lookups by dict: a day holds ~170,000 of them.
            quality = {q.value: q for q in Quality}
            estimates = tuple(
                (t, hr, rmssd, arousal, quality[q], artifacts)
                for t, hr, rmssd, arousal, q, artifacts in db.execute(
                    "SELECT t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate"
                    " FROM estimates WHERE session = ? ORDER BY seq",
                    (key,),
                ).fetchall()
            )
            rows = db.execute(
                "SELECT t_s, hr_bpm, contact, energy_kj, beats FROM samples"
                " WHERE session = ? ORDER BY seq",
                (key,),
            ).fetchall()
        # Every beat at once (what review and plots need) without making a
        # tuple per notification; those are made if someone reads them.
        everything = b"".join(row[4] for row in rows)
        pairs = struct.unpack(f"<{len(everything) // 8}d", everything)
        return Recording(session, events, estimates, _SampleRows(rows), pairs[0::2], pairs[1::2])

    def resting_baseline(
        self, *, recent: int = 5, include_virtual: bool = False
    ) -> RestingBaseline | None:
        """Median baseline of the ``recent`` latest completed sessions, or None.

        Simulated and replayed sessions are left out unless asked for: they are
        not this person's heart.
        """
        with self._reading() as db:
            rows = db.execute(
                "SELECT baseline_hr_bpm, baseline_rmssd_ms FROM sessions"
                " WHERE ended_at_unix_s IS NOT NULL AND baseline_hr_bpm IS NOT NULL"
                " AND (? OR virtual = 0)"
                " ORDER BY started_at_unix_s DESC, id DESC LIMIT ?",
                (include_virtual, recent),
            ).fetchall()
        if not rows:
            return None
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
        key, session = self._find(ref)
        with self._writing() as db:
            for table in ("samples", "estimates", "events", "sessions"):
                column = "id" if table == "sessions" else "session"
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (key,))
        # Do not leave the deleted pages readable in the write-ahead log.
        with contextlib.suppress(sqlite3.DatabaseError):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return session

    def begin_session(self, info: SessionInfo, *, virtual: bool = False) -> _SessionWriter:
        """Register a new session and return the writer that appends to it."""
        extra = dict(info.extra)
        with self._writing() as db:
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
        return _SessionWriter(self, cur.lastrowid)


def _pack_beats(beat_t_s: Sequence[float], rr_ms: Sequence[float]) -> bytes:
    pairs = [x for pair in zip(beat_t_s, rr_ms, strict=True) for x in pair]
    return struct.pack(f"<{len(pairs)}d", *pairs)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class _SampleRows(Sequence[SampleRow]):
    """Sample rows decoded from the database rows on first use."""

    def __init__(self, rows: list[Any]) -> None:
        self._raw = rows
        self._rows: tuple[SampleRow, ...] | None = None

    def _decoded(self) -> tuple[SampleRow, ...]:
        if self._rows is None:
            contact = {c.value: c for c in Contact}
            unpack = _beats_unpacker()
            self._rows = tuple(
                (t_s, hr, (pairs := unpack(blob))[1::2], pairs[0::2], contact[c], energy)
                for t_s, hr, c, energy, blob in self._raw
            )
            self._raw = []
        return self._rows

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._raw)

    @overload
    def __getitem__(self, index: int) -> SampleRow: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[SampleRow, ...]: ...

    def __getitem__(self, index: int | slice) -> SampleRow | tuple[SampleRow, ...]:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[SampleRow]:
        return iter(self._decoded())


def _beats_unpacker() -> Callable[[bytes], tuple[float, ...]]:
    """Unpack a beats BLOB, with one compiled struct per length seen."""
    formats: dict[int, Callable[[bytes], tuple[float, ...]]] = {}

    def unpack(blob: bytes) -> tuple[float, ...]:
        size = len(blob)
        fn = formats.get(size)
        if fn is None:
            fn = formats[size] = struct.Struct(f"<{size // 8}d").unpack
        return fn(blob)

    return unpack


def _item_t_s(item: SessionEvent | HeartSample) -> float:
    return item.t_s if isinstance(item, HeartSample) else item.t


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


class _SessionWriter:
    """Appends one session's items; each ``write`` is one short transaction."""

    def __init__(self, store: Store, key: int) -> None:
        self.store = store
        self.key = key
        self._sample_seq = 0
        self._estimate_seq = 0
        self._event_seq = 0

    def write(self, items: Sequence[SessionEvent | HeartSample]) -> None:
        seqs = (self._sample_seq, self._estimate_seq, self._event_seq)
        try:
            self._write(items)
        except BaseException:
            # Nothing was stored: the same items are written again later.
            self._sample_seq, self._estimate_seq, self._event_seq = seqs
            raise

    def _write(self, items: Sequence[SessionEvent | HeartSample]) -> None:
        key = self.key
        samples: list[tuple[Any, ...]] = []
        estimates: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        updates: list[tuple[str, tuple[Any, ...]]] = []
        last_t_s = 0.0
        for item in items:
            if isinstance(item, HeartSample):
                times = item.beat_t_s
                if len(times) != len(item.rr_ms):
                    # A source without beat times: the arrival time is the best guess.
                    times = (item.t_s,) * len(item.rr_ms)
                samples.append(
                    (
                        key,
                        self._sample_seq,
                        item.t_s,
                        item.hr_bpm,
                        item.contact.value,
                        item.energy_kj,
                        _pack_beats(times, item.rr_ms),
                    )
                )
                self._sample_seq += 1
                last_t_s = max(last_t_s, item.t_s)
                continue
            last_t_s = max(last_t_s, item.t)
            if isinstance(item, Estimate):
                estimates.append(
                    (
                        key,
                        self._estimate_seq,
                        item.t,
                        _finite(item.hr_bpm),
                        _finite(item.rmssd_ms),
                        _finite(item.arousal),
                        item.quality.value,
                        item.artifact_rate,
                    )
                )
                self._estimate_seq += 1
                continue
            data = item.to_dict()
            events.append((key, self._event_seq, item.t, item.type, json.dumps(data)))
            self._event_seq += 1
            if isinstance(item, SessionStarted):
                updates.append(("start_zone = ?", (item.zone.value,)))
            elif isinstance(item, Baseline):
                updates.append(
                    (
                        "baseline_hr_bpm = ?, baseline_rmssd_ms = ?",
                        (_finite(item.hr_bpm), _finite(item.rmssd_ms)),
                    )
                )
            elif isinstance(item, SessionEnded):
                updates.append(
                    (
                        "ended_at_unix_s = ?, end_reason = ?, duration_s = ?",
                        (time.time(), item.reason, item.duration_s),
                    )
                )
        with self.store._writing() as db:
            if samples:
                db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)", samples)
            if estimates:
                db.executemany("INSERT INTO estimates VALUES (?, ?, ?, ?, ?, ?, ?, ?)", estimates)
            if events:
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
            for assignment, values in updates:
                db.execute(f"UPDATE sessions SET {assignment} WHERE id = ?", (*values, key))
            db.execute(
                "UPDATE sessions SET last_t_s = max(last_t_s, ?) WHERE id = ?", (last_t_s, key)
            )


# --------------------------------------------------------------------------
# The recorder sink


class RecorderSink:
    """Writes a running session into the store (session.Sink).

    ``handle`` only queues in memory; a writer task hands batches to one worker
    thread, so the pacing loop never waits on the disk. A batch is committed as
    soon as it holds a heart sample (about once a second of session time) and
    at the latest one second of wall time after its first item, so a crash
    loses at most about a second.
    """

    name = "recorder"
    # The record must be complete: never let the session drop an item for us.
    queue_size = 50_000_000

    def __init__(self, path: Path | str, *, virtual: bool = False) -> None:
        self.path = Path(path)
        self.virtual = virtual
        self.items_written = 0
        self.commits = 0
        self._store: Store | None = None
        self._writer: _SessionWriter | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        self._sync_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-sync")
        self._sync: asyncio.Future[None] | None = None
        self._synced_at = time.monotonic()
        self._dir_synced = False
        self._pending: list[SessionEvent | HeartSample] = []
        self._has_items = asyncio.Event()
        self._urgent = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._stop_requested = asyncio.Event()
        # Set after each commit, for whoever wants to know the record is on disk.
        self.committed = asyncio.Event()
        # Set when a write fails (the items are kept and retried).
        self.write_failed = asyncio.Event()

    async def start(self, info: SessionInfo) -> None:
        loop = asyncio.get_running_loop()
        self._store = await loop.run_in_executor(self._executor, Store, self.path)
        self._writer = await loop.run_in_executor(self._executor, lambda: self._begin(info))
        self._task = asyncio.create_task(self._write_loop(), name="recorder-writer")

    def _begin(self, info: SessionInfo) -> _SessionWriter:
        assert self._store is not None
        return self._store.begin_session(info, virtual=self.virtual)

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        # Even while writes fail: the items wait in memory for the disk.
        self._pending.append(item)
        self._has_items.set()
        if isinstance(item, HeartSample | SessionEnded):
            self._urgent.set()

    async def stop(self) -> None:
        self._stopping = True
        self._stop_requested.set()
        self._has_items.set()
        self._urgent.set()
        try:
            if self._task is not None:
                await self._task
        finally:
            loop = asyncio.get_running_loop()
            if self._store is not None:
                if self._sync is not None:
                    with contextlib.suppress(OSError):
                        await self._sync
                # Closing checkpoints the log into the database, with fsync.
                await loop.run_in_executor(self._executor, self._store.close)
            self._executor.shutdown(wait=False)
            self._sync_executor.shutdown(wait=False)
        if self._pending:
            first_t_s = min(_item_t_s(item) for item in self._pending)
            raise StoreError(
                f"the session from {first_t_s:.0f} s on ({len(self._pending)} items) could not"
                f" be saved: {self._error}; free some disk space or choose another file with --db"
            )

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._has_items.wait()
            if not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), COMMIT_EVERY_S)
            batch, self._pending = self._pending, []
            self._has_items.clear()
            self._urgent.clear()
            stopping = self._stopping
            if batch:
                assert self._writer is not None
                try:
                    await loop.run_in_executor(self._executor, self._writer.write, batch)
                except Exception as exc:
                    # Keep everything and retry each second: a full disk can get
                    # space back, and the record must not get a hole. Whatever is
                    # still unsaved at stop is reported there, once.
                    log.info("the recorder could not write, will retry: %s", exc)
                    self._error = exc
                    self._pending[:0] = batch
                    self.write_failed.set()
                    if stopping:
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop_requested.wait(), COMMIT_EVERY_S)
                    self._has_items.set()
                    self._urgent.set()
                    continue
                self._error = None
                self.items_written += len(batch)
                self.commits += 1
                self.committed.set()
                self._sync_soon(loop)
            if stopping and not self._pending:
                return

    def _sync_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sync is not None and not self._sync.done():
            return
        if time.monotonic() - self._synced_at < COMMIT_EVERY_S:
            return
        self._synced_at = time.monotonic()
        self._sync = loop.run_in_executor(self._sync_executor, self._fsync_log)

    def _fsync_log(self) -> None:
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            log.warning("could not flush the session log to disk: %s", exc)
        finally:
            os.close(fd)
        if not self._dir_synced:
            # The log file's own name must reach the disk once, too.
            with contextlib.suppress(OSError):
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            self._dir_synced = True
