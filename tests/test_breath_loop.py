"""The breath in the loop: reminders, meeting a fast breather, the new event fields."""

from __future__ import annotations

import pytest

from biofeedback.cli import SessionRequest, build_session
from biofeedback.models import (
    BreathReminder,
    Estimate,
    PaceChanged,
    ResonanceAssessed,
    StepStarted,
)
from biofeedback.pacing.resonance_plan import AssessmentPlan
from simulators.source import SimulatedSource
from tests.support.breath import breath_session
from tests.support.sinks import ListSink


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_breath_holder_is_reminded_on_the_first_tense_step_they_hold(seed: int) -> None:
    run = await breath_session("breath-holder", seed)
    reminders = run.of_type("breath_reminder")
    first = run.first_held_tense_step()
    assert first is not None
    assert reminders
    assert isinstance(reminders[0], BreathReminder)
    assert reminders[0].step == first
    assert "held" in reminders[0].reason
    # Said as well as recorded, and never more than once a step.
    said = [e for e in run.of_type("advice") if e.t == reminders[0].t]
    assert said
    steps = [r.step for r in reminders if isinstance(r, BreathReminder)]
    assert len(steps) == len(set(steps))
    assert len(run.of_type("breath_held")) >= len(reminders)


async def test_a_calm_breather_is_never_reminded_nor_met() -> None:
    run = await breath_session("calm", 1)
    assert run.of_type("breath_reminder") == []
    assert run.of_type("pace_changed") == []
    estimates = [e for e in run.events if isinstance(e, Estimate)]
    rated = [e for e in estimates if e.breath_per_min is not None]
    assert len(rated) > 0.8 * len(estimates)
    # From the chest, but for the heart's rhythm while a fidget hides the breath.
    assert {e.breath_source for e in rated} <= {"acc", "rr"}
    assert sum(e.breath_source == "acc" for e in rated) >= 0.9 * len(rated)


async def test_a_fast_breather_is_met_and_the_pace_glides_down() -> None:
    run = await breath_session("fast-breather", 1)
    changes = [e for e in run.events if isinstance(e, PaceChanged)]
    assert changes
    by_step: dict[str, list[PaceChanged]] = {}
    for change in changes:
        by_step.setdefault(change.step, []).append(change)
    paced = {
        e.step: 60.0 / (e.breath_in_s + e.breath_out_s)
        for e in run.events
        if isinstance(e, StepStarted) and e.breath_in_s and e.breath_out_s
    }
    for step, glide in by_step.items():
        rates = [60.0 / (c.breath_in_s + c.breath_out_s) for c in glide]
        # Met near their own rate (well above the step's pace), then slower each time.
        assert rates[0] > 1.8 * paced[step]
        assert rates == sorted(rates, reverse=True)
    # At least one glide reached the step's own pace.
    assert any(
        abs(60.0 / (g[-1].breath_in_s + g[-1].breath_out_s) - paced[s]) < 0.2
        for s, g in by_step.items()
    )


def _assessment_request(scenario: str, seed: int, plan: AssessmentPlan) -> SessionRequest:
    """`biofeedback resonance --sim SCENARIO --seed SEED --speed max`, unrecorded."""
    return SessionRequest(
        sim=scenario,
        seed=seed,
        protocol="resonance",
        assessment=plan,
        speed=None,
        ratings=False,
        record=False,
    )


async def _assessment(scenario: str, seed: int) -> ResonanceAssessed:
    source = SimulatedSource(scenario, seed=seed, acc_rate_hz=50.0)
    sink = ListSink()
    await build_session(
        _assessment_request(scenario, seed, AssessmentPlan(rates_bpm=(6.5, 5.0), step_s=90.0)),
        source=source,
        sinks=[sink],
    ).run()
    return next(e for e in sink.events if isinstance(e, ResonanceAssessed))


async def test_a_resonance_rate_not_breathed_is_marked_not_scored() -> None:
    followed = await _assessment("calm", 1)
    assert [s["followed"] for s in followed.scores] == [True, True]
    assert followed.best_rate_bpm is not None
    ignored = await _assessment("fast-breather", 1)
    assert [s["followed"] for s in ignored.scores] == [False, False]
    assert all(not s["usable"] for s in ignored.scores)
    assert ignored.best_rate_bpm is None


async def test_a_heart_rate_strap_gets_its_breathing_rate_from_the_heart() -> None:
    source = SimulatedSource("calm", seed=3)
    assert source.chest is None
    sink = ListSink()
    await build_session(
        _assessment_request("calm", 3, AssessmentPlan(rates_bpm=(6.0,), step_s=60.0)),
        source=source,
        sinks=[sink],
    ).run()
    estimates = [e for e in sink.events if isinstance(e, Estimate)]
    sources = {e.breath_source for e in estimates}
    assert sources <= {"rr", None}
    paced = [
        e.breath_per_min
        for e in estimates
        if e.t > 110 and e.breath_source == "rr" and e.breath_per_min is not None
    ]
    # Paced at 6 a minute for a minute: the heart's rhythm says about that.
    assert paced
    assert abs(sorted(paced)[len(paced) // 2] - 6.0) < 1.0
