"""Cleaning many notifications in one call decides to the bit what a call each does.

The resonance indicator cleans the beats only when it reads them (every few
seconds), all the notifications since in one ``push(..., arrivals=...)``; the
running sums are summed notification by notification, so thresholds, decisions and
corrected beats are the ones a push and a ``process`` per notification give.
"""

from __future__ import annotations

import numpy as np

from biofeedback.models import HeartSample
from biofeedback.pacing.resonance_live import ResonanceTracker
from biofeedback.signals.rr_clean import CleanedChunk, RRCleaner
from tests.support.arousal_data import (
    PVC,
    RESTING,
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
