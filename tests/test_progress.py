"""One fold of the event stream: the dashboard and the MQTT state agree with the controller."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.loop.progress import CHANGE_TYPES, DECISION_TYPES, Progress, fold
from biofeedback.models import (
    Action,
    ArousalEstimate,
    Estimate,
    Quality,
    SessionEnded,
    SessionEvent,
    SessionStarted,
    SignalLost,
    SignalRestored,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.pacing.controller import PacingController
from biofeedback.telemetry import Board, EventHeard, RunnerTracker
from biofeedback.ui.state import SessionState
from tests.support.pacing import estimate, make


class Views:
    """The three readers of one stream, fed alike."""

    def __init__(self) -> None:
        self.progress = Progress()
        self.dashboard = SessionState()
        self.mqtt = RunnerTracker()

    def feed(self, events: list[SessionEvent]) -> None:
        for event in events:
            self.progress.apply(event)
            self.dashboard.apply(event)
            self.mqtt.apply(event)


def loop_tick(controller: PacingController, t: float, est: ArousalEstimate) -> list[SessionEvent]:
    """What the session loop emits on a tick: the estimate, then the decisions on it."""
    shown = Estimate(t, est.hr_bpm, est.rmssd_ms, est.arousal, est.quality, est.artifact_rate)
    return [shown, *controller.on_estimate(t, est)]


def test_pause_then_it_hurts_leaves_the_session_running_in_every_view() -> None:
    """The issue's case: pause, then "it hurts", then the next step and an estimate."""
    controller = make(start_zone=Zone.GREEN)
    views = Views()
    views.feed([SessionStarted(0.0, "s", "full", "test", Zone.GREEN), *controller.start(0.0)])
    t = 0.0
    while controller.step is None or controller.step.region is None:
        t += 1.0
        views.feed(loop_tick(controller, t, estimate(t)))
    views.feed(controller.on_action(t + 0.5, Action.PAUSE))
    assert controller.paused
    assert views.progress.paused
    assert views.dashboard.paused
    assert views.mqtt.state.paused
    hurts = controller.on_action(t + 3.0, Action.HURTS)
    kinds = [type(e) for e in hurts]
    assert kinds[0] is UserActed
    assert StepEnded in kinds
    assert StepStarted in kinds
    views.feed(hurts)
    views.feed(loop_tick(controller, t + 4.0, estimate(t + 4.0)))
    # The controller is the truth: "it hurts" resumes, then moves on.
    assert not controller.paused
    assert not views.progress.paused
    assert not views.dashboard.paused
    assert not views.mqtt.state.paused
    left = controller.remaining_s(t + 4.0)
    assert views.progress.remaining_s == pytest.approx(left)
    assert views.dashboard.remaining_s == pytest.approx(left)
    assert views.mqtt.state.step_left_s == pytest.approx(left)
    assert controller.step is not None
    assert views.mqtt.state.step == controller.step.id


def test_the_exact_event_sequence_of_the_issue() -> None:
    started = StepStarted(60.0, "feet-tense", StepKind.TENSE, "feet", "Curl your toes.", 5.0)
    events: list[SessionEvent] = [
        SessionStarted(0.0, "s", "full", "test", Zone.GREEN),
        started,
        UserActed(61.0, Action.PAUSE),
        UserActed(70.0, Action.HURTS),
        StepEnded(70.0, "feet-tense", 1.0, "it hurts"),
        StepStarted(70.0, "calves-tense-imagery", StepKind.IMAGERY, "calves", "Picture it.", 5.0),
        Estimate(71.0, 60.0, 40.0, 0.0, Quality.OK, 0.0),
    ]
    views = Views()
    views.feed(events)
    assert (views.progress.paused, views.dashboard.paused, views.mqtt.state.paused) == (
        False,
        False,
        False,
    )
    assert views.dashboard.remaining_s == views.progress.remaining_s == 4.0
    assert views.mqtt.state.step_left_s == 4.0


def test_a_step_that_ended_counts_down_nothing_until_the_next_starts() -> None:
    progress = fold(
        [
            StepStarted(10.0, "hands-tense", StepKind.TENSE, "hands", "Make fists.", 5.0),
            UserActed(11.0, Action.SKIP),
            StepEnded(11.0, "hands-tense", 1.0, "skipped"),
        ]
    )
    assert progress.remaining_s == 0.0
    assert progress.step is not None  # still named for a view that shows it
    assert not progress.step_running


