"""A simulated session's sound, rendered to WAV in session time and checked on the samples.

The anxious person (seed 8) on the full routine one side at a time runs 14.5
minutes with a lengthened release, a zone step-down and a step back up: every
spoken cue must start within 50 ms of its event, and every breath tone must
turn where the pacer's phase function turns.
"""

from __future__ import annotations

import asyncio
import shutil

import numpy as np
import pytest

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.phrases import extension_text
from biofeedback.audio.score import GAP_S
from biofeedback.models import (
    Advice,
    SessionEnded,
    StepEnded,
    StepExtended,
    StepStarted,
    ZoneChanged,
)
from biofeedback.pacing.breath import breath_phase
from tests.support.audio import HOP_S, Rendered, envelope, onsets, render_session, zero_cross_hz

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/test adds it)"
)
TOLERANCE_S = 0.05


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("render")
    return asyncio.run(render_session(tmp / "session.wav", tmp / "cache"))


def _clip_s(r: Rendered, text: str) -> float:
    return len(r.speech[text]) / SAMPLE_RATE_HZ


def _expected_speech(r: Rendered) -> list[tuple[float, str]]:
    """When each spoken phrase should begin, from the events alone."""
    out: list[tuple[float, str]] = []
    busy_at, busy_until = -1.0, 0.0
    extended: set[int] = set()
    step_no = 0
    step: StepStarted | None = None
    for e in r.events:
        text = None
        if isinstance(e, StepStarted):
            step_no += 1
            step = e
            text = e.cue
        elif isinstance(e, Advice) and e.text in r.speech:
            text = e.text
        elif isinstance(e, StepExtended) and step_no not in extended and step is not None:
            extended.add(step_no)
            text = extension_text(step.kind, step.step)
        if text is None:
            continue
        # Said at the same moment as an announcement: it follows it; anything
        # said earlier gives way.
        at = busy_until + GAP_S if busy_at == e.t else e.t
        out.append((at, text))
        busy_at, busy_until = e.t, at + _clip_s(r, text)
    return out


def test_the_session_has_an_extension_a_step_down_and_a_step_up(rendered: Rendered) -> None:
    types = [e.type for e in rendered.events]
    assert StepExtended.type in types
    zones = [e for e in rendered.events if isinstance(e, ZoneChanged)]
    assert any(z.to_zone.rank > z.from_zone.rank for z in zones)
    ended = next(e for e in rendered.events if isinstance(e, SessionEnded))
    assert ended.t >= 14 * 60
    assert len(rendered.samples) >= ended.t * SAMPLE_RATE_HZ


def test_every_spoken_cue_starts_within_50_ms_of_its_event(rendered: Rendered) -> None:
    found = onsets(envelope(rendered.samples))
    expected = _expected_speech(rendered)
    assert len(expected) > 50
    missing = []
    for at, text in expected:
        nearest = min(found, key=lambda t: abs(t - at))
        if abs(nearest - at) > TOLERANCE_S:
            missing.append((round(at, 2), round(nearest, 2), text))
    assert not missing


def test_breath_tones_turn_with_the_pacer_phase(rendered: Rendered) -> None:
    r = rendered
    found = onsets(envelope(r.samples), floor=0.03)
    speech = [(at, at + _clip_s(r, text)) for at, text in _expected_speech(r)]
    ends = {e.step: e.t for e in r.events if isinstance(e, StepEnded)}
    checked = 0
    for step in (e for e in r.events if isinstance(e, StepStarted) and e.breath_in_s):
        assert step.breath_in_s is not None
        assert step.breath_out_s is not None
        end = ends[step.step]
        t = step.t
        was_in = True
        while t < end - 1.0:
            t += 0.005
            # The dashboard's own pacer function says where the breath turns.
            inhaling, _, left_s = breath_phase(t - step.t, step.breath_in_s, step.breath_out_s)
            if inhaling == was_in:
                continue
            was_in = inhaling
            half_s = left_s
            if t + half_s > end or any(a - 0.6 < t + half_s and t < b + 0.8 for a, b in speech):
                continue
            nearest = min(found, key=lambda o: abs(o - t))
            assert abs(nearest - t) <= TOLERANCE_S, (step.step, t, nearest)
            early = zero_cross_hz(r.samples, t + 0.2 * half_s, 0.3)
            late = zero_cross_hz(r.samples, t + 0.7 * half_s - 0.3, 0.3)
            # Pitch rises through a breath in and falls through a breath out.
            assert (late > early) == inhaling, (step.step, t, early, late)
            checked += 1
    assert checked >= 15


def test_no_sound_past_the_last_bell(rendered: Rendered) -> None:
    env = envelope(rendered.samples)
    ended = next(e for e in rendered.events if isinstance(e, SessionEnded))
    # The last bell rings after the closing phrase, then the file ends.
    after = env[int(ended.t / HOP_S) :]
    assert after.max() > 0.02
    assert np.all(env[-10:] < 0.05)
