"""The dashboard's pure parts: the view folded from events, the trend, the pacer's phase."""

from __future__ import annotations

import pytest

from biofeedback.models import (
    Action,
    Baseline,
    Contact,
    Estimate,
    HeartSample,
    Quality,
    SessionEnded,
    SessionStarted,
    SignalLost,
    SignalRestored,
    SourceStatus,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.ui.state import SessionState, Trend, TrendPoint
from biofeedback.ui.widgets import breath_phase, column_groups, columns, whole_seconds_left


def release(t: float, planned_s: float = 15.0) -> StepStarted:
    return StepStarted(t, "feet-release", StepKind.RELEASE, "feet", "Let go.", planned_s)


def test_countdown_follows_extensions_and_holds_while_paused() -> None:
    state = SessionState()
    state.apply(SessionStarted(0.0, "s", "full", "sim", Zone.GREEN))
    state.apply(release(10.0))
    state.apply(HeartSample(14.0, 60.0))
    assert state.remaining_s == pytest.approx(11.0)
    state.apply(StepExtended(25.0, "feet-release", 5.0, "not settled yet"))
    assert state.remaining_s == pytest.approx(5.0)
    state.apply(UserActed(26.0, Action.PAUSE))
    state.apply(HeartSample(40.0, 60.0))
    assert state.paused
    assert state.remaining_s == pytest.approx(4.0)
    state.apply(UserActed(41.0, Action.RESUME))
    assert state.remaining_s == pytest.approx(4.0)
    state.apply(HeartSample(43.0, 60.0))
    assert state.remaining_s == pytest.approx(2.0)
    # 33 s since the step began, 15 of them paused: the breath goes on from 18 s.
    assert state.step_elapsed_s == pytest.approx(18.0)
    assert [e.topic for e in state.log] == ["extend", "you", "you"]


def test_countdown_stops_at_zero_when_the_session_ends_mid_step() -> None:
    state = SessionState()
    state.apply(SessionStarted(0.0, "s", "full", "sim", Zone.GREEN))
    state.apply(release(10.0, planned_s=30.0))
    state.apply(HeartSample(14.0, 60.0))
    assert state.remaining_s == pytest.approx(26.0)
    state.apply(SessionEnded(15.0, "s", "duration reached", 15.0))
    assert state.remaining_s == 0.0


def test_zone_signal_contact_battery_and_baseline() -> None:
    state = SessionState()
    state.apply(SessionStarted(0.0, "s", "full", "ble", Zone.GREEN))
    # Tuples, so the type checker does not narrow what apply() changes next.
    assert (state.zone, state.connected) == (Zone.GREEN, None)  # connection not reported yet
    state.apply(SourceStatus(0.5, True, "connected", battery_pct=77))
    state.apply(HeartSample(1.0, 61.0, contact=Contact.NOT_DETECTED))
    assert (state.connected, state.battery_pct, state.contact) == (True, 77, Contact.NOT_DETECTED)
    state.apply(Baseline(60.0, 64.0, None, Quality.HR_ONLY))
    state.apply(ZoneChanged(90.0, Zone.GREEN, Zone.YELLOW, "arousal +2.3 above 2.0 for 10 s"))
    assert state.zone is Zone.YELLOW
    state.apply(SignalLost(95.0, "strap out of range"))
    assert state.signal_lost is not None
    state.apply(SourceStatus(95.0, False, "out of range"))
    assert state.connected is False
    assert state.battery_pct == 77  # a report without a level keeps the last one
    state.apply(SignalRestored(99.0, "back"))
    assert state.signal_lost is None
    texts = [e.text for e in state.log]
    assert "RMSSD not computable" in texts[0]
    assert "green → yellow" in texts[1]
    assert "arousal +2.3" in texts[1]
    assert state.notes_total == 4


def test_trend_keeps_the_window_and_tags_each_point_with_its_step_kind() -> None:
    trend = Trend(window_s=100.0)
    trend.add(release(0.0))
    for t in range(1, 151):
        if t == 120:
            trend.add(StepStarted(120.0, "rest", StepKind.REST, None, "Rest.", 30.0))
        trend.add(Estimate(float(t), 60.0, 40.0, 0.0, Quality.OK, 0.0))
    points = trend.points()
    assert points[0].t_s == 50.0
    assert points[-1].t_s == 150.0
    assert {p.kind for p in points if p.t_s < 120} == {StepKind.RELEASE}
    assert {p.kind for p in points if p.t_s >= 120} == {StepKind.REST}


def test_columns_cover_the_window_without_false_gaps_but_keep_real_ones() -> None:
    points = [TrendPoint(float(t), 60.0, 40.0, StepKind.BREATH) for t in range(0, 61)]
    # 120 columns over 60 s: half the columns have no point of their own.
    assert all(columns(points, 120, 60.0))
    gap = [p for p in points if not 20 <= p.t_s < 40]
    cols = columns(gap, 60, 60.0)
    assert not any(cols[25:38])
    assert all(cols[:20])
    groups = column_groups(gap, 60, 60.0)
    assert groups[0] == "breath"
    assert groups[30] is None


def test_breath_phase_inhales_then_exhales_for_their_own_lengths() -> None:
    inhaling, fill, left = breath_phase(0.0, 4.0, 6.0)
    assert inhaling
    assert fill == pytest.approx(0.0)
    assert left == pytest.approx(4.0)
    inhaling, fill, _ = breath_phase(2.0, 4.0, 6.0)
    assert inhaling
    assert fill == pytest.approx(0.5)
    inhaling, fill, left = breath_phase(4.0, 4.0, 6.0)
    assert not inhaling
    assert fill == pytest.approx(1.0)
    assert left == pytest.approx(6.0)
    inhaling, fill, _ = breath_phase(7.0, 4.0, 6.0)
    assert not inhaling
    assert fill == pytest.approx(0.5)
    assert breath_phase(12.0, 4.0, 6.0)[1] == pytest.approx(0.5)  # the next breath


def test_countdown_reaches_zero_as_the_step_ends() -> None:
    assert whole_seconds_left(4.2) == 5
    assert whole_seconds_left(5.0) == 5
    assert whole_seconds_left(0.0) == 0
    assert whole_seconds_left(-1.0) == 0
