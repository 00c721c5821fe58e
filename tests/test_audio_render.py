"""Simulated sessions' sound, rendered to WAV in session time and checked on the samples.

The anxious person on the full routine one side at a time, several seeds: each
session runs about 13-19 minutes, and the seeds between them hold lengthened
releases, zone step-downs and steps back up. In every session every spoken
cue must start within 50 ms of its event, and every breath tone must turn where
the pacer's phase function turns. Nothing here depends on one seed's timing: a
change to the detection moves the events, and the checks follow the events.
``benchmarks/audio_seeds.py`` runs the same checks over many more seeds.
"""

from __future__ import annotations

import asyncio
import shutil

import numpy as np
import pytest

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.mixer import TONE_GAIN
from biofeedback.audio.phrases import extension_text
from biofeedback.audio.score import CLEAR_S, GAP_S, Sounds
from biofeedback.models import (
    Advice,
    SessionEnded,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    ZoneChanged,
)
from biofeedback.pacing.breath import breath_phase
from tests.support.audio import HOP_S, Rendered, envelope, onsets, render_session, zero_cross_hz

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/test adds it)"
)
TOLERANCE_S = 0.05
_BELLED = (StepKind.RELEASE, StepKind.IMAGERY, StepKind.REST)
# Under a second each to render; of seeds 0-19, 15 hold an extension, a
# step-down and a step-up (the others settle without them).
SEEDS = range(6)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> list[Rendered]:
    tmp = tmp_path_factory.mktemp("render")

    async def render_all() -> list[Rendered]:
        return [
            await render_session(tmp / f"seed{seed}.wav", tmp / "cache", seed=seed)
            for seed in SEEDS
        ]

    return asyncio.run(render_all())


def has_extension_step_down_and_up(r: Rendered) -> bool:
    zones = [e for e in r.events if isinstance(e, ZoneChanged)]
    return (
        any(isinstance(e, StepExtended) for e in r.events)
        and any(z.to_zone.rank > z.from_zone.rank for z in zones)
        and any(z.to_zone.rank < z.from_zone.rank for z in zones)
    )


def _clip_s(r: Rendered, text: str) -> float:
    return len(r.speech[text]) / SAMPLE_RATE_HZ


def _expected_speech(r: Rendered) -> list[tuple[float, str]]:
    """When each spoken phrase should begin, from the events alone."""
    out: list[tuple[float, str]] = []
    busy_until = 0.0
    extended: set[int] = set()
    step_no = 0
    step: StepStarted | None = None
    before: StepStarted | None = None
    for e in r.events:
        text = None
        clear_from = e.t
        if isinstance(e, StepStarted):
            step_no += 1
            before, step = step, e
            text = e.cue
            if before is not None and before.kind is StepKind.TENSE and e.kind in _BELLED:
                # The bell rings first (after speech still sounding), then the cue.
                bell_at = max(e.t, busy_until + CLEAR_S)
                clear_from = bell_at + len(Sounds.make().bell) / SAMPLE_RATE_HZ + CLEAR_S
        elif isinstance(e, Advice) and e.text in r.speech:
            text = e.text
        elif isinstance(e, StepExtended) and step_no not in extended and step is not None:
            extended.add(step_no)
            tensed = before is not None and before.kind is StepKind.TENSE
            text = extension_text(step.kind, step.step, tensed=tensed)
        if text is None:
            continue
        # Nothing cuts speech here (no one skips): what comes while a phrase
        # sounds follows it, and a release cue follows its bell.
        at = max(clear_from, busy_until + GAP_S if busy_until > e.t else e.t)
        out.append((at, text))
        busy_until = at + _clip_s(r, text)
    return out


def test_the_sessions_hold_extensions_step_downs_and_step_ups(sessions: list[Rendered]) -> None:
    long_ones = []
    for r in sessions:
        ended = next(e for e in r.events if isinstance(e, SessionEnded))
        assert len(r.samples) >= ended.t * SAMPLE_RATE_HZ
        if ended.t >= 14 * 60:
            long_ones.append(r)
    assert len([r for r in long_ones if has_extension_step_down_and_up(r)]) >= 2


def late_cues(r: Rendered) -> list[tuple[float, float, str]]:
    """Spoken phrases whose onset is not within 50 ms of when the events say."""
    found = onsets(envelope(r.samples))
    late = []
    for at, text in _expected_speech(r):
        nearest = min(found, key=lambda t: abs(t - at))
        if abs(nearest - at) > TOLERANCE_S:
            late.append((round(at, 2), round(nearest, 2), text))
    return late


def test_every_spoken_cue_starts_within_50_ms_of_its_event(sessions: list[Rendered]) -> None:
    for r in sessions:
        assert len(_expected_speech(r)) > 30
        assert not late_cues(r)


def tone_turns(r: Rendered) -> tuple[int, list[tuple[str, float, str]]]:
    """Breath turns checked away from speech, and those not heard where the pacer turns."""
    found = onsets(envelope(r.samples), floor=0.35 * TONE_GAIN)
    speech = [(at, at + _clip_s(r, text)) for at, text in _expected_speech(r)]
    checked = 0
    wrong: list[tuple[str, float, str]] = []
    for i, step in enumerate(r.events):
        if not isinstance(step, StepStarted) or not step.breath_in_s or not step.breath_out_s:
            continue
        # This step's own end: a routine entered twice runs the same step ids again.
        end = next(e.t for e in r.events[i:] if isinstance(e, StepEnded))
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
            checked += 1
            nearest = min(found, key=lambda o: abs(o - t))
            if abs(nearest - t) > TOLERANCE_S:
                wrong.append((step.step, round(t, 2), f"nearest onset {nearest:.2f}"))
                continue
            early = zero_cross_hz(r.samples, t + 0.2 * half_s, 0.3)
            late = zero_cross_hz(r.samples, t + 0.7 * half_s - 0.3, 0.3)
            # Pitch rises through a breath in and falls through a breath out.
            if (late > early) != inhaling:
                wrong.append((step.step, round(t, 2), f"pitch {early:.0f} -> {late:.0f} Hz"))
    return checked, wrong


def test_breath_tones_turn_with_the_pacer_phase(sessions: list[Rendered]) -> None:
    for r in sessions:
        checked, wrong = tone_turns(r)
        assert checked >= 15
        assert not wrong


def test_no_sound_past_the_last_bell(sessions: list[Rendered]) -> None:
    for r in sessions:
        env = envelope(r.samples)
        ended = next(e for e in r.events if isinstance(e, SessionEnded))
        # The last bell rings after the closing phrase, then the file ends.
        after = env[int(ended.t / HOP_S) :]
        assert after.max() > 0.02
        assert np.all(env[-10:] < 0.05)
