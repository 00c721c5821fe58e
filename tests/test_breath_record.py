"""Each breath in the record, the chest motion with `run --keep-raw`, and a stored
session replayed with its breath (issue 24, item 5)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from biofeedback.cli import main
from biofeedback.models import BreathHeld
from biofeedback.review import summarize
from biofeedback.review.plot import build_figure
from biofeedback.store import Store
from tests.support.cli import run_cli
from tests.support.figure import assert_laid_out

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


def review(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`biofeedback review ARGS` in this process: what it printed."""
    capsys.readouterr()
    assert main(["review", *args]) == 0
    return capsys.readouterr().out


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
    # Compressed: fewer than the 6 bytes a sample of int16 x, y, z.
    with sqlite3.connect(recorded) as db:
        size = db.execute("SELECT sum(length(xyz)) FROM motion").fetchone()[0]
    assert size < 6 * sum(len(m.x_mg) for m in motion)


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


def test_review_shows_the_breath_with_the_pacer_beside_it(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, _ = _ids(recorded)
    text = review(capsys, live, "--db", str(recorded))
    assert "breath (seen on the chest):" in text
    assert "held " in text
    assert "settle         paced 6.0; breathed" in text
    summary = json.loads(review(capsys, live, "--json", "--db", str(recorded)))
    with Store(recorded) as store:
        rec = store.load(live)
    breath = summary["breath"]
    assert f"; {len(rec.breaths)} breaths, in " in text  # the breaths table: text and CSV
    assert breath["holds"] == [
        {"started_t": e.started_t, "duration_s": e.duration_s}
        for e in rec.events
        if isinstance(e, BreathHeld)
    ]
    assert breath["reminders"] == 2
    settle = breath["paced"][0]
    assert (settle["step"], settle["paced_per_min"], settle["glide"]) == ("settle", 6.0, False)
    # The breath-holder follows the pacer: it breathes near 6 a minute while paced.
    assert 4.5 <= settle["breathed_per_min"] <= 7.5
    out = tmp_path / "s.csv"
    review(capsys, live, "--csv", str(out), "--db", str(recorded))
    rows = list(csv.DictReader(out.open()))
    breath_rows = [r for r in rows if r["type"] == "breath"]
    assert len(breath_rows) == len(rec.breaths)
    assert json.loads(breath_rows[0]["detail"])["inhale_s"] == round(rec.breaths[0].inhale_s, 2)
    chest = [r for r in rows if r["type"] == "estimate" and r["detail"]]
    assert chest
    assert json.loads(chest[0]["detail"])["breath_source"] == "acc"
    # The figure gains a fourth panel: breaths a minute, paced and taken.
    figure = build_figure(rec, summarize(rec))
    assert [ax.get_ylabel() for ax in figure.axes][-1] == "breaths a minute"
    assert_laid_out(figure)  # the fixed layout holds the fourth panel and its legend


GOLDEN = Path(__file__).parent / "data" / "review_without_breath"


def test_a_session_without_chest_breath_reviews_byte_for_byte_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The files in tests/data/review_without_breath were written by the code before
    breath was recorded (this replay; session id and start time taken out). The
    replay's estimates carry a rate from the heart's rhythm: it must not show."""
    db = tmp_path / "s.db"
    rr = Path(__file__).parent / "data" / "rr" / "nsrdb_pyhrv_5min_nni.txt"
    done = run_cli("run", "--replay", str(rr), *RUN, "--db", str(db))
    assert done.returncode == 0, done.stderr
    with Store(db) as store:
        rec = store.load()
    sid = rec.session.session_id
    assert any(e.breath_source == "rr" for e in rec.estimates)
    as_json = json.loads(review(capsys, "--json", "--db", str(db)))
    for key in ("session_id", "started_at_unix_s", "started_at"):
        as_json[key] = None
    assert json.dumps(as_json, indent=2) + "\n" == (GOLDEN / "review.json").read_text()
    text = review(capsys, "--db", str(db))
    assert text.split("\n", 1)[1] == (GOLDEN / "review.txt").read_text()
    out = tmp_path / "s.csv"
    review(capsys, "--csv", str(out), "--db", str(db))
    assert out.read_text().replace(sid, "SESSION") == (GOLDEN / "export.csv").read_text()
    assert len(build_figure(rec, summarize(rec)).axes) == 3
