"""Review, history and exports of real recorded sessions."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from biofeedback.loop.progress import CHANGE_TYPES
from biofeedback.loop.session import ActionInbox
from biofeedback.models import Action, Zone
from biofeedback.review import (
    build_history,
    clean_rr,
    flagged_share,
    format_summary,
    summarize,
)
from biofeedback.sensors.replay import read_rr_file
from biofeedback.store import Store
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.store import record_sim


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory, shared_rr: Path) -> tuple[Path, list[dict]]:  # type: ignore[type-arg]
    """A session paced by a real ambulatory recording: HR climbs, the session adapts."""
    db = tmp_path_factory.mktemp("review") / "r.db"
    proc = run_cli(
        "run",
        "--replay",
        str(shared_rr / "nsrdb_pyhrv_5min_nni.txt"),
        "--headless",
        "--json",
        "--speed",
        "max",
        "--db",
        str(db),
    )
    assert proc.returncode == 0, proc.stderr
    return db, [json.loads(line) for line in proc.stdout.splitlines()]


def test_review_json_matches_the_events_the_session_emitted(
    replayed: tuple[Path, list[dict]],  # type: ignore[type-arg]
) -> None:
    db, emitted = replayed
    proc = run_cli("review", "latest", "--json", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    review = json.loads(proc.stdout)
    started, ended = emitted[0], emitted[-1]
    assert review["session_id"] == started["session_id"] == ended["session_id"]
    assert review["protocol"] == started["protocol"]
    assert review["source"] == started["source"] == "replay:nsrdb_pyhrv_5min_nni.txt"
    assert review["status"] == "finished"
    assert review["end_reason"] == ended["reason"]
    assert review["duration_s"] == ended["duration_s"]
    assert review["changes"] == [e for e in emitted if e["type"] in CHANGE_TYPES]
    baseline = next(e for e in emitted if e["type"] == "baseline")
    assert review["baseline"] == {
        "hr_bpm": baseline["hr_bpm"],
        "rmssd_ms": baseline["rmssd_ms"],
        "how": baseline["how"],
        "reason": baseline["reason"],
    }
    assert review["steps"] == sum(e["type"] == "step_started" for e in emitted)
    extended = sum(e["by_s"] for e in emitted if e["type"] == "step_extended")
    assert review["extended_s"] == pytest.approx(extended)

    # Time in zones: the zone changes the session printed, summed up.
    zone, since, spent = started["zone"], 0.0, dict.fromkeys(("green", "yellow", "red"), 0.0)
    for e in emitted:
        if e["type"] == "zone_changed":
            spent[zone] += e["t"] - since
            zone, since = e["to"], e["t"]
    spent[zone] += ended["t"] - since
    assert review["time_in_zone_s"] == pytest.approx(spent)
    assert review["final_zone"] == zone

    # The final two minutes: the median of the estimates printed in them.
    tail = [e for e in emitted if e["type"] == "estimate" and e["t"] > ended["t"] - 120]
    hrs = [e["hr_bpm"] for e in tail if e["hr_bpm"] is not None]
    if hrs:
        assert review["final"]["hr_bpm"] == pytest.approx(float(np.median(hrs)), abs=2e-3)
    else:
        assert review["final"]["hr_bpm"] is None


def test_store_holds_exactly_what_was_emitted(
    replayed: tuple[Path, list[dict]],  # type: ignore[type-arg]
) -> None:
    db, emitted = replayed
    with Store(db) as store:
        rec = store.load(emitted[0]["session_id"])
    assert [e.to_dict() for e in rec.events] == [e for e in emitted if e["type"] != "estimate"]
    assert [e.to_dict() for e in rec.estimates] == [e for e in emitted if e["type"] == "estimate"]


def test_review_text_names_each_change_with_its_reason(
    replayed: tuple[Path, list[dict]],  # type: ignore[type-arg]
) -> None:
    db, emitted = replayed
    proc = run_cli("review", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert emitted[0]["session_id"] in proc.stdout
    for e in emitted:
        if e.get("reason") and e["type"] in CHANGE_TYPES:
            assert e["reason"] in proc.stdout


async def test_user_actions_and_body_regions_in_the_summary(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    inbox = ActionInbox()
    inbox.schedule(95.0, Action.HURTS)
    await record_sim(db, "regions", duration_s=200.0, actions=inbox)
    with Store(db) as store:
        summary = summarize(store.load("regions"))
    assert [e.to_dict()["action"] for e in summary.changes if e.type == "user_action"] == ["hurts"]
    assert summary.duration_s == 200.0
    assert sum(summary.time_in_zone_s.values()) == pytest.approx(200.0)
    regions = {r.region: r for r in summary.regions}
    # The full routine starts at the feet after the settling breaths.
    feet = regions["feet"]
    assert feet.rounds == 1
    assert feet.before_hr_bpm is not None
    assert feet.tense_hr_bpm is not None
    assert feet.release_hr_bpm is not None
    assert all(40 < hr < 120 for hr in (feet.before_hr_bpm, feet.tense_hr_bpm))
    assert feet.rise_bpm == pytest.approx(feet.tense_hr_bpm - feet.before_hr_bpm)
    assert feet.settle_bpm == pytest.approx(feet.release_hr_bpm - feet.before_hr_bpm)
    assert summary.to_dict()["regions"][0]["region"] == "feet"
    assert "feet" in format_summary(summary)


def test_exports_are_private_and_complete(
    replayed: tuple[Path, list[dict]],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    db, emitted = replayed
    out = tmp_path / "exports"
    out.mkdir()
    (out / "new").mkdir()
    stale = out / "s.csv"
    stale.write_text("old")
    os.chmod(stale, 0o644)
    files = {
        "--png": out / "s.png",
        "--pdf": out / "s.pdf",
        "--csv": stale,
        "--rr": out / "s.rr",
        "--rr-corrected": out / "new" / "s-corrected.rr",
    }
    args = [a for flag, path in files.items() for a in (flag, str(path))]
    proc = run_cli("review", "--db", str(db), *args)
    assert proc.returncode == 0, proc.stderr
    assert {mode(p) for p in files.values()} == {0o600}
    assert not [p.name for p in out.rglob(".*.tmp")]  # written through temp files, none left
    assert files["--png"].read_bytes().startswith(b"\x89PNG")
    assert files["--pdf"].read_bytes().startswith(b"%PDF")

    with Store(db) as store:
        rec = store.load("latest")
    rows = list(csv.DictReader(files["--csv"].open()))
    kinds = [r["type"] for r in rows]
    assert kinds.count("sample") == len(rec.samples)
    assert kinds.count("estimate") == len(rec.estimates)
    assert len(rows) == len(rec.samples) + len(emitted)
    times = [float(r["t_s"]) for r in rows]
    assert times == sorted(times)
    zone_rows = [json.loads(r["detail"]) for r in rows if r["type"] == "zone_changed"]
    assert zone_rows == [
        {k: v for k, v in e.items() if k not in ("t", "type")}
        for e in emitted
        if e["type"] == "zone_changed"
    ]

    raw, _ = read_rr_file(files["--rr"])
    beats = [r for s in rec.samples for r in s.rr_ms]
    assert raw == pytest.approx(beats, abs=5e-4)
    corrected, _ = read_rr_file(files["--rr-corrected"])
    cleaned = clean_rr(beats, rec.beat_t_s)
    assert corrected == pytest.approx(cleaned.nn_ms.tolist(), abs=5e-4)
    # The time base is kept: the corrected beats span the raw ones.
    assert sum(corrected) == pytest.approx(sum(raw), rel=0.01)


def test_correction_flags_the_ectopic_pairs_of_a_real_recording(shared_rr: Path) -> None:
    rr, _ = read_rr_file(shared_rr / "polar_h10_pvc_isolated_rr.csv")
    cleaned = clean_rr(rr)
    flagged = set(np.flatnonzero(cleaned.kind != 0))
    # tests/data/rr/README.md: premature beats at 6-7, 24-25, 32-33, 34-35, 37-38.
    pvc = {6, 7, 24, 25, 32, 33, 34, 35, 37, 38}
    assert flagged <= pvc
    assert len(flagged) >= 8
    assert float(np.max(np.abs(np.diff(cleaned.nn_ms)))) < 200.0

    calm, _ = read_rr_file(shared_rr / "polar_h10_slow_breathing_rr.csv")
    assert flagged_share(clean_rr(calm)) < 0.01


def test_review_artifact_rate_is_what_the_session_measured(
    replayed: tuple[Path, list[dict]],  # type: ignore[type-arg]
) -> None:
    """The review cleans beats with the live estimator's cleaner, so its share of
    corrected beats agrees with the rates the session reported every second."""
    db, emitted = replayed
    with Store(db) as store:
        rec = store.load(emitted[0]["session_id"])
    summary = summarize(rec)
    assert summary.artifact_rate == flagged_share(clean_rr(rec.rr_ms, rec.beat_t_s))
    rates = [
        e["artifact_rate"]
        for e in emitted
        if e["type"] == "estimate" and e["quality"] != "no_signal"
    ]
    # The printed rates are rounded to 3 decimals.
    assert summary.measured_artifact_rate == pytest.approx(float(np.mean(rates)), abs=1e-3)
    assert summary.peak_artifact_rate == pytest.approx(max(rates), abs=1e-3)
    # A whole-record share and a mean of one-minute shares differ only at the edges.
    assert summary.artifact_rate == pytest.approx(summary.measured_artifact_rate, abs=0.01)
    assert summary.peak_artifact_rate is not None
    text = format_summary(summary)
    assert f"{100 * summary.peak_artifact_rate:.1f} % at worst" in text
    data = summary.to_dict()
    assert data["measured_artifact_rate"] == pytest.approx(np.mean(rates), abs=1e-3)


def test_history_lists_sessions_newest_first_with_trends(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    for n in range(3):
        proc = run_cli(
            "run", "--sim", "--headless", "--speed", "max", "--duration", "70", "--seed",
            str(n), "--db", str(db),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("history", "--json", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    sessions = data["sessions"]
    assert len(sessions) == 3
    starts = [s["started_at_unix_s"] for s in sessions]
    assert starts == sorted(starts, reverse=True)
    assert all(s["finished"] and s["resting_hr_bpm"] for s in sessions)
    trend = data["trend"]["resting_hr_bpm"]
    assert trend["change"] == pytest.approx(trend["recent"] - trend["earlier"], abs=2e-3)
    assert data["trend"]["includes_simulated"] is True
    text = run_cli("history", "--db", str(db)).stdout
    assert all(s["session_id"] in text for s in sessions)
    assert "Trend of resting HR" in text


def test_history_trend_prefers_live_sessions(tmp_path: Path) -> None:
    from biofeedback.models import StoredSession

    def stored(n: int, hr: float, virtual: bool) -> StoredSession:
        return StoredSession(
            f"s{n}", 1000.0 - n, "full", "x", None, "0", virtual, Zone.GREEN, 300.0,
            2000.0, "completed", 300.0, hr, 40.0,
        )  # fmt: skip

    history = build_history([stored(0, 90.0, True), stored(1, 60.0, False), stored(2, 64.0, False)])
    assert history.hr_trend is not None
    assert (history.hr_trend.recent, history.hr_trend.earlier) == (60.0, 64.0)
    assert history.trend_includes_virtual is False
    assert history.to_dict()["sessions"][0]["session_id"] == "s0"


def test_review_mistakes_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    assert run_cli("run", "--sim", "--headless", "--speed", "max", "--duration", "5",
                   "--db", str(db)).returncode == 0  # fmt: skip
    assert_one_line_error(run_cli("review", "nosuch", "--db", str(db)), "nosuch")
    assert_one_line_error(run_cli("delete", "latest", "--db", str(db)), "id")
    blocked = tmp_path / "file"
    blocked.write_text("")
    proc = run_cli("review", "--csv", str(blocked / "x.csv"), "--db", str(db))
    assert_one_line_error(proc, str(blocked / "x.csv"))
    # An export aimed at the store itself (a slip of tab completion) keeps it whole.
    for flag in ("--csv", "--png", "--rr"):
        assert_one_line_error(run_cli("review", flag, str(db), "--db", str(db)), "another file")
    with Store(db) as store:
        assert len(store.load("latest").samples) > 0


def _brief_gaps_one_by_one(t_s: np.ndarray, no_signal: np.ndarray, tick_s: float) -> int:
    """Review's count of brief gaps as it was written first: estimate by estimate."""
    from biofeedback.pacing.rules import PacingConfig

    hold_s = PacingConfig().signal_loss_hold_s
    gaps = 0
    run_start: float | None = None
    for t, missing in zip(t_s.tolist(), no_signal.tolist(), strict=True):
        if missing and run_start is None:
            run_start = t
        elif not missing and run_start is not None:
            gaps += t - run_start < hold_s + tick_s / 2
            run_start = None
    return gaps


