"""The session store: a real SQLite file, the real recorder, real processes."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from biofeedback.loop.session import ActionInbox
from biofeedback.models import (
    Action,
    Advice,
    Baseline,
    Contact,
    Estimate,
    HeartSample,
    Quality,
    SessionEnded,
    SessionInfo,
    SessionStarted,
    Zone,
)
from biofeedback.store import (
    RecorderSink,
    SessionNotFoundError,
    Store,
    StoreError,
    StoreOpenError,
    default_db_path,
    resolve_db_path,
)
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.store import fill_disk, free_disk, info, record_sim


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- where the store lives


def test_db_path_from_option_then_env_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIOFEEDBACK_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(str(tmp_path / "opt.db")) == tmp_path / "opt.db"
    assert resolve_db_path(None) == tmp_path / "env.db"
    monkeypatch.delenv("BIOFEEDBACK_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "biofeedback" / "sessions.db"


def test_default_store_is_created_private_in_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BIOFEEDBACK_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--duration", "5")
    assert proc.returncode == 0, proc.stderr
    db = tmp_path / "xdg" / "biofeedback" / "sessions.db"
    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700
    assert mode(tmp_path / "xdg") == 0o700
    with Store(db) as store:
        assert len(store.sessions()) == 1


def test_store_files_are_private_while_open(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(mode=0o755)
    os.chmod(tmp_path / "a", 0o755)
    db = tmp_path / "a" / "b" / "c" / "sessions.db"
    with Store(db) as store:
        writer = store.begin_session(info("s1"))
        writer.write([HeartSample(1.0, 60.0, (1000.0,), (1.0,), Contact.DETECTED)])
        files = sorted(p.name for p in db.parent.iterdir())
        assert files == ["sessions.db", "sessions.db-shm", "sessions.db-wal"]
        assert {mode(db.parent / name) for name in files} == {0o600}
    assert mode(db.parent) == mode(db.parent.parent) == 0o700
    # A folder that existed before is the user's: left as it was.
    assert mode(tmp_path / "a") == 0o755


# -- what a session leaves behind


async def test_recorder_keeps_every_item_of_a_session(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    inbox = ActionInbox()
    inbox.schedule(70.0, Action.SKIP)
    inbox.schedule(80.0, Action.HURTS)
    await record_sim(db, "rec1", duration_s=150.0, actions=inbox)
    with Store(db) as store:
        rec = store.load("rec1")
    s = rec.session
    assert s.finished
    assert s.end_reason == "duration reached"
    assert s.duration_s == 150.0
    assert s.start_zone is Zone.GREEN
    assert s.virtual
    assert s.baseline_hr_bpm is not None
    assert 40 < s.baseline_hr_bpm < 120
    assert next(e.type for e in rec.events) == "session_started"
    assert rec.events[-1].type == "session_ended"
    assert [e.to_dict()["action"] for e in rec.events if e.type == "user_action"] == [
        "skip",
        "hurts",
    ]
    ticks = [e.t for e in rec.estimates]
    assert ticks == [float(t) for t in range(1, len(ticks) + 1)]
    assert len(ticks) >= 148
    # Notifications about once a second; every beat kept with its time.
    notes = [x.t_s for x in rec.samples]
    assert len(notes) >= 148
    assert all(0.9 < b - a < 1.1 for a, b in itertools.pairwise(notes))
    beat_t = [t for x in rec.samples for t in x.beat_t_s]
    assert beat_t == sorted(beat_t)
    assert len(beat_t) > 120
    assert all(len(x.rr_ms) == len(x.beat_t_s) for x in rec.samples)


async def test_two_sessions_record_into_one_store_at_once(tmp_path: Path) -> None:
    db = tmp_path / "both.db"
    await asyncio.gather(record_sim(db, "one"), record_sim(db, "two"))
    with Store(db) as store:
        ids = {s.session_id for s in store.sessions()}
        one, two = store.load("one"), store.load("two")
    assert ids == {"one", "two"}
    # The same simulated person heard the same cues: the same beats, all kept.
    assert len(one.samples) >= 118
    assert one.samples == two.samples
    assert one.session.finished
    assert two.session.finished


def test_two_processes_record_into_one_store_at_once(tmp_path: Path) -> None:
    db = tmp_path / "procs.db"
    argv = [sys.executable, "-m", "biofeedback", "run", "--sim", "--headless", "--json"]
    argv += ["--speed", "40", "--duration", "40", "--db", str(db)]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    with Store(db) as store:
        sessions = store.sessions()
        assert len(sessions) == 2
        for s in sessions:
            assert s.finished
            assert len(store.load(s.session_id).samples) >= 38


def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from biofeedback.models import SessionInfo\n"
        "from biofeedback.store import Store\n"
        "with Store(sys.argv[1]) as s:\n"
        "    s.begin_session(SessionInfo(sys.argv[2], 'full', 'x', 1.0))\n"
    )
    for round_ in range(2):
        db = tmp_path / f"new{round_}.db"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(db), f"s{n}"],
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, errors
        with Store(db) as store:
            assert {s.session_id for s in store.sessions()} == {"s0", "s1", "s2", "s3"}


async def test_recorder_commits_within_a_second_without_a_sample(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    sink = RecorderSink(db)
    await sink.start(info("c1"))
    await sink.handle(SessionStarted(0.0, "c1", "full", "sim", Zone.GREEN))
    # Nothing else arrives, yet the event reaches the disk on the wall-time rule.
    await asyncio.wait_for(sink.committed.wait(), timeout=5)
    reader = sqlite3.connect(db)
    assert reader.execute("SELECT type FROM events").fetchall() == [("session_started",)]
    assert sink.commits == 1
    await sink.stop()
    reader.close()


def test_unfinished_session_is_recognised(tmp_path: Path) -> None:
    db = tmp_path / "u.db"
    with Store(db) as store:
        writer = store.begin_session(info("u1"))
        writer.write(
            [
                SessionStarted(0.0, "u1", "full", "sim", Zone.GREEN),
                HeartSample(1.0, 61.0, (990.0,), (0.99,), Contact.DETECTED),
                Estimate(1.0, 61.0, None, None, Quality.HR_ONLY, 0.0),
                HeartSample(2.0, 62.0, (960.0,), (1.95,), Contact.DETECTED),
            ]
        )
    with Store(db) as store:
        s = store.session("latest")
    assert not s.finished
    assert s.end_reason is None
    assert s.last_t_s == 2.0
    assert s.length_s == 2.0


# -- finding and removing sessions


def test_session_by_id_prefix_or_latest(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    with Store(db) as store:
        for n, sid in enumerate(["aaa111", "aaa222", "bbb333"]):
            store.begin_session(info(sid, 1000.0 + n))
        assert store.session("latest").session_id == "bbb333"
        assert store.session("aaa2").session_id == "aaa222"
        assert store.session("aaa111").session_id == "aaa111"
        with pytest.raises(SessionNotFoundError, match="more than one"):
            store.session("aaa")
        with pytest.raises(SessionNotFoundError, match="zzz"):
            store.session("zzz")
        with pytest.raises(SessionNotFoundError, match="'a%'"):
            store.session("a%")  # a LIKE wildcard in the id matches nothing
        assert [s.session_id for s in store.sessions()] == ["bbb333", "aaa222", "aaa111"]


async def test_delete_removes_one_session_and_all_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    await record_sim(db, "keep", duration_s=30)
    await record_sim(db, "gone", duration_s=30)
    with Store(db) as store:
        kept = store.load("keep").samples
        store.load("gone")  # a read keeps its columns as a block: deleted with it
    # Not on a terminal: nothing is deleted without --yes.
    assert_one_line_error(run_cli("delete", "gone", "--db", str(db)), "--yes", "gone")
    proc = run_cli("delete", "gone", "--yes", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "deleted session gone" in proc.stdout
    assert "full" in proc.stdout
    with Store(db) as store:
        assert [s.session_id for s in store.sessions()] == ["keep"]
        assert store.load("keep").samples == kept
    raw = sqlite3.connect(db)
    for table in ("samples", "estimates", "events", "column_blocks"):
        sessions = raw.execute(f"SELECT count(DISTINCT session) FROM {table}").fetchone()[0]
        assert sessions == 1, table
    raw.close()
    assert_one_line_error(run_cli("delete", "gone", "--yes", "--db", str(db)), "gone")
    assert_one_line_error(run_cli("review", "gone", "--db", str(db)), "gone")


# -- resting baseline for --zone auto


def test_resting_baseline_is_the_median_of_recent_completed_live_sessions(
    tmp_path: Path,
) -> None:
    db = tmp_path / "b.db"
    with Store(db) as store:
        assert store.resting_baseline() is None

        def session(sid: str, n: int, hr: float, rmssd: float, *, virtual: bool, end: bool) -> None:
            writer = store.begin_session(info(sid, 1000.0 + n), virtual=virtual)
            items: list[object] = [Baseline(60.0, hr, rmssd, Quality.OK)]
            if end:
                items.append(SessionEnded(300.0, sid, "completed", 300.0))
            writer.write(items)  # type: ignore[arg-type]

        for n, hr in enumerate([80.0, 70.0, 60.0, 62.0, 64.0, 66.0, 68.0]):
            session(f"live{n}", n, hr, hr / 2, virtual=False, end=True)
        session("sim", 10, 100.0, 10.0, virtual=True, end=True)
        session("crashed", 11, 100.0, 10.0, virtual=False, end=False)
        rest = store.resting_baseline()
        assert rest is not None
        # live2..live6: 60, 62, 64, 66, 68
        assert (rest.hr_bpm, rest.rmssd_ms, rest.sessions) == (64.0, 32.0, 5)
        with_sim = store.resting_baseline(include_virtual=True, recent=3)
        assert with_sim is not None
        assert with_sim.hr_bpm == 68.0


# -- files that are not our store


def foreign_db(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (name TEXT)")
    db.commit()
    db.close()
    return path


def newer_db(path: Path) -> Path:
    with Store(path):
        pass
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    return path


def garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(8192))
    return path


def truncated(path: Path) -> Path:
    with Store(path) as store:
        store.begin_session(info("t1"))
    data = path.read_bytes()
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * (len(data) - 16))
    return path


FOREIGN = (foreign_db, ["another program"])
GARBAGE = (garbage, ["not a biofeedback session store"])


@pytest.mark.parametrize(
    ("command", "make", "words"),
    [
        ("review", *FOREIGN),
        ("review", newer_db, ["newer"]),
        ("review", *GARBAGE),
        ("review", truncated, ["biofeedback session store"]),
        ("run", *FOREIGN),
        ("run", *GARBAGE),
        ("history", *FOREIGN),
        ("history", *GARBAGE),
    ],
)
def test_foreign_or_damaged_store_is_one_line_exit_2(
    tmp_path: Path, command: str, make: object, words: list[str]
) -> None:
    db = make(tmp_path / "other.db")  # type: ignore[operator]
    before = db.read_bytes()
    args = ["run", "--sim", "--headless", "--speed", "max"] if command == "run" else [command]
    proc = run_cli(*args, "--db", str(db))
    assert_one_line_error(proc, str(db), *words)
    assert proc.stdout == ""
    assert db.read_bytes() == before


def test_store_refuses_foreign_file_in_process(tmp_path: Path) -> None:
    with pytest.raises(StoreOpenError, match="another program"):
        Store(foreign_db(tmp_path / "x.db"))


def test_review_and_history_without_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert_one_line_error(run_cli("review", "--db", str(missing)), "no sessions")
    proc = run_cli("history", "--json", "--db", str(missing))
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["sessions"] == []
    assert not missing.exists()


# -- a disk that fills up


def _sample(i: int) -> HeartSample:
    return HeartSample(
        float(i), 60.0, (1000.0,) * 8, tuple(i + k / 8 for k in range(8)), Contact.DETECTED
    )


# ``on_loop`` (--speed max): the writes are made on the event loop's thread, a
# second's items at a time; else by the writer's thread.
@pytest.mark.parametrize("on_loop", [False, True])
async def test_recorder_keeps_items_while_the_disk_is_full(tmp_path: Path, on_loop: bool) -> None:
    db = tmp_path / "f.db"
    sink = RecorderSink(db, on_loop=on_loop)
    await sink.start(info("f1"))
    fill_disk(sink)
    for i in range(300):
        await sink.handle(_sample(i))
    await asyncio.wait_for(sink.write_failed.wait(), timeout=10)
    # Space comes back: everything written meanwhile reaches the disk, in order.
    free_disk(sink)
    await sink.handle(SessionEnded(300.0, "f1", "completed", 300.0))
    await sink.stop()
    with Store(db) as store:
        recording = store.load("f1")
    assert [s.t_s for s in recording.samples] == [float(i) for i in range(300)]
    assert recording.session.finished
    # The beats review reads (the block the recorder kept as the session ended)
    # are the rows' beats: the failed writes left nothing twice in it.
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT samples FROM column_blocks").fetchall() == [(300,)]
    raw.close()
    assert recording.beat_t_s == tuple(t for s in recording.samples for t in s.beat_t_s)


@pytest.mark.parametrize("on_loop", [False, True])
def test_full_disk_to_the_end_is_reported_with_what_was_lost(tmp_path: Path, on_loop: bool) -> None:
    async def record() -> None:
        sink = RecorderSink(tmp_path / "g.db", on_loop=on_loop)
        await sink.start(info("g1"))
        await sink.handle(_sample(0))
        await asyncio.wait_for(sink.committed.wait(), timeout=5)
        fill_disk(sink)
        for i in range(1, 300):
            await sink.handle(_sample(i))
        await sink.stop()

    with pytest.raises(
        StoreError, match=r"the session from 1 s on \(299 items\) could not be saved"
    ):
        asyncio.run(record())
    with Store(tmp_path / "g.db") as store:
        assert len(store.load("g1").samples) == 1


def test_a_store_that_was_readable_by_others_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BIOFEEDBACK_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    db = default_db_path()
    with Store(db) as store:
        store.begin_session(info("p1"))
    os.chmod(db, 0o644)
    os.chmod(db.parent, 0o755)
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--duration", "5")
    assert proc.returncode == 0, proc.stderr
    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700
    with Store(db) as store:
        store.begin_session(info("p2"))
        # The log files SQLite makes while open copy the database's mode.
        assert mode(Path(f"{db}-wal")) == mode(Path(f"{db}-shm")) == 0o600


def test_an_item_the_recorder_cannot_write_is_reported_with_what_came_with_it(
    tmp_path: Path,
) -> None:
    # At --speed max (``on_loop``) an item whose row cannot be built (an event the
    # encoder refuses) fails its second's write, which is kept and retried, and at
    # stop all that is unsaved is told.
    async def record() -> None:
        sink = RecorderSink(tmp_path / "h.db", on_loop=True)
        await sink.start(info("h1"))
        await sink.handle(_sample(0))
        await sink.handle(Advice(1.0, object()))  # type: ignore[arg-type]
        await sink.handle(_sample(2))
        await sink.stop()

    with pytest.raises(StoreError, match=r"the session from 0 s on \(3 items\) could not"):
        asyncio.run(record())
    with Store(tmp_path / "h.db") as store:
        assert store.load("h1").samples == ()


def test_sessions_of_a_protocol_and_a_kind_are_those_of_the_whole_list(tmp_path: Path) -> None:
    # The start reads only a store's assessments of its kind of heart: the same
    # sessions, in the same order, as picking them out of every session.
    with Store(tmp_path / "s.db") as store:
        for n, (protocol, virtual) in enumerate(
            itertools.product(("resonance", "full", "resonance"), (True, False, True))
        ):
            started = 1_700_000_000.0 + (n * 7) % 5  # ties broken by the newer row
            store.begin_session(SessionInfo(f"s{n}", protocol, "test", started), virtual=virtual)
        every = store.sessions()
        for protocol, virtual in itertools.product(("resonance", "full", "other"), (True, False)):
            assert store.sessions(protocol=protocol, virtual=virtual) == [
                s for s in every if s.protocol == protocol and s.virtual == virtual
            ]
            assert store.sessions(protocol=protocol) == [s for s in every if s.protocol == protocol]
            assert (
                store.sessions(2, virtual=virtual) == [s for s in every if s.virtual == virtual][:2]
            )
        assert len(every) == 9
