"""Review and history screens over sessions recorded into a real store."""

from __future__ import annotations

import os
from pathlib import Path

from textual.widgets import DataTable, Static

from biofeedback.ui.app import create_app
from biofeedback.ui.records import HistoryScreen, ReviewScreen, ReviewView
from biofeedback.ui.widgets import KindStrip
from tests.support.cli import run_on_terminal
from tests.support.records import (
    FIRST_START_S,
    history_of,
    record,
    recorded_week,
    review_view,
)
from tests.support.ui import until


async def test_review_shows_the_session_in_zone_bands_with_steps_and_summary() -> None:
    db = Path(os.environ["BIOFEEDBACK_DB"])
    await record(db, "anxious-1", "anxious", FIRST_START_S, 300.0)
    app = create_app(review=review_view(db, "latest"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        screen = app.screen
        title = str(screen.query_one("#review-title", Static).render())
        assert title.startswith("Review · anxious-1 · ")
        assert "5:00" in title
        zones = str(screen.query_one("#review-zones", KindStrip).render_line(0).text)
        # The anxious person stepped down to yellow in these five minutes.
        assert "green" in zones
        assert "yellow" in zones
        steps = str(screen.query_one("#review-steps", KindStrip).render_line(0).text)
        assert "breath" in steps
        summary = str(screen.query_one("#review-summary Static", Static).render())
        assert "zone green -> yellow" in summary
        await pilot.press("q")
    assert not app.is_running


async def test_history_lists_sessions_and_enter_reviews_one() -> None:
    db = Path(os.environ["BIOFEEDBACK_DB"])
    await recorded_week(db)
    opened: list[str] = []

    def open_review(ref: str) -> ReviewView:
        opened.append(ref)
        return review_view(db, ref)

    app = create_app(history=history_of(db), open_review=open_review)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        table = app.screen.query_one(DataTable)
        assert table.row_count == 4
        # Newest first.
        assert [str(table.get_row_at(i)[1]) for i in range(4)] == [
            "day4-anxious",
            "day3-calm",
            "day2-calm",
            "day1-anxious",
        ]
        notes = str(app.screen.query_one("#history-notes", Static).render())
        assert "Resting heart rate:" in notes
        assert "simulated" in notes
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert opened == ["day3-calm"]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("q")
    assert not app.is_running


def test_review_and_history_open_on_a_terminal() -> None:
    run = run_on_terminal(
        ["run", "--sim", "--headless", "--speed", "max", "--duration", "120", "--no-ratings"],
        until=b"session_ended",
        then=b"",
    )
    assert "session_started" in run
    shown = run_on_terminal(["review"], until=b"Review \xc2\xb7", then=b"q")
    assert "Heart rate" in shown
    listed = run_on_terminal(["history"], until=b"History \xc2\xb7 1 session", then=b"q")
    assert "Rest HR" in listed
