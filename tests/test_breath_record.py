"""Each breath in the record, the chest motion with `run --keep-raw`, and a stored
session replayed with its breath (issue 24, item 5)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from biofeedback.store import Store
from tests.support.cli import run_cli

RUN = ("--headless", "--json", "--speed", "max", "--audio", "off")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store: the breath-holder with its chest motion kept raw (`--keep-raw`),
    then the same session replayed from that store into the same store."""
    db = tmp_path_factory.mktemp("breath") / "sessions.db"
    run = ("run", "--sim", "breath-holder", "--duration", "180", *RUN, "--db", str(db))
    kept = run_cli(*run, "--keep-raw")
    assert kept.returncode == 0, kept.stderr
    replayed = run_cli("run", "--replay", f"{db}#", *RUN, "--db", str(db))
    assert replayed.returncode == 0, replayed.stderr
    return db


def _ids(db: Path) -> list[str]:
    with Store(db) as store:
        return [s.session_id for s in reversed(store.sessions())]


def test_each_breath_is_recorded_and_the_raw_motion_only_when_asked(recorded: Path) -> None:
    live, replay = _ids(recorded)
    with Store(recorded) as store:
        breaths = store.load(live).breaths
        motion = store.motion(live)
        replay_motion = store.motion(replay)
    # About ten breaths a minute for three minutes, each whole and plausible.
    assert 15 <= len(breaths) <= 45
    onsets = [b.onset_t_s for b in breaths]
    assert onsets == sorted(onsets)
    assert all(0 < b.inhale_s < 30 and 0 < b.exhale_s < 30 and b.depth_mg > 0 for b in breaths)
    assert sum(b.inhale_s < b.exhale_s for b in breaths) > len(breaths) // 2
    # --keep-raw: ~1 s batches of 50 Hz x, y, z, whole milli-g as the strap sends them.
    assert 170 <= len(motion) <= 181
    assert all(m.rate_hz == 50.0 and len(m.x_mg) == len(m.z_mg) for m in motion)
    assert all(v == round(v) for m in motion[:5] for v in (*m.x_mg, *m.y_mg, *m.z_mg))
    assert replay_motion == []  # the replay was run without --keep-raw
    with sqlite3.connect(recorded) as db:
        size = db.execute("SELECT sum(length(xyz)), count(*) FROM motion").fetchone()
    assert size[0] == 6 * sum(len(m.x_mg) for m in motion)


def test_a_stored_session_replays_with_its_breath(recorded: Path) -> None:
    live, replay = _ids(recorded)
    with Store(recorded) as store:
        first, again = store.load(live), store.load(replay)
    # The kept chest motion replayed beside the beats: the same breaths, holds, reminders.
    assert again.breaths == first.breaths
    for kind in ("breath_held", "breath_reminder"):
        seen = [e.to_dict() for e in first.events if e.type == kind]
        assert seen, kind
        assert [e.to_dict() for e in again.events if e.type == kind] == seen
    assert any(e.breath_source == "acc" for e in again.estimates)


def test_deleting_a_session_deletes_its_breaths_and_motion(recorded: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    with sqlite3.connect(recorded) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    copy.chmod(0o600)
    live, _ = _ids(copy)
    with Store(copy) as store:
        store.delete(live)
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT count(*) FROM motion").fetchone()[0] == 0
        # Only the replay's breaths are left.
        left = db.execute("SELECT count(DISTINCT session) FROM breaths").fetchone()[0]
    assert left == 1
