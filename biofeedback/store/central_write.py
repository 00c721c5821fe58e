"""Writing the central copy: batches of runners' messages, idempotent.

Rows keep the local record's own sequence numbers, so a write is idempotent:
each batch is COPYed into temporary staging tables and moved with
``INSERT ... ON CONFLICT DO NOTHING``; a message delivered twice, a collector
restarted, or two collectors with the same rows never make a second row.
Sessions are keyed by (runner, session id): a runner's account can only write
into its own sessions (the broker's ACL vouches for the runner in the topic).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg

from biofeedback.models.record import record
from biofeedback.store.central_schema import make_months, month_of
from biofeedback.wire import TABLES, Message, RowBatch, SessionEnd

_SAMPLE_COLUMNS = "session, started_at, seq, t_s, hr_bpm, contact, energy_kj, beats"
_ESTIMATE_COLUMNS = (
    "session, started_at, seq, t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate,"
    " breath_per_min, breath_source"
)
_EVENT_COLUMNS = "session, started_at, seq, t_s, type, data"
_BREATH_COLUMNS = "session, started_at, seq, onset_t_s, inhale_s, exhale_s, depth_mg"
_MOTION_COLUMNS = "session, started_at, seq, t_s, rate_hz, xyz"
_STAGED = {
    "samples": _SAMPLE_COLUMNS,
    "estimates": _ESTIMATE_COLUMNS,
    "events": _EVENT_COLUMNS,
    "breaths": _BREATH_COLUMNS,
    "motion": _MOTION_COLUMNS,
}
_SESSION_STAGED = (
    "runner, session_id, started_at, started_at_unix_s, protocol, source, device,"
    " software_version, virtual, extra, start_zone, baseline_hr_bpm, baseline_rmssd_ms,"
    " last_t_s, ended_at_unix_s, end_reason, duration_s, expected_samples,"
    " expected_estimates, expected_events, expected_breaths, expected_motion"
)


@record(frozen=True, slots=True)
class WriteResult:
    """What one write did: messages taken, rows new and repeated, and the sessions it
    completed."""

    messages: int
    rows_new: int
    rows_repeated: int
    completed: tuple[str, ...]


class BatchWriter:
    """Writes batches on one connection (the staging tables are its own)."""

    def __init__(self, db: psycopg.Connection[Any]) -> None:
        self._db = db
        self._months: set[dt.date] = set()
        self._staged = False

    def write(self, messages: Sequence[tuple[str, Message]]) -> WriteResult:
        """Store a batch of (runner, message) in one transaction; return what was new."""
        if not messages:
            return WriteResult(0, 0, 0, ())
        missing = {month_of(m.head.started_at_unix_s) for _, m in messages} - self._months
        if missing:
            make_months(self._db, missing)
            self._months |= missing
        if not self._staged:
            for table, columns in {"sessions": _SESSION_STAGED, **_STAGED}.items():
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
                *((counts.get(t, 0) for t in TABLES) if counts else (None for _ in TABLES)),
            ]
            old = heads.get(key)
            if old is not None:
                # The further header leads; what it lacks, the other may know.
                first, second = (row, old) if row[13] >= old[13] else (old, row)
                row = [a if a is not None else b for a, b in zip(first, second, strict=True)]
            heads[key] = row
        keys: dict[tuple[str, str], int] = {}
        with self._db.cursor() as cur:
            # COPY, then one statement: a batch holds a message from each of
            # hundreds of sessions, and a statement each cost more than the rows.
            with cur.copy(f"COPY stage_sessions ({_SESSION_STAGED}) FROM STDIN") as copy:
                for key in sorted(heads):
                    copy.write_row(heads[key])
            cur.execute(
                f"INSERT INTO sessions ({_SESSION_STAGED})"
                f" SELECT {_SESSION_STAGED} FROM stage_sessions ORDER BY runner, session_id"
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
                " expected_events = coalesce(excluded.expected_events, sessions.expected_events),"
                " expected_breaths ="
                " coalesce(excluded.expected_breaths, sessions.expected_breaths),"
                " expected_motion = coalesce(excluded.expected_motion, sessions.expected_motion)"
                " RETURNING id, runner, session_id"
            )
            for key, runner, session_id in cur.fetchall():
                keys[(runner, session_id)] = key
            cur.execute("TRUNCATE stage_sessions")
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
        # (An end message from before the chest's tables counted none of them.)
        counted = " AND ".join(
            f"coalesce(expected_{t}, 0) = (SELECT count(*) FROM {t} WHERE session = s.id"
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
