"""The central copy in PostgreSQL: many runners' records, written by collectors.

The only module that imports psycopg. Rows keep the local record's own
sequence numbers, so a write is idempotent: each batch is COPYed into
temporary staging tables and moved with ``INSERT ... ON CONFLICT DO NOTHING``;
a message delivered twice, a collector restarted, or two collectors with the
same rows never make a second row. Sessions are keyed by (runner, session id):
a runner's account can only write into its own sessions (the broker's ACL
vouches for the runner in the topic).

The rows tables are partitioned by the month the session started (a session's
rows stay in one partition, so the key includes ``started_at``); a collector
makes each month's partitions before it first writes into them. Schema changes
go in ``MIGRATIONS``, as in the SQLite store. Readers get the same
``Recording`` the SQLite store gives, so review code is shared and a review of
the central copy equals one of the local record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import psycopg

from biofeedback.models import Quality, Recording, StoredSession, event_from_dict
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.ratings import SCALES, Ratings
from biofeedback.store.errors import SessionNotFoundError, StoreError, StoreOpenError
from biofeedback.store.practice import FINAL_WINDOW_S, outcome_of
from biofeedback.store.rows import SESSION_COLUMNS, SampleRows, session_from_row
from biofeedback.wire import TABLES, Message, RowBatch, SessionEnd

# A fixed key for the advisory locks of migrations and partition making.
_LOCK_KEY = 0x42465353


class CentralError(StoreError):
    """The central database refused, or cannot be reached."""


def _v1(db: psycopg.Connection[Any]) -> None:
    db.execute(
        """
        CREATE TABLE sessions (
            id bigserial PRIMARY KEY,
            runner text NOT NULL,
            session_id text NOT NULL,
            started_at timestamptz NOT NULL,
            started_at_unix_s double precision NOT NULL,
            protocol text NOT NULL,
            source text NOT NULL,
            device text,
            software_version text NOT NULL,
            virtual boolean NOT NULL,
            extra text NOT NULL,
            start_zone text,
            baseline_hr_bpm double precision,
            baseline_rmssd_ms double precision,
            last_t_s double precision NOT NULL,
            ended_at_unix_s double precision,
            end_reason text,
            duration_s double precision,
            expected_samples integer,
            expected_estimates integer,
            expected_events integer,
            first_received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            complete_at timestamptz,
            UNIQUE (runner, session_id)
        );
        CREATE INDEX sessions_started ON sessions (started_at);
        CREATE TABLE samples (
            session bigint NOT NULL,
            started_at timestamptz NOT NULL,
            seq integer NOT NULL,
            t_s double precision NOT NULL,
            hr_bpm double precision,
            contact text NOT NULL,
            energy_kj integer,
            beats bytea NOT NULL,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (session, seq, started_at)
        ) PARTITION BY RANGE (started_at);
        CREATE TABLE estimates (
            session bigint NOT NULL,
            started_at timestamptz NOT NULL,
            seq integer NOT NULL,
            t_s double precision NOT NULL,
            hr_bpm double precision,
            rmssd_ms double precision,
            arousal double precision,
            quality text NOT NULL,
            artifact_rate double precision NOT NULL,
            breath_per_min double precision,
            breath_source text,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (session, seq, started_at)
        ) PARTITION BY RANGE (started_at);
        CREATE TABLE events (
            session bigint NOT NULL,
            started_at timestamptz NOT NULL,
            seq integer NOT NULL,
            t_s double precision NOT NULL,
            type text NOT NULL,
            data text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (session, seq, started_at)
        ) PARTITION BY RANGE (started_at);
        CREATE TABLE ratings (
            session bigint NOT NULL REFERENCES sessions(id),
            phase text NOT NULL CHECK (phase IN ('before', 'after')),
            tension integer CHECK (tension BETWEEN 0 AND 10),
            pain integer CHECK (pain BETWEEN 0 AND 10),
            anxiety integer CHECK (anxiety BETWEEN 0 AND 10),
            rated_at_unix_s double precision NOT NULL,
            PRIMARY KEY (session, phase)
        );
        CREATE TABLE partitions (month date PRIMARY KEY);
        """
    )


# MIGRATIONS[n] takes the central schema from version n to n + 1. Add new ones at the end.
MIGRATIONS: Sequence[Callable[[psycopg.Connection[Any]], None]] = (_v1,)
SCHEMA_VERSION = len(MIGRATIONS)

_SAMPLE_COLUMNS = "session, started_at, seq, t_s, hr_bpm, contact, energy_kj, beats"
_ESTIMATE_COLUMNS = (
    "session, started_at, seq, t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate,"
    " breath_per_min, breath_source"
)
_EVENT_COLUMNS = "session, started_at, seq, t_s, type, data"
_STAGED = {"samples": _SAMPLE_COLUMNS, "estimates": _ESTIMATE_COLUMNS, "events": _EVENT_COLUMNS}


def check_url(url: str) -> str:
    """A ``postgresql://`` URL without a password (that goes in PGPASSWORD or ~/.pgpass)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise StoreOpenError(f"bad database URL: {exc}") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise StoreOpenError("a central database URL starts with postgresql://")
    if parts.password is not None or re.search(r"(^|[?&])password=", parts.query):
        raise StoreOpenError(
            "put the database password in PGPASSWORD or a password file (PGPASSFILE,"
            " ~/.pgpass), not in the URL"
        )
    return url


