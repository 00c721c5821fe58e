"""Breath as evidence for step-downs (issue 24): breath seen on the chest, against
the person's own opening, joins heart rate; without it nothing changes.

The controller is driven second by second with synthetic heart estimates and
breath estimates, as the session feeds it (the breath's before the heart's).
``benchmarks/detection_breath.py`` measures the same on a simulated corpus.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from biofeedback.models import SessionEvent, ZoneChanged
from biofeedback.pacing.breath_evidence import BreathEvidence
from biofeedback.pacing.controller import PacingController
from biofeedback.signals.breath_estimate import BreathEstimate, BreathQuality, BreathSource
from tests.support.breath import breath_session
from tests.support.pacing import estimate, make

ONSET_S = 240.0
REST_PER_MIN = 14.0
REST_DEPTH_MG = 10.0

# A breath estimate for second t, given whether a pacer runs (per minute) or not.
BreathAt = Callable[[float, float | None], BreathEstimate | None]


def chest(
    t: float,
    paced_per_min: float | None,
    per_min: float = REST_PER_MIN,
    depth_mg: float = REST_DEPTH_MG,
    irregularity: float = 0.1,
    *,
    quality: BreathQuality = BreathQuality.OK,
) -> BreathEstimate:
    """What the breath estimator says of a chest breathing so (a follower under a pacer)."""
    if paced_per_min is not None:
        # Following the pacer, as fast over it as they are over their own rate.
        ratio = per_min / REST_PER_MIN
        return BreathEstimate(
            t, quality, BreathSource.ACC, paced_per_min * ratio, 1.0,
            depth_mg=depth_mg * 1.3, irregularity=irregularity, rate_ratio=ratio,
            recent_per_min=paced_per_min * ratio, recent_rate_ratio=ratio,
            recent_depth_mg=depth_mg * 1.3,
        )  # fmt: skip
    return BreathEstimate(
        t, quality, BreathSource.ACC, per_min, 1.0, depth_mg=depth_mg, irregularity=irregularity,
        recent_per_min=per_min, recent_depth_mg=depth_mg,
    )  # fmt: skip


def aroused_chest(t: float, paced_per_min: float | None) -> BreathEstimate:
    """From the onset, within two breaths: faster, shallower, less regular."""
    if t < ONSET_S:
        return chest(t, paced_per_min)
    share = 1.0 - math.exp(-(t - ONSET_S) / 4.0)
    return chest(
        t,
        paced_per_min,
        per_min=REST_PER_MIN * (1.0 + 0.6 * share),
        depth_mg=REST_DEPTH_MG * (1.0 - 0.4 * share),
        irregularity=0.1 + 0.2 * share,
    )


def sighing_chest(t: float, paced_per_min: float | None) -> BreathEstimate:
    """Calm, with a sigh every 40 s: for the next few readings the last breaths
    are deeper on the median and far less even."""
    if int(t) % 40 < 8:
        return chest(t, paced_per_min, per_min=12.5, depth_mg=14.0, irregularity=0.45)
    return chest(t, paced_per_min)


def ramp_bpm(rise_bpm: float) -> Callable[[float], float]:
    return lambda t: 0.0 if t < ONSET_S else rise_bpm * (1.0 - math.exp(-(t - ONSET_S) / 15.0))


def wander_bpm(t: float) -> float:
    """A calm heart drifting a few beats, up to +4.5 bpm at times."""
    return 2.5 * math.sin(2 * math.pi * t / 97.0) + 2.0 * math.sin(2 * math.pi * t / 41.0)


def drive(
    hr_delta: Callable[[float], float], breath: BreathAt | None, until_s: float = 560.0
) -> tuple[PacingController, list[SessionEvent]]:
    controller = make("full")
    events = controller.start(0.0)
    for k in range(1, int(until_s) + 1):
        t = float(k)
        if breath is not None:
            step = controller.step
            paced = None
            if step is not None and step.breath_in_s and step.breath_out_s:
                paced = 60.0 / (step.breath_in_s + step.breath_out_s)
            b = breath(t, paced)
            if b is not None:
                events += controller.on_breath(t, b)
        est = estimate(t, hr_delta=hr_delta(t), baseline=t >= 60.0)
        events += controller.on_estimate(t, dataclasses.replace(est, arousal=hr_delta(t) / 3.0))
        if controller.finished:
            break
    return controller, events


def step_downs(events: list[SessionEvent]) -> list[ZoneChanged]:
    return [e for e in events if isinstance(e, ZoneChanged) and e.to_zone.rank > e.from_zone.rank]


def test_breath_that_changes_with_the_heart_steps_down_sooner_and_says_so() -> None:
    _, heart_only = drive(ramp_bpm(15.0), None)
    _, with_breath = drive(ramp_bpm(15.0), aroused_chest)
    alone, both = step_downs(heart_only), step_downs(with_breath)
    assert alone
    assert both
    assert alone[0].t >= ONSET_S
    assert both[0].t >= ONSET_S
    # Sooner by several seconds: the breath answered within breaths.
    assert both[0].t <= alone[0].t - 4.0, (both[0].t, alone[0].t)
    first = both[0]
    # The reason names the breath signals in plain words, with their figures.
    assert "with the breath: breathing faster (" in first.reason
    assert "/min at the start" in first.reason
    assert "breathing shallower (0." in first.reason
    assert "heart rate" in first.reason
    assert "your breathing is faster" in first.plain
    # The heart-only decision says nothing of the breath.
    assert "breath" not in alone[0].reason
    assert "breathing" not in alone[0].plain


def test_calm_breath_with_sighs_and_a_wandering_heart_never_steps_down() -> None:
    controller, events = drive(wander_bpm, sighing_chest)
    assert step_downs(events) == []
    # The breath was judged (an opening learned for free and for paced breathing),
    # and the sighs did cross (irregular), but never counted without a heart rise.
    judge_breath = controller._judge.breath  # noqa: SLF001 - the judge's own record, read only
    assert judge_breath.opening(False) is not None
    assert judge_breath.opening(True) is not None


def test_breath_alone_never_steps_down() -> None:
    """Breathing fast and shallow with a heart that stays at rest: no step-down."""
    _, events = drive(lambda t: 0.0, aroused_chest)
    assert step_downs(events) == []


def test_without_a_usable_chest_the_decisions_are_the_heart_rates_alone() -> None:
    """The rate from the heart's rhythm (any strap), and chest breath lost in motion,
    change no decision: the same events, time for time, as no breath at all."""
    _, alone = drive(ramp_bpm(25.0), None)

    def from_rr(t: float, paced_per_min: float | None) -> BreathEstimate:
        # Confident, and as fast as arousal would make it: still no evidence.
        b = aroused_chest(t, paced_per_min)
        return dataclasses.replace(b, source=BreathSource.RR, quality=BreathQuality.RR_ONLY)

    def in_motion(t: float, paced_per_min: float | None) -> BreathEstimate:
        return dataclasses.replace(aroused_chest(t, paced_per_min), quality=BreathQuality.MOTION)

    for breath in (from_rr, in_motion):
        _, events = drive(ramp_bpm(25.0), breath)
        decisions = [e for e in events if e.type in ("zone_changed", "step_extended")]
        assert decisions == [e for e in alone if e.type in ("zone_changed", "step_extended")]
        assert step_downs(events)


def test_the_opening_is_the_persons_own_for_free_and_paced_breathing() -> None:
    """A person who breathes fast at rest is judged against their own fast breath,
    and paced breathing against their own following of the pace."""
    ev = BreathEvidence()
    for k in range(60):
        ev.update(float(k), chest(float(k), None, 26.0, 5.0, 0.2), paced=False)
    assert ev.last.score == 0.0
    opening = ev.opening(False)
    assert opening is not None
    assert abs(opening[0] - 26.0) < 0.1
    assert ev.opening(True) is None
    # Faster and shallower than their own opening: crossed, in words and figures.
    reading = ev.update(60.0, chest(60.0, None, per_min=40.0, depth_mg=3.0), paced=False)
    assert reading.score > 0
    assert reading.crossed[0].startswith("breathing faster (40.0/min; 26.0/min at the start")
    assert reading.crossed[1].startswith("breathing shallower (0.60x")
    # Irregular alone (a sigh, a held breath) is named but never counts.
    uneven = ev.update(60.5, chest(60.5, None, 26.0, 5.0, 0.9), paced=False)
    assert uneven.crossed[0].startswith("breathing irregular")
    assert uneven.score == 0.0
    # A pacer starts: readings mix both kinds of breath for a while, then the
    # paced opening is learned before anything paced is judged.
    for k in range(61, 120):
        reading = ev.update(float(k), chest(float(k), 6.0, per_min=40.0), paced=True)
        assert reading.score == 0.0
    assert ev.opening(True) is not None


async def test_a_simulated_anxious_session_steps_down_with_the_breath_named() -> None:
    """The whole loop (`run --sim anxious` with chest motion): the session hands the
    controller the breath before the heart, and the step-down says what the breath did."""
    run = await breath_session("anxious", 1)
    downs = step_downs(run.events)
    assert downs
    first = downs[0]
    assert "with the breath: breathing faster (" in first.reason
    assert "units)" in first.reason
    assert "and your breathing is faster" in first.plain


def test_a_new_posture_and_the_breaths_after_a_hold_are_not_arousal() -> None:
    """After motion the strap may sit at a new angle (a breath tilts it by fewer
    milli-g): the depth is learned again before it is judged. The quick, deep
    breaths after a held breath are not judged either."""
    ev = BreathEvidence()
    for k in range(60):
        ev.update(float(k), chest(float(k), None), paced=False)
    assert ev.opening(False) is not None
    # Half the depth in milli-g on the strap's new angle, after a posture shift.
    ev.update(60.0, chest(60.0, None, quality=BreathQuality.MOTION), paced=False)
    for k in range(61, 120):
        reading = ev.update(float(k), chest(float(k), None, depth_mg=5.0), paced=False)
        assert not any("shallower" in c for c in reading.crossed), k
    # Still judged against the opening: a shallower breath on the new angle counts.
    shallow = ev.update(120.0, chest(120.0, None, per_min=22.0, depth_mg=3.0), paced=False)
    assert any(c.startswith("breathing shallower") for c in shallow.crossed)
    assert shallow.score > 0
    # A held breath, then fast breaths: nothing for 15 s, then judged again.
    held = dataclasses.replace(chest(121.0, None), holding_since_s=115.0, hold_s=6.0)
    ev.update(121.0, held, paced=False)
    fast = [
        ev.update(float(k), chest(float(k), None, 22.0, 3.0), paced=False) for k in range(122, 140)
    ]
    assert all(r.score == 0.0 for r in fast[:13])
    assert fast[-1].score > 0
