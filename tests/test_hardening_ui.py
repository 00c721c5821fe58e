"""The dashboard shows a recorder that cannot write, while it happens."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from biofeedback.store import RecorderSink
from tests.support.store import fill_disk, free_disk
from tests.support.ui import SteppedSource, session_screen, step_to, stepped_app, until


def alert_text(app: object) -> str:
    screen = session_screen(app)  # type: ignore[arg-type]
    return str(screen.query_one("#alert", Static).render())


async def test_a_full_disk_shows_a_banner_until_the_recorder_can_write_again(
    tmp_path: Path,
) -> None:
    source = SteppedSource()
    recorder = RecorderSink(tmp_path / "s.db")
    app = stepped_app(source, sinks=(recorder,))
    async with app.run_test(size=(80, 24)) as pilot:
        await step_to(pilot, source, 5)
        await until(pilot, lambda: recorder.commits > 0)
        assert "not being saved" not in alert_text(app)
        fill_disk(recorder)
        await step_to(pilot, source, 120)
        await until(pilot, lambda: recorder.write_failed.is_set(), rounds=5000)
        await until(pilot, lambda: "not being saved" in alert_text(app), rounds=5000)
        assert session_screen(app).query_one("#alert").has_class("-lost")
        free_disk(recorder)
        await step_to(pilot, source, 130)
        await until(pilot, lambda: "not being saved" not in alert_text(app), rounds=5000)
        await pilot.press("q")
