"""The controller's per-tick shortcuts give what the full work gives, to the bit.

A day-long replay asks the controller every second, so a few things are not
worked out again when they cannot have changed: the pressor shares once both
have faded to 0 (``PressorFade``), the evidence's fade and follow factors while
the seconds between readings stay the same, the closing steps and a routine's
planned time. Each is compared here with the work done in full, on random and
awkward inputs (NaN, -0.0, times going back, gaps, odd configs), across what
invalidates it (a new tense step, a new gap length, a new config).
"""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from biofeedback.models import Zone
from biofeedback.pacing.evidence import EvidenceConfig, Reading, RiseEvidence
from biofeedback.pacing.planner import RoutinePlanner
from biofeedback.pacing.rules import PacingConfig, PressorFade, pressor_share, pressor_share_fast
from biofeedback.routines.protocols import load_protocol


def same(a: float | None, b: float | None) -> bool:
    """Equal to the bit: NaN equals NaN, -0.0 differs from 0.0."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


CONFIGS = [
    PacingConfig(),
    # No fade at all (the 10 s share drops from 1 to 0), and a fast share that fades slowly.
    PacingConfig(pressor_recovery_s=4.0, pressor_fast_tau_s=40.0),
    # Nonsense, but allowed: a fast share that grows again after its hold.
    PacingConfig(pressor_fast_tau_s=-6.0),
    PacingConfig(pressor_hold_s=0.0, pressor_fast_hold_s=0.0, pressor_fast_tau_s=0.5),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_the_pressor_fade_is_the_two_shares_worked_out_each_tick(cfg: PacingConfig) -> None:
    rng = random.Random(28)
    for _ in range(40):
        fade = PressorFade(cfg)
        end: float | None = None
        t = rng.uniform(-5.0, 5.0)
        for _ in range(300):
            step = rng.choice([1.0, 1.0, 1.0, 0.5, 7.3, 0.0, -0.0, -2.0, 45.0])
            t += step
            now = rng.choice([t] * 30 + [math.nan, -0.0, math.inf])
            tensing = rng.random() < 0.15
            if rng.random() < 0.05:
                end = rng.choice([now, t, -0.0])
                fade.tense_ended(end)
            since = None if end is None else now - end
            want = (pressor_share(cfg, tensing, since), pressor_share_fast(cfg, tensing, since))
            got = fade.shares(now, tensing)
            assert same(got[0], want[0]), (now, tensing, end, got, want)
            assert same(got[1], want[1]), (now, tensing, end, got, want)


def test_a_faded_bump_is_skipped_until_the_next_tense_step_ends() -> None:
    # What the shortcut is for: after the fade, the shares are not worked out again.
    cfg = PacingConfig()
    fade = PressorFade(cfg)
    assert fade.shares(10.0, False) == (0.0, 0.0)  # no tense step yet
    fade.tense_ended(10.0)
    assert fade.shares(11.0, False) == (1.0, 1.0)
    assert fade.shares(60.0, False) == (0.0, 0.0)
    calls: list[str] = []
    fade.config = _Spy(cfg, calls)  # type: ignore[assignment]
    assert fade.shares(61.0, False) == (0.0, 0.0)
    assert calls == []
    # A new tense step ends: its bump is worked out again.
    fade.tense_ended(70.0)
    assert fade.shares(72.0, False) == (1.0, 1.0)
    assert calls


class _Spy:
    """A config that notes each time a share is worked out from it."""

    def __init__(self, cfg: PacingConfig, calls: list[str]) -> None:
        self._cfg, self._calls = cfg, calls

    def __getattr__(self, name: str) -> object:
        self._calls.append(name)
        return getattr(self._cfg, name)


STATE = ("evidence", "reference_bpm", "rising_for_s", "peak_delta_bpm")
LAST = (
    "last_delta_bpm",
    "last_fast_delta_bpm",
    "last_reference_bpm",
    "last_unit_bpm",
    "breath_counted",
)


def test_the_evidence_with_its_factors_kept_is_the_evidence_worked_out_afresh() -> None:
    rng = random.Random(29)
    configs = [
        EvidenceConfig(),
        EvidenceConfig(leak_tau_s=0.0, follow_tau_s=5.0),
        EvidenceConfig(follow_up_tau_s=1e-3, slack_z=1.0),
    ]
    for _ in range(20):
        cfg = configs[0]
        kept = RiseEvidence(cfg)
        for n in range(400):
            if rng.random() < 0.02:
                cfg = rng.choice(configs)
                kept.config = cfg
            if rng.random() < 0.02:
                kept.reset(rng.choice([None, 72.0]))
            # Afresh: a new evidence with the same state, whose factors are all new.
            fresh = RiseEvidence(cfg)
            for name in STATE:
                setattr(fresh, name, getattr(kept, name))
            dt = rng.choice([1.0] * 20 + [0.5, 2.0, 0.0, -0.0, -1.0, math.nan, 1e-9])
            hr = rng.choice([70.0 + rng.gauss(0.0, 6.0)] * 10 + [math.nan, 95.0, 55.0])
            fast = rng.choice([None, hr + rng.gauss(0.0, 3.0)])
            reading = Reading(
                hr,
                70.0,
                rng.choice([3.0, 1.0, 0.0]),
                rng.choice([None, 0.5, 2.5]),
                fast,
                rng.choice([None, 2.0]),
                rng.choice([None, 0.0, 1.5]),
            )
            allowance = rng.choice([0.0, 0.0, 0.0, 1.2])
            got = kept.update(reading, dt, allowance_z=allowance)
            want = fresh.update(reading, dt, allowance_z=allowance)
            assert same(got, want), n
            for name in STATE + LAST:
                a, b = getattr(kept, name), getattr(fresh, name)
                assert a == b if isinstance(a, bool) else same(a, b), (n, name, a, b)


def test_the_closing_steps_are_built_once_and_handed_out_as_new_lists() -> None:
    protocol = load_protocol("full")
    fallbacks = {
        Zone.YELLOW: load_protocol("breath-partial"),
        Zone.RED: load_protocol("passive-rest"),
    }
    planner = RoutinePlanner(protocol, fallbacks, PacingConfig(), set())
    other = dataclasses.replace(protocol, closing_word="Rest")
    elsewhere = RoutinePlanner(other, fallbacks, PacingConfig(closing_scan_s=30.0), set())
    for zone in Zone:
        first = planner.closing_steps(zone)
        first.pop()  # a caller's queue is its own
        again = planner.closing_steps(zone)
        assert len(again) == 2
        assert again[0] == first[0]
        assert again[1].id == "closing-breath"
        # Each planner's from its own protocol and config.
        theirs = elsewhere.closing_steps(zone)
        assert theirs[0].planned_s == 30.0
        assert theirs[1].cue != again[1].cue
    assert planner.closing_steps(Zone.RED)[0].id == "closing-rest"
    assert planner.closing_steps(Zone.GREEN)[0].id == "closing-scan"
