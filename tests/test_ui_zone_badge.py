"""The dashboard's zone badge names the zone the record holds, whatever the routine:
a Yellow routine chosen in Green (pelvic-release) and the resonance assessment (a
breathing routine safe in every zone) say their gentleness in words beside it."""

from __future__ import annotations

from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.session import SessionPlan
from biofeedback.models import SessionStarted, ZoneChanged
from biofeedback.pacing.resonance_plan import AssessmentPlan
from biofeedback.ui.app import DashboardSettings, create_app
from biofeedback.ui.widgets import ZoneBadge
from tests.support.sinks import ListSink
from tests.support.ui import SteppedSource, step_to


async def _badge_and_record(plan: SessionPlan, source: SteppedSource, sink: ListSink) -> str:
    app = create_app(plan, DashboardSettings(reduced_motion=True))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 120)
        badge = screen.query_one(ZoneBadge)
        text = str(badge.render())
        (started,) = [e for e in sink.events if isinstance(e, SessionStarted)]
        recorded = started.zone
        for event in sink.events:
            if isinstance(event, ZoneChanged):
                recorded = event.to_zone
        assert recorded is not None
        # The name and the colour both follow the record.
        assert recorded.value.upper() in text, text
        assert badge.has_class(f"-{recorded.value}")
        return text


async def test_a_yellow_routine_chosen_in_green_shows_green_and_says_the_routine() -> None:
    source, sink = SteppedSource(battery_pct=80), ListSink()
    request = SessionRequest(sim="calm", speed=None, protocol="pelvic-release")
    plan = build_session(request, dashboard=True, source=source, sinks=(sink,))
    text = await _badge_and_record(plan, source, sink)
    assert "YELLOW" not in text
    assert "this routine: gentle, breath-led" in text


async def test_the_resonance_assessment_shows_the_recorded_zone_not_red() -> None:
    source, sink = SteppedSource(battery_pct=80), ListSink()
    # As `biofeedback resonance --sim --speed max` asks for it (cli.request.assessment_request).
    request = SessionRequest(
        sim="calm", speed=None, protocol="resonance", assessment=AssessmentPlan(), ratings=False
    )
    plan = build_session(request, dashboard=True, source=source, sinks=(sink,))
    text = await _badge_and_record(plan, source, sink)
    assert "RED" not in text
    assert "this routine: rest only" in text
