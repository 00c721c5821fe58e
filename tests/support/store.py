"""Sessions recorded into a real store, as `biofeedback run` records them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.session import ActionInbox
from biofeedback.models import SessionInfo
from biofeedback.store import RecorderSink


def info(session_id: str, started: float = 1_700_000_000.0) -> SessionInfo:
    return SessionInfo(session_id, "full", "simulator:calm", started)


async def record_sim(
    db: Path, session_id: str, *, duration_s: float = 120.0, actions: ActionInbox | None = None
) -> None:
    """`biofeedback run --sim calm --seed 3 --protocol full --zone green --speed max`."""
    request = SessionRequest(
        sim="calm",
        seed=3,
        protocol="full",
        zone="green",
        speed=None,
        duration_s=duration_s,
        audio="off",
        use_profile=False,
        db=str(db),
    )
    plan = build_session(request, actions=actions, session_id=session_id)
    await plan.run()


# SQLite's own page limit answers SQLITE_FULL exactly as a full disk does. The limit
# belongs to one connection, so only the recorder's own can fill its disk: the one
# place a test reaches inside it.
def fill_disk(sink: RecorderSink) -> None:
    """From now on the recorder's store is full."""
    db = _connection(sink)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


def free_disk(sink: RecorderSink) -> None:
    """Space has come back."""
    _connection(sink).execute("PRAGMA max_page_count = 1073741823")


def _connection(sink: RecorderSink) -> sqlite3.Connection:
    store = sink._store  # noqa: SLF001 (see above)
    assert store is not None, "the recorder has not started"
    return store._db  # noqa: SLF001


def damage_pages(db: Path, filler: bytes) -> bytes:
    """Overwrite pages 4-7 of the store ``db`` (at least 9 pages) with ``filler``,
    repeated or cut to their length; the damaged file's bytes."""
    with sqlite3.connect(db) as raw:
        page = raw.execute("PRAGMA page_size").fetchone()[0]
        assert raw.execute("PRAGMA page_count").fetchone()[0] > 8
    raw.close()
    with open(db, "r+b") as fh:
        fh.seek(3 * page)
        fh.write((filler * (4 * page // len(filler) + 1))[: 4 * page])
    return db.read_bytes()
