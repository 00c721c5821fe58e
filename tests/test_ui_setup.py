"""The setup screen through Textual's Pilot, a snapshot at 80x24, and `setup` on a terminal."""

from __future__ import annotations

import json
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Checkbox, RadioSet, Select, SelectionList

from biofeedback.cli.setup import save_profile
from biofeedback.routines.profile import Profile
from biofeedback.ui.app import DashboardSettings, create_app
from biofeedback.ui.setup import SetupScreen, create_setup_app
from tests.support.cli import run_cli, run_on_terminal
from tests.support.ui import SteppedSource, step_to, step_until, stepped_plan


async def test_choosing_and_saving_a_profile() -> None:
    app = create_setup_app(Profile(), reduced_motion=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        # Position: the first radio set has focus; move to "lying" and choose it.
        await pilot.click("#position-set")
        await pilot.press("right", "space")
        # Eyes: closed.
        await pilot.press("tab", "right", "space")
        await pilot.click("#gentle-joints")
        await pilot.click("#back-pain")
        screen.query_one("#tension-starts", Select).value = "shoulders"
        painful = screen.query_one("#painful", SelectionList)
        painful.focus()
        await pilot.pause()
        await pilot.press(*["down"] * 8, "space")  # the ninth region: lower-back
        await pilot.pause()
        expected = Profile(
            position="lying",
            eyes="closed",
            painful=("lower-back",),
            tension_starts="shoulders",
            gentle_joints=True,
            back_pain=True,
        )
        assert screen.chosen() == expected
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.chosen == expected


async def test_the_form_opens_on_the_stored_profile_and_escape_cancels() -> None:
    stored = Profile(position="side-lying", eyes="open", painful=("neck", "jaw"), back_pain=True)
    app = create_setup_app(stored)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        pressed = screen.query_one("#position-set", RadioSet).pressed_button
        assert pressed is not None
        assert pressed.name == "side-lying"
        assert screen.query_one("#back-pain", Checkbox).value is True
        assert screen.query_one("#gentle-joints", Checkbox).value is False
        assert screen.query_one("#tension-starts", Select).value is Select.NULL
        assert screen.chosen() == stored
        await pilot.press("escape")
        await pilot.pause()
    assert app.chosen is None


def test_setup_screen_snapshot(snap_compare: Any) -> None:
    stored = Profile(
        position="lying", eyes="closed", painful=("lower-back",), tension_starts="shoulders"
    )

    async def settle(pilot: Pilot[Any]) -> None:
        await pilot.pause()

    app = create_setup_app(stored, reduced_motion=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_setup_on_a_terminal_saves_what_the_form_shows() -> None:
    assert run_cli("setup", "--position", "reclined", "--painful", "neck").returncode == 0
    out = run_on_terminal(["setup"], until=b"Your practice profile", then=b"\x13")  # ctrl+s
    assert "saved your profile" in out
    shown = json.loads(run_cli("setup", "--show", "--json").stdout)
    assert shown["position"] == "reclined"
    assert shown["painful"] == ["neck"]
    cancelled = run_on_terminal(["setup"], until=b"Your practice profile", then=b"\x1b")
    assert "nothing changed" in cancelled


async def test_the_dashboard_says_what_the_profile_changed() -> None:
    save_profile(Profile(tension_starts="hands"))
    source = SteppedSource()
    plan = stepped_plan(source, imagery="neck")
    app = create_app(plan, DashboardSettings(reduced_motion=True))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 2)
        log = [entry.text for entry in screen.state.log if entry.topic == "plan"]
        assert log == [
            "Adapted for you: starts at your hands, where your tension starts; then its usual"
            " order; neck by imagery only, because it hurts."
        ]
        screen = await step_until(
            pilot, source, lambda s: s.state.step is not None and s.state.step.region is not None
        )
        assert screen.state.step is not None
        assert screen.state.step.region == "hands"
