"""The weekly plan: default, editing in config.toml, and the calendar file."""

from __future__ import annotations

import json
import stat
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from icalendar.prop import vRecur

from biofeedback import config
from biofeedback.practice.ics import plan_to_ics
from biofeedback.practice.plan import PlanError, default_plan, parse_item, parse_plan
from tests.support.cli import assert_one_line_error, run_cli

KNOWN = frozenset({"work-reset", "full", "bedtime", "back-care"})


def test_default_plan_follows_the_guide() -> None:
    plan = default_plan()
    by_name = {i.name: i for i in plan.items}
    assert by_name["weekday"].days == (0, 1, 2, 3, 4)
    assert by_name["weekday"].minutes == 5
    assert by_name["evening"].minutes == 10
    assert 2 <= len(by_name["evening"].days) <= 3
    assert by_name["bedtime"].routine == "bedtime"
    assert "stress" in by_name["bedtime"].when
    assert by_name["sitting"].after == "a long stretch of sitting"
    assert by_name["weekday"].cue() == "After lunch: weekday reset, 5 minutes."
    # The default round-trips through its own table form.
    assert parse_plan(plan.to_table(), known_routines=KNOWN).items == plan.items


@pytest.mark.parametrize(
    ("entry", "fault"),
    [
        ({"time": "25:00", "routine": "full", "after": "tea"}, "HH:MM"),
        ({"time": "7pm", "routine": "full", "after": "tea"}, "HH:MM"),
        ({"time": "19:00", "routine": "full", "after": "tea", "days": ["fun"]}, "days"),
        ({"time": "19:00", "routine": "full", "after": "tea", "minutes": 0}, "minutes"),
        ({"time": "19:00", "routine": "full"}, "habit"),
        ({"time": "19:00", "after": "tea"}, "routine"),
        ({"time": "19:00", "routine": "full", "after": "tea", "colour": "red"}, "unknown keys"),
    ],
)
def test_bad_plan_entries_name_the_fix(entry: dict[str, object], fault: str) -> None:
    with pytest.raises(PlanError, match=fault):
        parse_item("tea", entry)
    with pytest.raises(PlanError, match="unknown routine"):
        parse_plan(
            {"x": {"time": "19:00", "routine": "yoga", "after": "tea"}}, known_routines=KNOWN
        )


def test_ics_parses_as_weekly_recurring_events_at_the_chosen_times() -> None:
    plan = default_plan()
    first_day = date(2026, 3, 4)  # a Wednesday
    text = plan_to_ics(plan, now=datetime(2026, 3, 4, 9, 0).astimezone(), first_day=first_day)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.endswith("END:VCALENDAR\r\n")
    cal = Calendar.from_ical(text)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{i.name}.plan@biofeedback" for i in plan.items}
    for item in plan.items:
        event = events[f"{item.name}.plan@biofeedback"]
        start = event.decoded("DTSTART")
        assert start.tzinfo is None  # floating: the local time wherever you are
        assert (start.hour, start.minute) == (item.hour, item.minute)
        assert event.decoded("DURATION") == timedelta(minutes=item.minutes)
        rule = event["RRULE"]
        assert isinstance(rule, vRecur)
        assert rule["FREQ"] == ["WEEKLY"]
        # Expanded as a calendar would: the next two weeks hold exactly the plan's days.
        text = rule.to_ical().decode()  # type: ignore[no-untyped-call]
        occurrences = list(
            rrulestr(text, dtstart=start).between(
                start, start + timedelta(days=14, seconds=-1), inc=True
            )
        )
        assert {o.weekday() for o in occurrences} == set(item.days)
        assert len(occurrences) == 2 * len(item.days)
        assert occurrences[0].date() >= first_day
        # Habit-stacked wording survives escaping and folding.
        assert str(event["SUMMARY"]) == item.cue().removesuffix(".")
        assert f"--protocol {item.routine}" in str(event["DESCRIPTION"])
        (alarm,) = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY"


def test_plan_is_edited_in_config_and_keeps_the_other_tables(tmp_path: Path) -> None:
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[device]\naddress = "AA:BB:CC:DD:EE:FF"\n\n[mqtt]\nusername = "me"\npassword = "secret"\n'
    )
    saved = run_cli("plan", "--save")
    assert saved.returncode == 0, saved.stderr
    data = tomllib.loads(path.read_text())
    assert data["device"]["address"] == "AA:BB:CC:DD:EE:FF"
    assert data["mqtt"] == {"username": "me", "password": "secret"}
    assert data["plan"]["weekday"]["time"] == "12:45"
    # Edit it as a person would, then read it back.
    data["plan"]["evening"]["time"] = "19:15"
    data["plan"]["evening"]["days"] = ["mon", "wed"]
    text = path.read_text().replace('"time" = "20:00"', '"time" = "19:15"')
    text = text.replace('"days" = ["tue", "thu", "sun"]', '"days" = ["mon", "wed"]')
    path.write_text(text)
    shown = run_cli("plan", "--json")
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    assert plan["default"] is False
    evening = next(i for i in plan["items"] if i["name"] == "evening")
    assert (evening["time"], evening["days"]) == ("19:15", ["mon", "wed"])
    # Pairing a strap later keeps the plan.
    config.remember_device(config.PairedDevice("11:22:33:44:55:66"))
    assert tomllib.loads(path.read_text())["plan"]["evening"]["time"] == "19:15"

    ics = tmp_path / "cal" / "plan.ics"
    ics.parent.mkdir()  # as every output path, --ics needs its folder to exist
    wrote = run_cli("plan", "--ics", str(ics))
    assert wrote.returncode == 0, wrote.stderr
    assert stat.S_IMODE(ics.stat().st_mode) == 0o600
    assert "T191500" in ics.read_text()
    assert not [p for p in ics.parent.iterdir() if p.name != "plan.ics"]  # no temp file left


def test_a_broken_plan_is_one_line_naming_the_entry() -> None:
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[plan.tea]\ntime = "teatime"\nroutine = "full"\nafter = "tea"\n')
    assert_one_line_error(run_cli("plan"), "[plan.tea]", "HH:MM")
    assert_one_line_error(run_cli("today"), "[plan.tea]")


def test_ics_refuses_a_folder_and_a_database(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("plan", "--ics", str(tmp_path)), "folder")
    db = tmp_path / "s.db"
    db.write_bytes(b"SQLite format 3\x00" + bytes(100))
    assert_one_line_error(run_cli("plan", "--ics", str(db)), "database")
    assert db.read_bytes().startswith(b"SQLite format 3")


def test_today_from_the_command_line_at_a_given_time() -> None:
    late = run_cli("today", "--json", "--at", "2026-03-03 22:30")
    assert late.returncode == 0, late.stderr
    out = json.loads(late.stdout)
    assert (out["routine"], out["rule"], out["plan_item"]) == ("bedtime", "late_evening", "bedtime")
    assert out["command"] == "biofeedback run --protocol bedtime"
    assert out["adaptation"]["level"] == 0
    text = run_cli("today", "--at", "2026-03-03 12:30").stdout.splitlines()
    assert text[0] == "Today: Work reset, about 5 min"
    assert text[1] == "Your plan has weekday reset at 12:45, after lunch."
    assert text[-1] == "Start it with: biofeedback run --protocol work-reset"
    assert_one_line_error(run_cli("today", "--at", "tomorrow"), "--at")
