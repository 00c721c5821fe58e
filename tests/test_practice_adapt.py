"""Cross-session adaptation over sessions recorded in one real SQLite store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from biofeedback.cli.practice import adapt_routine
from biofeedback.models import (
    Baseline,
    Estimate,
    Quality,
    SessionEnded,
    SessionEvent,
    SessionInfo,
    SessionStarted,
    StepKind,
    Zone,
    ZoneChanged,
)
from biofeedback.practice.adapt import decide, gentler
from biofeedback.practice.ratings import Ratings
from biofeedback.routines.protocols import MAX_TENSE_S, load_protocol
from biofeedback.store import Store, outcomes, save_ratings
from tests.support.cli import run_cli

START = 1_770_000_000.0


def record(
    store: Store,
    sid: str,
    *,
    day: int,
    protocol: str = "full",
    end_hr_bpm: float = 66.0,
    length_s: float = 600.0,
    virtual: bool = False,
    red: bool = False,
    before: Ratings | None = None,
    after: Ratings | None = None,
) -> None:
    """A session as the recorder writes it: baseline 70 bpm, ending at ``end_hr_bpm``."""
    info = SessionInfo(sid, protocol, "strap", START + day * 86_400)
    writer = store.begin_session(info, virtual=virtual)
    items: list[SessionEvent] = [SessionStarted(0.0, sid, protocol, "strap", Zone.GREEN)]
    items.append(Baseline(60.0, 70.0, 40.0, Quality.OK))
    for t in range(61, int(length_s) + 1):
        hr = 70.0 if t < length_s - 120 else end_hr_bpm
        items.append(Estimate(float(t), hr, 40.0, 0.0, Quality.OK, 0.0))
    if red:
        items.append(ZoneChanged(200.0, Zone.GREEN, Zone.RED, "arousal rose"))
    items.append(SessionEnded(length_s, sid, "completed", length_s))
    writer.write(items)
    if before is not None:
        save_ratings(store, sid, "before", before)
    if after is not None:
        save_ratings(store, sid, "after", after)


def level_now(store: Store, protocol: str = "full") -> tuple[int, str]:
    _, adaptation = adapt_routine(store, load_protocol(protocol), virtual=False)
    return adaptation.level, adaptation.reason


def test_sessions_that_leave_you_wired_make_the_next_gentler_until_calm_returns(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "s.db") as store:
        record(store, "calm1", day=0)
        assert level_now(store) == (0, "")

        record(store, "wired", day=1, end_hr_bpm=78.0)
        level, why = level_now(store)
        assert level == 1
        assert "heart ended 8 bpm above" in why
        assert "softer tensing and longer releases" in why

        record(store, "worse", day=2, before=Ratings(3, 1, 2), after=Ratings(3, 1, 6))
        level, why = level_now(store)
        assert level == 2
        assert "anxiety went from 2 to 6" in why
        assert "micro-contractions" in why

        # Other routines, simulated hearts and sessions stopped at once do not count.
        assert level_now(store, "work-reset") == (0, "")
        record(store, "sim", day=3, end_hr_bpm=90.0, virtual=True)
        record(store, "short", day=3, end_hr_bpm=90.0, length_s=45.0)
        assert level_now(store)[0] == 2

        record(store, "calm2", day=4)
        record(store, "calm3", day=5, before=Ratings(5, None, 4), after=Ratings(2, None, 4))
        level, why = level_now(store)
        assert level == 2
        assert "after one more calm session" in why

        record(store, "calm4", day=6)
        level, why = level_now(store)
        assert level == 1
        assert "a step fuller" in why

        for day in (7, 8, 9):
            record(store, f"calm{day}", day=day)
        assert level_now(store) == (
            0,
            "Your last sessions ended calm, so this one offers the fuller routine again.",
        )


def test_outcomes_read_back_what_the_decisions_need(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        record(store, "a", day=0, end_hr_bpm=75.0, red=True, before=Ratings(4, None, None))
        (o,) = outcomes(store)
    assert o.hr_change_bpm == pytest.approx(5.0)
    assert o.lowest_zone is Zone.RED
    assert o.before == Ratings(4, None, None)
    assert o.after is None
    assert o.finished


def test_gentler_routines_stay_safe() -> None:
    full = load_protocol("full")
    assert gentler(full, 0) is full
    for level in (1, 2):
        soft = gentler(full, level)
        assert [s.id for s in soft.steps] == [s.id for s in full.steps]
        for new, old in zip(soft.steps, full.steps, strict=True):
            if old.kind is StepKind.RELEASE:
                assert new.planned_s >= old.planned_s * 1.5 - 0.5
            elif old.kind is StepKind.TENSE:
                assert new.cue != old.cue
                assert new.planned_s <= (MAX_TENSE_S["micro"] if level == 2 else old.planned_s)
            else:
                assert new == old
    assert gentler(full, 2).effort == "micro"
    # A routine with nothing to tense has nothing to soften.
    rest = load_protocol("passive-rest")
    assert gentler(rest, 2) is rest
    assert decide([], "full").level == 0


def test_run_says_why_it_is_gentler_and_records_it(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    args = ("run", "--sim", "--headless", "--json", "--speed", "max", "--db", db)
    first = run_cli(*args, "--duration", "200", "--rate-before", "2,,1", "--rate-after", "5,,1")
    assert first.returncode == 0, first.stderr
    rated = json.loads(first.stdout.splitlines()[-1])
    assert rated["type"] == "ratings"
    assert rated["change"] == {"tension": 3, "pain": None, "anxiety": 0}

    second = run_cli(*args, "--duration", "200")
    assert second.returncode == 0, second.stderr
    events = [json.loads(line) for line in second.stdout.splitlines()]
    assert events[-1]["type"] == "session_ended"  # nothing rated: no ratings line
    # Said once, in the plan event that opens the session (as the profile's changes
    # are), not again as advice.
    (plan,) = [e for e in events if e["type"] == "plan"]
    assert any("tension went from 2 to 5" in note for note in plan["notes"]), plan
    assert plan["routine"] == "full"
    advice = [e["text"] for e in events if e["type"] == "advice"]
    assert not any("tension went from" in text for text in advice), advice
    full = {s.id: s for s in load_protocol("full").steps}
    steps = [e for e in events if e["type"] == "step_started" and e["step"] in full]
    tense = next(e for e in steps if e["kind"] == "tense")
    release = next(e for e in steps if e["kind"] == "release")
    assert tense["cue"].startswith("Gentler than last time")
    assert release["planned_s"] == round(full[release["step"]].planned_s * 1.5)
    with sqlite3.connect(db) as con:
        extra = con.execute(
            "SELECT extra FROM sessions ORDER BY started_at_unix_s DESC LIMIT 1"
        ).fetchone()[0]
    assert json.loads(extra)["adaptation"]["level"] == 1
