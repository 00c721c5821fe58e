"""Plain words first, figures after: headless lines, `review` and the monitor lead
each decision with the sentence the person was given; signal loss names a clock time."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from biofeedback.models import SessionStarted, Zone, ZoneChanged
from biofeedback.telemetry import Board, EventHeard, RunnerTracker
from tests.support.cli import run_cli


@pytest.fixture(scope="module")
def panic_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One simulated panic session: its store and its headless text."""
    db = tmp_path_factory.mktemp("plain") / "s.db"
    proc = run_cli(
        "run", "--sim", "panic", "--headless", "--speed", "max", "--duration", "300",
        "--db", str(db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return db, proc.stdout


def test_headless_lines_lead_with_the_plain_sentence(
    panic_run: tuple[Path, str],
) -> None:
    _, text = panic_run
    changes = [line for line in text.splitlines() if "  zone_changed " in line]
    assert len(changes) >= 2
    for line in changes:
        after_kind = line.split("zone_changed", 1)[1].strip()
        assert after_kind.startswith("Your heart"), line
        assert after_kind.index("reason=") > after_kind.index("so ")


def test_review_lists_each_decision_plain_first(
    panic_run: tuple[Path, str],
) -> None:
    db, _ = panic_run
    proc = run_cli("review", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    zone_lines = [line for line in proc.stdout.splitlines() if re.search(r"zone \w+ -> \w+", line)]
    assert len(zone_lines) >= 2
    for line in zone_lines:
        said = line.split(": ", 1)[1]
        assert said.startswith("Your heart"), line
        assert "evidence" in said.split("(", 1)[1], line


def test_the_monitor_and_the_mqtt_state_say_the_sentence_first() -> None:
    change = ZoneChanged(
        188.0,
        Zone.GREEN,
        Zone.YELLOW,
        "heart rate 85 bpm, +9 bpm over 76: evidence 4.6 >= 4 in units of 3.0 bpm",
        "Your heart rate has stayed about 12 beats above your resting rate, so we're easing off.",
    )
    board = Board()
    row = board.apply(EventHeard("ana", change.to_dict()))
    assert row is not None
    assert row.decision is not None
    assert row.decision.startswith("zone_changed: Your heart rate has stayed"), row.decision
    assert row.decision.endswith(
        "(heart rate 85 bpm, +9 bpm over 76: evidence 4.6 >= 4 in units of 3.0 bpm)"
    )
    tracker = RunnerTracker()
    tracker.apply(SessionStarted(0.0, "s", "full", "simulator:calm", Zone.GREEN))
    state = tracker.apply(change)
    assert state.decision is not None
    assert state.decision.startswith("green to yellow: Your heart rate has stayed"), state.decision


def test_signal_loss_names_the_clock_time_not_a_duration(tmp_path: Path) -> None:
    proc = run_cli(
        "run", "--sim", "dropouts", "--headless", "--json", "--speed", "max", "--duration",
        "600", "--db", str(tmp_path / "s.db"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lost = [e for e in map(json.loads, proc.stdout.splitlines()) if e["type"] == "signal_lost"]
    assert lost
    for event in lost:
        reason = str(event["reason"])
        if "no usable heart data" in reason:
            found = re.search(r"since (\d+):(\d\d) ", reason)
            assert found is not None, reason
            since_s = int(found.group(1)) * 60 + int(found.group(2))
            assert since_s <= float(event["t"])
            assert " s (" not in reason
