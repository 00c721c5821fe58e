"""The resonance tracker's beats when the arousal estimator's cleaner leads its own
(``ResonanceEstimator``: each beat's reference and threshold worked out once)
against a tracker cleaning by itself: the same beats, readings and estimates to
the bit, on awkward streams (ectopy and missed beats, NaN, times going back
within and across samples, samples without beat times, integers, no contact).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from biofeedback.models import Contact, HeartSample
from biofeedback.pacing.resonance_live import ResonanceEstimator, ResonanceTracker
from biofeedback.signals.arousal import ArousalEstimator, EstimatorConfig
from biofeedback.signals.rr_clean import CleanerConfig


def _stream(seed: int, kind: str) -> list[HeartSample]:
    """~6 minutes of samples, about one a second, with ``kind``'s trouble in them."""
    rng = random.Random(seed)
    samples: list[HeartSample] = []
    t = 0.0
    note_s = 1.0
    beats: list[float] = []
    times: list[float] = []
    while note_s < 360.0:
        rr = 900.0 + 60.0 * math.sin(t / 1.7) + rng.gauss(0.0, 15.0)
        roll = rng.random()
        if kind in ("ectopy", "back") and roll < 0.05:
            beats += [rr * 0.6, rr * 1.4]  # a premature beat and its pause
        elif kind in ("ectopy", "back") and roll < 0.08:
            beats.append(rr * 2.0)  # a missed beat
        elif kind in ("ectopy", "back") and roll < 0.1:
            beats += [rr * 0.45, rr * 0.55]  # an extra beat
        elif kind in ("ectopy", "back") and roll < 0.2:
            beats.append(rr * rng.choice((0.88, 0.92, 1.08, 1.12)))  # near the threshold
        else:
            beats.append(rr)
        for value in beats[len(times) :]:
            t += value / 1000.0
            times.append(t)
        if t < note_s:
            continue
        rr_ms = tuple(beats)
        beat_t_s = tuple(times)
        beats, times = [], []
        contact = Contact.DETECTED
        if kind == "nan" and rng.random() < 0.03:
            beat_t_s = (math.nan, *beat_t_s[1:])
        if kind == "nan" and rng.random() < 0.03:
            rr_ms = (*rr_ms[:-1], math.nan)
        if kind == "back" and rng.random() < 0.08:
            # Times that go back: within a sample, or behind the previous one.
            beat_t_s = tuple(b - rng.choice((0.3, 1.5, 4.0)) for b in beat_t_s)
        if kind == "mixed":
            roll = rng.random()
            if roll < 0.05:
                beat_t_s = ()  # no beat times: rebuilt from the arrival
            elif roll < 0.1:
                rr_ms = tuple(round(v) for v in rr_ms)  # integers
                beat_t_s = tuple(round(b * 1024) / 1024 for b in beat_t_s)
            elif roll < 0.13:
                contact = Contact.NOT_DETECTED
            elif roll < 0.15:
                samples.append(HeartSample(note_s, 66.0))  # heart rate alone
                note_s += 1.0
                continue
        samples.append(HeartSample(note_s, None, rr_ms, beat_t_s, contact=contact))
        note_s += 1.0 + rng.uniform(-0.05, 0.05)
    return samples


def _same(a: object, b: object) -> bool:
    """Equal, NaN to NaN (the figures' reprs: every float's shortest exact text)."""
    return repr(a) == repr(b)


@pytest.mark.parametrize("kind", ["plain", "ectopy", "nan", "back", "mixed"])
def test_a_led_tracker_sees_what_its_own_cleaning_sees(kind: str) -> None:
    samples = _stream(8 if kind == "back" else 7, kind)
    led = ResonanceEstimator(ArousalEstimator(), ResonanceTracker(keep_all=True))
    assert led.tracker.cleaner.led
    alone_estimator, alone = ArousalEstimator(), ResonanceTracker(keep_all=True)
    assert not alone.cleaner.led
    next_tick_s = 1.0
    led_for = 0
    for sample in samples:
        led_for += led.tracker.cleaner.led
        while next_tick_s <= sample.t_s:
            assert _same(led.estimate(next_tick_s), alone_estimator.estimate(next_tick_s))
            if next_tick_s % 5.0 == 4.0:
                assert _same(led.tracker.reading(next_tick_s), alone.reading(next_tick_s))
            next_tick_s += 1.0
        led.add_sample(sample)
        alone_estimator.add_sample(sample)
        alone.add_sample(sample)
        # Each waiting beat with its reference and threshold, to the bit (a
        # difference too small to move a decision here would move one elsewhere;
        # an integer a source gave is the float the estimator makes of it).
        assert _same(
            [tuple(map(float, b)) for b in led.tracker.cleaner._pending],  # noqa: SLF001
            [tuple(map(float, b)) for b in alone.cleaner._pending],  # noqa: SLF001
        )
    mine, theirs = led.tracker.beats(), alone.beats()
    for name in ("t_s", "nn_ms", "raw_t_s", "flagged"):
        ours, plain = getattr(mine, name), getattr(theirs, name)
        assert ours.dtype == plain.dtype
        assert ours.tobytes() == plain.tobytes(), name
    assert mine.t_s.size > 300
    if kind in ("plain", "ectopy", "nan"):
        assert led.tracker.cleaner.led
    if kind == "back":
        # Times going back ended the sharing: the tracker cleaned the rest itself.
        assert not led.tracker.cleaner.led
        assert 10 < led_for < len(samples) - 100
    if kind == "ectopy":
        assert np.count_nonzero(mine.flagged) > 10


def test_nothing_is_shared_between_different_rules_or_a_used_cleaner() -> None:
    other = EstimatorConfig(cleaner=CleanerConfig(median_beats=7))
    assert not ResonanceEstimator(ArousalEstimator(other), ResonanceTracker()).tracker.cleaner.led
    used = ResonanceTracker()
    used.add_sample(HeartSample(1.0, None, (900.0,), (1.0,), contact=Contact.DETECTED))
    assert not ResonanceEstimator(ArousalEstimator(), used).tracker.cleaner.led
    # One leader, one follower: a second pairing shares nothing.
    estimator = ArousalEstimator()
    first = ResonanceEstimator(estimator, ResonanceTracker())
    second = ResonanceEstimator(estimator, ResonanceTracker())
    assert first.tracker.cleaner.led
    assert not second.tracker.cleaner.led