def test_the_fold_keeps_the_course_a_review_reads() -> None:
    """Steps as they really ran (a skip ends one early, the last is still open at
    the end), the zones, every extension, and the seconds without signal (a second loss
    before the restore does not restart the count; one still open runs to the end)."""
    tense = StepStarted(10.0, "hands-tense", StepKind.TENSE, "hands", "Make fists.", 5.0)
    release = StepStarted(12.0, "hands-release", StepKind.RELEASE, "hands", "Let go.", 20.0)
    progress = fold(
        [
            SessionStarted(0.0, "s", "full", "test", Zone.GREEN),
            tense,
            UserActed(11.0, Action.SKIP),
            StepEnded(11.0, "hands-tense", 1.0, "skipped"),
            StepEnded(11.5, "hands-tense", 1.0, "late, for a step already over"),
            release,
            StepExtended(30.0, "hands-release", 5.0, "not settled"),
            ZoneChanged(30.0, Zone.GREEN, Zone.YELLOW, "arousal up"),
            ZoneChanged(30.0, Zone.YELLOW, Zone.RED, "arousal up again"),
            SignalLost(31.0, "no beats"),
            SignalLost(33.0, "still no beats"),
            SignalRestored(35.0, "beats again"),
            StepExtended(36.0, "hands-release", 2.5, "not settled"),
            SignalLost(40.0, "no beats"),
            SessionEnded(41.0, "s", "stopped by user", 41.0),
        ]
    )
    assert progress.steps_until(50.0) == [(tense, 10.0, 11.0), (release, 12.0, 50.0)]
    assert progress.steps_until(5.0)[-1] == (release, 12.0, 12.0)
    assert progress.steps_started == 2
    assert [e.by_s for e in progress.extensions] == [5.0, 2.5]
    assert progress.extended_s == 7.5
    assert progress.no_signal_until(50.0) == 4.0 + 10.0
    assert progress.no_signal_until(30.0) == 4.0
    # The zones from the session's start; the yellow of no time is left out.
    assert progress.zones_until(50.0) == [(Zone.GREEN, 0.0, 30.0), (Zone.RED, 30.0, 50.0)]
    assert fold([]).zones_until(50.0) == []


def test_decisions_are_one_list_shared_by_mqtt_the_monitor_and_review() -> None:
    assert DECISION_TYPES < CHANGE_TYPES
    assert {"user_action", "advice"} == CHANGE_TYPES - DECISION_TYPES
    tracker = RunnerTracker()
    tracker.apply(ZoneChanged(5.0, Zone.GREEN, Zone.YELLOW, "arousal up"))
    # What the person did is a change a watcher sees, not the controller's decision.
    state = tracker.apply(UserActed(6.0, Action.PAUSE))
    assert state.decision == "green to yellow: arousal up"
    board = Board()
    row = board.apply(EventHeard("ana", {"type": "user_action", "action": "pause"}))
    assert row is not None
    assert row.decision == "user_action: pause"
    for kind in DECISION_TYPES | CHANGE_TYPES:
        assert board.apply(EventHeard("bo", {"type": kind, "reason": "why"})) is not None
        assert board.rows["bo"].decision == f"{kind}: why"


# --------------------------------------------------------------------------
# Property: the fold follows the real controller second by second

user_action = st.tuples(
    st.integers(1, 700),
    st.sampled_from([Action.PAUSE, Action.RESUME, Action.SKIP, Action.HURTS, Action.STOP]),
)
arousal_level = st.sampled_from([None, 0.0, 0.3, 1.2, 2.5, 4.0, 6.5])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=st.sampled_from(["full", "work-reset", "back-care", "pelvic-release"]),
    start_zone=st.sampled_from([Zone.GREEN, Zone.YELLOW, Zone.RED]),
    levels=st.lists(arousal_level, min_size=1, max_size=12),
    actions=st.lists(user_action, max_size=12),
)
def test_the_fold_follows_the_controller_every_second(
    protocol: str,
    start_zone: Zone,
    levels: list[float | None],
    actions: list[tuple[int, Action]],
) -> None:
    controller = make(protocol, start_zone=start_zone)
    scripted: dict[float, list[Action]] = {}
    for t_s, action in actions:
        scripted.setdefault(float(t_s), []).append(action)
    views = Views()
    views.feed([SessionStarted(0.0, "s", protocol, "test", start_zone), *controller.start(0.0)])
    t = 0.0
    while not controller.finished and t < 800.0:
        t += 1.0
        for action in scripted.get(t, ()):
            views.feed(controller.on_action(t, action))
        level = levels[int(t) // 60 % len(levels)]
        est = estimate(t, None, quality=Quality.NO_SIGNAL) if level is None else estimate(t, level)
        views.feed(loop_tick(controller, t, est))
        if controller.finished:
            break
        got = views.progress
        assert got.paused is controller.paused, t
        assert got.remaining_s == pytest.approx(controller.remaining_s(t)), t
        assert got.zone is controller.zone
        assert got.signal_ok is controller.signal_ok
        assert views.dashboard.paused is controller.paused
        assert views.dashboard.remaining_s == pytest.approx(controller.remaining_s(t))
        state = views.mqtt.state
        assert state.paused is controller.paused
        step = controller.step
        assert state.step == (None if step is None else step.id)
        if step is not None:
            assert state.step_left_s == pytest.approx(controller.remaining_s(t))
    if controller.finished:
        views.feed(controller.stop(t, "test over"))
        views.feed([SessionEnded(t, "s", controller.end_reason, t)])
        assert views.progress.ended is not None
        assert views.progress.remaining_s == 0.0
        assert views.mqtt.state.ended
        assert views.mqtt.state.step is None
