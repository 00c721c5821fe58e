"""The store's schema: who the file belongs to, its version, and the migrations.

To change the schema, append one function to ``MIGRATIONS`` (it takes the
store from the previous version to the next, inside the migration's single
transaction); ``SCHEMA_VERSION`` follows from the list. Never edit a migration
that has shipped: stores in the wild already ran it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from biofeedback.store.errors import StoreOpenError

# "BFSS" in the header's application_id field: our files say whose they are.
APPLICATION_ID = 0x42465353


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


# Self-ratings before and after a session (0-10; NULL is a scale left out).
def _ratings_v2(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE ratings (
            session INTEGER NOT NULL REFERENCES sessions(id),
            phase TEXT NOT NULL CHECK (phase IN ('before', 'after')),
            tension INTEGER CHECK (tension BETWEEN 0 AND 10),
            pain INTEGER CHECK (pain BETWEEN 0 AND 10),
            anxiety INTEGER CHECK (anxiety BETWEEN 0 AND 10),
            rated_at_unix_s REAL NOT NULL,
            PRIMARY KEY (session, phase)
        ) WITHOUT ROWID
        """,
    )


# The breath in each estimate: breaths a minute and where the rate came from
# ("acc", "rr"; NULL: no rate). Older sessions read back with NULLs.
def _breath_v3(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        ALTER TABLE estimates ADD COLUMN breath_per_min REAL;
        ALTER TABLE estimates ADD COLUMN breath_source TEXT
        """,
    )


# What of a session a broker has acknowledged (`run --mqtt-record`, `sync`): the
# rows below each count, and the end message with that many ratings.
def _shipped_v4(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE shipped (
            session INTEGER NOT NULL REFERENCES sessions(id),
            broker TEXT NOT NULL,
            samples INTEGER NOT NULL DEFAULT 0,
            estimates INTEGER NOT NULL DEFAULT 0,
            events INTEGER NOT NULL DEFAULT 0,
            ended INTEGER NOT NULL DEFAULT 0,
            ratings INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (session, broker)
        ) WITHOUT ROWID
        """,
    )


# Each breath seen on the chest (onset of its in-breath in session seconds, the
# two halves, depth trough to peak in milli-g), and, only with `run --keep-raw`,
# the chest motion itself: one row per batch the strap sent, its samples as
# little-endian int16 milli-g x, y, z triples, zlib-compressed (see
# rows.pack_motion; a strap's milli-g are whole numbers, so nothing is lost).
# A rowid table: a second at 200 Hz can be more than a WITHOUT ROWID row keeps
# on its page, and each would take an overflow page of its own.
def _breaths_v5(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE breaths (
            session INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            onset_t_s REAL NOT NULL,
            inhale_s REAL NOT NULL,
            exhale_s REAL NOT NULL,
            depth_mg REAL NOT NULL,
            PRIMARY KEY (session, seq)
        ) WITHOUT ROWID;
        CREATE TABLE motion (
            session INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            t_s REAL NOT NULL,
            rate_hz REAL NOT NULL,
            xyz BLOB NOT NULL,
            PRIMARY KEY (session, seq)
        )
        """,
    )


# Derived, never the source of truth: a finished session's estimates as one block
# (rows x 8 little-endian float64, in rows.ESTIMATE_BLOCK order, NaN for NULL) and
# all its beats as one BLOB of (beat time s, RR ms) pairs, so a review reads two
# BLOBs instead of ~86,000 rows a day. Written by the recorder as the session ends
# (store/writer.py), or by the first read of an ended session without one that may
# write; used only while it holds as many rows of each as the tables do
# (rows are only ever appended, with gapless seq numbers), rebuilt otherwise.
def _column_blocks_v6(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE column_blocks (
            session INTEGER PRIMARY KEY REFERENCES sessions(id),
            estimates INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            estimate_block BLOB NOT NULL,
            beats BLOB NOT NULL
        )
        """,
    )


# The chest's tables travel to the central copy too: how many breaths and kept
# motion rows each broker acknowledged. A session they had been left out of is
# no longer whole there, so its end message goes again after them (`sync`).
def _shipped_chest_v7(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        ALTER TABLE shipped ADD COLUMN breaths INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE shipped ADD COLUMN motion INTEGER NOT NULL DEFAULT 0;
        UPDATE shipped SET ended = 0
            WHERE session IN (SELECT session FROM breaths UNION SELECT session FROM motion)
        """,
    )


# MIGRATIONS[n] takes a store from schema version n to n + 1. Add new ones at the end.
MIGRATIONS: Sequence[Callable[[sqlite3.Connection], None]] = (
    _schema_v1,
    _ratings_v2,
    _breath_v3,
    _shipped_v4,
    _breaths_v5,
    _column_blocks_v6,
    _shipped_chest_v7,
)
# The first version with column_blocks (a read-only store may be older).
COLUMN_BLOCKS_VERSION = 6
SCHEMA_VERSION = len(MIGRATIONS)


def check_identity(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a database of another program, or one written by a newer biofeedback."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if app_id != APPLICATION_ID:
        tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        if app_id != 0 or tables or version:
            raise StoreOpenError(
                f"{path} is a database of another program, not a biofeedback"
                " session store; choose another file with --db"
            )
    if version > SCHEMA_VERSION:
        raise StoreOpenError(
            f"{path} was written by a newer biofeedback (store version {version},"
            f" this one reads up to {SCHEMA_VERSION}); upgrade biofeedback"
        )


def needs_migration(db: sqlite3.Connection) -> bool:
    return int(db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the store to ``SCHEMA_VERSION`` in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        check_identity(db, path)
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
