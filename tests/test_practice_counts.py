"""What counts as practice and as an assessment: a stopped or low-confidence
assessment stays out of the trend, `today` counts only the person's own sessions
of at least two minutes, and `history` finds ratings however far back they lie."""

from __future__ import annotations

import json
from pathlib import Path

from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.session import VirtualClock
from biofeedback.practice.ratings import Ratings
from biofeedback.store import Store, save_ratings
from simulators.source import SimulatedSource
from tests.support.cli import run_cli
from tests.support.store import record_sim


class OwnHeart(SimulatedSource):
    """The simulated person's heart as their strap brings it: a strap is not
    virtual, so its session is recorded as the person's own."""

    virtual = False


async def _record(db: Path, session_id: str, *, duration_s: float, virtual: bool) -> None:
    """A session recorded now, wired as `run` wires it; ``virtual`` False records
    it as a strap's would be. A strap's session runs on the clock ``build_session``
    is handed for a live source: here a virtual one, so minutes of session take
    well under a second."""
    source = SimulatedSource("calm", seed=3) if virtual else OwnHeart("calm", seed=3)
    request = SessionRequest(
        protocol="work-reset",
        speed=None if virtual else 1.0,
        duration_s=duration_s,
        audio="off",
        use_profile=False,
        headless=True,
        db=str(db),
    )
    plan = build_session(
        request, source=source, session_id=session_id, real_clock=VirtualClock(None)
    )
    await plan.run()


def _today(db: Path) -> int:
    proc = run_cli("today", "--json", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    return int(json.loads(proc.stdout)["sessions_today"])


async def test_today_counts_only_own_sessions_of_two_minutes_or_more(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    await _record(db, "sim-long", duration_s=300, virtual=True)
    await _record(db, "own-short", duration_s=20, virtual=False)
    assert _today(db) == 0
    await _record(db, "own-long", duration_s=180, virtual=False)
    assert _today(db) == 1


async def test_history_finds_ratings_older_than_the_latest_sessions(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    await record_sim(db, "rated", duration_s=30)
    with Store(db) as store:
        save_ratings(store, "rated", "before", Ratings(6, 3, 5))
        save_ratings(store, "rated", "after", Ratings(3, 2, 2))
    for n in range(31):
        await record_sim(db, f"later-{n}", duration_s=20)
    proc = run_cli("history", "--json", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    practice = json.loads(proc.stdout)["practice"]
    assert practice["rated_sessions"] == 1
    assert practice["median_change"] == {"tension": -3.0, "pain": -1.0, "anxiety": -3.0}
    text = run_cli("history", "--db", str(db)).stdout
    assert "Ratings: none yet" not in text
    assert "Ratings over the latest 1 rated session(s)" in text


def test_a_stopped_assessment_is_listed_but_not_trended_and_does_not_pace(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "s.db")
    common = ("resonance", "--sim", "--headless", "--speed", "max", "--db", db)
    done = run_cli(*common, "--rates", "6,5", "--step", "90")
    assert done.returncode == 0, done.stderr
    # Stopped during its third rate: the first two were scored, and found a rate.
    stopped = run_cli(*common, "--rates", "6.5,5.5,4.5", "--step", "90", "--duration", "260")
    assert stopped.returncode == 0, stopped.stderr
    assert "Resonance: your heart swung most at" in stopped.stdout
    history = json.loads(run_cli("history", "--json", "--db", db).stdout)["resonance"]
    assert [a["counts_in_trend"] for a in history] == [False, True]
    text = run_cli("history", "--db", db).stdout
    assert "(not counted: stopped before its last rate)" in text
    assert "over 2 assessments" not in text
    # Later sessions breathe at the completed assessment's rate, not the stopped one's.
    run = run_cli(
        "run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "30", "--db", db
    )
    settle = next(
        e for e in map(json.loads, run.stdout.splitlines()) if e["type"] == "step_started"
    )
    rate = 60.0 / (settle["breath_in_s"] + settle["breath_out_s"])
    assert abs(rate - history[1]["best_rate_bpm"]) < 0.05
