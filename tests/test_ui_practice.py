"""The ratings form and the today screen, in the real Textual app through its Pilot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from biofeedback.cli import review_view
from biofeedback.practice.ratings import Ratings
from biofeedback.store import Store, load_ratings, save_ratings
from biofeedback.ui.app import create_app
from biofeedback.ui.ratings import RatingsApp, RatingsScreen
from biofeedback.ui.records import ReviewScreen
from biofeedback.ui.today import TodayApp, TodayScreen, TodayView
from tests.support.records import FIRST_START_S, record
from tests.support.ui import until


async def test_form_saves_what_was_given_and_leaves_the_rest_empty() -> None:
    app = RatingsApp("before")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RatingsScreen)
        assert "Before you start" in str(app.screen.query_one("#question", Static).render())
        assert app.focused is app.screen.query_one("#tension", Input)
        await pilot.press("6", "enter")  # enter moves to the next field
        await pilot.press("enter")  # pain left empty
        await pilot.press("x", "4", "enter")  # letters are refused; enter on the last saves
    assert app.ratings == Ratings(6, None, 4)


async def test_form_asks_again_over_ten_and_escape_skips() -> None:
    app = RatingsApp("after")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("1", "2", "ctrl+s")
        await pilot.pause()
        error = app.screen.query_one("#summary", Static)
        assert "up to 10" in str(error.render())
        assert error.has_class("error")
        assert app.is_running
        await pilot.press("escape")
    assert app.ratings is None


async def test_saving_an_empty_form_is_a_skip() -> None:
    app = RatingsApp("after")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.click("#save")
    assert app.ratings is None


@pytest.mark.parametrize("phase", ["before", "after"])
def test_form_snapshot(snap_compare: Any, phase: str) -> None:
    async def fill(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press("5", "enter", "2")
        await pilot.pause()

    assert snap_compare(RatingsApp(phase), terminal_size=(80, 24), run_before=fill)  # type: ignore[arg-type]


TODAY = TodayView(
    "bedtime",
    "Bedtime",
    10,
    "It is late evening: a slow bedtime routine helps you wind down.",
    "Last time your tension went from 2 to 5, so today is gentler: softer tensing and"
    " longer releases.",
    [
        "22:15  If today was stressful, after brushing your teeth: longer bedtime session,"
        " 10 minutes."
    ],
)


async def test_today_screen_starts_the_suggested_routine_or_closes() -> None:
    app = TodayApp(TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
        title = str(app.screen.query_one("#today-title", Static).render())
        assert title == "Today: Bedtime, about 10 min"
        assert "gentler" in str(app.screen.query_one("#today-adaptation", Static).render())
        await pilot.press("enter")
    assert app.chosen == "bedtime"
    app = TodayApp(TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
    assert app.chosen is None


def test_today_snapshot(snap_compare: Any) -> None:
    assert snap_compare(TodayApp(TODAY), terminal_size=(80, 24))


async def test_the_review_screen_shows_how_you_felt_beside_the_body(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    await record(db, "rated-1", "calm", FIRST_START_S, 180.0)
    with Store(db) as store:
        save_ratings(store, "rated-1", "before", Ratings(7, None, 5))
        save_ratings(store, "rated-1", "after", Ratings(4, None, 5))
        view = review_view(store.load("rated-1"), load_ratings(store, "rated-1"))
    app = create_app(review=view)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        summary = str(app.screen.query_one("#review-summary Static", Static).render())
        assert "how you felt (0-10): tension 7 -> 4 (-3), anxiety 5 -> 5 (+0)" in summary
        assert "your body: HR" in summary
        await pilot.press("q")
