"""The batch cleaner's shortcuts decide what judging every beat decides, to the bit.

``_classify`` judges only the beats that can be flagged, ``_correct`` copies a
few split or merged beats slice by slice, and a chunk's raw arrays are views of
the cleaner's own buffers: each is compared here with the plain way on values
chosen to break it (ties, zeros of either sign, negatives, subnormals,
infinities, NaN).
"""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.signals import rr_clean
from biofeedback.signals.rr_clean import (
    BeatKind,
    CleanerConfig,
    RRCleaner,
    _classify,
    _classify_odd,
    _repeat,
)
from tests.support.clean_streams import FIELDS, clean, joined, rr_stream, stream_sizes

ODD_VALUES = (0.0, -0.0, -700.0, 5e-324, 1e-310, 1e308, np.inf, -np.inf, np.nan)


def every_beat(
    rr: np.ndarray, lo: int, hi: int, ref: np.ndarray, th: np.ndarray, outlier_rel: float
) -> tuple[np.ndarray, np.ndarray]:
    """Kinds and pair starts with every beat judged and paired (the plain way)."""
    x = rr[lo:hi]
    prev = rr[np.maximum(np.arange(lo, hi) - 1, 0)]
    nxt = np.append(rr[lo + 1 : hi + 1], [np.nan] * (hi + 1 - rr.size))[: x.size]
    with np.errstate(all="ignore"):
        kind, pair = _classify_odd(x, prev, nxt, ref, th, outlier_rel)
    first, run = [], 0
    for k, candidate in enumerate(pair.tolist()):
        run = run + 1 if candidate else 0
        if candidate and run % 2:
            first.append(k)
    start = np.array(first, np.intp)
    partner = start[start + 1 < x.size] + 1
    kind[partner] = kind[partner - 1]
    return kind, start


def spoilt(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    out = values.copy()
    where = rng.random(values.size) < share
    out[where] = rng.choice(ODD_VALUES, int(where.sum()))
    return out


def test_judging_only_the_beats_that_can_be_flagged_decides_as_judging_all() -> None:
    rng = np.random.default_rng(2028)
    cfg = CleanerConfig()
    for case in range(300):
        n = int(rng.integers(2, 400))
        rr = np.round(rng.normal(850.0, 120.0, n) * 0.128) / 0.128  # quantised: ties
        if case % 3:
            rr = spoilt(rng, rr, 0.05)
        ref = np.round(rng.normal(850.0, 60.0, n))
        if case % 2:
            # Medians past the bounded case (zero, negative, NaN): the full test.
            ref = spoilt(rng, ref, 0.02)
        with np.errstate(all="ignore"):
            spread = np.abs(rng.normal(0.0, 40.0, n))
            spread = spoilt(rng, spread, 0.05)
            # Below the cap or NaN, as every threshold the cleaner computes.
            th = np.minimum(np.maximum(spread, cfg.floor_rel * ref), cfg.cap_rel * ref)
        lo = int(rng.integers(0, 3))
        hi = n - int(rng.integers(0, 2))
        if hi <= lo:
            continue
        want = every_beat(rr, lo, hi, ref[lo:hi], th[lo:hi], cfg.outlier_rel)
        for bounded in (True, False):
            with np.errstate(all="ignore"):
                kind, first = _classify(rr, lo, hi, ref[lo:hi], th[lo:hi], cfg.outlier_rel, bounded)
            assert kind.tobytes() == want[0].tobytes(), (case, bounded)
            assert first.tolist() == want[1].tolist(), (case, bounded)


def test_few_uneven_beats_copied_slice_by_slice_are_a_repeat() -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 50, 3000):
        arrays = (rng.normal(size=n), np.arange(n, dtype=float))
        for share in (0.0, 0.01, 0.3, 1.0):
            at = np.flatnonzero(rng.random(n) < share)
            times = rng.integers(0, 4, at.size)
            count = np.ones(n, np.int64)
            count[at] = times
            total = int(count.sum())
            for few in (0, 10**9):
                rr_clean.FEW_UNEVEN = few
                try:
                    got = _repeat(arrays, at, times, total)
                finally:
                    rr_clean.FEW_UNEVEN = 128
                for a, out in zip(arrays, got, strict=True):
                    assert out.tobytes() == np.repeat(a, count).tobytes()


