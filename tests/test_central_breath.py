"""The chest's tables in the central copy: each breath, and the motion kept raw (issue 24).

A real PostgreSQL cluster (tests/support/postgres.py) and real SQLite records
made by the CLI from the simulator: the breath-holder (a chest, its motion kept
with ``--keep-raw``) and a calm person (no chest). What travels is read back
row for row, and every review output that uses the breaths is the same from
either store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from biofeedback.cli import main
from biofeedback.store import Store
from biofeedback.store import outgoing as outgoing_module
from biofeedback.store.central import CentralStore
from biofeedback.store.central_schema import MIGRATIONS, month_of
from biofeedback.store.outgoing import RecordOutbox
from biofeedback.wire import TABLES, Message, RowBatch, SessionEnd, WireError, decode, encode
from tests.support.postgres import central_db, postgres_cluster

__all__ = ["central_db", "postgres_cluster"]  # fixtures

RUN = ("--speed", "max", "--headless", "--audio", "off", "--no-ratings")
CHEST = ("breaths", "motion")


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The breath-holder with its chest motion kept, then a calm person (no chest)."""
    db = tmp_path_factory.mktemp("chest") / "sessions.db"
    sim = ("run", "--sim", "breath-holder", "--duration", "180", "--keep-raw")
    assert main([*sim, *RUN, "--db", str(db)]) == 0
    assert main(["run", "--sim", "calm", "--duration", "60", *RUN, "--db", str(db)]) == 0
    return db


def ids(db: Path) -> tuple[str, str]:
    """(chest session, calm session)."""
    with Store(db) as store:
        calm, chest = (s.session_id for s in store.sessions())
    return chest, calm


def without_chest(message: Message) -> Message:
    """The message as a runner from before the chest's tables sent it."""
    if isinstance(message, RowBatch):
        return dataclasses.replace(message, breaths=(), motion=())
    counts = {t: n for t, n in message.counts.items() if t not in CHEST}
    return dataclasses.replace(message, counts=counts)


def ship(
    db: Path,
    central: CentralStore,
    runner: str,
    *,
    broker: str | None = None,
    twice: bool = False,
    old: bool = False,
) -> list[Message]:
    """What the record sends to ``broker`` (a new one if None), through the wire
    format into the central store; ``old``: as a runner before the chest's tables."""
    sent: list[Message] = []
    with Store(db) as store:
        outbox = RecordOutbox(store, broker or uuid.uuid4().hex)
        for session_id in outbox.unsent_sessions("all"):
            while items := outbox.pending(session_id):
                messages = [without_chest(i.message) if old else i.message for i in items]
                wire = [decode(encode(m, sent_at_unix_s=1.0))[0] for m in messages]
                central.write([(runner, m) for m in wire])
                if twice:
                    central.write([(runner, m) for m in reversed(wire)])
                for item in items:
                    outbox.acknowledged(session_id, item.mark)
                sent += wire
    return sent


COLUMNS = {
    "breaths": "seq, onset_t_s, inhale_s, exhale_s, depth_mg",
    "motion": "seq, t_s, rate_hz, xyz",
}


def local_rows(db: Path, table: str, session_id: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            f"SELECT {COLUMNS[table]} FROM {table} WHERE session ="
            " (SELECT id FROM sessions WHERE session_id = ?) ORDER BY seq",
            (session_id,),
        ).fetchall()


