"""RR cleaning on real recordings: premature beats, slow breathing, injected artifacts."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from biofeedback.signals.hrv import rmssd_ms
from biofeedback.signals.rr_clean import (
    _MIDDLE_OF_10,
    BeatKind,
    CleanedChunk,
    RRCleaner,
    _window_medians,
)
from tests.support.arousal_data import PVC, RESTING, beat_times, inject_artifacts, load_rr


def clean(rr_ms: np.ndarray) -> CleanedChunk:
    cleaner = RRCleaner()
    cleaner.push(beat_times(rr_ms), rr_ms)
    return cleaner.process(final=True)


def test_all_five_premature_beat_pairs_are_flagged(shared_rr: Path) -> None:
    rr = load_rr(PVC, shared_rr)
    out = clean(rr)
    flagged = set(np.flatnonzero(out.kind).tolist())
    assert flagged == {6, 7, 24, 25, 32, 33, 34, 35, 37, 38}
    assert set(out.kind[sorted(flagged)].tolist()) == {BeatKind.ECTOPIC}
    # Each pair becomes two beats of its mean, so no corrected beat is premature.
    median = np.median(rr)
    assert out.nn_ms.min() > 0.85 * median
    assert out.nn_ms.sum() == rr.sum()


def test_slow_breathing_is_not_mistaken_for_artifacts(shared_rr: Path) -> None:
    rr = load_rr("polar_h10_slow_breathing_rr.csv", shared_rr)
    out = clean(rr)
    assert np.count_nonzero(out.kind) / rr.size < 0.01


def test_missed_and_extra_beats_are_split_and_merged_keeping_time() -> None:
    rng = np.random.default_rng(0)
    rr = 1000 + rng.normal(0, 15, 60)
    rr[20] = rr[20] + rr[21]  # the strap missed the beat that ended interval 20
    rr = np.delete(rr, 21)
    extra = rr[40]
    rr = np.concatenate((rr[:40], [0.35 * extra, 0.65 * extra], rr[41:]))
    out = clean(rr)
    assert out.kind[20] == BeatKind.MISSED
    assert out.kind[40] == out.kind[41] == BeatKind.EXTRA
    assert np.count_nonzero(out.kind) == 3
    assert out.nn_ms.size == rr.size  # one beat added, one removed
    assert abs(out.nn_ms.sum() - rr.sum()) < 1e-6
    assert out.nn_ms.min() > 900
    assert out.nn_ms.max() < 1100


def test_a_run_of_ectopy_cannot_raise_its_own_thresholds() -> None:
    rng = np.random.default_rng(1)
    rr = 1000 + rng.normal(0, 20, 200)
    # Forty beats of bigeminy: half the intervals short, half long.
    rr[100:140:2] = 550
    rr[101:141:2] = 1450
    out = clean(rr)
    # Every beat of the run is flagged (quartile thresholds would accept it)...
    assert np.all(out.kind[100:140] != BeatKind.NORMAL)
    assert np.all(out.kind[100:110] == BeatKind.ECTOPIC)
    # ...and sinus rhythm on either side is left alone.
    assert np.count_nonzero(out.kind[:100]) <= 2
    assert np.count_nonzero(out.kind[145:]) <= 2


def test_injected_artifacts_are_caught_and_their_rmssd_spike_removed(shared_rr: Path) -> None:
    rng = np.random.default_rng(2)
    for name in RESTING:
        rr = load_rr(name, shared_rr)
        truth = rmssd_ms(clean(rr).nn_ms)
        broken, injected = inject_artifacts(rr, 0.02, rng)
        out = clean(broken)
        # Uncorrected, a few artifacts blow RMSSD up; corrected, it is back.
        assert rmssd_ms(broken) > 1.3 * truth
        assert abs(rmssd_ms(out.nn_ms) - truth) < 0.1 * truth
        assert np.count_nonzero(out.kind) >= 0.9 * injected


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=400), st.integers(0, 2**32 - 1))
def test_cleaning_in_any_chunks_matches_the_whole_recording(chunks: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = 900 + 80 * np.sin(np.arange(600) / 3.0) + rng.normal(0, 25, 600)
    rr, _ = inject_artifacts(base, 0.05, rng)
    t = beat_times(rr)
    whole = clean(rr)
    stream = RRCleaner()
    parts: list[CleanedChunk] = []
    at = 0
    for size in chunks:
        if at >= rr.size:
            break
        stream.push(t[at : at + size], rr[at : at + size])
        parts.append(stream.process())
        at += size
    stream.push(t[at:], rr[at:])
    parts.append(stream.process(final=True))
    for field in ("kind", "raw_rr_ms", "nn_ms", "t_s", "available_s"):
        joined = np.concatenate([getattr(p, field) for p in parts])
        np.testing.assert_array_equal(joined, getattr(whole, field), err_msg=field)


def test_window_medians_are_the_partitions_across_blocks_and_ties() -> None:
    """The batch reference (a sorting network, a block at a time) picks the very
    value a partition of each window picks, and NaN still sorts last."""
    rng = np.random.default_rng(11)
    # Windows in pairs across their blocks (16,384 windows), an odd one last, and
    # with zeros of both signs one by one, as before.
    for size in (11, 12, 13, 8202, 8203, 16_394, 16_395, 16_396, 16_397, 20_000):
        rr = np.round(rng.normal(800.0, 40.0, size))  # whole ms: many ties
        for zeros in (False, True):
            if zeros:
                rr[rng.choice(size, 2 + size // 50)] = rng.choice([0.0, -0.0], 2 + size // 50)
            want = np.partition(sliding_window_view(rr, 11), 5, axis=1)[:, 5]
            assert _window_medians(rr, 11).tobytes() == want.tobytes(), (size, zeros)
    rr[100] = np.nan
    want = np.partition(sliding_window_view(rr, 11), 5, axis=1)[:, 5]
    assert _window_medians(rr, 11).tobytes() == want.tobytes()


def test_the_pairs_network_picks_the_two_middle_values_of_any_ten() -> None:
    """A comparator network that picks a rank on every input of 0s and 1s picks it
    on every input (the 0-1 principle): all 1,024 of them, the min and max of each
    comparator taken only where the network says they are needed."""
    for bits in itertools.product((0, 1), repeat=10):
        wire = list(bits)
        for i, j, low, high in _MIDDLE_OF_10:
            a, b = wire[i], wire[j]
            wire[i] = min(a, b) if low else -1  # -1: a value nobody may read
            wire[j] = max(a, b) if high else -1
        ordered = sorted(bits)
        assert (wire[4], wire[5]) == (ordered[4], ordered[5]), bits