def test_corrections_slice_by_slice_or_by_count_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whole recordings with many split and merged beats (and a NaN, which sends
    the corrected times down the careful path), either way."""
    rng = np.random.default_rng(12)
    for nan in (False, True):
        rr = rr_stream(rng, 6000, nan=nan)
        t = 100.0 + np.cumsum(np.nan_to_num(rr, nan=800.0)) / 1000.0
        sizes = [rr.size] if not nan else stream_sizes(rng, rr.size)
        few = clean(rr, t, sizes)
        monkeypatch.setattr(rr_clean, "FEW_UNEVEN", 0)
        by_count = clean(rr, t, sizes)
        monkeypatch.undo()
        for field, a, b in zip(FIELDS, joined(few[1]), joined(by_count[1]), strict=True):
            assert a.tobytes() == b.tobytes(), field


def test_a_chunk_keeps_its_beats_while_the_cleaner_goes_on() -> None:
    """The raw arrays are views of the cleaner's buffers, which compaction moves
    into fresh arrays: an early chunk still shows its beats after thousands more,
    and no chunk can be written to (one array may serve two fields)."""
    rng = np.random.default_rng(3)
    rr = rr_stream(rng, 12_000, nan=False)  # compacted on the way, past 4,096 beats
    t = np.cumsum(rr) / 1000.0
    cleaner = RRCleaner()
    cleaner.push(t[:5000], rr[:5000])
    early = cleaner.process()
    kept = [getattr(early, f).copy() for f in FIELDS]
    for lo in range(5000, rr.size, 7):
        cleaner.push(t[lo : lo + 7], rr[lo : lo + 7])
        live = cleaner.process()
    for field, before in zip(FIELDS, kept, strict=True):
        assert getattr(early, field).tobytes() == before.tobytes(), field
    for chunk in (early, live, cleaner.process(final=True)):
        for field in FIELDS:
            with pytest.raises(ValueError, match="read-only"):
                getattr(chunk, field)[:1] = 0


def test_times_handed_over_are_kept_not_copied_and_clean_the_same() -> None:
    """``push(own_times=True)`` keeps a whole recording's times as the raw times
    (no copy), with every field what a copied push gives, and later pushes (which
    outgrow the array) never write into it."""
    rng = np.random.default_rng(11)
    rr = rr_stream(rng, 6_000, nan=False)
    t = np.cumsum(rr) / 1000.0
    given = t[:5000].copy()
    copied, kept = RRCleaner(), RRCleaner()
    copied.push(t[:5000], rr[:5000])
    kept.push(given, rr[:5000], own_times=True)
    first = kept.process()
    assert np.shares_memory(first.raw_t_s, given)
    assert not np.shares_memory(copied.process().raw_t_s, t)
    for lo in range(5000, rr.size, 9):
        for cleaner in (copied, kept):
            cleaner.push(t[lo : lo + 9], rr[lo : lo + 9])
    assert given.tobytes() == t[:5000].tobytes()
    want, got = copied.process(final=True), kept.process(final=True)
    for field in FIELDS:
        assert getattr(got, field).tobytes() == getattr(want, field).tobytes(), field


def test_a_few_beats_at_a_time_decide_as_large_batches_told_their_arrivals() -> None:
    """Pushes of 1-10 beats (the live path's notifications) and pushes of ~40
    told those notifications as ``arrivals`` give the same chunks and the same
    statistics behind them, to the bit, through every kind of decision."""
    rng = np.random.default_rng(28)
    kinds: set[int] = set()
    for seed in range(3):
        rr = rr_stream(rng, 2500 + 900 * seed, nan=False)
        t = 100.0 + np.cumsum(rr) / 1000.0
        sizes = stream_sizes(rng, rr.size)
        small, small_chunks = clean(rr, t, sizes)
        big, big_chunks, lo, k = RRCleaner(), [], 0, 0
        while k < len(sizes):
            arrivals = [sizes[k]]
            k += 1
            while sum(arrivals) <= 40 and k < len(sizes):
                arrivals.append(sizes[k])
                k += 1
            g = sum(arrivals)
            big.push(t[lo : lo + g], rr[lo : lo + g], arrivals=arrivals)
            big_chunks.append(big.process())
            lo += g
        big_chunks.append(big.process(final=True))
        for field, ours, theirs in zip(
            FIELDS, joined(small_chunks), joined(big_chunks), strict=True
        ):
            assert ours.dtype == theirs.dtype, field
            assert ours.tobytes() == theirs.tobytes(), field
        # Over what both kept (the buffers are compacted at different pushes).
        for name in ("_ref", "_th", "_clip_sum"):
            ours, theirs = getattr(small, name).view, getattr(big, name).view
            kept = min(ours.size, theirs.size)
            assert kept > 100
            assert ours[-kept:].tobytes() == theirs[-kept:].tobytes(), name
        kinds |= {int(kind) for kind in np.unique(joined(small_chunks)[2])}
    assert kinds == {int(kind) for kind in BeatKind}


def test_what_a_chunk_split_or_merged_gives_its_corrected_beats_counts() -> None:
    """``RRCleaner.uneven`` after each ``process``: every raw beat of the chunk is
    one corrected beat but those it names (and as many more as it says), each
    with its raw beat's decision time: the corrected decision times are the raw
    ones repeated so, which is what the batch windows count known beats by."""
    rng = np.random.default_rng(41)
    more_seen: set[int] = set()
    for sizes in ([6000], None):
        rr = rr_stream(rng, 6000, nan=False)
        t = 100.0 + np.cumsum(rr) / 1000.0
        pushes = sizes or stream_sizes(rng, rr.size)
        cleaner, lo = RRCleaner(), 0
        for k, size in enumerate([*pushes, 0]):
            if size:
                cleaner.push(t[lo : lo + size], rr[lo : lo + size])
                lo += size
            chunk = cleaner.process(final=k == len(pushes))
            counts = np.ones(chunk.raw_t_s.size, np.int64)
            counts[cleaner.uneven.at] += cleaner.uneven.more
            want = np.repeat(chunk.raw_available_s, counts)
            assert want.tobytes() == chunk.available_s.tobytes(), k
            more_seen |= set(cleaner.uneven.more.tolist())
    assert more_seen >= {-1, 1}  # merged and split beats both met
