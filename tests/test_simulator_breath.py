"""The simulated breath and the chest it moves (simulators/breathing.py, chest.py)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from biofeedback.models import ChestMotion, StepKind, StepStarted
from simulators.breathing import BreathRecord
from simulators.scenario import load_scenario
from simulators.source import SimulatedSource
from tests.support.simulator import drive, step, tense_release


def _rate_per_min(breaths: list[BreathRecord], start_s: float, end_s: float) -> float:
    inside = [b for b in breaths if start_s <= b.start_s < end_s and not b.held]
    return 60.0 / float(np.median([b.in_s + b.hold_s + b.out_s for b in inside]))


def _chest(motion: list[ChestMotion]) -> tuple[np.ndarray, np.ndarray]:
    t = np.concatenate(
        [m.t_s - (len(m.x_mg) - 1 - np.arange(len(m.x_mg))) / m.rate_hz for m in motion]
    )
    xyz = np.stack([np.concatenate([getattr(m, f"{a}_mg") for m in motion]) for a in "xyz"], axis=1)
    return t, xyz


def test_the_chest_leaves_the_heart_as_it_was() -> None:
    events = [step(30.0, StepKind.BREATH, breath=(4.0, 6.0)), *tense_release(90.0, 200.0)]
    with_chest = drive(SimulatedSource("anxious", seed=3, acc_rate_hz=50.0), 240.0, events)
    plain = drive(SimulatedSource("anxious", seed=3), 240.0, events)
    assert with_chest.samples == plain.samples
    assert with_chest.motion
    assert not plain.motion


def test_chest_motion_arrives_at_its_rate_and_swings_with_the_breath() -> None:
    run = drive(SimulatedSource("calm", seed=2, acc_rate_hz=50.0), 120.0)
    t, xyz = _chest(run.motion)
    assert np.all(np.diff(t) > 0)
    assert abs(len(t) / (t[-1] - t[0]) - 50.0) < 0.5
    # Gravity (about 1 g) lies mostly along the body upright.
    assert 900 < float(np.linalg.norm(np.median(xyz, axis=0))) < 1100
    # The breath is the strongest slow rhythm: its frequency is the truth's rate.
    z = xyz[:, 2] - xyz[:, 2].mean()
    spectrum = np.abs(np.fft.rfft(z))
    freqs = np.fft.rfftfreq(len(z), 1 / 50.0)
    band = (freqs > 0.05) & (freqs < 0.7)
    found_per_min = 60.0 * float(freqs[band][np.argmax(spectrum[band])])
    true_per_min = _rate_per_min(run.source.truth.breaths, 0.0, 120.0)
    assert abs(found_per_min - true_per_min) < 3.0


def test_a_breath_holder_holds_through_tense_steps() -> None:
    events = tense_release(30.0, 300.0, tense_s=5.0, release_s=15.0)
    run = drive(SimulatedSource("breath-holder", seed=4), 300.0, events)
    holds = run.source.truth.holds()
    tense_starts = [e.t for e in events if isinstance(e, StepStarted) and e.kind is StepKind.TENSE]
    assert len(holds) >= 0.6 * len(tense_starts)
    for hold in holds:
        # Held from the tense cue until a moment after letting go.
        assert any(abs(hold.start_s - t) < 1.5 for t in tense_starts)
        assert 5.0 <= hold.hold_s + hold.in_s <= 8.0


def test_a_calm_person_never_holds() -> None:
    run = drive(SimulatedSource("calm", seed=4), 300.0, tense_release(30.0, 300.0))
    assert run.source.truth.holds() == []


def test_a_fast_breather_does_not_slow_to_the_pacer() -> None:
    paced = [step(60.0, StepKind.BREATH, breath=(4.0, 6.0))]
    run = drive(SimulatedSource("fast-breather", seed=1), 240.0, paced)
    calm = drive(SimulatedSource("calm", seed=1), 240.0, paced)
    assert _rate_per_min(run.source.truth.breaths, 80.0, 240.0) > 12.0
    assert abs(_rate_per_min(calm.source.truth.breaths, 80.0, 240.0) - 6.0) < 0.3


def test_anxious_breathing_changes_before_the_heart() -> None:
    run = drive(SimulatedSource("anxious", seed=1), 200.0)
    truth = run.source.truth
    onset = run.source.scenario.episodes[0].onset_s
    before = _rate_per_min(truth.breaths, onset - 60.0, onset)
    early = _rate_per_min(truth.breaths, onset + 5.0, onset + 25.0)
    assert early > 1.3 * before
    depth_before = np.median([b.depth for b in truth.breaths if onset - 60 < b.start_s < onset])
    depth_early = np.median([b.depth for b in truth.breaths if onset + 5 < b.start_s < onset + 25])
    assert depth_early < 0.8 * depth_before
    # Meanwhile the heart has risen by less than half of its way.
    beats = np.array(truth.beat_t_s)
    arousal = np.array(truth.arousal_bpm)
    at = arousal[(beats > onset + 5.0) & (beats < onset + 10.0)]
    assert float(at.max()) < 0.5 * run.source.scenario.episodes[0].hr_rise_bpm


def test_a_talker_breathes_as_speech_does_in_spells_whatever_the_pacer() -> None:
    # Talking is scenario-optional ([person] talks_per_h, talk_s): no scenario has it,
    # and a person without it makes no draw for it (tests/test_streams.py digests).
    calm = load_scenario("calm")
    talker = dataclasses.replace(
        calm, person=dataclasses.replace(calm.person, talks_per_h=20.0, talk_s=40.0)
    )
    paced = [step(0.0, StepKind.BREATH, breath=(4.0, 6.0))]
    run = drive(SimulatedSource(talker, seed=2, acc_rate_hz=50.0), 900.0, paced)
    breaths = run.source.truth.breaths
    talk = [b for b in breaths if b.talk]
    assert len(talk) >= 10
    assert all(0.4 <= b.in_s <= 0.8 and 2.0 <= b.out_s <= 6.0 for b in talk)
    # In spells: most talking breaths follow another; between them the pacer leads.
    runs = sum(1 for a, b in itertools.pairwise(breaths) if b.talk and not a.talk)
    assert runs <= len(talk) / 3
    assert abs(_rate_per_min([b for b in breaths if not b.talk], 60.0, 900.0) - 6.0) < 0.5
    plain = drive(SimulatedSource("calm", seed=2), 300.0, paced)
    assert not any(b.talk for b in plain.source.truth.breaths)
