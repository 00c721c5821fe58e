"""The central copy: publishing the record (`run --mqtt-record`, `sync`) and `collect`.

Here the local store, the broker and the central store meet: the store and
MQTT packages do not know each other, so their parts are joined here.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from biofeedback.cli.common import EXIT_OK, UsageError

if TYPE_CHECKING:
    from biofeedback.broker import MqttSettings
    from biofeedback.mqtt.connection import Broker
    from biofeedback.mqtt.record import RecordPublisher, Shipment
    from biofeedback.store import Store
    from biofeedback.store.central import CentralStore
    from biofeedback.store.outgoing import RecordOutbox


class StoreFeed:
    """The local record as record messages for one broker (mqtt.record.RecordFeed)."""

    def __init__(self, db_path: Path, where: str, runner: str) -> None:
        self.db_path = db_path
        self.where = where
        self.runner = runner
        self._store: Store | None = None
        self._outbox: RecordOutbox | None = None

    @property
    def outbox(self) -> RecordOutbox:
        from biofeedback.store import Store
        from biofeedback.store.outgoing import RecordOutbox

        if self._outbox is None:
            self._store = Store(self.db_path)
            self._outbox = RecordOutbox(self._store, self.where)
        return self._outbox

    def pending(self, session_id: str) -> Sequence[Shipment]:
        from biofeedback.mqtt.record import Shipment
        from biofeedback.wire import RowBatch, encode, record_topic

        outbox = self.outbox
        topic = record_topic(self.runner, session_id)
        now = time.time()
        return [
            Shipment(
                topic,
                encode(item.message, sent_at_unix_s=now),
                item.message.rows if isinstance(item.message, RowBatch) else 0,
                functools.partial(outbox.acknowledged, session_id, item.mark),
            )
            for item in outbox.pending(session_id)
        ]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._outbox = None


def records_wanted(mqtt_record: bool, mqtt: str | None, settings: MqttSettings) -> bool:
    """Whether the whole record goes to the broker: ``--mqtt-record`` or ``record``
    in ``[mqtt]``, and a broker (``--mqtt``) to send it to."""
    if mqtt_record and not mqtt:
        raise UsageError("--mqtt-record needs --mqtt URL (the broker to publish to)")
    return (mqtt_record or settings.record) and bool(mqtt)


def record_publisher(url: str, db_path: Path) -> RecordPublisher:
    from biofeedback.broker import load_settings, parse_url
    from biofeedback.mqtt.connection import Broker
    from biofeedback.mqtt.record import RecordPublisher

    settings = load_settings()
    broker = Broker.prepare(parse_url(url), settings)
    return RecordPublisher(broker, StoreFeed(db_path, broker.url.where, settings.runner))


def need_psycopg() -> None:
    """The central store's library is an extra: say how to get it, not a traceback."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise UsageError("the central database needs psycopg: pip install 'biofeedback[central]'")


# --------------------------------------------------------------------------
# sync


def cmd_sync(args: argparse.Namespace) -> int:
    # asyncio (with ssl and sockets) only for the commands that talk to a broker:
    # every command's start, `--help` included, imports this module.
    import asyncio

    from biofeedback.broker import load_settings, parse_url
    from biofeedback.mqtt.connection import Broker
    from biofeedback.store import StoreError, resolve_db_path

    path = resolve_db_path(args.db)
    if not path.exists():
        raise StoreError(f"no sessions recorded yet (no store at {path})")
    settings = load_settings()
    broker = Broker.prepare(parse_url(args.mqtt), settings)
    feed = StoreFeed(path, broker.url.where, settings.runner)
    try:
        if args.again:
            feed.outbox.forget(args.session)
        sessions = feed.outbox.unsent_sessions(args.session)
        return asyncio.run(_sync(broker, feed, sessions))
    finally:
        feed.close()


async def _sync(broker: Broker, feed: StoreFeed, sessions: list[str]) -> int:
    from biofeedback.mqtt.connection import BrokerUnavailable
    from biofeedback.mqtt.record import ShipCounts, sync_sessions

    if not sessions:
        print(f"sync: nothing to send; {broker.url.where} has every session")
        return EXIT_OK
    try:
        results = await sync_sessions(broker, feed.pending, sessions)
    except BrokerUnavailable as exc:
        raise UsageError(
            f"the broker {broker.url.where} cannot take the record now ({exc}); nothing is"
            " lost: run sync again later"
        ) from None
    total = ShipCounts()
    for session_id, counts in results:
        total.messages += counts.messages
        total.rows += counts.rows
        print(
            f"sync: session {session_id}: {counts.rows} rows in {counts.messages} messages"
            f" acknowledged by {broker.url.where}"
        )
    print(f"sync: {len(results)} sessions, {total.rows} rows sent")
    return EXIT_OK


# --------------------------------------------------------------------------
# collect


def cmd_collect(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from biofeedback.broker import load_settings, parse_url
    from biofeedback.mqtt.collector import Collector
    from biofeedback.mqtt.connection import Broker
    from biofeedback.store.central import CentralStore, check_url

    need_psycopg()
    url = check_url(args.db)
    if args.max_waiting < 1:
        raise UsageError("--max-waiting must be at least 1")
    broker = Broker.prepare(parse_url(args.broker), load_settings())
    # The schema is made (or brought up to date) before anything is taken.
    with CentralStore(url) as central:
        central.migrate()

    def open_writer() -> CentralStore:
        return CentralStore(url)

    name = args.name or f"collector-{_host()}"
    collector = Collector(
        broker,
        open_writer,
        name=name,
        group=args.group,
        max_waiting=args.max_waiting,
        status_every_s=args.status_every,
        status=lambda line: print(line, flush=True),
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, collector.stop)
        print(
            f"collect {name}: from {broker.url.where} (group {args.group}) into"
            f" {_shown(url)}; one status line a minute",
            flush=True,
        )
        await collector.run()

    asyncio.run(main())
    return EXIT_OK


def _host() -> str:
    import socket

    return "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:40]


def _shown(url: str) -> str:
    return url.split("@")[-1]


# --------------------------------------------------------------------------
# review from the central store


def central_reader(args: argparse.Namespace) -> CentralStore | None:
    """The central store when ``--db`` names one, else None (the local SQLite store)."""
    db = getattr(args, "db", None)
    if not (db and str(db).startswith(("postgresql://", "postgres://"))):
        if getattr(args, "runner", None):
            raise UsageError(
                "--runner chooses a person in a central database: add --db postgresql://..."
            )
        return None
    need_psycopg()
    from biofeedback.store.central import CentralStore

    return CentralStore(args.db)
