"""RR streams for the cleaner's tests: sinus rhythm with every kind of artifact,
pushed a few beats at a time, and the chunks joined field by field."""

from __future__ import annotations

import numpy as np

from biofeedback.signals.rr_clean import CleanedChunk, RRCleaner

FIELDS = ("raw_t_s", "raw_rr_ms", "kind", "raw_available_s", "t_s", "nn_ms", "available_s")


def rr_stream(rng: np.random.Generator, n: int, *, nan: bool) -> np.ndarray:
    """Sinus rhythm with breathing and drift, 7.8 ms quantised (ties in medians
    and thresholds), with ectopic pairs, missed and extra beats, gaps and runs."""
    i = np.arange(n)
    rr = 850 + 120 * np.sin(i / 40) + 40 * np.sin(i / 3.1) + rng.normal(0, 15, n)
    rr = np.round(rr * 0.128) / 0.128
    for k in rng.choice(n - 3, n // 25, replace=False):
        what = rng.integers(0, 6)
        if what == 0:  # premature beat and its compensatory pause
            rr[k], rr[k + 1] = rr[k] * 0.65, rr[k + 1] * 1.35
        elif what == 1:  # missed beat(s)
            rr[k] *= rng.integers(2, 4)
        elif what == 2:  # extra beat splitting one interval
            rr[k], rr[k + 1] = rr[k] * 0.4, rr[k] * 0.6
        elif what == 3:  # a gap in the recording
            rr[k] = rng.uniform(3000, 9000)
        elif what == 4:  # a run of short beats
            rr[k : k + 3] *= 0.6
        else:
            rr[k] = rng.uniform(200, 400)
    if nan:
        rr[rng.choice(n, 3, replace=False)] = np.nan
    return np.asarray(rr, float)


def joined(chunks: list[CleanedChunk]) -> list[np.ndarray]:
    return [np.concatenate([getattr(c, f) for c in chunks]) for f in FIELDS]


def clean(rr: np.ndarray, t: np.ndarray, sizes: list[int]) -> tuple[RRCleaner, list[CleanedChunk]]:
    """Push and process the beats ``sizes`` at a time (``sizes`` sums to ``rr.size``)."""
    cleaner, chunks, lo = RRCleaner(), [], 0
    for size in sizes:
        cleaner.push(t[lo : lo + size], rr[lo : lo + size])
        chunks.append(cleaner.process())
        lo += size
    chunks.append(cleaner.process(final=True))
    return cleaner, chunks


def stream_sizes(rng: np.random.Generator, n: int) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(min(int(rng.integers(1, 11)), n - sum(sizes)))
    return sizes
