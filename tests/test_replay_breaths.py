"""A stored session replays with its breath though its chest motion was not kept
(rebuilt from its breaths and holds), and review's breathed rate per paced span
comes from the breaths taken in it (issue 24, item 5)."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.cli.sources import _replay_source
from biofeedback.models import BreathHeld, BreathReminder, BreathTaken, ChestMotion, HeartSample
from biofeedback.review import summarize
from biofeedback.review.breath_plot import BREATH_COLOUR
from biofeedback.review.plot import build_figure
from biofeedback.sensors.replay import ReplaySource
from biofeedback.sensors.replay_breaths import (
    STILL_MAX_S,
    breath_shape,
    chest_motion,
)
from biofeedback.store import Store
from tests.support.cli import assert_one_line_error, run_cli

RUN = ("--headless", "--json", "--speed", "max", "--audio", "off")
RR = Path(__file__).parent / "data" / "rr" / "nsrdb_pyhrv_5min_nni.txt"


@dataclasses.dataclass(frozen=True)
class Sessions:
    db: Path
    live: str  # the breath-holder, recorded without --keep-raw
    replay: str  # the same, replayed from the store
    kept: str  # a breath-holder recorded with --keep-raw
    heart: str  # an RR file replayed: no chest at all


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Sessions:
    db = tmp_path_factory.mktemp("replay_breaths") / "sessions.db"

    def run(*args: str) -> str:
        done = run_cli("run", *args, *RUN, "--db", str(db))
        assert done.returncode == 0, done.stderr
        with Store(db) as store:
            return store.session().session_id

    # 240 s: the settle step and the legs' breathing step (180-210 s) are paced.
    live = run("--sim", "breath-holder", "--duration", "240")
    replay = run("--replay", f"{db}#{live}")
    kept = run("--sim", "breath-holder", "--duration", "30", "--keep-raw")
    heart = run("--replay", str(RR), "--duration", "60")
    return Sessions(db, live, replay, kept, heart)


def _items(source: object) -> list[object]:
    assert isinstance(source, ReplaySource)
    samples = source.samples
    return list(samples() if callable(samples) else samples)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def test_a_session_without_kept_motion_replays_with_its_breath(sessions: Sessions) -> None:
    with Store(sessions.db) as store:
        first, again = store.load(sessions.live), store.load(sessions.replay)
        assert store.motion(sessions.live) == []  # recorded without --keep-raw
    a, b = first.breaths, again.breaths
    # The breaths come back: count within 5 % (the last one may be cut short),
    # median length within 5 %, each half within 0.3 s, depth within 10 %.
    assert len(a) >= 30
    assert abs(len(b) - len(a)) <= max(2, 0.05 * len(a))
    for part in ("inhale_s", "exhale_s"):
        assert _median([getattr(x, part) for x in b]) == pytest.approx(
            _median([getattr(x, part) for x in a]), abs=0.3
        )
    length_a = _median([x.inhale_s + x.exhale_s for x in a])
    length_b = _median([x.inhale_s + x.exhale_s for x in b])
    assert length_b == pytest.approx(length_a, rel=0.05)
    assert _median([x.depth_mg for x in b]) == pytest.approx(
        _median([x.depth_mg for x in a]), rel=0.1
    )
    # Each breath held is held again: within 1 s of when, and how long.
    held_a = [e for e in first.events if isinstance(e, BreathHeld)]
    held_b = [e for e in again.events if isinstance(e, BreathHeld)]
    assert len(held_a) >= 3
    assert len(held_b) == len(held_a)
    for x, y in zip(held_a, held_b, strict=True):
        assert y.started_t == pytest.approx(x.started_t, abs=1.0)
        assert y.duration_s == pytest.approx(x.duration_s, abs=1.0)
    # And reminded in the same steps, within a second or two.
    said_a = [e for e in first.events if isinstance(e, BreathReminder)]
    said_b = [e for e in again.events if isinstance(e, BreathReminder)]
    assert said_a
    assert [e.step for e in said_b] == [e.step for e in said_a]
    assert [e.t for e in said_b] == pytest.approx([e.t for e in said_a], abs=2.0)
    assert any(e.breath_source == "acc" for e in again.estimates)
    assert again.session.source == f"replay:sessions.db#{sessions.live} (breath rebuilt)"


def test_which_motion_a_stored_replay_takes(sessions: Sessions) -> None:
    db = sessions.db
    with Store(db) as store:
        kept_motion = store.motion(sessions.kept)
        heart_samples = store.load(sessions.heart).samples
    # Motion kept with --keep-raw is still preferred to rebuilding it: the strap's own.
    kept = [
        i for i in _items(_replay_source(f"{db}#{sessions.kept}")) if isinstance(i, ChestMotion)
    ]
    assert kept_motion
    assert kept == kept_motion
    # Without it, 25 Hz rebuilt from the breaths, in one-second batches.
    rebuilt = [i for i in _items(_replay_source(f"{db}#{sessions.live}"))]
    motion = [i for i in rebuilt if isinstance(i, ChestMotion)]
    assert motion
    assert {m.rate_hz for m in motion} == {25.0}
    assert {len(m.y_mg) for m in motion[1:-1]} == {25}
    times = [i.t_s for i in rebuilt if isinstance(i, ChestMotion | HeartSample)]
    assert times == sorted(times)
    # Neither kept motion nor breaths (a heart-only session): the beats alone, as before.
    assert _items(_replay_source(f"{db}#{sessions.heart}")) == list(heart_samples)


def test_bad_stored_replays_are_one_line_exit_2(sessions: Sessions, tmp_path: Path) -> None:
    out = tmp_path / "out.db"
    missing = run_cli("run", "--replay", f"{sessions.db}#nosuchsession", *RUN, "--db", str(out))
    assert_one_line_error(missing, "nosuchsession", "biofeedback history")
    # A store that has lost its breaths table cannot say what was breathed.
    broken = tmp_path / "broken.db"
    with sqlite3.connect(sessions.db) as src, sqlite3.connect(broken) as dst:
        src.backup(dst)
        dst.execute("DROP TABLE breaths")
    broken.chmod(0o600)
    bad = run_cli("run", "--replay", f"{broken}#{sessions.live}", *RUN, "--db", str(out))
    assert_one_line_error(bad, str(broken), "breaths")
    assert not out.exists()


def test_the_rebuilt_chest_rises_holds_and_falls_and_is_silent_where_no_breath_was() -> None:
    breaths = [
        BreathTaken(0.0, 10.0, 4.0, 6.0, 10.0),  # 10 - 20 s, held 12-16 s after its peak
        BreathTaken(0.0, 20.0, 2.0, 3.0, 8.0),
        BreathTaken(0.0, 25.0 + STILL_MAX_S + 5.0, 2.0, 3.0, 8.0),  # after a long silence
    ]
    shape = breath_shape(breaths, [(11.5, 5.0)])
    got = shape.level(np.array([10.0, 14.0, 15.0, 16.0, 20.0, 22.0, 25.0]))
    assert [got[0], got[4], got[6]] == [0.0, 0.0, 0.0]  # the troughs
    assert got[1] == pytest.approx(10.0)  # the peak
    assert min(got[2], got[3]) >= 9.5  # held near the top
    assert max(got[2], got[3]) <= 10.0
    # A sharp top is drawn a little deeper than noted: the estimate's smoothing takes
    # off the tip before it reads the depth.
    assert 8.0 < got[5] < 9.0
    # Motion from two seconds before the first breath to two after the last; through
    # the long silence (the breath was unreadable) the strap shakes, and only there.
    assert shape.spans == ((8.0, 27.0), (36.0, 45.0))
    motion = list(chest_motion(breaths, [(11.5, 5.0)]))
    assert motion[0].t_s == pytest.approx(8.96)
    assert motion[-1].t_s == pytest.approx(45.0)
    swing = {round(m.t_s): float(np.ptp(m.x_mg)) for m in motion}
    assert all(swing[t] > 100.0 for t in range(28, 36))
    assert all(swing[t] == 0.0 for t in (*range(9, 27), *range(37, 45)))
    assert list(chest_motion([], [])) == []
    # A hold that no breath of the record holds gets a breath of the usual size around it.
    lone = breath_shape(breaths, [(30.0, 4.0)])
    assert lone.level(np.array([32.0]))[0] == pytest.approx(8.0, rel=0.05)


def test_a_breath_noted_half_a_breath_off_is_left_out() -> None:
    # 0-10 s, then one noted with in and out swapped (it begins inside the first),
    # then the next real one where the first ended.
    breaths = [
        BreathTaken(0.0, 0.0, 4.0, 6.0, 10.0),
        BreathTaken(0.0, 4.0, 6.0, 4.0, 10.0),
        BreathTaken(0.0, 10.0, 4.0, 6.0, 10.0),
    ]
    shape = breath_shape(breaths, [])
    assert shape.knot_t_s.tolist() == [0.0, 4.0, 10.0, 14.0, 20.0]
    assert [round(v) for v in shape.knot_mg.tolist()] == [0, 10, 0, 10, 0]


def review(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["review", *args]) == 0
    return capsys.readouterr().out


def test_the_breathed_rate_of_a_paced_span_comes_from_its_breaths(
    sessions: Sessions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(sessions.db)
    with Store(db) as store:
        rec = store.load(sessions.live)
    summary = json.loads(review(capsys, sessions.live, "--json", "--db", db))
    legs = next(p for p in summary["breath"]["paced"] if p["step"] == "legs-breath")
    inside = [b for b in rec.breaths if legs["start_t"] <= b.onset_t_s < legs["end_t"]]
    expected = 60.0 / _median([b.inhale_s + b.exhale_s for b in inside])
    # The breath-holder follows the 6-a-minute pacer between its holds; the chest's
    # running rate over the span's second half read 13 here, a breath or two behind.
    assert 5.0 <= legs["breathed_per_min"] <= 7.5
    assert legs["breathed_per_min"] == round(expected, 1)
    assert (legs["from"], legs["breaths"]) == ("breaths", len(inside))
    text = review(capsys, sessions.live, "--db", db)
    assert (
        f"legs-breath    paced 6.0; breathed {legs['breathed_per_min']:.1f}"
        f" ({len(inside)} breaths)" in text
    )
    out = tmp_path / "s.csv"
    review(capsys, sessions.live, "--csv", str(out), "--db", db)
    paced = [r for r in csv.DictReader(out.open()) if r["type"] == "paced"]
    assert [{"start_t": float(r["t_s"]), **json.loads(r["detail"])} for r in paced] == summary[
        "breath"
    ]["paced"]
    figure = build_figure(rec, summarize(rec))
    bands = [
        line
        for line in figure.axes[-1].get_lines()
        if line.get_color() == BREATH_COLOUR and line.get_linewidth() == 3.0
    ]
    assert [np.round(np.asarray(line.get_ydata(), float), 1).tolist() for line in bands] == [
        [p["breathed_per_min"]] * 2 for p in summary["breath"]["paced"]
    ]
    # Without a breaths table (the central copy): the running rate, and it says so.
    bare = summarize(dataclasses.replace(rec, breaths=())).breath
    assert bare is not None
    assert {(p.source, p.breaths) for p in bare.paced} == {("estimates", 0)}
