"""A recording as numpy columns, its beats cleaned as the live estimator cleans
them (the zones and steps review measures over come from the loop's fold)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biofeedback import BiofeedbackError
from biofeedback.models import (
    QUALITY_ORDER,
    ColumnRows,
    Quality,
    Recording,
)
from biofeedback.models.record import record
from biofeedback.signals.median import median
from biofeedback.signals.rr_clean import CleanedChunk, CleanerConfig, RRCleaner


class ReviewError(BiofeedbackError):
    """A review or export that cannot be made as asked."""


@record(frozen=True)
class RecordSeries:
    """The recording as numpy columns, each in time order."""

    est_t_s: np.ndarray
    est_hr_bpm: np.ndarray
    est_rmssd_ms: np.ndarray
    est_arousal: np.ndarray
    est_no_signal: np.ndarray
    est_artifact_rate: np.ndarray
    beat_t_s: np.ndarray
    rr_ms: np.ndarray

    @classmethod
    def of(cls, rec: Recording) -> RecordSeries:
        beats = (np.array(rec.beat_t_s, float), np.array(rec.rr_ms, float))
        if isinstance(rec.estimate_rows, ColumnRows):
            # The store's rows: their columns at once (a day is 86,400 rows).
            block = rec.estimate_rows.columns()
            no_signal = QUALITY_ORDER.index(Quality.NO_SIGNAL)
            return cls(
                block[:, 0].copy(),
                block[:, 1].copy(),
                block[:, 2].copy(),
                block[:, 3].copy(),
                block[:, 4] == no_signal,
                block[:, 5].copy(),
                *beats,
            )
        n = len(rec.estimate_rows)
        t, hr, rmssd, arousal, quality, artifacts, _, _ = (
            zip(*rec.estimate_rows, strict=True) if n else ((),) * 8
        )
        # None becomes NaN in a float array.
        return cls(
            est_t_s=np.array(t, float),
            est_hr_bpm=np.array(hr, float),
            est_rmssd_ms=np.array(rmssd, float),
            est_arousal=np.array(arousal, float),
            est_no_signal=np.array([q == "no_signal" for q in quality], bool),
            est_artifact_rate=np.array(artifacts, float),
            beat_t_s=beats[0],
            rr_ms=beats[1],
        )


def clean_rr(
    rr_ms: Sequence[float] | np.ndarray, t_s: Sequence[float] | np.ndarray | None = None
) -> CleanedChunk:
    """Every beat of a recording through the live estimator's cleaner, at once.

    The cleaner decides each beat from the raw beats before it, so this is
    exactly what the session's estimator decided beat by beat: a review's
    artifact rate is the one the session measured. ``t_s`` are the beat end
    times (default: the running sum of ``rr_ms``). Corrections keep the time
    base, so a missed beat adds beats and an extra one removes one.
    """
    rr = np.asarray(rr_ms, float)
    t = np.cumsum(rr) / 1000.0 if t_s is None else np.asarray(t_s, float)
    # The live estimator's default (``EstimatorConfig.cleaner``), without loading
    # the live estimator (tests/test_review.py holds the two the same).
    cleaner = RRCleaner(CleanerConfig())
    cleaner.push(t, rr)
    return cleaner.process(final=True)


def flagged_share(chunk: CleanedChunk) -> float:
    """The share of raw beats the cleaner flagged as artifacts (0 without beats)."""
    return float(np.mean(chunk.kind != 0)) if chunk.kind.size else 0.0


def median_of(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return median(values) if values.size else None


def mean_hr(beat_t_s: np.ndarray, hr_bpm: np.ndarray, start_s: float, end_s: float) -> float | None:
    lo, hi = np.searchsorted(beat_t_s, [start_s, end_s], side="right")
    return float(hr_bpm[lo:hi].mean()) if hi > lo else None