def is_central(db: str | None) -> bool:
    return bool(db) and str(db).startswith(("postgresql://", "postgres://"))


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


@dataclass(frozen=True, slots=True)
class WriteResult:
    messages: int
    rows_new: int
    rows_repeated: int
    completed: tuple[str, ...]


class CentralStore:
    """One connection to the central database (not for use from several threads)."""

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0) -> None:
        self.url = check_url(url)
        self.where = _shown(url)
        try:
            self._db = psycopg.connect(url, connect_timeout=max(1, round(connect_timeout_s)))
        except psycopg.Error as exc:
            raise CentralError(
                f"cannot reach the central database {self.where}: {_one_line(exc)}"
            ) from None
        # A collector acknowledges a message once its commit returns: that commit
        # must survive a crash, whatever the server's default says.
        try:
            self._db.execute("SET synchronous_commit TO on")
            self._db.commit()
        except psycopg.Error as exc:
            self._db.close()
            raise CentralError(
                f"cannot use the central database {self.where}: {_one_line(exc)}"
            ) from None
        self._months: set[dt.date] = set()
        self._staged = False

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

    @property
    def broken(self) -> bool:
        return self._db.closed or self._db.broken

    # -- schema

    def version(self) -> int:
        with self._db.transaction():
            found = self._db.execute("SELECT to_regclass('biofeedback_schema')").fetchone()
            if found is None or found[0] is None:
                return 0
            row = self._db.execute("SELECT version FROM biofeedback_schema").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Bring the schema to ``SCHEMA_VERSION`` in one transaction (collectors do this)."""
        try:
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS biofeedback_schema (version integer NOT NULL)"
                )
                row = self._db.execute("SELECT version FROM biofeedback_schema").fetchone()
                version = int(row[0]) if row else 0
                if version > SCHEMA_VERSION:
                    raise StoreOpenError(
                        f"the central database {self.where} has schema version {version};"
                        f" this biofeedback knows up to {SCHEMA_VERSION}: upgrade it"
                    )
                for step in MIGRATIONS[version:]:
                    step(self._db)
                if row is None:
                    self._db.execute(
                        "INSERT INTO biofeedback_schema VALUES (%s)", (SCHEMA_VERSION,)
                    )
                else:
                    self._db.execute(
                        "UPDATE biofeedback_schema SET version = %s", (SCHEMA_VERSION,)
                    )
        except psycopg.Error as exc:
            raise CentralError(
                f"cannot prepare the central database {self.where}: {_one_line(exc)}"
            ) from None

    def _ensure_months(self, months: Iterable[dt.date]) -> None:
        missing = sorted(set(months) - self._months)
        if not missing:
            return
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            known = {r[0] for r in self._db.execute("SELECT month FROM partitions")}
            for month in missing:
                if month in known:
                    continue
                following = (month + dt.timedelta(days=32)).replace(day=1)
                for table in TABLES:
                    self._db.execute(
                        f"CREATE TABLE {table}_{month:%Y_%m} PARTITION OF {table}"
                        f" FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
                    )
                self._db.execute("INSERT INTO partitions VALUES (%s)", (month,))
        self._months.update(missing)

    # -- writing (collectors)

    def write(self, messages: Sequence[tuple[str, Message]]) -> WriteResult:
        """Store a batch of (runner, message) in one transaction; return what was new."""
        if not messages:
            return WriteResult(0, 0, 0, ())
        months = {_month(m.head.started_at_unix_s) for _, m in messages}
        self._ensure_months(months)
        if not self._staged:
            for table, columns in _STAGED.items():
                self._db.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} AS"
                    f" SELECT {columns} FROM {table} WITH NO DATA"
                )
            self._db.commit()
            self._staged = True
        sent = sum(m.rows for _, m in messages if isinstance(m, RowBatch))
        with self._db.transaction():
            keys = self._upsert_sessions(messages)
            new = self._copy_rows(messages, keys)
            self._store_ratings(messages, keys)
        completed = self._mark_complete(sorted(set(keys.values())))
        return WriteResult(len(messages), new, sent - new, completed)

    def _upsert_sessions(
        self, messages: Sequence[tuple[str, Message]]
    ) -> dict[tuple[str, str], int]:
        # One row per session, the latest header wins; in a fixed order, so two
        # collectors never wait on each other's locks in a circle.
        heads: dict[tuple[str, str], list[Any]] = {}
        for runner, m in messages:
            key = (runner, m.head.session_id)
            h = m.head
            counts = m.counts if isinstance(m, SessionEnd) else None
            row = [
                runner,
                h.session_id,
                dt.datetime.fromtimestamp(h.started_at_unix_s, dt.UTC),
                h.started_at_unix_s,
                h.protocol,
                h.source,
                h.device,
                h.software_version,
                h.virtual,
                h.extra,
                h.start_zone,
                h.baseline_hr_bpm,
                h.baseline_rmssd_ms,
                h.last_t_s,
                h.ended_at_unix_s,
                h.end_reason,
                h.duration_s,
                *(
                    (counts["samples"], counts["estimates"], counts["events"])
                    if counts
                    else (None, None, None)
                ),
            ]
            old = heads.get(key)
            if old is not None:
                # The further header leads; what it lacks, the other may know.
                first, second = (row, old) if row[13] >= old[13] else (old, row)
                row = [a if a is not None else b for a, b in zip(first, second, strict=True)]
            heads[key] = row
        keys: dict[tuple[str, str], int] = {}
        with self._db.cursor() as cur:
            cur.executemany(
                "INSERT INTO sessions (runner, session_id, started_at, started_at_unix_s,"
                " protocol, source, device, software_version, virtual, extra, start_zone,"
                " baseline_hr_bpm, baseline_rmssd_ms, last_t_s, ended_at_unix_s, end_reason,"
                " duration_s, expected_samples, expected_estimates, expected_events)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s)"
                " ON CONFLICT (runner, session_id) DO UPDATE SET"
                " start_zone = coalesce(excluded.start_zone, sessions.start_zone),"
                " baseline_hr_bpm = coalesce(excluded.baseline_hr_bpm, sessions.baseline_hr_bpm),"
                " baseline_rmssd_ms ="
                " coalesce(excluded.baseline_rmssd_ms, sessions.baseline_rmssd_ms),"
                " last_t_s = greatest(excluded.last_t_s, sessions.last_t_s),"
                " ended_at_unix_s = coalesce(excluded.ended_at_unix_s, sessions.ended_at_unix_s),"
                " end_reason = coalesce(excluded.end_reason, sessions.end_reason),"
                " duration_s = coalesce(excluded.duration_s, sessions.duration_s),"
                " expected_samples ="
                " coalesce(excluded.expected_samples, sessions.expected_samples),"
                " expected_estimates ="
                " coalesce(excluded.expected_estimates, sessions.expected_estimates),"
                " expected_events = coalesce(excluded.expected_events, sessions.expected_events)"
                " RETURNING id, runner, session_id",
                [heads[k] for k in sorted(heads)],
                returning=True,
            )
            while True:
                for key, runner, session_id in cur.fetchall():
                    keys[(runner, session_id)] = key
                if not cur.nextset():
                    break
        return keys

    def _copy_rows(
        self, messages: Sequence[tuple[str, Message]], keys: dict[tuple[str, str], int]
    ) -> int:
        new = 0
        batches = [
            (keys[(r, m.head.session_id)], m) for r, m in messages if isinstance(m, RowBatch)
        ]
        for table in TABLES:
            if not any(getattr(m, table) for _, m in batches):
                continue
            with self._db.cursor() as cur:
                with cur.copy(f"COPY stage_{table} ({_STAGED[table]}) FROM STDIN") as copy:
                    for key, m in batches:
                        started = dt.datetime.fromtimestamp(m.head.started_at_unix_s, dt.UTC)
                        for row in getattr(m, table):
                            copy.write_row((key, started, *row))
                # In key order: two collectors given the same rows take their
                # locks in the same order, so neither waits on the other in a circle.
                cur.execute(
                    f"INSERT INTO {table} ({_STAGED[table]}) SELECT {_STAGED[table]}"
                    f" FROM stage_{table} ORDER BY session, seq ON CONFLICT DO NOTHING"
                )
                new += max(cur.rowcount, 0)
                cur.execute(f"TRUNCATE stage_{table}")
        return new

    def _store_ratings(
        self, messages: Sequence[tuple[str, Message]], keys: dict[tuple[str, str], int]
    ) -> None:
        rows = [
            (keys[(r, m.head.session_id)], *rating)
            for r, m in messages
            if isinstance(m, SessionEnd)
            for rating in m.ratings
        ]
        if not rows:
            return
        with self._db.cursor() as cur:
            cur.executemany(
                "INSERT INTO ratings (session, phase, tension, pain, anxiety, rated_at_unix_s)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (session, phase) DO UPDATE SET"
                " tension = excluded.tension, pain = excluded.pain,"
                " anxiety = excluded.anxiety, rated_at_unix_s = excluded.rated_at_unix_s",
                rows,
            )

    def _mark_complete(self, keys: Sequence[int]) -> tuple[str, ...]:
        # After the commit, in a statement of its own: whichever of two collectors
        # commits last sees the other's rows, so a session is never left open.
        counted = " AND ".join(
            f"expected_{t} = (SELECT count(*) FROM {t} WHERE session = s.id"
            " AND started_at = s.started_at)"
            for t in TABLES
        )
        with self._db.transaction():
            rows = self._db.execute(
                "UPDATE sessions s SET complete_at = clock_timestamp() WHERE id = ANY(%s)"
                f" AND complete_at IS NULL AND expected_samples IS NOT NULL AND {counted}"
                " RETURNING session_id",
                (list(keys),),
            ).fetchall()
        return tuple(r[0] for r in rows)

    def refuses(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the data itself is refused (sending it again cannot help)."""
        return isinstance(exc, psycopg.errors.DataError | psycopg.errors.IntegrityError)

    def session_counts(self) -> tuple[int, int]:
        """(open, complete) sessions."""
        with self._db.transaction():
            row = self._db.execute(
                "SELECT count(*) FILTER (WHERE complete_at IS NULL),"
                " count(*) FILTER (WHERE complete_at IS NOT NULL) FROM sessions"
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    # -- reading (review, history, exports)

    def _reading(self) -> contextlib.AbstractContextManager[psycopg.Transaction]:
        return self._db.transaction()

    def sessions(
        self, limit: int | None = None, *, runner: str | None = None
    ) -> list[StoredSession]:
        """Sessions, newest first (one runner's with ``runner``)."""
        sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE (%s::text IS NULL OR runner = %s)"
        sql += " ORDER BY started_at_unix_s DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._guard(), self._reading():
            return [session_from_row(r) for r in self._db.execute(sql, (runner, runner))]

    def session(self, ref: str = "latest", *, runner: str | None = None) -> StoredSession:
        return self._find(ref, runner)[1]

    def _find(self, ref: str, runner: str | None) -> tuple[int, StoredSession]:
        who = "" if runner is None else f" of runner {runner!r}"
        with self._guard(), self._reading():
            if ref == "latest":
                rows = self._db.execute(
                    f"SELECT id, runner, {SESSION_COLUMNS} FROM sessions"
                    " WHERE (%s::text IS NULL OR runner = %s)"
                    " ORDER BY started_at_unix_s DESC, id DESC LIMIT 1",
                    (runner, runner),
                ).fetchall()
                if not rows:
                    raise SessionNotFoundError(f"no sessions{who} in {self.where} yet")
            else:
                escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                rows = self._db.execute(
                    f"SELECT id, runner, {SESSION_COLUMNS} FROM sessions"
                    " WHERE session_id LIKE %s AND (%s::text IS NULL OR runner = %s) LIMIT 3",
                    (escaped + "%", runner, runner),
                ).fetchall()
                exact = [r for r in rows if r[2] == ref]
                rows = exact or rows
                if not rows:
                    raise SessionNotFoundError(
                        f"no session {ref!r}{who} in {self.where}; see `biofeedback history`"
                    )
                if len(rows) > 1:
                    if len({r[2] for r in rows}) == 1:
                        raise SessionNotFoundError(
                            f"session {ref!r} was recorded by more than one runner; choose"
                            " one with --runner NAME"
                        )
                    raise SessionNotFoundError(
                        f"{ref!r} matches more than one session; give more of its id"
                    )
        return rows[0][0], session_from_row(rows[0][2:])

    def load(self, ref: str = "latest", *, runner: str | None = None) -> Recording:
        """Everything recorded for one session: the same Recording the SQLite store gives."""
        key, session = self._find(ref, runner)
        quality = {q.value: q for q in Quality}
        with self._guard(), self._reading():
            events = tuple(
                event_from_dict(json.loads(data))
                for (data,) in self._db.execute(
                    "SELECT data FROM events WHERE session = %s ORDER BY seq", (key,)
                )
            )
            estimates = tuple(
                (t, hr, rmssd, arousal, quality[q], artifacts, breath, source)
                for t, hr, rmssd, arousal, q, artifacts, breath, source in self._db.execute(
                    "SELECT t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate,"
                    " breath_per_min, breath_source FROM estimates WHERE session = %s ORDER BY seq",
                    (key,),
                )
            )
            rows = [
                (t, hr, contact, energy, bytes(beats))
                for t, hr, contact, energy, beats in self._db.execute(
                    "SELECT t_s, hr_bpm, contact, energy_kj, beats FROM samples"
                    " WHERE session = %s ORDER BY seq",
                    (key,),
                )
            ]
        everything = b"".join(row[4] for row in rows)
        pairs = struct.unpack(f"<{len(everything) // 8}d", everything)
        return Recording(session, events, estimates, SampleRows(rows), pairs[0::2], pairs[1::2])

    def ratings(
        self, ref: str, *, runner: str | None = None
    ) -> tuple[Ratings | None, Ratings | None]:
        key, _ = self._find(ref, runner)
        found: dict[str, Ratings] = {}
        with self._guard(), self._reading():
            for phase, *values in self._db.execute(
                f"SELECT phase, {', '.join(SCALES)} FROM ratings WHERE session = %s", (key,)
            ):
                found[phase] = Ratings(*values)
        return found.get("before"), found.get("after")

    def outcomes(self, limit: int = 30, *, runner: str | None = None) -> list[SessionOutcome]:
        """The ``limit`` latest sessions as outcomes, newest first (as the local store's)."""
        out: list[SessionOutcome] = []
        with self._guard(), self._reading():
            rows = self._db.execute(
                f"SELECT id, {SESSION_COLUMNS} FROM sessions"
                " WHERE (%s::text IS NULL OR runner = %s)"
                " ORDER BY started_at_unix_s DESC, id DESC LIMIT %s",
                (runner, runner, int(limit)),
            ).fetchall()
            for key, *row in rows:
                s = session_from_row(row)
                tail = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT hr_bpm FROM estimates WHERE session = %s AND t_s > %s"
                        " AND hr_bpm IS NOT NULL ORDER BY seq",
                        (key, s.length_s - FINAL_WINDOW_S),
                    )
                ]
                changes = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT data FROM events WHERE session = %s AND type = 'zone_changed'"
                        " ORDER BY seq",
                        (key,),
                    )
                ]
                found: dict[str, Ratings] = {}
                for phase, *values in self._db.execute(
                    f"SELECT phase, {', '.join(SCALES)} FROM ratings WHERE session = %s", (key,)
                ):
                    found[phase] = Ratings(*values)
                ratings = (found.get("before"), found.get("after"))
                out.append(outcome_of(s, tail, changes, ratings))
        return out

    def _guard(self) -> _Guard:
        return _Guard(self.where)


class _Guard:
    """psycopg errors while reading become one clear CentralError."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            raise CentralError(
                f"the central database {self.where} refused this account: {_one_line(exc)}"
            ) from None
        if isinstance(exc, psycopg.errors.UndefinedTable):
            raise CentralError(
                f"the central database {self.where} holds no sessions yet"
                " (no collector has prepared it)"
            ) from None
        if isinstance(exc, psycopg.Error):
            raise CentralError(
                f"cannot read the central database {self.where}: {_one_line(exc)}"
            ) from None


def _month(unix_s: float) -> dt.date:
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).date().replace(day=1)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
