"""The rise evidence on synthetic readings: a step, a ramp, a spike, a gap, wander."""

from __future__ import annotations

import math

import pytest

from biofeedback.pacing.evidence import EvidenceConfig, NoiseLearner, Reading, RiseEvidence

BASE = 70.0
NOISE = 3.0
CFG = EvidenceConfig()


def feed(hr_of_t: list[float], evidence: RiseEvidence | None = None) -> list[float]:
    """Evidence after each 1 s reading."""
    ev = evidence or RiseEvidence()
    return [ev.update(Reading(hr, BASE, NOISE), 1.0) for hr in hr_of_t]


def first_at_least(levels: list[float], needed: float) -> int | None:
    return next((i for i, v in enumerate(levels) if v >= needed), None)


def test_a_step_of_15_bpm_is_enough_within_a_few_seconds() -> None:
    levels = feed([BASE] * 60 + [BASE + 15] * 30)
    assert max(levels[:60]) == 0.0
    crossed = first_at_least(levels, CFG.needed)
    assert crossed is not None
    assert 60 <= crossed <= 63


def test_a_ramp_piles_up_evidence_and_a_small_one_never_does() -> None:
    def ramp(rise: float, tau_s: float = 15.0) -> list[float]:
        return [
            BASE + (rise * (1 - math.exp(-(t - 60) / tau_s)) if t > 60 else 0.0) for t in range(300)
        ]

    big = first_at_least(feed(ramp(15.0)), CFG.needed)
    assert big is not None
    assert big - 60 <= 20
    bigger = first_at_least(feed(ramp(25.0)), CFG.needed)
    assert bigger is not None
    assert bigger < big
    assert first_at_least(feed(ramp(4.0)), CFG.needed) is None


def test_a_spike_of_one_reading_is_not_enough() -> None:
    levels = feed([BASE] * 30 + [BASE + 40] + [BASE] * 30)
    assert max(levels) < CFG.needed
    assert levels[-1] < levels[30], "and it fades"


def test_a_gap_freezes_the_evidence_it_does_not_reset_it() -> None:
    risen = [BASE + 9.0] * 20
    ev = RiseEvidence()
    before = feed(risen[:3], ev)[-1]
    assert 0 < before < CFG.needed
    # No reading for 7 s: nothing is updated, so nothing is lost.
    assert ev.evidence == before
    after = feed(risen[3:], ev)
    whole = feed(risen)
    assert first_at_least(after, CFG.needed) == first_at_least(whole, CFG.needed) - 3  # type: ignore[operator]


def test_slow_wander_within_the_allowance_never_adds_up() -> None:
    # A resting heart wandering +-4 bpm over a minute, for an hour.
    levels = feed([BASE + 4.0 * math.sin(2 * math.pi * t / 60) for t in range(3600)])
    assert max(levels) < CFG.needed


def test_a_known_cause_holds_the_evidence_without_draining_it() -> None:
    ev = RiseEvidence()
    feed([BASE + 12.0] * 2, ev)
    held = ev.evidence
    # Tensing excuses the bump: nothing added, nothing drained by the calm reading.
    ev.update(Reading(BASE, BASE, NOISE), 1.0, allowance_z=2.0)
    assert ev.evidence <= held
    assert ev.evidence >= held * math.exp(-1.0 / CFG.leak_tau_s) - 1e-9


def test_the_fast_heart_rate_speeds_up_a_big_rise_only() -> None:
    slow = RiseEvidence()
    quick = RiseEvidence()
    slow.update(Reading(BASE + 8, BASE, NOISE), 1.0)
    quick.update(Reading(BASE + 8, BASE, NOISE, hr_fast_bpm=BASE + 20), 1.0)
    assert quick.evidence > slow.evidence
    calm = RiseEvidence()
    calm.update(Reading(BASE + 2, BASE, NOISE, hr_fast_bpm=BASE + 6), 1.0)
    assert calm.evidence == 0.0


def learn(deltas: list[float], learner: NoiseLearner | None = None) -> NoiseLearner:
    noise = learner or NoiseLearner()
    for d in deltas:
        noise.push(d, 1.0, usable=True)
    return noise


def test_the_fast_heart_rates_own_swing_is_learned() -> None:
    # A breath swing of +-4 bpm (RMS 2.8) for 15 minutes, from the 3 bpm prior.
    swing = [4.0 * math.sin(2 * math.pi * t / 7.0) for t in range(900)]
    assert learn(swing).noise_bpm == pytest.approx(4.0 / math.sqrt(2), rel=0.15)
    steady = learn([0.3 * math.sin(t) for t in range(1800)])
    assert steady.noise_bpm == CFG.learn_floor_bpm


def test_a_rise_is_not_learned_as_noise() -> None:
    calm = [3.0 * math.sin(2 * math.pi * t / 7.0) for t in range(600)]
    # Readings are taken in only 30 s later: a rise that stepped down is forgotten.
    risen = learn(calm + [15.0] * 20)
    assert risen.noise_bpm == learn(calm + [0.0] * 20).noise_bpm
    risen.forget_recent()
    learn(calm[:120], risen)
    assert risen.noise_bpm == pytest.approx(3.0 / math.sqrt(2), rel=0.15)
    unforgotten = learn(calm + [15.0] * 20 + calm[:120])
    assert unforgotten.noise_bpm > risen.noise_bpm + 0.3
    # Readings a known cause explains (tensing) are never learned.
    tensing = NoiseLearner()
    for _ in range(200):
        tensing.push(9.0, 1.0, usable=False)
    assert tensing.noise_bpm == CFG.learn_prior_bpm


def test_the_fast_heart_rate_is_judged_in_its_own_learned_units() -> None:
    # The same +9 bpm on the fast heart rate: enough for a steady heart, not
    # for one whose fast heart rate swings by 4 bpm.
    steady = RiseEvidence()
    swinging = RiseEvidence()
    for _ in range(5):
        steady.update(Reading(BASE + 2, BASE, NOISE, hr_fast_bpm=BASE + 9, fast_noise_bpm=1.5), 1.0)
        swinging.update(
            Reading(BASE + 2, BASE, NOISE, hr_fast_bpm=BASE + 9, fast_noise_bpm=4.0), 1.0
        )
    assert steady.evidence >= CFG.needed
    assert swinging.evidence == 0.0
