"""At 80x24 nothing is cut mid-word: the status line takes shorter words instead of
an ellipsis, the review's zone row keeps a blank between bands ("Y red", never
"Yred"), and warnings do not cover the help's safety text."""

from __future__ import annotations

import os
import re
from pathlib import Path

from textual.widgets import Static
from textual.widgets._toast import Toast

from biofeedback.ui.app import DashboardSettings, create_app
from biofeedback.ui.dialogs import HelpScreen
from biofeedback.ui.records import ReviewScreen
from biofeedback.ui.trend_widgets import INITIALS, KIND_GROUPS, ZONE_GROUPS, KindStrip
from tests.support.records import FIRST_START_S, record, review_view
from tests.support.ui import SteppedSource, step_to, stepped_plan, until

WORDS = set(KIND_GROUPS) | set(ZONE_GROUPS)


def test_the_status_line_fits_by_shorter_words_and_keeps_the_clock() -> None:
    from biofeedback.ui.screens import fit_line

    parts = [
        ("12:34", "12:34"),
        ("step 12 of 34", "step 12/34"),
        ("10:02 left", "10:02 left"),
        ("strap ✓ connected", "strap ✓"),
        ("contact ✕ moisten it", "contact ✕"),
        ("battery 12% low", "batt 12% low"),
        ("heart rate only", "HR only"),
    ]
    extras = [("resonance ≈0.45 (estimate, 64 s)", "resonance ≈0.45")]
    for width in (78, 60, 40, 20, 5):
        line = fit_line(parts, width, extras)
        assert len(line) <= width or line == "12:34", (width, line)
        assert line.startswith("12:34")
        kept = line.split(" · ")
        # Every part is whole, in its full or short form.
        assert all(any(p in pair for pair in [*parts, *extras]) for p in kept), line
    # The extra gives way before any essential word is shortened.
    assert fit_line(parts[:4], 78, extras) == (
        "12:34 · step 12 of 34 · 10:02 left · strap ✓ connected · resonance ≈0.45"
    )
    assert fit_line(parts[:5], 78, extras) == (
        "12:34 · step 12 of 34 · 10:02 left · strap ✓ connected · contact ✕ moisten it"
    )


async def test_the_dashboard_status_line_is_not_cut_at_80_columns() -> None:
    source = SteppedSource(battery_pct=80)
    app = create_app(
        stepped_plan(source, protocol="passive-rest"),
        DashboardSettings(reduced_motion=True),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 80)
        status = screen.query_one("#status", Static)
        text = str(status.render())
        assert "…" not in text
        assert len(text) <= status.content_size.width
        assert "80%" in text
        assert text.startswith("01:20 · step ")


async def test_the_review_zone_row_keeps_bands_apart() -> None:
    db = Path(os.environ["BIOFEEDBACK_DB"])
    # The panic: green, a few seconds of yellow, then red.
    await record(db, "panic-1", "panic", FIRST_START_S, 300.0)
    app = create_app(review=review_view(db, "latest"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        row = str(app.screen.query_one("#review-zones", KindStrip).render_line(0).text)
        assert "red" in row
        for token in row.split():
            # A whole word, or band initials side by side: never a letter run into a word.
            assert token in WORDS or re.fullmatch(
                "[" + "".join(re.escape(c) for c in INITIALS.values()) + "]+", token
            ), (token, row)


async def test_key_warnings_do_not_cover_the_help() -> None:
    source = SteppedSource(battery_pct=80)
    settings = DashboardSettings(reduced_motion=True, keymap={"session.nap": "z"})
    app = create_app(stepped_plan(source), settings)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await step_to(pilot, source, 5)
        await until(pilot, lambda: bool(app.screen.query(Toast)))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        for _ in range(20):  # let the help screen's own toast rack catch up
            await pilot.pause()
        assert not app.screen.query(Toast)
        assert "medical" in str(app.screen.query_one("#safety", Static).render())