def test_brief_gaps_counted_at_once_as_one_by_one_and_the_cleaner_is_the_live_one() -> None:
    from biofeedback.review.summary import _brief_gaps
    from biofeedback.signals.arousal import EstimatorConfig
    from biofeedback.signals.rr_clean import CleanerConfig

    rng = np.random.default_rng(5)
    counted = 0
    for n in (0, 1, 2, 50, 2_000):
        t_s = np.cumsum(rng.uniform(0.5, 1.5, n))
        for share in (0.0, 0.05, 0.3, 0.9, 1.0):
            # Runs of every length, a run at the start and one the record ends in.
            no_signal = rng.random(n) < share
            no_signal = np.repeat(no_signal, rng.integers(1, 9, n))[:n]
            gaps = _brief_gaps(t_s, no_signal, 1.0)
            assert gaps == _brief_gaps_one_by_one(t_s, no_signal, 1.0), (n, share)
            counted += gaps
    assert counted > 20  # brief gaps came up (and long ones, not counted)
    # Review cleans the beats with the cleaner's defaults, without loading the live
    # estimator: they are the live estimator's.
    assert EstimatorConfig().cleaner == CleanerConfig()


# What a review of a stored session never needs (issue 28: review --json <= 0.3 s):
# the planner and routines, the live estimator, the resonance assessment's plan,
# plots and the event loop.
NOT_FOR_A_REVIEW = (
    "biofeedback.pacing.planner",
    "biofeedback.routines.protocols",
    "biofeedback.signals.arousal",
    "biofeedback.pacing.resonance_plan",
    "matplotlib",
    "asyncio",
)


def test_review_json_loads_only_what_it_needs(
    replayed: tuple[Path, list[dict]],  # type: ignore[type-arg]
) -> None:
    import subprocess
    import sys

    db, _ = replayed
    code = (
        "import contextlib, io, json, sys\n"
        "from biofeedback.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    main(['review', 'latest', '--json', '--db', {str(db)!r}])\n"
        "assert json.loads(out.getvalue())['beats'] > 0\n"
        f"print(','.join(n for n in {NOT_FOR_A_REVIEW!r} if n in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "", f"review --json loaded {run.stdout.strip()}"
