"""Cleaning many notifications in one call decides to the bit what a call each does.

``RRCleaner.push(..., arrivals=...)`` sums the running sums notification by
notification, so thresholds, decisions and corrected beats are the ones a push
and a ``process`` per notification give. The resonance indicator cleans beat by
beat in floats (``live_beats.LiveCleaner``, the arousal estimator's cleaner) and
decides when it reads (every few seconds): its beats and readings are those of
the array cleaner, to the bit.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.models import Contact, HeartSample, ResonanceUpdate
from biofeedback.pacing.resonance_live import WINDOW_S, ResonanceTracker, window_figures
from biofeedback.signals.arousal import beats_of
from biofeedback.signals.rr_clean import CleanedChunk, RRCleaner
from tests.support.arousal_data import (
    PVC,
    RESTING,
    beat_times,
    inject_artifacts,
    load_rr,
    samples_from_rr,
)


def cleaned_per_notification(samples: list[HeartSample]) -> tuple[RRCleaner, list[CleanedChunk]]:
    cleaner = RRCleaner()
    chunks = []
    for s in samples:
        cleaner.push(np.asarray(s.beat_t_s, float), np.asarray(s.rr_ms, float))
        chunks.append(cleaner.process())
    return cleaner, chunks


def joined(chunks: list[CleanedChunk]) -> list[np.ndarray]:
    fields = ("raw_t_s", "raw_rr_ms", "kind", "raw_available_s", "t_s", "nn_ms", "available_s")
    return [np.concatenate([getattr(c, f) for c in chunks]) for f in fields]


def test_notifications_cleaned_together_decide_as_each_alone() -> None:
    rng = np.random.default_rng(11)
    for name in (PVC, RESTING[0]):
        rr, _ = inject_artifacts(load_rr(name)[:3000], 0.03, rng)
        samples = [s for s in samples_from_rr(rr) if s.rr_ms]
        alone, alone_chunks = cleaned_per_notification(samples)
        together = RRCleaner()
        chunks = []
        i = 0
        while i < len(samples):
            batch = samples[i : i + int(rng.integers(1, 9))]
            i += len(batch)
            together.push(
                np.array([t for s in batch for t in s.beat_t_s], float),
                np.array([x for s in batch for x in s.rr_ms], float),
                arrivals=[len(s.rr_ms) for s in batch],
            )
            chunks.append(together.process())
        for ours, theirs in zip(joined(chunks), joined(alone_chunks), strict=True):
            assert ours.tobytes() == theirs.tobytes()
        # The running sums and thresholds behind the decisions, to the bit: the
        # decisions alone would hide a sum that differs in its last bit.
        for ours_buf, theirs_buf in (
            (together._clip_sum, alone._clip_sum),  # noqa: SLF001 (the claim is about them)
            (together._th, alone._th),  # noqa: SLF001
        ):
            assert ours_buf.view.tobytes() == theirs_buf.view.tobytes()


def test_the_tracker_reads_what_cleaning_each_notification_gives() -> None:
    rng = np.random.default_rng(5)
    rr, _ = inject_artifacts(load_rr(RESTING[0])[:2000], 0.02, rng)
    samples = [s for s in samples_from_rr(rr) if s.rr_ms]
    tracker = ResonanceTracker(keep_all=True)
    readings = []
    for n, s in enumerate(samples):
        tracker.add_sample(s)
        if n % 5 == 4:
            readings.append(tracker.reading(s.t_s))
    _, chunks = cleaned_per_notification(samples)
    beats = tracker.beats()
    expected = joined(chunks)
    assert beats.t_s.tobytes() == expected[4].tobytes()
    assert beats.nn_ms.tobytes() == expected[5].tobytes()
    assert any(r.coherence is not None for r in readings)


def _reference_reading(chunks: list[CleanedChunk], now_s: float) -> ResonanceUpdate:
    """The reading from the array cleaner's beats (a push and a ``process`` per
    notification), the window found by a mask: what the tracker read before it
    cleaned beat by beat."""
    t, nn = (np.concatenate([getattr(c, f) for c in chunks]) for f in ("t_s", "nn_ms"))
    inside = t >= now_s - WINDOW_S
    figures = window_figures(t[inside], nn[inside], WINDOW_S)
    if figures is None:
        return ResonanceUpdate(now_s, WINDOW_S, None, None, None, None)
    coherence, peak_hz, swing = figures
    return ResonanceUpdate(
        now_s,
        WINDOW_S,
        None if coherence is None else round(coherence, 3),
        None if peak_hz is None else round(peak_hz, 4),
        None if peak_hz is None else round(peak_hz * 60.0, 2),
        round(swing, 2),
    )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=300),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_the_tracker_cleans_beat_by_beat_as_the_array_cleaner_does(
    sizes: list[int], seed: int, with_times: bool
) -> None:
    # Artifacts of every kind, signal gaps, notifications of 1-5 beats, whole
    # milliseconds as integers (as a strap's parsed values may be), and sources
    # that send no beat times (rebuilt from the arrival, overlapping at times).
    rng = np.random.default_rng(seed)
    base = 850 + 90 * np.sin(np.arange(400) / 3.0) + rng.normal(0, 30, 400)
    rr, _ = inject_artifacts(base, 0.08, rng)
    rr = np.clip(np.round(rr), 250.0, 3000.0)
    t = beat_times(rr)
    for gap_at in rng.integers(20, rr.size, 2):
        t[gap_at:] += float(rng.uniform(2.0, 12.0))
    tracker = ResonanceTracker(keep_all=True)
    cleaner = RRCleaner()
    chunks: list[CleanedChunk] = []
    readings: list[ResonanceUpdate] = []
    at = 0
    for n, size in enumerate(itertools.islice(itertools.cycle(sizes), 2000)):
        if at >= rr.size:
            break
        beats = slice(at, at + size)
        at += size
        arrival = float(t[beats][-1]) + 0.3
        times = tuple(float(v) for v in t[beats]) if with_times else ()
        sample = HeartSample(
            arrival, None, tuple(int(v) for v in rr[beats]), times, Contact.DETECTED
        )
        tracker.add_sample(sample)
        cleaner.push(np.array(beats_of(sample)[0]), rr[beats])
        chunks.append(cleaner.process())
        if n % 5 == 4:
            readings.append(tracker.reading(arrival))
            assert readings[-1] == _reference_reading(chunks, arrival)
    assert any(r.coherence is not None for r in readings)
    got = tracker.beats()
    expected = joined(chunks)
    assert got.t_s.tobytes() == expected[4].tobytes()
    assert got.nn_ms.tobytes() == expected[5].tobytes()
    assert got.raw_t_s.tobytes() == expected[0].tobytes()
    assert got.flagged.tobytes() == (expected[2] != 0).tobytes()
