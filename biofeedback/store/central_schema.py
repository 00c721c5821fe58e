"""The central schema: its migrations, and the monthly partitions of the rows tables.

Schema changes go in ``MIGRATIONS``, as in the SQLite store; collectors bring
the schema up to date under an advisory lock, so two starting at once do not
both migrate. The rows tables are partitioned by the month the session started
(a session's rows stay in one partition, so their key includes ``started_at``);
a writer makes each month's partitions before it first writes into them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg

from biofeedback.store.errors import StoreOpenError
from biofeedback.wire import TABLES

# A fixed key for the advisory locks of migrations and partition making.
LOCK_KEY = 0x42465353


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


# The chest's tables (issue 24): each breath seen on the chest, and the chest
# motion a runner kept raw (`run --keep-raw`: its zlib-compressed int16 milli-g
# exactly as the local record holds them), partitioned as the other rows are;
# the months an older store already has get their partitions here.
def _chest_v2(db: psycopg.Connection[Any]) -> None:
    db.execute(
        """
        CREATE TABLE breaths (
            session bigint NOT NULL,
            started_at timestamptz NOT NULL,
            seq integer NOT NULL,
            onset_t_s double precision NOT NULL,
            inhale_s double precision NOT NULL,
            exhale_s double precision NOT NULL,
            depth_mg double precision NOT NULL,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (session, seq, started_at)
        ) PARTITION BY RANGE (started_at);
        CREATE TABLE motion (
            session bigint NOT NULL,
            started_at timestamptz NOT NULL,
            seq integer NOT NULL,
            t_s double precision NOT NULL,
            rate_hz double precision NOT NULL,
            xyz bytea NOT NULL,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (session, seq, started_at)
        ) PARTITION BY RANGE (started_at);
        ALTER TABLE sessions ADD COLUMN expected_breaths integer,
            ADD COLUMN expected_motion integer;
        """
    )
    for (month,) in db.execute("SELECT month FROM partitions").fetchall():
        _partitions(db, month, ("breaths", "motion"))


# MIGRATIONS[n] takes the central schema from version n to n + 1. Add new ones at the end.
MIGRATIONS: Sequence[Callable[[psycopg.Connection[Any]], None]] = (_v1, _chest_v2)
SCHEMA_VERSION = len(MIGRATIONS)


def version(db: psycopg.Connection[Any]) -> int:
    with db.transaction():
        found = db.execute("SELECT to_regclass('biofeedback_schema')").fetchone()
        if found is None or found[0] is None:
            return 0
        row = db.execute("SELECT version FROM biofeedback_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(db: psycopg.Connection[Any], where: str) -> None:
    """Bring the schema to ``SCHEMA_VERSION`` in one transaction."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        db.execute("CREATE TABLE IF NOT EXISTS biofeedback_schema (version integer NOT NULL)")
        row = db.execute("SELECT version FROM biofeedback_schema").fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise StoreOpenError(
                f"the central database {where} has schema version {found};"
                f" this biofeedback knows up to {SCHEMA_VERSION}: upgrade it"
            )
        for step in MIGRATIONS[found:]:
            step(db)
        if row is None:
            db.execute("INSERT INTO biofeedback_schema VALUES (%s)", (SCHEMA_VERSION,))
        else:
            db.execute("UPDATE biofeedback_schema SET version = %s", (SCHEMA_VERSION,))


def make_months(db: psycopg.Connection[Any], months: Iterable[dt.date]) -> None:
    """The partitions of each month (its first day) that another writer has not made."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        known = {r[0] for r in db.execute("SELECT month FROM partitions")}
        for month in sorted(months):
            if month in known:
                continue
            _partitions(db, month, TABLES)
            db.execute("INSERT INTO partitions VALUES (%s)", (month,))


def _partitions(db: psycopg.Connection[Any], month: dt.date, tables: Iterable[str]) -> None:
    following = (month + dt.timedelta(days=32)).replace(day=1)
    for table in tables:
        db.execute(
            f"CREATE TABLE {table}_{month:%Y_%m} PARTITION OF {table}"
            f" FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
        )


def month_of(unix_s: float) -> dt.date:
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).date().replace(day=1)
