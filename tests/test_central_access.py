"""Who may do what: the documented mosquitto ACL and PostgreSQL roles, against the real servers."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import psycopg
import pytest

from biofeedback.broker import MqttSettings, parse_url
from biofeedback.mqtt.collector import Collector
from biofeedback.mqtt.connection import Broker
from biofeedback.store.central import CentralError, CentralStore
from tests.support.broker import Mosquitto
from tests.support.cli import run_cli
from tests.support.postgres import Postgres, central_db, postgres_cluster

__all__ = ["central_db", "postgres_cluster"]  # fixtures

DOCS = Path(__file__).resolve().parent.parent / "docs"
PASSWORDS = {"ana": "ana-pw", "bo": "bo-pw", "collector": "collector-pw"}


def run_session(db: Path, runner: str) -> None:
    proc = run_cli(
        "run", "--sim", "--speed", "max", "--headless", "--duration", "60", "--no-ratings",
        "--db", str(db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def sync_as(broker: Mosquitto, db: Path, account: str, runner: str) -> tuple[int, str]:
    env = {
        "BIOFEEDBACK_MQTT_RUNNER": runner,
        "BIOFEEDBACK_MQTT_USERNAME": account,
        "BIOFEEDBACK_MQTT_PASSWORD": PASSWORDS[account],
    }
    proc = run_cli("sync", "--mqtt", broker.url, "--db", str(db), env=env)
    return proc.returncode, proc.stdout + proc.stderr


async def test_a_runner_may_publish_only_under_its_own_name(
    tmp_path: Path, central_db: str
) -> None:
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = Mosquitto(
        folder, anonymous=False, passwords=PASSWORDS, acl_file=DOCS / "mosquitto.acl"
    )
    broker.start()
    db = tmp_path / "ana.db"
    await asyncio.to_thread(run_session, db, "ana")
    with CentralStore(central_db) as central:
        central.migrate()
    settings = MqttSettings(username="collector", password=PASSWORDS["collector"])
    collector = Collector(
        Broker.prepare(parse_url(broker.url), settings),
        lambda: CentralStore(central_db),
        name="acl-collector",
        status=lambda _: None,
    )
    task = asyncio.create_task(collector.run())
    try:
        await asyncio.wait_for(collector.subscribed.wait(), 10)
        # Ana's account, publishing as if it were Bo: the broker says no, and
        # nothing counts as sent (it stays for a sync with the right account).
        code, out = await asyncio.to_thread(sync_as, broker, db, "ana", "bo")
        assert code == 2, out
        assert "refused" in out
        assert "biofeedback/bo/" in out
        # Under its own name it goes through, to the collector's shared subscription.
        code, out = await asyncio.to_thread(sync_as, broker, db, "ana", "ana")
        assert code == 0, out

        async def complete() -> None:
            while collector.counts.completed < 1:
                collector.committed.clear()
                await collector.committed.wait()

        await asyncio.wait_for(complete(), 10)
    finally:
        collector.stop()
        await asyncio.wait_for(task, 10)
        broker.stop()
    with psycopg.connect(central_db) as pg:
        assert pg.execute("SELECT DISTINCT runner FROM sessions").fetchall() == [("ana",)]
    assert collector.counts.refused == 0


def test_collectors_write_and_reviewers_only_read(
    postgres_cluster: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = postgres_cluster.fresh_database()
    with postgres_cluster.admin(name) as admin:
        for statement in (DOCS / "postgres-roles.sql").read_text().split(";"):
            lines = [ln for ln in statement.splitlines() if not ln.strip().startswith("--")]
            if "".join(lines).strip():
                # Roles are cluster-wide: an earlier test database may have made them.
                with contextlib.suppress(psycopg.errors.DuplicateObject):
                    admin.execute("\n".join(lines))
        admin.execute("ALTER ROLE biofeedback_collector PASSWORD 'collector-pw'")
        admin.execute("ALTER ROLE biofeedback_reviewer PASSWORD 'reviewer-pw'")
    writer_url = postgres_cluster.url(name, "biofeedback_collector")
    reader_url = postgres_cluster.url(name, "biofeedback_reviewer")
    monkeypatch.setenv("PGPASSWORD", "collector-pw")
    with CentralStore(writer_url) as central:
        central.migrate()
    monkeypatch.setenv("PGPASSWORD", "reviewer-pw")
    with CentralStore(reader_url) as reader:
        assert reader.sessions() == []
        with pytest.raises(CentralError, match="cannot prepare"):
            reader.migrate()
    with psycopg.connect(reader_url) as pg, pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg.execute(
            "INSERT INTO ratings VALUES (1, 'before', 1, 1, 1, 0)",
        )
