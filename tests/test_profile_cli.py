"""`biofeedback setup` and the profile's effect on `run`, through the real CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import assert_one_line_error, run_cli

SETUP = (
    "setup", "--position", "lying", "--eyes", "closed", "--painful", "lower-back",
    "--tension-starts", "shoulders", "--gentle-joints", "--back-pain",
)  # fmt: skip
RUN = ("run", "--sim", "--headless", "--json", "--speed", "max", "--zone", "green")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, timeout=120)


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "biofeedback" / "config.toml"


def events_of(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def body_steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e["type"] == "step_started" and e["step"] not in ("settle",)
        and not e["step"].startswith("closing")
    ]  # fmt: skip


def test_setup_flags_round_trip_through_config_toml() -> None:
    saved = cli(*SETUP)
    assert saved.returncode == 0, saved.stderr
    assert "back-care" in saved.stdout  # what `run` will now do
    assert stat.S_IMODE(config_file().stat().st_mode) == 0o600
    assert stat.S_IMODE(config_file().parent.stat().st_mode) == 0o700
    shown = cli("setup", "--show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {
        "position": "lying",
        "eyes": "closed",
        "painful": ["lower-back"],
        "tension_starts": "shoulders",
        "gentle_joints": True,
        "back_pain": True,
    }
    # A later flag changes only its own field.
    assert cli("setup", "--no-back-pain", "--painful", "neck,jaw").returncode == 0
    again = json.loads(cli("setup", "--show", "--json").stdout)
    assert again["back_pain"] is False
    assert again["painful"] == ["neck", "jaw"]
    assert again["position"] == "lying"
    assert cli("setup", "--reset").returncode == 0
    assert json.loads(cli("setup", "--show", "--json").stdout)["position"] is None


def test_the_profile_shapes_the_session_plan_and_review_reports_it() -> None:
    assert cli(*SETUP).returncode == 0
    events = events_of(cli(*RUN))
    assert events[0]["type"] == "session_started"
    assert events[0]["protocol"] == "back-care"
    plan = events[1]
    assert plan["type"] == "plan"
    assert plan["routine"] == "back-care"
    assert plan["start_region"] == "shoulders"
    assert plan["imagery"] == ["lower-back"]
    assert plan["gentle"] is True
    assert plan["eyes"] == "closed"
    assert any("imagery only" in n for n in plan["notes"])
    steps = body_steps(events)
    assert steps[0]["region"] == "shoulders"  # where tension starts
    lower_back = [e for e in steps if e["region"] == "lower-back"]
    assert lower_back
    assert all(e["kind"] != "tense" for e in lower_back)
    assert any(e["kind"] == "imagery" for e in lower_back)
    assert all(e["planned_s"] <= 2 for e in steps if e["kind"] == "tense")
    settle = next(e for e in events if e["type"] == "step_started")
    assert "pillow under your knees" in settle["cue"]

    review = cli("review", "--json")
    summary = json.loads(review.stdout)
    assert summary["plan"]["notes"] == plan["notes"]
    parts = summary["time_in_part_s"]
    assert set(parts) == {"recognise", "reduce", "restore"}
    assert all(parts[p] > 0 for p in parts)
    assert abs(sum(parts.values()) - summary["duration_s"]) < 2
    text = cli("review").stdout
    assert "Recognise" in text
    assert "Reduce" in text
    assert "Restore" in text
    assert "plan: back-care, shaped by your profile:" in text
    assert "lower back by imagery only" in text


def test_run_flags_override_the_profile_for_one_session() -> None:
    assert cli("setup", "--tension-starts", "shoulders").returncode == 0
    events = events_of(cli(*RUN, "--start-region", "hands", "--gentle", "--duration", "200"))
    steps = body_steps(events)
    assert steps[0]["region"] == "hands"
    assert all(e["planned_s"] <= 2 for e in steps if e["kind"] == "tense")
    plan = next(e for e in events if e["type"] == "plan")
    assert plan["routine"] == "full"
    assert plan["start_region"] == "hands"
    # The stored profile is unchanged, and --no-profile runs the routine as written.
    assert json.loads(cli("setup", "--show", "--json").stdout)["tension_starts"] == "shoulders"
    plain = events_of(cli(*RUN, "--no-profile", "--duration", "100"))
    assert not any(e["type"] == "plan" for e in plain)
    assert body_steps(plain)[0]["region"] == "feet"
    assert all(e["planned_s"] == 5 for e in body_steps(plain) if e["kind"] == "tense")


def test_without_a_profile_a_session_records_no_plan_changes() -> None:
    events = events_of(cli(*RUN, "--duration", "60"))
    assert [e["type"] for e in events[:2]] == ["session_started", "step_started"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("setup", "--position", "upside"), ["--position", "sitting"]),
        (("setup", "--eyes", "half"), ["--eyes", "closed"]),
        (("setup", "--painful", "lower-back,knee"), ["'knee'", "lower-back"]),
        (("setup", "--tension-starts", "elbow"), ["'elbow'", "shoulders"]),
        (("setup", "--json"), ["--show"]),
        (("setup", "--reset", "--eyes", "open"), ["--reset", "alone"]),
        (("run", "--sim", "--headless", "--start-region", "knee"), ["'knee'", "feet"]),
        (("run", "--sim", "--headless", "--imagery", "tail"), ["'tail'", "--imagery"]),
    ],
)
def test_bad_profile_input_is_one_line_and_exit_2(args: tuple[str, ...], words: list[str]) -> None:
    assert_one_line_error(cli(*args), *words)
    assert not config_file().exists()  # nothing half-written


def test_a_broken_profile_table_is_one_line_and_keeps_the_file() -> None:
    config_file().parent.mkdir(parents=True)
    text = '[mqtt]\nrunner = "x"\n[profile]\nposition = "upside"\n'
    config_file().write_text(text)
    for args in (("setup", "--show"), ("run", "--sim", "--headless", "--speed", "max")):
        assert_one_line_error(cli(*args), "[profile]", "position", "biofeedback setup --reset")
    assert config_file().read_text() == text
    # The way out the message names works, and keeps the other settings.
    assert cli("setup", "--reset").returncode == 0
    assert cli("setup", "--show").returncode == 0
    assert tomllib.loads(config_file().read_text()) == {"mqtt": {"runner": "x"}}


def test_setup_without_flags_off_a_terminal_prints_the_profile() -> None:
    proc = cli("setup")
    assert proc.returncode == 0, proc.stderr
    assert "no profile yet" in proc.stdout


def test_today_follows_a_sore_back_in_the_profile() -> None:
    at = ("--at", "2026-03-03 12:30")  # a weekday lunchtime: a work reset otherwise
    before = json.loads(cli("today", "--json", *at).stdout)
    assert before["routine"] == "work-reset"
    assert cli("setup", "--back-pain").returncode == 0
    after = json.loads(cli("today", "--json", *at).stdout)
    assert (after["routine"], after["rule"]) == ("back-care", "back_pain")
    assert after["command"] == "biofeedback run --protocol back-care"
