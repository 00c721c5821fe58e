"""A few beats at a time (the live resonance indicator's pushes, cleaned in plain
floats) decide to the bit what large batches (the array path) do.

The big-batch cleaner is told the small pushes as its ``arrivals``, so both sum the
changes notification by notification; every other difference would be the small
path's.
"""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.signals import rr_clean
from biofeedback.signals.rr_clean import BeatKind, CleanedChunk, RRCleaner

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


def assert_same(
    a: tuple[RRCleaner, list[CleanedChunk]], b: tuple[RRCleaner, list[CleanedChunk]]
) -> None:
    for field, ours, theirs in zip(FIELDS, joined(a[1]), joined(b[1]), strict=True):
        assert ours.dtype == theirs.dtype, field
        assert np.array_equal(ours, theirs, equal_nan=True), field
        assert ours.tobytes() == theirs.tobytes(), field
    # The statistics behind the decisions, to the bit (over what both kept: the
    # buffers are compacted at different pushes).
    for name in ("_ref", "_th", "_clip_sum"):
        ours, theirs = getattr(a[0], name).view, getattr(b[0], name).view
        kept = min(ours.size, theirs.size)
        assert kept > 100
        assert ours[-kept:].tobytes() == theirs[-kept:].tobytes(), name


def stream_sizes(rng: np.random.Generator, n: int) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(min(int(rng.integers(1, 11)), n - sum(sizes)))
    return sizes


def test_small_pushes_decide_as_large_batches_to_the_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(28)
    flagged = 0
    for seed in range(6):
        nan = seed == 5
        rr = rr_stream(rng, 2500 + 900 * seed, nan=nan)
        t = 100.0 + np.cumsum(np.nan_to_num(rr, nan=800.0)) / 1000.0
        sizes = stream_sizes(rng, rr.size)
        small = clean(rr, t, sizes)
        # The same pushes with the float path switched off: the array path alone.
        with monkeypatch.context() as m:
            m.setattr(rr_clean, "SMALL_PUSH_BEATS", 0)
            assert_same(small, clean(rr, t, sizes))
        if not nan:
            # A NaN spoils the corrected times of the whole chunk it lands in,
            # whatever the path; without one, the chunking changes nothing.
            groups: list[int] = []
            for size in sizes:
                if not groups or groups[-1] > 40:
                    groups.append(0)
                groups[-1] += size
            big = RRCleaner()
            big_chunks, lo, k = [], 0, 0
            for g in groups:
                # Told the small pushes as arrivals: the same running sums.
                arrivals: list[int] = []
                while sum(arrivals) < g:
                    arrivals.append(sizes[k])
                    k += 1
                big.push(t[lo : lo + g], rr[lo : lo + g], arrivals=arrivals)
                big_chunks.append(big.process())
                lo += g
            big_chunks.append(big.process(final=True))
            assert_same(small, (big, big_chunks))
        kinds = joined(small[1])[2]
        flagged += int(np.count_nonzero(kinds))
        # Every kind of decision met on the way, so each branch was compared.
        assert {int(k) for k in np.unique(kinds)} >= {
            BeatKind.NORMAL, BeatKind.MISSED, BeatKind.EXTRA, BeatKind.ECTOPIC,
            BeatKind.LONG, BeatKind.SHORT,
        }  # fmt: skip
    assert flagged > 500
