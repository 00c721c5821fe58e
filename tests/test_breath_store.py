"""The breath in the store: schema version 3 adds the estimates' breath fields."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from biofeedback.models import Quality
from biofeedback.store import Store
from biofeedback.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION


def test_a_store_of_version_two_reads_its_estimates_without_breath(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        MIGRATIONS[0](db)
        MIGRATIONS[1](db)
        db.execute(
            "INSERT INTO sessions (session_id, started_at_unix_s, protocol, source,"
            " software_version) VALUES ('old2', 1.0, 'full', 'strap', '0.0.1')"
        )
        key = db.execute("SELECT id FROM sessions").fetchone()[0]
        db.execute("INSERT INTO estimates VALUES (?, 0, 1.0, 70.0, 40.0, 0.5, 'ok', 0.0)", (key,))
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("PRAGMA user_version = 2")
    with Store(path) as store:
        (estimate,) = store.load("old2").estimates
    assert estimate.hr_bpm == 70.0
    assert estimate.quality is Quality.OK
    assert estimate.breath_per_min is None
    assert estimate.breath_source is None
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
