"""The central copy: the record on the wire, PostgreSQL written idempotently, review from it.

A real PostgreSQL cluster (tests/support/postgres.py, started once per test
session) and real SQLite records made by the CLI from the simulator's people.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest

from biofeedback.cli import main
from biofeedback.store import Store
from biofeedback.store.central import CentralError, CentralStore
from biofeedback.store.outgoing import RecordOutbox
from biofeedback.wire import RowBatch, SessionEnd, decode, encode
from simulators.scenario import scenario_names
from tests.support.postgres import Postgres, central_db, postgres_cluster

__all__ = ["central_db", "postgres_cluster"]  # fixtures


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short session of each simulated person, recorded by the CLI."""
    db = tmp_path_factory.mktemp("records") / "sessions.db"
    for name in scenario_names():
        code = main(
            ["run", "--sim", name, "--speed", "max", "--headless", "--duration", "200",
             "--db", str(db), "--rate-before", "6,2,4", "--rate-after", "3,1,2"]
        )  # fmt: skip
        assert code == 0
    return db


def review_json(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["review", "--json", *args]) == 0
    return capsys.readouterr().out


def ship_directly(db: Path, central: CentralStore, runner: str, *, twice: bool = False) -> int:
    """Every session's messages through the wire format into the central store.

    As if to a broker of its own (each call a new one), so all is sent each time.
    """
    sent = 0
    with Store(db) as store:
        outbox = RecordOutbox(store, uuid.uuid4().hex)
        for session_id in outbox.unsent_sessions("all"):
            while items := outbox.pending(session_id):
                wire = [decode(encode(i.message, sent_at_unix_s=1.0))[0] for i in items]
                central.write([(runner, m) for m in wire])
                if twice:
                    central.write([(runner, m) for m in reversed(wire)])
                for item in items:
                    outbox.acknowledged(session_id, item.mark)
                sent += len(items)
    return sent


def test_review_from_postgres_equals_review_from_sqlite_for_every_scenario(
    records: Path, central_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with CentralStore(central_db) as central:
        central.migrate()
        ship_directly(records, central, "ana", twice=True)
        assert central.session_counts() == (0, len(scenario_names()))
    with Store(records) as store:
        ids = [s.session_id for s in store.sessions()]
    assert len(ids) == len(scenario_names())
    for session_id in ids:
        local = review_json(capsys, session_id, "--db", str(records))
        remote = review_json(capsys, session_id, "--db", central_db, "--runner", "ana")
        assert json.loads(local)["ratings"]  # the ratings travelled too
        assert remote == local


def test_history_from_postgres_equals_history_from_sqlite(
    records: Path, central_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with CentralStore(central_db) as central:
        central.migrate()
        ship_directly(records, central, "ana")
    capsys.readouterr()
    assert main(["history", "--json", "--db", str(records)]) == 0
    local = capsys.readouterr().out
    assert main(["history", "--json", "--db", central_db, "--runner", "ana"]) == 0
    remote = capsys.readouterr().out
    assert json.loads(local)["practice"]  # the practice part is there to compare
    assert remote == local


def test_each_row_is_stored_once_whatever_is_sent_again(records: Path, central_db: str) -> None:
    with CentralStore(central_db) as central:
        central.migrate()
        central.migrate()  # a second collector starting: nothing to do
        first = ship_directly(records, central, "ana")
        # Everything again, as after lost acknowledgements: no new row.
        again = ship_directly(records, central, "ana")
        assert again == first > 0
    with Store(records) as store, psycopg.connect(central_db) as db:
        for table in ("samples", "estimates", "events"):
            with store.reading() as conn:
                local = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            remote = db.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert remote is not None
            assert remote[0] == local
        # Partitioned by the month the sessions started.
        parts = db.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent"
            " WHERE c.relname = 'samples'"
        ).fetchone()
        assert parts is not None
        assert parts[0] >= 1


def test_a_session_of_two_runners_needs_runner_to_choose(
    records: Path, central_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with CentralStore(central_db) as central:
        central.migrate()
        ship_directly(records, central, "ana")
        ship_directly(records, central, "bo")
        session_id = central.sessions(runner="bo")[0].session_id
    capsys.readouterr()
    assert main(["review", session_id, "--json", "--db", central_db]) == 2
    assert "--runner" in capsys.readouterr().err
    assert main(["review", session_id, "--json", "--db", central_db, "--runner", "bo"]) == 0
    capsys.readouterr()
    assert main(["history", "--json", "--db", central_db, "--runner", "bo"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert len(history["sessions"]) == len(scenario_names())


def test_the_end_message_comes_after_every_row_and_counts_them(records: Path) -> None:
    with Store(records) as store:
        outbox = RecordOutbox(store, "count")
        session_id = store.sessions()[0].session_id
        items = outbox.pending(session_id, limit=1000)
    assert isinstance(items[-1].message, SessionEnd)
    rows = [i.message for i in items if isinstance(i.message, RowBatch)]
    counts = items[-1].message.counts
    assert sum(len(m.samples) for m in rows) == counts["samples"] > 0
    assert sum(len(m.events) for m in rows) == counts["events"] > 0
    seqs = [r[0] for m in rows for r in m.estimates]
    assert seqs == list(range(counts["estimates"]))


def test_a_password_in_the_url_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], postgres_cluster: Postgres
) -> None:
    url = f"postgresql://postgres:secret@127.0.0.1:{postgres_cluster.port}/postgres"
    assert main(["review", "--json", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "PGPASSWORD" in err
    assert "secret" not in err
    with pytest.raises(CentralError, match="cannot reach"):
        CentralStore(f"postgresql://nobody-here@127.0.0.1:{postgres_cluster.port}/x")
