"""The pacing rules, driven by synthetic estimate streams one second at a time."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pytest

from biofeedback.models import (
    Action,
    Advice,
    ArousalEstimate,
    Baseline,
    Quality,
    SessionEvent,
    SignalLost,
    SignalRestored,
    SourceStatus,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    Zone,
    ZoneChanged,
)
from biofeedback.pacing.controller import (
    RED_FLAGS,
    STOP_RULES,
    PacingConfig,
    PacingController,
)
from biofeedback.pacing.rules import pressor_share, pressor_share_fast
from biofeedback.routines.protocols import ProtocolError, load_protocol
from tests.support.pacing import RestingBaseline, estimate, make

Feed = Callable[[float], ArousalEstimate]


def steady(arousal: float | None) -> Feed:
    return lambda t: estimate(t, arousal)


def segments(*parts: tuple[float, float | None], after: float | None = 0.0) -> Feed:
    """Arousal ``value`` until ``t`` for each (t, value), then ``after``."""

    def feed(t: float) -> ArousalEstimate:
        for until, value in parts:
            if t <= until:
                return estimate(t, value)
        return estimate(t, after)

    return feed


E = TypeVar("E", bound=SessionEvent)


@dataclass
class Run:
    controller: PacingController
    events: list[SessionEvent]
    end_s: float

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def zones(self) -> list[ZoneChanged]:
        return [e for e in self.events if isinstance(e, ZoneChanged)]

    @property
    def started(self) -> list[StepStarted]:
        return [e for e in self.events if isinstance(e, StepStarted)]

    @property
    def extended(self) -> list[StepExtended]:
        return [e for e in self.events if isinstance(e, StepExtended)]

    def zone_at(self, t: float) -> Zone:
        zone = Zone.GREEN
        for change in self.zones:
            if change.t <= t:
                zone = change.to_zone
        return zone


def drive(
    controller: PacingController,
    feed: Feed,
    *,
    until_s: float = 4000.0,
    actions: Mapping[float, Sequence[Action]] | None = None,
) -> Run:
    events = controller.start(0.0)
    t = 0.0
    while not controller.finished and t < until_s:
        t += 1.0
        for action in (actions or {}).get(t, ()):
            events += controller.on_action(t, action)
        events += controller.on_estimate(t, feed(t))
    return Run(controller, events, t)


# ---------------------------------------------------------------------------
# The frame and the plan


def test_calm_session_runs_the_plan_with_no_decisions() -> None:
    controller = make()
    run = drive(controller, steady(0.0))
    assert controller.finished
    assert controller.end_reason == "completed"
    ids = [e.step for e in run.started]
    protocol = load_protocol("full")
    assert ids == ["settle", *[s.id for s in protocol.steps], "closing-scan", "closing-breath"]
    assert not run.zones
    assert not run.extended
    assert run.end_s == pytest.approx(controller.planned_s, abs=1)
    closing = run.started[-1]
    assert closing.cue.endswith("Soften.")
    assert (closing.breath_in_s, closing.breath_out_s) == (4.0, 6.0)
    settle = run.started[0]
    assert settle.kind is StepKind.BREATH
    assert (settle.breath_in_s, settle.breath_out_s) == (4.0, 6.0)
    assert protocol.setup in settle.cue


def test_steps_alternate_start_and_end() -> None:
    run = drive(make("anxiety-downshift"), segments((200, 0.0), (260, 2.6), (400, 1.2)))
    open_step: str | None = None
    for event in run.events:
        if isinstance(event, StepStarted):
            assert open_step is None
            open_step = event.step
        elif isinstance(event, StepEnded):
            assert event.step == open_step
            open_step = None
    assert open_step is None


def test_settle_waits_for_the_baseline_but_not_forever() -> None:
    late = drive(make(), lambda t: estimate(t, 0.0, baseline=t >= 72))
    settle_end = next(e for e in late.events if isinstance(e, StepEnded))
    assert settle_end.step == "settle"
    assert 72 <= settle_end.t <= 77
    assert late.extended[0].step == "settle"
    assert "baseline" in late.extended[0].reason
    baseline = late.of(Baseline)
    assert len(baseline) == 1
    assert baseline[0].t == 72

    never = drive(make(), lambda t: estimate(t, 0.0, baseline=False))
    settle_end = next(e for e in never.events if isinstance(e, StepEnded))
    assert settle_end.t == pytest.approx(PacingConfig().settle_max_s)
    assert never.controller.finished


def test_dashboard_properties() -> None:
    controller = make()
    controller.start(0.0)
    assert controller.step is not None
    assert controller.step.id == "settle"
    assert controller.next_step is not None
    assert controller.next_step.id == "feet-tense"
    assert controller.remaining_s(10.0) == pytest.approx(50.0)
    assert controller.session_remaining_s(0.0) == pytest.approx(controller.planned_s)
    assert controller.routine_name == "settle"
    assert not controller.paused
    assert controller.zone is Zone.GREEN
    for t in range(1, 62):
        controller.on_estimate(float(t), estimate(float(t)))
    assert controller.step.id == "feet-tense"
    assert controller.routine_name == "full"
    assert controller.next_step is not None
    assert controller.next_step.id == "feet-release"
    assert controller.session_remaining_s(61.0) == pytest.approx(controller.planned_s - 61.0)


# ---------------------------------------------------------------------------
# Extending releases


def test_unsettled_release_is_extended_in_small_steps_up_to_the_cap() -> None:
    cfg = PacingConfig()
    run = drive(make(), lambda t: estimate(t, 1.5 if t > 60 else 0.0))
    by_step: dict[str, float] = {}
    for event in run.extended:
        by_step[event.step] = by_step.get(event.step, 0.0) + event.by_s
        assert event.by_s <= cfg.extend_by_s
        assert "arousal 1.5 above 1.0" in event.reason
        assert "hr +4 bpm" in event.reason
    releases = [s.id for s in load_protocol("full").steps if s.kind is StepKind.RELEASE]
    assert set(by_step) == set(releases), "releases only; tense and breath steps run to plan"
    assert all(total == cfg.extend_cap_s for total in by_step.values())
    assert not run.zones, "1.5 is above the extend threshold but below step-down"
    ended = {e.step: e.actual_s for e in run.of(StepEnded) if isinstance(e, StepEnded)}
    assert ended["feet-release"] == pytest.approx(25 + cfg.extend_cap_s)


def test_release_that_settles_during_extension_ends_early() -> None:
    # feet-release runs 65-90 s; unsettled at 90, settled from 97.
    run = drive(make(), segments((60, 0.0), (96, 1.5)))
    extensions = [e for e in run.extended if e.step == "feet-release"]
    assert [e.t for e in extensions] == [90.0, 95.0]
    ended = next(e for e in run.of(StepEnded) if getattr(e, "step", "") == "feet-release")
    assert ended.t == 100.0


# ---------------------------------------------------------------------------
# Stepping down and up


# Timeline of `full` with a baseline from the start: settle 0-60, feet 60-65-90,
# calves 90-95-120, thighs 120-125-150, glutes 150-155-180, legs-breath 180-210,
# hands 210-215-240, upper-arms 240-245-270, arms-breath 270-300, stomach 300-305-330.


def test_sustained_arousal_steps_down_to_the_breath_led_routine() -> None:
    # Arousal climbs at 181 s, during the slow breaths after the legs.
    run = drive(make(), segments((180, 0.0), (205, 2.8), after=1.0))
    change = run.zones[0]
    assert (change.from_zone, change.to_zone) == (Zone.GREEN, Zone.YELLOW)
    # +8.4 bpm held: the evidence piles up within about 13 s.
    assert 185 <= change.t <= 200
    assert "+8 bpm over 60 (the reference it follows; baseline 60)" in change.reason
    assert "in units of 3.0 bpm" in change.reason
    assert change.evidence is not None
    assert change.evidence_needed is not None
    assert change.evidence >= change.evidence_needed
    assert change.hr_delta_bpm == pytest.approx(8.4)
    assert "8 beats above your resting rate" in change.plain
    advice = [e for e in run.of(Advice) if e.t == change.t]
    assert advice
    after = [e for e in run.started if e.t >= change.t]
    assert after[0].t == change.t
    assert after[0].step in {s.id for s in load_protocol("breath-partial").steps}
    # Yellow and (later) Red never tense.
    for event in run.started:
        if run.zone_at(event.t) is not Zone.GREEN:
            assert event.kind is not StepKind.TENSE


@pytest.mark.parametrize(
    ("climb_at", "expected"),
    [
        # during hands-tense (cut early: the hands group is where the body is)
        (209, ["hands", "shoulders", "jaw", "feet"]),
        # late in stomach-release: the chest is next, so shoulders come first
        (315, ["shoulders", "jaw", "feet", "hands"]),
        # during the settle: from the feet, as the protocol would
        (30, ["feet", "hands", "shoulders", "jaw"]),
    ],
)
def test_yellow_routine_continues_the_body_order(climb_at: float, expected: list[str]) -> None:
    cfg = PacingConfig(tense_allowance_bpm=0.0)
    # +18 bpm steps down within a second or two.
    run = drive(make(config=cfg), segments((climb_at, 0.0), (climb_at + 5, 6.0), after=1.2))
    change = run.zones[0]
    yellow = [e.region for e in run.started if e.t >= change.t and run.zone_at(e.t) is Zone.YELLOW]
    assert [r for r in yellow if r][:4] == expected


def test_step_up_after_sustained_calm_resumes_where_the_protocol_left_off() -> None:
    # Down at 200 s, 20 s into the 30 s legs-breath.
    run = drive(make(), segments((190, 0.0), (205, 2.8)))
    down, up = run.zones
    assert (up.from_zone, up.to_zone) == (Zone.YELLOW, Zone.GREEN)
    assert up.t - down.t >= 60
    assert "calm for 60 s" in up.reason
    resumed = [e for e in run.started if e.t == up.t]
    # legs-breath was more than half done when cut: go on to the hands.
    assert resumed[0].step == "hands-tense"
    assert run.controller.end_reason == "completed"
    ids = [e.step for e in run.started]
    assert ids.count("hands-tense") == 1
    assert ids[-2:] == ["closing-scan", "closing-breath"]


def test_a_group_cut_early_is_repeated_on_resumption() -> None:
    cfg = PacingConfig(tense_allowance_bpm=0.0)
    # thighs-tense runs 120-125 s; +18 bpm from 120 s steps down 2 s into it.
    run = drive(make(config=cfg), segments((119, 0.0), (130, 6.0)))
    down, up = run.zones
    assert down.t == 122
    resumed = [e.step for e in run.started if e.t == up.t]
    assert resumed == ["thighs-tense"]


def test_panic_steps_down_twice_quickly_then_rests_at_least_two_minutes() -> None:
    # +12 bpm at once, then on to +24.
    run = drive(make(), segments((200, 0.0), (203, 4.0), (260, 8.0)))
    down1, down2, *ups = run.zones
    assert (down1.to_zone, down2.to_zone) == (Zone.YELLOW, Zone.RED)
    # A strong rise needs only seconds of evidence, for each step.
    assert down1.t <= 203
    assert down2.t - down1.t <= 6
    assert "still climbing" in down2.reason
    assert down2.evidence is not None
    assert down2.evidence >= PacingConfig().evidence.strong
    assert "simply rest" in down2.plain
    red_steps = [e for e in run.started if down2.t <= e.t]
    assert red_steps[0].step in {s.id for s in load_protocol("passive-rest").steps}
    up1 = ups[0]
    assert up1.to_zone is Zone.YELLOW
    assert up1.t - down2.t >= PacingConfig().red_min_s
    assert ups[1].to_zone is Zone.GREEN
    assert ups[1].t - up1.t >= 60


def test_moderate_arousal_waits_a_dwell_period_before_stepping_down_again() -> None:
    run = drive(make(), segments((200, 0.0), (320, 2.8)))
    down1, down2, *_ = run.zones
    assert down2.to_zone is Zone.RED
    # No further climb: the dwell holds, then the same +8.4 bpm counts again.
    assert 60 <= down2.t - down1.t <= 80


def test_calm_index_with_a_fast_heart_does_not_step_up() -> None:
    # Slow breathing lifts RMSSD: the blended index reads calm while hr is +8.
    def feed(t: float) -> ArousalEstimate:
        if 180 < t <= 200:
            return estimate(t, 2.8)
        return estimate(t, 0.2 if t > 200 else 0.0, hr_delta=8.0 if t > 200 else 0.0)

    run = drive(make(), feed, until_s=900)
    assert run.zones[0].to_zone is Zone.YELLOW
    # Never up while the heart stays +8 (a sustained +8 may well go on to Red).
    assert all(z.to_zone.rank > z.from_zone.rank for z in run.zones)


def test_variability_alone_never_steps_down_nor_extends() -> None:
    # A falling RMSSD with the heart within 1 bpm of baseline: artifacts or a
    # change of breathing, not arousal.
    for hr_delta in (-1.0, 0.0, 1.0):

        def feed(t: float, d: float = hr_delta) -> ArousalEstimate:
            return estimate(t, 3.0 if t > 100 else 0.0, hr_delta=d)

        run = drive(make(), feed)
        assert not run.zones
        assert not run.extended


def test_pressor_bumps_while_tensing_do_not_step_down() -> None:
    controller = make()

    def feed(t: float) -> ArousalEstimate:
        # Arousal 3 during every tense step and 6 s into each release.
        step = controller.step
        bump = step is not None and (step.kind is StepKind.TENSE or step.id.endswith("-release"))
        recent = bump and controller.remaining_s(t) > step.planned_s - 6  # type: ignore[union-attr]
        return estimate(t, 3.0 if step and (step.kind is StepKind.TENSE or recent) else 0.2)

    run = drive(controller, feed)
    assert not run.zones
    assert not run.extended


def test_arousal_held_through_tense_steps_still_steps_down() -> None:
    # 3.5 (+10.5 bpm) from 61 s on; the tense steps (5 s each) hold the evidence,
    # they do not drain it.
    run = drive(make(), segments((60, 0.0), (400, 3.5)))
    change = run.zones[0]
    assert change.to_zone is Zone.YELLOW
    assert 61 < change.t <= 61 + 30


def test_severe_arousal_while_tensing_counts() -> None:
    # +21 bpm while tensing is far more than the pressor allowance.
    run = drive(make(), segments((60, 0.0), (200, 7.0)))
    assert run.zones[0].t <= 63


def test_falling_rmssd_while_tensing_is_arousal_not_effort() -> None:
    # feet-tense 60-65: arousal 3 with RMSSD clearly down is judged in full.
    def feed(t: float) -> ArousalEstimate:
        return estimate(t, 3.0 if t > 60 else 0.0, rmssd_drop_z=3.0 if t > 60 else 0.0)

    with_drop = drive(make(), feed)
    assert with_drop.zones[0].t <= 65
    flat = drive(make(), segments((60, 0.0), (400, 3.5)))
    assert flat.zones[0].t > with_drop.zones[0].t, "with RMSSD flat the pressor allowance holds"


def test_calm_on_heart_rate_alone_takes_longer_to_step_up() -> None:
    def feed(quality: Quality) -> Feed:
        # +18 bpm: enough on heart rate alone too (judged in rougher units).
        return lambda t: estimate(t, 6.0 if 180 < t <= 200 else 0.0, quality=quality)

    ok = drive(make(), feed(Quality.OK))
    hr_only = drive(make(), feed(Quality.HR_ONLY))
    # Calm from 201 s: 60 s of it on full data, 90 s on heart rate alone.
    assert ok.zones[1].t == 260
    assert hr_only.zones[1].t == 290


# ---------------------------------------------------------------------------
# Missing data


def test_no_signal_goes_on_unpaced_and_never_steps() -> None:
    def feed(t: float) -> ArousalEstimate:
        if 150 <= t < 250:
            return estimate(t, None, quality=Quality.NO_SIGNAL)
        return estimate(t, 1.5 if t > 60 else 0.0)

    run = drive(make(), feed)
    lost, restored = run.of(SignalLost), run.of(SignalRestored)
    # Announced once the data has been gone 5 s, and back 5 s (issue 26, 4b).
    assert [e.t for e in lost] == [155]
    assert [e.t for e in restored] == [255]
    assert "un-paced" in lost[0].reason
    assert "after 100 s" in restored[0].reason
    assert not run.zones
    assert not [e for e in run.extended if 150 <= e.t < 250]
    assert [e for e in run.started if 150 < e.t < 250], "steps go on during the gap"
    assert [e for e in run.extended if e.t >= 250], "pacing resumes afterwards"


def test_strap_disconnect_and_reconnect() -> None:
    controller = make()
    controller.start(0.0)
    # Announced once the strap has been gone 5 s (issue 26, 4b), with why it went.
    assert controller.on_source_status(5.0, SourceStatus(5.0, False, "strap out of range")) == []
    assert controller.on_source_status(6.0, SourceStatus(6.0, False, "still gone")) == []
    assert controller.signal_ok, "not yet announced"
    lost = [e for e in controller.on_estimate(10.0, estimate(10.0, 0.0)) if e.type == "signal_lost"]
    assert len(lost) == 1
    assert isinstance(lost[0], SignalLost)
    assert lost[0].reason.startswith("strap out of range")
    assert not controller.signal_ok
    assert controller.on_source_status(12.0, SourceStatus(12.0, True, "strap reconnected")) == []
    back = controller.on_estimate(17.0, estimate(17.0, 0.0))
    restored = [e for e in back if isinstance(e, SignalRestored)]
    assert restored
    assert "after 7 s" in restored[0].reason
    assert controller.signal_ok


def test_a_brief_drop_is_not_announced_but_counted() -> None:
    controller = make()
    controller.start(0.0)
    events = controller.on_source_status(5.0, SourceStatus(5.0, False, "strap out of range"))
    for t in (6.0, 7.0):
        events += controller.on_estimate(t, estimate(t, None, quality=Quality.NO_SIGNAL))
    events += controller.on_source_status(8.0, SourceStatus(8.0, True, "strap reconnected"))
    for t in (9.0, 10.0, 11.0, 12.0, 13.0, 14.0):
        events += controller.on_estimate(t, estimate(t, 0.0))
    assert not [e for e in events if isinstance(e, SignalLost | SignalRestored)]
    assert controller.signal_ok
    assert controller.brief_signal_gaps == 1


def test_a_source_reported_loss_lasts_until_the_source_says_it_is_back() -> None:
    controller = make()
    controller.start(0.0)
    controller.on_source_status(5.0, SourceStatus(5.0, False, "strap out of range"))
    # The estimator still holds a few seconds of older beats: not a restoration.
    events: list[SessionEvent] = []
    for t in (6.0, 7.0, 8.0, 9.0, 10.0, 11.0):
        events += controller.on_estimate(t, estimate(t, 0.0))
    assert [type(e) for e in events if isinstance(e, SignalLost | SignalRestored)] == [SignalLost]
    assert not controller.signal_ok
    assert controller.on_source_status(12.0, SourceStatus(12.0, True, "strap reconnected")) == []
    back = controller.on_estimate(17.0, estimate(17.0, 0.0))
    assert [e for e in back if isinstance(e, SignalRestored)]


def test_never_steps_up_on_missing_data() -> None:
    def feed(t: float) -> ArousalEstimate:
        if 180 < t <= 200:
            return estimate(t, 2.8)
        if t > 200 and t % 20 == 0:
            return estimate(t, None, quality=Quality.NO_SIGNAL)
        return estimate(t, 0.0)

    run = drive(make(), feed, until_s=1000)
    assert [z.to_zone for z in run.zones] == [Zone.YELLOW]


def test_hr_only_estimates_still_pace() -> None:
    run = drive(
        make(),
        lambda t: estimate(t, 6.0 if 180 < t <= 200 else 0.0, quality=Quality.HR_ONLY),
    )
    assert run.zones[0].to_zone is Zone.YELLOW
    assert "heart rate only" in run.zones[0].reason


# ---------------------------------------------------------------------------
# User actions


def test_pause_freezes_the_step_and_the_judging() -> None:
    controller = make()
    run = drive(
        controller,
        segments((100, 0.0), (160, 4.0)),
        actions={70.0: [Action.PAUSE], 170.0: [Action.RESUME]},
    )
    assert not run.zones, "no judging while paused; calm again by resume"
    feet_release = next(e for e in run.of(StepEnded) if getattr(e, "step", "") == "feet-release")
    # 65-90 s planned, paused 100 s in the middle.
    assert feet_release.t == 190


def test_remaining_time_is_frozen_while_paused() -> None:
    controller = make()
    controller.start(0.0)
    controller.on_action(10.0, Action.PAUSE)
    assert controller.paused
    assert controller.remaining_s(10.0) == controller.remaining_s(40.0) == 50.0
    controller.on_action(40.0, Action.RESUME)
    assert not controller.paused
    assert controller.remaining_s(40.0) == 50.0


def test_skip_moves_to_the_next_step() -> None:
    run = drive(make(), steady(0.0), actions={62.0: [Action.SKIP]})
    skipped = next(e for e in run.of(StepEnded) if e.reason == "skipped")
    assert skipped.step == "feet-tense"
    assert [e.step for e in run.started if e.t == 62.0] == ["feet-release"]


def test_skip_while_paused_resumes() -> None:
    controller = make()
    controller.start(0.0)
    controller.on_action(10.0, Action.PAUSE)
    events = controller.on_action(20.0, Action.SKIP)
    assert not controller.paused
    assert any(isinstance(e, StepStarted) for e in events)


def test_it_hurts_stops_the_step_advises_and_uses_imagery_for_that_region() -> None:
    run = drive(make("full", sides=True), steady(0.0), actions={62.0: [Action.HURTS]})
    at = [e for e in run.events if e.t == 62.0]
    ended = next(e for e in at if isinstance(e, StepEnded))
    assert (ended.step, ended.reason) == ("feet-left-tense", "it hurts")
    texts = [e.text for e in at if isinstance(e, Advice)]
    assert STOP_RULES in texts
    assert RED_FLAGS in texts
    assert any("feet" in t and "imagery" in t for t in texts)
    assert "feet" in run.controller.imagery_regions
    later = [e for e in run.started if e.t >= 62.0 and e.region == "feet"]
    assert later
    assert all(e.kind is not StepKind.TENSE for e in later)
    assert any(e.kind is StepKind.IMAGERY and "Picture your feet" in e.cue for e in later)
    assert run.controller.end_reason == "completed"


def test_red_flags_name_the_warning_signs() -> None:
    for sign in ("numbness", "fever", "bladder", "spreading"):
        assert sign in RED_FLAGS
    for sign in ("Sharp pain", "dizziness", "shortness of breath", "numbness"):
        assert sign in STOP_RULES


def test_marked_regions_are_done_by_imagery_from_the_start() -> None:
    run = drive(make("back-care", imagery=["lower-back"]), steady(0.0))
    back = [e for e in run.started if e.region == "lower-back"]
    assert [e.kind for e in back] == [StepKind.IMAGERY, StepKind.RELEASE]
    assert "lower back" in back[0].cue


def test_hurts_during_massage_turns_later_massage_of_that_region_to_imagery() -> None:
    # belly-clockwise runs 60-105 s, belly-back 105-150 s.
    run = drive(make("pelvic-release"), steady(0.0), actions={80.0: [Action.HURTS]})
    belly = [e for e in run.started if e.region == "lower-belly"]
    assert [e.kind for e in belly] == [StepKind.MASSAGE, StepKind.IMAGERY]
    # After the check-in's rest, the belly goes on by imagery.
    check_in = next(e for e in run.started if e.step == "check-in")
    assert check_in.t == 80.0
    assert belly[1].t == 80.0 + check_in.planned_s


def test_stop_ends_the_session_and_later_inputs_are_ignored() -> None:
    controller = make()
    run = drive(controller, steady(0.0), actions={100.0: [Action.STOP]})
    assert controller.finished
    assert controller.end_reason == "stopped by user"
    assert run.end_s == 100.0
    assert controller.step is None
    assert controller.on_estimate(101.0, estimate(101.0, 5.0)) == []
    assert controller.on_action(101.0, Action.SKIP) == []


# ---------------------------------------------------------------------------
# Start zone


def test_auto_zone_starts_yellow_when_clearly_above_the_stored_baseline() -> None:
    stored = RestingBaseline(hr_bpm=62.0, rmssd_ms=45.0)
    raised = drive(
        make(start_zone="auto", stored=stored),
        lambda t: estimate(t, 0.0, baseline=t >= 61, baseline_hr=76.0),
    )
    change = raised.zones[0]
    assert change.t == 61
    assert (change.from_zone, change.to_zone) == (Zone.GREEN, Zone.YELLOW)
    assert "76 bpm is +14 bpm over your resting 62 bpm" in change.reason
    first_body = raised.started[1]
    assert first_body.step in {s.id for s in load_protocol("breath-partial").steps}

    usual = drive(
        make(start_zone="auto", stored=stored),
        lambda t: estimate(t, 0.0, baseline=t >= 61, baseline_hr=66.0),
    )
    assert not usual.zones
    nothing_stored = drive(make(start_zone="auto"), lambda t: estimate(t, 0.0, baseline_hr=90.0))
    assert not nothing_stored.zones


def test_explicit_red_start_rests_first_then_climbs_to_the_protocol() -> None:
    run = drive(make(start_zone=Zone.RED), steady(0.0))
    assert run.started[1].step == "rest-settle"
    up1, up2 = run.zones
    assert up1.t >= PacingConfig().red_min_s
    assert up2.to_zone is Zone.GREEN
    assert "feet-tense" in [e.step for e in run.started if e.t >= up2.t]


def test_yellow_protocol_carries_on_when_stepping_down_to_yellow() -> None:
    # pelvic-release is safe in Yellow: the zone changes, the massage does not stop.
    run = drive(make("pelvic-release"), segments((120, 0.0), (140, 2.8)))
    change = run.zones[0]
    assert change.to_zone is Zone.YELLOW
    assert not [e for e in run.of(StepEnded) if e.t == change.t]


def test_fallback_routine_must_suit_its_zone() -> None:
    with pytest.raises(ProtocolError, match="fallback"):
        PacingController(
            load_protocol("full"), yellow=load_protocol("full"), red=load_protocol("passive-rest")
        )


# ---------------------------------------------------------------------------
# Budget


def test_a_session_that_never_settles_closes_within_its_budget() -> None:
    cfg = PacingConfig()
    controller = make(start_zone=Zone.YELLOW)
    # 1.2: never calm enough to step up, never high enough to step down.
    run = drive(controller, steady(1.2), until_s=10_000)
    assert controller.end_reason == "completed"
    assert run.end_s <= controller.planned_s + cfg.max_overrun_s + 40 + 60
    overrun = [e for e in run.of(Advice) if "past the planned time" in e.text]
    assert len(overrun) == 1
    ids = [e.step for e in run.started]
    assert ids.count("jaw-soften") >= 3, "the Yellow routine repeats while waiting"
    assert ids[-2:] == ["closing-scan", "closing-breath"]


def test_closing_in_red_rests_instead_of_scanning() -> None:
    run = drive(make("work-reset", start_zone=Zone.RED), steady(2.5), until_s=10_000)
    ids = [e.step for e in run.started]
    assert ids[-2:] == ["closing-rest", "closing-breath"]
    assert "closing-scan" not in ids


def test_it_hurts_rests_and_checks_in_before_the_next_step() -> None:
    """Issue 18, item 8: the next tense step never starts at the moment it hurt."""
    run = drive(make("full"), steady(0.0), actions={62.0: [Action.HURTS]})
    after = [e for e in run.started if e.t >= 62.0]
    check_in = after[0]
    assert (check_in.t, check_in.step, check_in.kind) == (62.0, "check-in", StepKind.REST)
    assert "If the pain stays, stop" in check_in.cue
    assert check_in.planned_s == PacingConfig().check_in_s
    # The body work goes on after it (a tense step, now of another region).
    assert after[1].t >= 62.0 + check_in.planned_s
    assert any(e.kind is StepKind.TENSE for e in after[1:])
    # "It hurts" again during the check-in starts it over, never the next step.
    twice = drive(make("full"), steady(0.0), actions={62.0: [Action.HURTS], 65.0: [Action.HURTS]})
    again = [e for e in twice.started if e.t >= 62.0]
    assert [(e.t, e.step) for e in again[:2]] == [(62.0, "check-in"), (65.0, "check-in")]
    assert again[2].t >= 65.0 + check_in.planned_s
    assert run.controller.end_reason == "completed"


def test_the_fast_heart_rate_lets_go_of_tensing_sooner() -> None:
    cfg = PacingConfig()
    assert pressor_share_fast(cfg, True, None) == 1.0
    assert pressor_share_fast(cfg, False, None) == 0.0
    assert pressor_share_fast(cfg, False, cfg.pressor_fast_hold_s - 0.5) == 1.0
    # Past the hold it fades as a pressor bump does, well before the 10 s one.
    at_8_s = pressor_share_fast(cfg, False, 8.0)
    assert at_8_s == pytest.approx(math.exp(-(8.0 - cfg.pressor_fast_hold_s) / 6.0))
    assert at_8_s < pressor_share(cfg, False, 8.0)
    assert pressor_share_fast(cfg, False, 30.0) == 0.0
