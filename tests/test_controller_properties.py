"""Whatever the body, the strap and the user do, the rules hold and the session ends."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.models import (
    Action,
    ArousalEstimate,
    Quality,
    SessionEvent,
    SourceStatus,
    StepEnded,
    StepKind,
    StepStarted,
    Zone,
    ZoneChanged,
)
from biofeedback.pacing.controller import PacingConfig, StartZone
from biofeedback.routines.protocols import builtin_names
from tests.support.pacing import RestingBaseline, estimate, make

CFG = PacingConfig()


@dataclass(frozen=True)
class Segment:
    """``seconds`` of one kind of input."""

    seconds: int
    arousal: float | None  # None: no signal
    quality: Quality
    hr_delta: float | None
    connected: bool


segment = st.builds(
    Segment,
    seconds=st.integers(1, 150),
    # Typical levels (calm, unsettled, aroused, severe) come up often; any value can.
    arousal=st.one_of(
        st.sampled_from([0.0, 0.3, 1.2, 2.5, 4.0, 6.5]),
        st.none(),
        st.floats(-2.0, 7.0, allow_nan=False),
    ),
    quality=st.sampled_from([Quality.OK, Quality.OK, Quality.HR_ONLY]),
    hr_delta=st.one_of(st.none(), st.floats(-10.0, 25.0, allow_nan=False)),
    connected=st.booleans() | st.just(True),
)
user_action = st.tuples(
    st.integers(1, 1500),
    # No STOP: the session must end by itself.
    st.sampled_from([Action.SKIP, Action.HURTS, Action.PAUSE]),
    st.integers(1, 90),  # how long a pause lasts before the resume
)


@dataclass
class Fed:
    t: float
    estimate: ArousalEstimate
    connected: bool
    paused: bool


def start_zones() -> st.SearchStrategy[StartZone]:
    return st.sampled_from([Zone.GREEN, Zone.YELLOW, Zone.RED, "auto"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=st.sampled_from(builtin_names()),
    start_zone=start_zones(),
    stored_hr=st.one_of(st.none(), st.floats(45.0, 90.0)),
    plan=st.lists(segment, min_size=1, max_size=30),
    actions=st.lists(user_action, max_size=8),
    sides=st.booleans(),
)
def test_rules_hold_and_the_session_always_ends(
    protocol: str,
    start_zone: StartZone,
    stored_hr: float | None,
    plan: list[Segment],
    actions: list[tuple[int, Action, int]],
    sides: bool,
) -> None:
    stored = None if stored_hr is None else RestingBaseline(stored_hr)
    controller = make(protocol, start_zone=start_zone, stored=stored, sides=sides)
    scripted: dict[float, list[Action]] = {}
    pause_total = 0
    for at_s, action, hold in actions:
        scripted.setdefault(float(at_s), []).append(action)
        if action is Action.PAUSE:
            scripted.setdefault(float(at_s + hold), []).append(Action.RESUME)
            pause_total += hold
    timeline: list[Segment] = []
    for seg in plan:
        timeline += [seg] * seg.seconds

    events: list[SessionEvent] = controller.start(0.0)
    fed: list[Fed] = []
    hurt_regions: set[str] = set()
    limit = controller.planned_s + CFG.max_overrun_s + pause_total + 200
    t = 0.0
    connected = True
    while not controller.finished and t < limit:
        t += 1.0
        seg = timeline[int(t) % len(timeline)]
        if seg.connected != connected:
            connected = seg.connected
            events += controller.on_source_status(t, SourceStatus(t, connected, "test"))
        for action in scripted.get(t, ()):
            if action is Action.HURTS and controller.step is not None and controller.step.region:
                hurt_regions.add(controller.step.region)
            events += controller.on_action(t, action)
        if seg.arousal is None:
            est = estimate(t, None, quality=Quality.NO_SIGNAL)
        else:
            est = estimate(t, seg.arousal, quality=seg.quality, hr_delta=seg.hr_delta)
        paused = controller.paused
        fed.append(Fed(t, est, connected, paused))
        events += controller.on_estimate(t, est)
        # After "it hurts", that region is never tensed or massaged again.
        step = controller.step
        if step is not None and step.region in hurt_regions:
            assert step.kind not in (StepKind.TENSE, StepKind.MASSAGE)

    assert controller.finished, f"still running at {t} s"
    assert controller.end_reason == "completed"
    check_steps(events)
    check_zones(events, fed, auto=start_zone == "auto", start=start_zone)


def check_steps(events: list[SessionEvent]) -> None:
    open_step: str | None = None
    zone = None
    last_t = 0.0
    for event in events:
        assert event.t >= last_t
        last_t = event.t
        if isinstance(event, ZoneChanged):
            zone = event.to_zone
        if isinstance(event, StepStarted):
            assert open_step is None
            open_step = event.step
            if zone in (Zone.YELLOW, Zone.RED):
                assert event.kind is not StepKind.TENSE
        elif isinstance(event, StepEnded):
            assert event.step == open_step
            open_step = None


def check_zones(
    events: list[SessionEvent], fed: list[Fed], *, auto: bool, start: StartZone
) -> None:
    changes = [e for e in events if isinstance(e, ZoneChanged)]
    by_t = {f.t: f for f in fed}
    zone = Zone.GREEN if start == "auto" else Zone(start)
    entered_s = 0.0
    previous: ZoneChanged | None = None
    for change in changes:
        assert change.from_zone is zone
        assert abs(change.to_zone.rank - change.from_zone.rank) == 1, "one zone at a time"
        assert change.reason
        down = change.to_zone.rank > change.from_zone.rank
        now = by_t[change.t]
        assert not now.paused
        is_auto = auto and previous is None and "resting" in change.reason
        if not is_auto:
            assert now.connected
            assert now.estimate.arousal is not None
        if previous is not None and change.t - previous.t < CFG.dwell_s:
            # Within one dwell period only strong evidence of a rise may change again.
            assert down, (previous, change)
            assert change.evidence is not None
            assert change.evidence >= CFG.evidence.strong
        if down and not is_auto:
            assert now.estimate.arousal is not None
            assert change.evidence is not None
            assert change.evidence_needed is not None
            assert change.evidence >= change.evidence_needed
            # RMSSD alone never steps down: the heart rate is up over the reference
            # (the opening baseline, or the stored one when the opening was too high).
            ev = CFG.evidence
            assert change.hr_delta_bpm is not None
            assert change.hr_delta_bpm >= ev.min_hr_bpm - ev.follow_down_bpm
        if not down:
            assert previous is None or change.t - previous.t >= CFG.dwell_s
            if change.from_zone is Zone.RED:
                assert change.t - entered_s >= CFG.red_min_s
            window = [by_t[t] for t in by_t if change.t - CFG.step_up_after_s < t <= change.t]
            assert len(window) >= CFG.step_up_after_s
            for f in window:
                est = f.estimate
                assert f.connected
                assert not f.paused
                assert est.arousal is not None
                assert est.arousal < CFG.step_up_below
                assert est.hr_delta_bpm is None or est.hr_delta_bpm <= CFG.calm_hr_margin_bpm
        zone = change.to_zone
        entered_s = change.t
        previous = change
