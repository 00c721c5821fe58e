"""Snapshots of the dashboard at 80x24 and 120x40 (pytest-textual-snapshot).

Deterministic: a seeded simulator held at a fixed session time, animation off.
Update after a deliberate change with `pytest tests/test_ui_snapshots.py
--snapshot-update` and look at the report before committing.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from biofeedback.models import Zone
from biofeedback.sensors.ble import FoundStrap
from biofeedback.ui.app import DashboardSettings, create_app
from biofeedback.ui.dialogs import SafetyNotice
from biofeedback.ui.pairing import PairScreen
from tests.support.records import FIRST_START_S, history_of, record, recorded_week, review_view
from tests.support.ui import SteppedSource, step_to, stepped_app, stepped_plan, until

SIZES = [(80, 24), (120, 40)]


def held_at(
    source: SteppedSource, t_s: float, *keys: str, strict: bool = False
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await step_to(pilot, source, t_s, strict=strict)
        if keys:
            await pilot.press(*keys)
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session_mid_protocol(snap_compare: Any, size: tuple[int, int]) -> None:
    source = SteppedSource(battery_pct=80)
    assert snap_compare(stepped_app(source), terminal_size=size, run_before=held_at(source, 95))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session_settling_breath(snap_compare: Any, size: tuple[int, int]) -> None:
    source = SteppedSource(battery_pct=80)
    app = stepped_app(source, motion=True)
    assert snap_compare(app, terminal_size=size, run_before=held_at(source, 33))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session_stepped_down(snap_compare: Any, size: tuple[int, int]) -> None:
    # The anxious person's arousal climbs: longer releases, then the yellow zone.
    source = SteppedSource("anxious", battery_pct=80)
    assert snap_compare(stepped_app(source), terminal_size=size, run_before=held_at(source, 185))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session_red(snap_compare: Any, size: tuple[int, int]) -> None:
    source = SteppedSource(battery_pct=80)
    app = create_app(stepped_plan(source, zone=Zone.RED), DashboardSettings(reduced_motion=True))
    assert snap_compare(app, terminal_size=size, run_before=held_at(source, 95))


def test_session_passive_rest_chosen_in_green(snap_compare: Any) -> None:
    # A rest-only routine chosen in Green: the badge names the recorded zone, Green,
    # and says in words that this routine is rest only; the title names the routine.
    source = SteppedSource(battery_pct=80)
    plan = stepped_plan(source, protocol="passive-rest")
    app = create_app(plan, DashboardSettings(reduced_motion=True))
    assert snap_compare(app, run_before=held_at(source, 80))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session_it_hurts_notice(snap_compare: Any, size: tuple[int, int]) -> None:
    source = SteppedSource(battery_pct=80)
    app = stepped_app(source)

    async def run_before(pilot: Pilot[Any]) -> None:
        await step_to(pilot, source, 95)
        await pilot.press("h")
        await step_to(pilot, source, 96)
        await until(pilot, lambda: isinstance(app.screen, SafetyNotice))
        await step_to(pilot, source, 97)
        await until(pilot, lambda: "medical" in str(app.screen.query_one("#notice-text").render()))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_session_after_it_hurts(snap_compare: Any) -> None:
    # Once the notice is read, the decision log is for decisions again.
    source = SteppedSource(battery_pct=80)
    app = stepped_app(source)

    async def run_before(pilot: Pilot[Any]) -> None:
        await step_to(pilot, source, 95)
        await pilot.press("h")
        await step_to(pilot, source, 96)
        await until(pilot, lambda: isinstance(app.screen, SafetyNotice))
        await step_to(pilot, source, 97)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.id == "session")
        await step_to(pilot, source, 100)

    assert snap_compare(app, run_before=run_before)


def test_session_ended(snap_compare: Any) -> None:
    source = SteppedSource(battery_pct=80)
    plan = stepped_plan(source)
    plan.duration_s = 120.0
    # The store is a fresh temporary file each run: the picture shows a fixed name.
    plan.saved_to = "~/.local/share/biofeedback/sessions.db"
    app = create_app(plan, DashboardSettings(reduced_motion=True))

    async def run_before(pilot: Pilot[Any]) -> None:
        await source.advance_to(130)
        await until(pilot, lambda: app.session_result is not None)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before)


def test_session_strap_lost(snap_compare: Any) -> None:
    # The simulator's strap drops out at 180-205 s in this scenario (the loss is
    # announced once it has lasted 5 s, issue 26 4b, so the 6 s one at 100 s is
    # too short to show well). Stepped time stands still while nothing arrives:
    # the loss is shown as the strap is back, before 5 s of data restore it.
    source = SteppedSource("dropouts", battery_pct=12)
    assert snap_compare(stepped_app(source), run_before=held_at(source, 206, strict=True))


def test_session_paused(snap_compare: Any) -> None:
    source = SteppedSource(battery_pct=80)
    app = stepped_app(source)

    async def run_before(pilot: Pilot[Any]) -> None:
        await step_to(pilot, source, 70)
        await pilot.press("space")
        await step_to(pilot, source, 75)

    assert snap_compare(app, run_before=run_before)


def test_confirm_stop(snap_compare: Any) -> None:
    source = SteppedSource(battery_pct=80)
    assert snap_compare(stepped_app(source), run_before=held_at(source, 50, "q"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare: Any, size: tuple[int, int]) -> None:
    source = SteppedSource(battery_pct=80)
    app = stepped_app(source)

    async def run_before(pilot: Pilot[Any]) -> None:
        await step_to(pilot, source, 10)
        await pilot.press("question_mark")
        await until(pilot, lambda: app.screen.id != "session")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


class FixedAir:
    """A scan that hears the same straps once, then nothing changes."""

    def __init__(self, straps: Sequence[FoundStrap]) -> None:
        self.straps = straps
        self.scans = 0
        self._never = asyncio.Event()

    async def __call__(self, timeout_s: float, read_battery: bool) -> Sequence[FoundStrap]:
        self.scans += 1
        if self.scans > 1:
            await self._never.wait()
        return self.straps


STRAPS = (
    FoundStrap("C0:FF:EE:00:18:0D", "Polar H10 7A2B4C1D", -58, 87),
    FoundStrap("F4:11:22:33:44:55", "HRM-Dual:123456", -74, None),
    FoundStrap("D2:AA:BB:CC:DD:EE", None, -86, 40),
)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pair(snap_compare: Any, size: tuple[int, int]) -> None:
    app = create_app(scan=FixedAir(STRAPS))

    async def run_before(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: isinstance(app.screen, PairScreen) and app.screen.scans == 1)
        await pilot.press("down")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times are shown in local time: pin it, so pictures match on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.usefixtures("utc")
def test_review(snap_compare: Any, size: tuple[int, int]) -> None:
    db = Path(os.environ["BIOFEEDBACK_DB"])
    asyncio.run(record(db, "anxious-1", "anxious", FIRST_START_S, 300.0))
    app = create_app(review=review_view(db, "latest"))
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.usefixtures("utc")
def test_history(snap_compare: Any, size: tuple[int, int]) -> None:
    db = Path(os.environ["BIOFEEDBACK_DB"])
    asyncio.run(recorded_week(db))
    app = create_app(history=history_of(db), open_review=lambda ref: review_view(db, ref))
    assert snap_compare(app, terminal_size=size)
