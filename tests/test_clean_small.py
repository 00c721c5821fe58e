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
from tests.support.clean_streams import FIELDS, clean, joined, rr_stream, stream_sizes


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
