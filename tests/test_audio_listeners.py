"""What hears the sound: the simulated person (cues heard once said) and the dashboard's keys."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.audio.score import GAP_S
from biofeedback.audio.setup import AudioPlan
from biofeedback.audio.sink import Player
from biofeedback.models import Advice, HeartSample, StepKind, StepStarted
from biofeedback.ui.app import DashboardSettings, create_app
from biofeedback.ui.screens import SessionScreen, sound_short
from simulators.source import SimulatedSource
from tests.support.ui import SteppedSource, step_to, stepped_plan, until


def _activity_at(source: SimulatedSource, t_s: float) -> str:
    for item in source.items():
        if isinstance(item, HeartSample) and item.t_s >= t_s:
            return source.heart.activity
    raise AssertionError("the simulator ran dry")


def test_a_spoken_cue_is_followed_once_it_has_been_said() -> None:
    tense = StepStarted(0.0, "feet-tense", StepKind.TENSE, "feet", "Curl your toes.", 5.0)
    reading = SimulatedSource("calm", seed=1)
    reading.observe(tense)
    assert _activity_at(reading, 1.0) == "tense"
    listening = SimulatedSource("calm", seed=1)
    listening.listen = lambda event: 2.5 if event is tense else 0.0
    listening.observe(tense)
    assert _activity_at(listening, 1.5) != "tense"
    assert _activity_at(listening, 3.5) == "tense"


async def test_keys_mute_and_change_the_volume() -> None:
    source = SteppedSource()
    plan = stepped_plan(source)
    player = Player(volume=0.5)
    plan.sound = player
    plan.sound_status = "sound: voice, breath tones and bells"
    app = create_app(plan, DashboardSettings(reduced_motion=True, keymap={"audio.mute": "x"}))
    async with app.run_test(size=(120, 24)) as pilot:
        await step_to(pilot, source, 2)
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        # The sound in words stays on the status line (not a note covered at once),
        # in fewer words where the line is full.
        assert sound_short("sound: voice, breath tones and bells") == "voice, tones, bells"
        await until(pilot, lambda: "voice," in str(screen.query_one("#status").render()))
        await pilot.press("x")
        await until(pilot, lambda: player.muted)
        await until(pilot, lambda: "sound muted" in str(screen.query_one("#status").render()))
        await pilot.press("plus")
        await until(pilot, lambda: player.volume == 0.6)
        assert not player.muted
        await pilot.press("minus", "minus")
        await until(pilot, lambda: player.volume == 0.4)


def test_a_cue_after_an_announcement_is_heard_once_both_are_said() -> None:
    announce = "Let's go gentler."
    cue = "Breathe in for four."
    plan = AudioPlan(
        speech={announce: np.zeros(22050 * 3, np.float32), cue: np.zeros(22050 * 2, np.float32)}
    )
    step = StepStarted(10.0, "breath-1", StepKind.BREATH, None, cue, 20.0, 4.0, 6.0)
    assert plan.heard_after(Advice(10.0, announce)) == 0.0
    # The announcement (3 s), a pause, then the cue (2 s).
    assert plan.heard_after(step) == pytest.approx(3.0 + GAP_S + 2.0)