def central_rows(url: str, table: str, session_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as pg:
        return [
            tuple(bytes(v) if isinstance(v, memoryview | bytes) else v for v in row)
            for row in pg.execute(
                f"SELECT {COLUMNS[table]} FROM {table} WHERE session ="
                " (SELECT id FROM sessions WHERE session_id = %s) ORDER BY seq",
                (session_id,),
            )
        ]


def reviews(
    capsys: pytest.CaptureFixture[str], png: Path | None, session_id: str, *db: str
) -> dict[str, bytes]:
    """Every review output that uses the breaths: text, --csv, --json (and --png)."""
    out: dict[str, bytes] = {}
    picture = ("--png", str(png)) if png else ()
    for name, extra in (("text", ()), ("csv", ("--csv", "-")), ("json", ("--json", *picture))):
        capsys.readouterr()
        assert main(["review", session_id, *extra, *db]) == 0
        out[name] = capsys.readouterr().out.encode()
    if png:
        out["png"] = png.read_bytes()
    return out


def test_breaths_and_kept_motion_travel_once_and_review_the_same_from_postgres(
    records: Path, central_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chest, calm = ids(records)
    with CentralStore(central_db) as central:
        central.migrate()
        ship(records, central, "ana", twice=True)
        # Everything again, as after lost acknowledgements: stored once.
        ship(records, central, "ana")
        assert central.session_counts() == (0, 2)
    # Every review output that uses the breaths, from either store.
    seen: dict[str, str] = {}
    for session_id in (chest, calm):
        # The picture of the chest session (the calm one's has no breath panel).
        png = tmp_path / "local.png" if session_id == chest else None
        local = reviews(capsys, png, session_id, "--db", str(records))
        png = png and tmp_path / "remote.png"
        remote = reviews(capsys, png, session_id, "--db", central_db, "--runner", "ana")
        assert set(remote) == set(local)
        for output in local:
            assert remote[output] == local[output], output
        seen[session_id] = local["text"].decode()
    assert (tmp_path / "remote.png").stat().st_size > 10_000
    with Store(records) as store:
        local_breaths = store.load(chest).breaths
        local_motion = store.motion(chest)
    # The text shows each breath's halves and depth (the breaths table) for the chest.
    assert f"{len(local_breaths)} breaths, in" in seen[chest]
    assert "breath (seen on the chest)" not in seen[calm]
    # Row for row, and as the stores read them back.
    for table in CHEST:
        assert central_rows(central_db, table, chest) == local_rows(records, table, chest)
        assert central_rows(central_db, table, calm) == local_rows(records, table, calm) == []
    assert len(local_breaths) > 15
    assert len(local_motion) > 150
    with CentralStore(central_db) as central:
        assert central.load(chest, runner="ana").breaths == local_breaths
        assert central.motion(chest, runner="ana") == local_motion
        assert central.load(calm).breaths == ()
        assert central.motion(calm) == []


def test_a_session_without_breath_travels_as_before(records: Path) -> None:
    _, calm = ids(records)
    with Store(records) as store:
        outbox = RecordOutbox(store, "as-before")
        items = outbox.pending(calm, limit=1000)
    assert isinstance(items[-1].message, SessionEnd)
    for item in items:
        data = json.loads(encode(item.message, sent_at_unix_s=1.0))
        # The messages of a session without a chest are those of before the chest's
        # tables: an older collector reads them as it always did.
        assert "breaths" not in data
        assert "motion" not in data
        if data["kind"] == "end":
            assert set(data["counts"]) == {"samples", "estimates", "events"}
    # And an older runner's messages read as having no chest rows.
    end = decode(encode(without_chest(items[-1].message), sent_at_unix_s=1.0))[0]
    assert isinstance(end, SessionEnd)
    assert end.counts["breaths"] == end.counts["motion"] == 0


def test_kept_motion_is_split_to_keep_each_message_small(
    records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chest, _ = ids(records)
    budget = 4_000
    monkeypatch.setattr(outgoing_module, "MOTION_BYTES_PER_MESSAGE", budget)
    with Store(records) as store:
        items = RecordOutbox(store, "split").pending(chest, limit=1000)
    batches = [i.message for i in items if isinstance(i.message, RowBatch)]
    end = items[-1].message
    assert isinstance(end, SessionEnd)
    with_motion = [m for m in batches if m.motion]
    assert len(with_motion) >= 5
    for m in with_motion:
        assert sum(len(r[3]) for r in m.motion) <= budget or len(m.motion) == 1
    for table in TABLES:
        seqs = [r[0] for m in batches for r in getattr(m, table)]
        assert seqs == list(range(end.counts[table]))
    assert end.counts["motion"] == len(local_rows(records, "motion", chest)) > 150
    assert end.counts["breaths"] == len(local_rows(records, "breaths", chest)) > 15


def test_an_older_central_store_and_an_older_record_catch_up_in_place(
    records: Path, central_db: str, tmp_path: Path
) -> None:
    """A central store of schema 1 and a runner's record that shipped everything
    before breaths travelled: after the upgrade, `sync` sends the chest's rows."""
    chest, _ = ids(records)
    db = tmp_path / "old.db"
    shutil.copy(records, db)
    with Store(db) as store:
        started = store.session(chest).started_at_unix_s
    # The central store as the first collectors made it, with this month's partitions.
    month = month_of(started)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    with psycopg.connect(central_db) as pg, pg.transaction():
        pg.execute("CREATE TABLE biofeedback_schema (version integer NOT NULL)")
        MIGRATIONS[0](pg)
        pg.execute("INSERT INTO biofeedback_schema VALUES (1)")
        for table in ("samples", "estimates", "events"):
            pg.execute(
                f"CREATE TABLE {table}_{month:%Y_%m} PARTITION OF {table}"
                f" FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
            )
        pg.execute("INSERT INTO partitions VALUES (%s)", (month,))
        # One session an older collector wrote.
        pg.execute(
            "INSERT INTO sessions (runner, session_id, started_at, started_at_unix_s, protocol,"
            " source, software_version, virtual, extra, last_t_s, expected_samples,"
            " expected_estimates, expected_events, complete_at) VALUES ('old', 'old1',"
            " to_timestamp(%s), %s, 'full', 'strap', '0.1.0', false, '{}', 0, 0, 0, 0, now())",
            (started, started),
        )
    with CentralStore(central_db) as central:
        assert central.version() == 1
        # A reviewer upgraded before the collectors reads it, without breaths.
        assert central.load("old1").breaths == ()
        assert central.motion("old1") == []
        central.migrate()
        assert central.version() == len(MIGRATIONS) == 2
        # What an older runner sent: no chest rows, end messages counting none.
        ship(db, central, "ana", broker="the-broker", old=True)
        assert central.session_counts() == (0, 3)
        assert central.load(chest, runner="ana").breaths == ()
    # The runner's record as that older runner left it (store schema 6).
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE shipped DROP COLUMN breaths")
        conn.execute("ALTER TABLE shipped DROP COLUMN motion")
        conn.execute("PRAGMA user_version = 6")
        ended = "SELECT count(*) FROM shipped WHERE ended = 1 AND broker = 'the-broker'"
        assert conn.execute(ended).fetchone()[0] == 2
    with CentralStore(central_db) as central:
        # Upgraded, the record sends the chest session's breaths and motion and
        # its end message again, and nothing else.
        again = ship(db, central, "ana", broker="the-broker")
        assert again
        assert {m.head.session_id for m in again} == {chest}
        assert not any(
            m.samples or m.estimates or m.events for m in again if isinstance(m, RowBatch)
        )
        assert isinstance(again[-1], SessionEnd)
        assert ship(db, central, "ana", broker="the-broker") == []
        remote = central.load(chest, runner="ana").breaths
        assert central.motion(chest, runner="ana")
    with Store(db) as store:
        assert remote == store.load(chest).breaths
    with psycopg.connect(central_db) as pg:
        row = pg.execute(
            "SELECT expected_breaths, expected_motion FROM sessions WHERE session_id = %s",
            (chest,),
        ).fetchone()
    assert row == (len(local_rows(db, "breaths", chest)), len(local_rows(db, "motion", chest)))


def test_chest_motion_that_is_not_base64_is_refused_as_a_wire_error(records: Path) -> None:
    chest, _ = ids(records)
    with Store(records) as store:
        first = RecordOutbox(store, "bad").pending(chest, limit=1)[0].message
    assert isinstance(first, RowBatch)
    assert first.motion
    data = json.loads(encode(first, sent_at_unix_s=1.0))
    assert decode(json.dumps(data).encode())[0] == first
    for bad in ("not base64!", 12):
        data["motion"][0][3] = bad
        with pytest.raises(WireError, match=r"cannot be read|base64"):
            decode(json.dumps(data).encode())
