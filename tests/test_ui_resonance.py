"""The dashboard's live resonance indicator, on the real Textual app."""

from __future__ import annotations

from biofeedback.models import ResonanceAssessed, ResonanceUpdate
from biofeedback.ui.app import DashboardSettings, create_app
from biofeedback.ui.state import SessionState
from tests.support.ui import SteppedSource, step_to, stepped_plan


async def test_the_status_line_shows_the_resonance_estimate() -> None:
    # Every session the CLI wires carries the live indicator.
    source = SteppedSource()
    app = create_app(stepped_plan(source), DashboardSettings(reduced_motion=True))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await step_to(pilot, source, 40)
        assert "resonance" not in str(screen.query_one("#status").render())
        screen = await step_to(pilot, source, 90)
        status = str(screen.query_one("#status").render())
        assert "resonance ≈" in status
        assert "estimate, 64 s" in status


def test_the_assessment_result_is_noted_in_the_log() -> None:
    state = SessionState()
    state.apply(ResonanceUpdate(70.0, 64.0, 0.82, 0.09, 5.4, 12.0))
    assert state.resonance is not None
    assert state.resonance.coherence == 0.82
    state.apply(ResonanceAssessed(870.0, 5.3, 0.9, "high", 0.088))
    assert "5.3 breaths a minute (confidence high)" in state.log[-1].text
