"""A step down says what climbed, and its sentence is true of the figures that
decided it: never "about 1 beat above your resting rate" as the reason to rest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from biofeedback.models import Zone
from biofeedback.pacing.rules import PacingConfig
from biofeedback.pacing.zone_judge import Decision, ZoneJudge
from tests.support.cli import run_cli
from tests.support.pacing import estimate

RESTING_BPM = 70.0


def _first_step_down(judge: ZoneJudge, hr_by_second: list[float]) -> tuple[float, Decision]:
    for t, hr in enumerate(hr_by_second):
        est = estimate(float(t), 0.5, hr_delta=hr - RESTING_BPM, baseline_hr=RESTING_BPM)
        decision = judge.judge(float(t), est, 1.0, signal_ok=True, pressor=0.0, pressor_fast=0.0)
        if decision is not None:
            return hr, decision
    raise AssertionError("no step down")


def test_a_climb_from_a_settled_heart_says_what_climbed_not_above_resting() -> None:
    # In Yellow, the heart settles 6 beats under its resting rate for five minutes
    # (the reference follows it down), then climbs 8 beats within seconds: only
    # about 2 above the resting rate, but a real climb.
    judge = ZoneJudge(PacingConfig(), Zone.YELLOW)
    judge.reference_hr_bpm = RESTING_BPM
    hr = [RESTING_BPM - 6.0] * 300 + [RESTING_BPM + 2.0] * 30
    at_hr, decision = _first_step_down(judge, hr)
    assert decision.to_zone is Zone.RED
    assert at_hr - RESTING_BPM < 3
    assert "above your resting rate" not in decision.plain, decision.plain
    # The climb took well under a minute.
    assert re.search(r"up about 8 beats (within seconds|in the last minute)", decision.plain), (
        decision.plain
    )


def test_a_step_down_to_yellow_from_a_settled_heart_says_the_climb() -> None:
    judge = ZoneJudge(PacingConfig(), Zone.GREEN)
    judge.reference_hr_bpm = RESTING_BPM
    hr = [RESTING_BPM - 6.0] * 300 + [RESTING_BPM + 2.0] * 30
    _, decision = _first_step_down(judge, hr)
    assert decision.to_zone is Zone.YELLOW
    assert "above your resting rate" not in decision.plain, decision.plain
    assert "gone up about 8 beats" in decision.plain, decision.plain


def test_every_step_down_of_a_real_recording_is_true_of_its_figures(
    shared_rr: Path, tmp_path: Path
) -> None:
    proc = run_cli(
        "run", "--replay", str(shared_rr / "nsrdb_pyhrv_60min_nni.txt"), "--headless",
        "--json", "--speed", "max", "--db", str(tmp_path / "s.db"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    downs = [
        e
        for e in map(json.loads, proc.stdout.splitlines())
        if e["type"] == "zone_changed" and Zone(e["to"]).rank > Zone(e["from"]).rank
    ]
    assert len(downs) >= 3
    for event in downs:
        plain = event["plain"]
        above = re.search(r"(\d+) beats? above your resting rate", plain)
        if above is not None:
            # Said to be above the resting rate: it is, by that much and clearly.
            assert int(above.group(1)) == max(round(event["hr_delta_bpm"]), 1)
            assert int(above.group(1)) >= 3, plain
        up = re.search(r"up about (\d+) beats?", plain)
        if up is not None:
            # The climb said is the one the reason measured over its reference.
            over = re.search(r"\+(\d+) bpm over (\d+)", event["reason"])
            assert over is not None
            assert abs(int(up.group(1)) - int(over.group(1))) <= 2, (plain, event["reason"])
        assert above is not None or up is not None, plain
