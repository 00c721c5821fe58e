"""The pacer's glide heard and seen, and the breath taken beside the breath paced
on the dashboard (issue 24, item 5 and the display side of item 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from biofeedback.audio.phrases import build_book
from biofeedback.audio.score import Score
from biofeedback.models import Action, PaceChanged, StepKind, StepStarted, UserActed
from biofeedback.routines.protocols import load_protocol
from biofeedback.ui.breath_view import gliding, paced_breath
from biofeedback.ui.screens import SessionScreen
from biofeedback.ui.state import SessionState
from biofeedback.ui.widgets import Pacer
from tests.support.ui import SteppedSource, step_to, stepped_app


def test_the_breath_tones_follow_the_pacer_as_it_meets_and_glides_down() -> None:
    score = Score(build_book(load_protocol("work-reset")))
    score.hear(StepStarted(0.0, "settle", StepKind.BREATH, None, "Breathe.", 60.0, 4.0, 6.0))
    for t, in_s, out_s in ((37.0, 1.8, 2.7), (42.0, 2.4, 3.6)):
        score.hear(PaceChanged(t, "settle", in_s, out_s, "met, then gliding down"))
        *before, now = score.runs
        # The tones change pace at once, the new pattern's first in-breath from now.
        assert (now.start_s, now.origin_s, now.in_s, now.out_s) == (t, t, in_s, out_s)
        assert all(r.stop_s <= t for r in before)
    # A pause and resume keep the glided pace and its phase: 6 s of it were breathed.
    score.hear(UserActed(48.0, Action.PAUSE))
    score.hear(UserActed(50.0, Action.RESUME))
    resumed = score.runs[-1]
    assert (resumed.in_s, resumed.out_s) == (2.4, 3.6)
    assert resumed.origin_s == pytest.approx(44.0)
    # A pace for a step already over changes nothing.
    score.hear(StepStarted(60.0, "feet-tense", StepKind.TENSE, "feet", "Curl.", 5.0))
    before = list(score.runs)
    score.hear(PaceChanged(61.0, "settle", 3.2, 4.8, "late"))
    assert score.runs == before


async def _step_by(
    pilot: Pilot[Any], source: SteppedSource, done: Callable[[SessionScreen], bool], by_s: float
) -> SessionScreen:
    """Run the session ``by_s`` seconds at a time until ``done(screen)``."""
    t_s = source.last_t_s
    while t_s < 300.0:
        t_s += by_s
        screen = await step_to(pilot, source, t_s)
        if done(screen):
            return screen
    raise AssertionError("the session never got there")


async def test_the_dashboard_shows_the_glide_and_the_breath_taken_beside_the_pacer() -> None:
    # Seed 1 is met at 39 s of the opening (4 s in, 6 s out) and glides down from there.
    source = SteppedSource("fast-breather", seed=1)
    app = stepped_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 30)
        pacer = screen.query_one(Pacer)
        assert pacer.breath == (4.0, 6.0)
        estimate = screen.state.progress.estimate
        assert estimate is not None
        assert estimate.breath_source == "acc"
        you = f"you {estimate.breath_per_min:.0f} a minute"
        assert str(pacer.render_line(0).text).rstrip().endswith(f"(in 4 s, out 6 s)  {you}")
        screen = await _step_by(pilot, source, lambda s: s.state.progress.pace is not None, 5)
        met = screen.state.progress.pace
        assert met is not None
        # The bar breathes at the pace that met the person, not the step's own.
        assert pacer.breath == (met.breath_in_s, met.breath_out_s)
        assert met.breath_in_s + met.breath_out_s < 10.0
        label = str(pacer.render_line(0).text)
        assert f"(in {met.breath_in_s:.1f} s, out {met.breath_out_s:.1f} s, slowing)  you " in label
        screen = await step_to(pilot, source, met.t + 8)
        glided = screen.state.progress.pace
        assert glided is not None
        assert glided.breath_in_s > met.breath_in_s  # a step of the glide down
        assert pacer.breath == (glided.breath_in_s, glided.breath_out_s)


def test_the_pacer_says_slowing_only_while_the_glide_is_faster_than_the_step() -> None:
    state = SessionState()
    state.apply(StepStarted(0.0, "settle", StepKind.BREATH, None, "Breathe.", 60.0, 4.0, 6.0))
    assert paced_breath(state) == ((4.0, 6.0), 0.0)
    assert not gliding(state)
    state.apply(PaceChanged(39.0, "settle", 1.8, 2.7, "met"))
    state.progress.at(41.0)
    assert paced_breath(state) == ((1.8, 2.7), 2.0)
    assert gliding(state)
    state.apply(PaceChanged(60.0, "settle", 4.0, 6.0, "gliding down: the step's pace"))
    assert not gliding(state)
    state.apply(StepStarted(60.0, "feet-tense", StepKind.TENSE, "feet", "Curl.", 5.0))
    assert paced_breath(state) == (None, 0.0)
    assert not gliding(state)


async def test_the_dashboard_shows_a_breath_held_while_tensing() -> None:
    # Seed 1 holds its breath from about 91 s in calves-tense (90-95 s): reminded
    # at 95 s, as the release begins; let go at 97 s.
    source = SteppedSource("breath-holder", seed=1)
    app = stepped_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 96)
        reminder = screen.state.progress.reminder
        assert reminder is not None
        assert reminder.step == "calves-tense"
        pacer = screen.query_one(Pacer)
        assert pacer.breath is None  # a release: no pacer, the breath held beside the words
        line = str(pacer.render_line(0).text).rstrip()
        # In place of the rate, which a hold leaves meaningless.
        assert line.endswith(f"at your own pace.  breath held {reminder.hold_s:.0f} s")
        screen = await step_to(pilot, source, 99)
        held = screen.state.progress.held
        assert held is not None
        assert f"breath held {held.duration_s:.0f} s" in str(pacer.render_line(0).text)
        await step_to(pilot, source, 112)
        line = str(pacer.render_line(0).text)
        assert "held" not in line
        assert "  you " in line
