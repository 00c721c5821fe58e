"""Arousal estimation on the real recordings: detection latency, false alarms,
flagged beats, and speed (streaming and batch) against NeuroKit2 on the same data.

Goals (issue 5): median latency <= 15 s for a +15 bpm ramp; >= 99 % of the time
below the step-down threshold at rest with 2 % artifacts; per-beat update
< 50 us median; 100,000 beats in batch <= 20 ms and >= 100x NeuroKit2's Kubios
correction plus hrv_time, measured in the same run (issue 28). Also a digest of
the batch path's outputs on the series corpus (the same before and after a speed
change: the same decisions). Run: .venv/bin/python benchmarks/arousal.py [--quick]

Batch figures (issue 28), 100,000 beats, medians of 5 runs (NeuroKit2: 3), each
figure pair from one run, on 2 CPUs shared with six other sessions (load average
2.0-2.6 during these runs; at 6-8 every figure is ~10-30 % higher):

- before (341feb4): CPU 55.5 ms, wall 55.8 ms; NeuroKit2 CPU 1,668 ms, 30.1x by
  CPU time (31.3x by wall time).
- after: CPU 30.5 ms (user 20.0 ms, system 8.0 ms for 4,876 page faults), wall
  30.5 ms; NeuroKit2 CPU 1,505 ms, 49.4x by CPU time (66.0x by wall time).
  Not yet the goal (<= 20 ms, >= 100x). Decisions digest unchanged: 6024756f8d5b670c.

Where the CPU time went, stage by stage (medians of 15 calls in one process,
before -> after): cleaner push 11.5 -> 5.7 ms (window medians by a sorting
network instead of a partition per window; thresholds by slices); decisions and
corrections 4.5 -> 3.6 ms (only the beats that can be flagged are judged); windows
at every tick 26.1 -> 15.0 ms (one binary search instead of six: every other count
guessed from it and checked); quality gate 1.7 -> 1.3 ms; quality strings and
logs 2.5 -> 0.6 ms; opening 2.3 -> 1.5 ms; 5-minute RMSSD reference 4.5 -> 2.5 ms;
53.6 -> 30.6 ms in all. A quarter of what is left is the kernel zero-filling fresh
pages for the outputs (15 MB of per-second series and 5 MB of cleaned beats)
and the temporaries.

The cleaner (s28clean, rr_clean.py; benchmarks/clean_push.py has its stages):
in separate processes, interleaved, 3 rounds of medians of 15 calls each, load
5-6 on 2 shared CPUs, before = 4fed2a8: cleaning alone 10.7 -> 5.8 ms (3,061 ->
1,841 page faults), estimate_series 35.5 -> 31.1 ms (4,876-5,387 -> 3,027-3,538
page faults); decisions digest unchanged, 6024756f8d5b670c, and every chunk
field the same to the bit. How: window medians two windows at a time (48 min/max
for two instead of 92); only beats beyond their threshold judged (15 % of
them), then only those with a jump, an outlier or 1.5 medians (4 %); thresholds
and running sums written in place, a block at a time, with no scratch arrays the
size of the recording; the raw beats handed out as read-only views of the
cleaner's own (compaction moves them into new arrays, never over them); a
decided recording's statistics freed before the corrected beats are made; a few
split or merged beats copied slice by slice instead of three np.repeat.

Third round (issue 28; everything after the cleaner), 100,000 beats, main
4fed2a8 -> this branch, runs interleaved at load 1.5-1.8 on 2 CPUs: this
benchmark's CPU median 32.1 and 31.5 -> 21.9 and 23.7 ms (user 24.0/22.7 ->
17.4/20.3 ms, system 8.0/8.0 -> 4.0/4.0 ms for 5,387 -> 3,031 page faults; wall
the same); NeuroKit2 / ours by CPU time 47.9x/53.3x -> 69.1x/71.8x. Stage by
stage (medians of 31 calls in one process, three processes each): windows at
every tick 12.6 -> 8.0 ms (blocks of 16,000 ticks, metrics in place, no count of
differences when the beats have no gap, the running sums built in their own
arrays, every count let go once used so the sums reuse its pages); beats ended
by each tick and the signal 2.0 -> 1.2 ms (guessed from the even grid of ticks,
checked); quality gate 1.2 -> 1.1 ms; quality strings 0.4 -> 0.05 ms
(``quality`` and ``baseline_how`` as one-byte codes into ``QUALITIES`` and
``BASELINE_HOWS``: as numpy strings they took 36 and 28-56 bytes a tick, a
quarter of the fresh pages); opening 1.4 -> 0.7 ms; 5-minute reference 2.5 ->
1.3 ms (capped at the baseline run by run, not a log at every tick); score 1.0
-> 0.8 ms (into its rows); 30.0 -> 23.5 ms in all, the cleaner's (unchanged)
7.6 -> 9.6 ms now carrying the fresh heap pages the windows used to take.
Decisions digest unchanged (6024756f8d5b670c), the tables above unchanged, and
every output equal to main's to the bit on the 100,000 beats. Not yet the goal;
what is left is the cleaner (~5.5 ms), the kernel zero-filling ~15 MB of
outputs (~3,000 pages at ~1.3 us each) and ~60 numpy passes over the ticks.

Fourth round (issue 28, the batch path's memory), 100,000 beats, main 4fed2a8 /
integ28 1725050 / this branch in separate processes, interleaved, medians of 21
calls each (process_time), three processes each, load 1.7-2.0 on 2 CPUs: CPU
32.7/33.5/30.9 -> 22.1/22.0/20.7 -> 14.8/15.7/15.5 ms, page faults a call
4,290-4,801 -> 3,053-3,564 -> 0. This benchmark (one full run, niced, load 2.3):
CPU median 14.9 ms (p90 17.4, range 14.5-17.4), wall 14.9 ms, 0 page faults;
NeuroKit2 CPU 1,608 ms in that run: 108.1x by CPU time (159.0x by wall time):
both goals met, the ratio by a small margin. Decisions digest unchanged
(6024756f8d5b670c), and every SeriesEstimate field, the cleaned beats' too, equal
to main's to the bit on these beats and on 600 random recordings (artifacts,
zeros, NaN, gaps, times out of order or repeated, given ticks and baselines).
How: beyond its 14.9 MB of outputs a call now holds ~2 MB at its peak instead of
~6 (tracemalloc 20.9 -> 17.1 MB): the beats' running sums and the two logs go
into output rows not yet written; a guessed count is checked with reads clipped
into the array instead of a padded copy of each beat-time array; the corrected
beats' counts are written over the raw ones; the reference, the artifact rate
and the beats-per-tick conversion go a block of ticks at a time; the raw times
are handed to the cleaner instead of copied. Below twice the rows' 9.2 MB block
glibc's allocator keeps the freed heap for the next call instead of trimming it
(its trim threshold follows the largest block freed), so the ~3,000 fresh pages
(~4-7 ms of system time a call) are mapped once a process: a first call still
pays them (22.7-23.9 ms, 2,757 faults; integ28 26.5-31.5 ms, 5,470 faults), and
from 50,000 to 300,000 beats every later call maps none (20,000 beats: ~900,
its block scratch being a larger share). Stages (one process each, integ28 ->
this): cleaner 4.9 -> 4.0 ms, beats ended by each tick 2.3 -> 1.2 ms, counts and
windows 8.4 -> 7.7 ms, opening 1.0 -> 0.5 ms, reference 1.2 -> 1.3 ms, gate 1.0
ms; bigger blocks of ticks (32,000) gained nothing and 80,000 brought the
faults back. Measured and left out: the windows' blocks split across two
threads (numpy releases the GIL in its loops) cost more CPU and gave no wall
time: one thread / two, three interleaved pairs at load ~2, CPU 15.3/15.8,
15.0/18.2, 14.4/17.9 ms, wall 15.3/15.9, 15.2/17.0, 14.4/16.7 ms (the blocks'
~60 numpy calls each are ~10 us, and the GIL changes hands at every one).

Fifth round (issue 28, s29batch; main f7a5092 -> this branch), 100,000 beats, on
2 CPUs shared with six other sessions (load 5-6, so every figure is ~15 % above
a quiet machine's: f7a5092 was 16.5 ms there). In one process the two trees'
``estimate_series`` alternated call by call (41 calls each, process_time, three
processes): CPU median 19.5/19.9/20.5 -> 17.5/18.0/18.5 ms (0.90x; p90 20.7/
20.7/21.4 -> 18.3/18.7/19.7). In separate processes, interleaved (5 rounds of
21 calls each): medians 17.2-19.6 -> 16.7-17.3 ms, median of the rounds 18.9 ->
17.2 ms (0.91x). 0 page faults a call from the third call on (a first call
3,400 -> 3,077). Stage by stage (medians of the in-process calls): cleaner
4.5-4.8 -> 4.6-4.8 ms (the live small-push path removed was never the batch's),
beats ended and the signal 1.3-1.4 -> 1.2-1.3, counts and windows 8.9-9.4 ->
7.8-8.2, quality gate 1.06-1.11 -> 0.61-0.63, 5-minute reference 1.43-1.53 ->
1.11-1.20, opening 0.5 and score 0.55 unchanged. This benchmark, one run of each
tree back to back (niced, load 4.8-6.0), twice: CPU median 20.9 -> 18.3 ms and
19.0 -> 15.2 ms; NeuroKit2 CPU 1,953/1,999 and 1,729/1,745 ms in those runs: by
CPU time 93.2x -> 109.4x and 91.0x -> 115.2x. Decisions digest unchanged
(6024756f8d5b670c), the tables above unchanged, and every SeriesEstimate field,
the cleaned beats' too, equal to f7a5092's to the bit on the corpus, on 600
random recordings (artifacts, zeros, NaN, gaps, times out of order or repeated,
given ticks and baselines) and on 20,000-300,000 beats.
How: a window's start on the grid is a tick a fixed number back (``Starts``:
the count read there, only the starts between ticks searched, no guess copied
and checked); the quality gate from the stretches of clean and usable ticks (a
repeat of the few stretches instead of three running maxima over every tick,
each as dear as a cumulative sum); running counts of few flags (flagged beats,
missing readings) repeated between them instead of summed; the corrected beats
known at each tick from the raw ones known and what the cleaner split or merged
(``RRCleaner.uneven``), not guessed from samples and checked; the raw beats
known from those ended, and the corrected ended from those known, checked only
beside the few beats whose decision is not the next beat's end; the beats ended
by each tick without a division by a step of 1 and clipped at the ends alone.
Not the aim (<= 12 ms, ~130x). Where a call's time goes now (in-process medians
at load 5-6, ~17.5-18.5 ms in all): the cleaner 4.5-4.9 ms (window medians ~1.6,
thresholds ~0.5, judging ~0.8, corrections ~0.5, the beats' copies and running
sum ~0.8); the windows ~4.8 ms (six windows over 77,000 ticks: 13 divisions or
roots a tick, ~10 gathers, masks) and the corrected beats' running sums 1.2 ms
(three cumulative sums, ~0.27 ms each: each goes one value after another);
beats ended by each tick and the signal 1.2-1.3 ms; the artifact rate 0.7-0.8;
the other counts ~0.7 and the checks that every time array ascends 0.3; the
reference 1.1; the gate 0.6; the opening 0.5 (its ~50 offers in Python); the
score 0.55; the rest (the beat times' running sum, two logs, blanking) ~1.2.
py-spy: ~63 % of the samples in numpy's loops (a pass over 100,000 values ~0.1
ms on this machine), most of the rest numpy's dispatch of the calls. Measured
and left out: other block sizes for the windows (8,000-20,000 ticks the same,
4,000 and 26,000+ worse), the window medians and the cleaner's blocks
(4,096-32,768: the same), the windows' starts read through running sums
gathered once per block (slower: a gather of ascending places costs no more
than the copy it saves), the beats' running sums a block at a time (the same
bits, the carry added to a block's first value; slower). Counted, not tried:
four windows of 11 at a time sharing 8 values (~8 % fewer min/max than two
sharing 10, for a new network to prove).
"""

from __future__ import annotations

import resource
import statistics
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.estimator_cost import cost_lines
from benchmarks.figures import load_line, parse_args, runs_of, spread, timings
from biofeedback.pacing.controller import PacingConfig
from biofeedback.signals.arousal import ArousalEstimator
from biofeedback.signals.arousal_series import estimate_series
from biofeedback.signals.rr_clean import RRCleaner
from tests.support.arousal_data import (
    PVC,
    RAMP_BPM,
    RESTING,
    alarm_stats,
    crossing_latency,
    inject_artifacts,
    inject_ramp,
    load_rr,
    ramp_onsets,
    run_stream,
    samples_from_rr,
)
from tests.support.series_corpus import build_series_corpus, corpus_digest

THRESHOLD = PacingConfig().step_down_above
# The batch path on main before issue 28 (341feb4): this benchmark's figures, one
# run on the same machine and load as the "after" figures in the docstring.
BEFORE = (
    "before (341feb4, recorded at load 2.3 on 2 CPUs): CPU median 55.5 ms, wall median"
    " 55.8 ms; NeuroKit2 CPU median 1,668 ms in that run: 30.1x by CPU time"
)


def detection_table(rng: np.random.Generator) -> None:
    print(f"Ramp to crossing {THRESHOLD:.1f} (tau 15 s, RMSSD -40 %), seconds: median / p90")
    pooled: dict[float, list[float]] = {rise: [] for rise in RAMP_BPM}
    for name in RESTING:
        rr = load_rr(name)
        onsets = ramp_onsets(rr, 60 if rr.size > 1000 else 20, rng)
        cells = []
        for rise in RAMP_BPM:
            lat = []
            for onset in onsets:
                s = estimate_series(inject_ramp(rr, onset, rise))
                lat.append(crossing_latency(s.t_s, s.arousal, onset, THRESHOLD))
            pooled[rise] += lat
            cells.append(f"+{rise:.0f}: {np.median(lat):5.1f} / {np.percentile(lat, 90):5.1f}")
        print(f"  {name:34} " + "   ".join(cells))
    cells = [
        f"+{r:.0f}: {np.median(v):5.1f} / {np.percentile(v, 90):5.1f}" for r, v in pooled.items()
    ]
    print(f"  {'all onsets pooled':34} " + "   ".join(cells))


def alarm_table(rng: np.random.Generator) -> None:
    print(f"\nAt rest with 2 % injected artifacts, threshold {THRESHOLD:.1f} (streaming estimator)")
    print(f"  {'recording':34} {'below':>7} {'cross/h':>8} {'>=10s/h':>8} {'flagged':>8}")
    total_s = 0.0
    total_above = 0.0
    for name in RESTING:
        rr, _ = inject_artifacts(load_rr(name), 0.02, rng)
        est = run_stream(samples_from_rr(rr), ArousalEstimator())
        arousal = np.array([np.nan if e.arousal is None else e.arousal for e in est])
        st = alarm_stats(arousal, THRESHOLD)
        flagged = estimate_series(rr).flagged_share
        total_s += st.monitored_s
        total_above += st.above_share * st.monitored_s
        print(
            f"  {name:34} {1 - st.above_share:7.1%} {st.crossings_per_hour:8.1f}"
            f" {st.held_per_hour:8.1f} {flagged:8.2%}"
        )
    print(f"  {'all time pooled':34} {1 - total_above / total_s:7.1%}")
    print("\nFlagged share without injected artifacts")
    for name in (*RESTING, PVC):
        rr = load_rr(name)
        print(f"  {name:34} {estimate_series(rr).flagged_share:7.2%}")


def speed_table(quick: bool) -> None:
    print("\nSpeed")
    if not quick:
        for line in cost_lines():
            print(f"  {line}")
    size = 10_000 if quick else 100_000
    runs = 1 if quick else 5
    rr = load_rr("nsrdb_pyhrv_60min_nni.txt")
    big = np.tile(rr, int(np.ceil(size / rr.size)))[:size]
    estimate_series(big)  # warm
    ours, ours_cpu = timings(lambda: estimate_series(big), runs)
    user, system, faults = _cpu_split(lambda: estimate_series(big), runs)

    def clean() -> None:
        cleaner = RRCleaner()
        cleaner.push(np.cumsum(big) / 1000.0, big)
        cleaner.process(final=True)

    cleaning = runs_of(clean, runs)
    print(
        f"  batch, {size:,} beats, ours: {spread(ours)}"
        f" = {big.size / statistics.median(ours):,.0f} beats/s"
        f" (cleaning alone: median {statistics.median(cleaning) * 1e3:.1f} ms;"
        " goal <= 20 ms per 100,000 beats)"
    )
    print(f"  {'':<24} CPU {spread(ours_cpu)}")
    print(
        f"  {'':<24} of which user median {statistics.median(user) * 1e3:.1f} ms,"
        f" system median {statistics.median(system) * 1e3:.1f} ms"
        f" ({statistics.median(faults):,.0f} page faults: the kernel zero-fills each fresh page)"
    )
    if not quick:
        print(f"  {'':<24} {BEFORE}")
    try:
        import neurokit2 as nk
    except ImportError:
        print("  NeuroKit2 not installed: no ratio")
        return
    peaks = nk.intervals_to_peaks(big, sampling_rate=1000)

    def neurokit() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, fixed = nk.signal_fixpeaks(
                peaks, sampling_rate=1000, method="Kubios", iterative=False, show=False
            )
            nk.hrv_time(fixed, sampling_rate=1000)

    theirs, theirs_cpu = timings(neurokit, 1 if quick else 3)
    ratio = statistics.median(theirs) / statistics.median(ours)
    print(
        f"  NeuroKit2 Kubios correction + hrv_time (one window, no per-second series),"
        f" same run: {spread(theirs)}; NeuroKit2 / ours {ratio:5.1f}x (goal >= 100x)"
    )
    cpu_ratio = statistics.median(theirs_cpu) / statistics.median(ours_cpu)
    print(
        f"  {'':<24} NeuroKit2 CPU {spread(theirs_cpu)}; NeuroKit2 / ours by CPU time"
        f" {cpu_ratio:5.1f}x"
    )
    print(f"  {load_line()}")


def _cpu_split(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float], list[int]]:
    """User and system seconds and minor page faults of ``runs`` calls."""
    user, system, faults = [], [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_SELF)
        fn()
        after = resource.getrusage(resource.RUSAGE_SELF)
        user.append(after.ru_utime - before.ru_utime)
        system.append(after.ru_stime - before.ru_stime)
        faults.append(after.ru_minflt - before.ru_minflt)
    return user, system, faults


def decisions_line() -> None:
    """A digest of every array the batch path returns on the series corpus: equal
    before and after a speed change means the same decisions, to the bit."""
    cases = build_series_corpus()
    print(f"\nDecisions digest, {len(cases)} corpus cases: {corpus_digest()[:16]}")


def main() -> None:
    args = parse_args(__doc__)
    rng = np.random.default_rng(2024)
    if not args.quick:
        detection_table(rng)
        alarm_table(rng)
    decisions_line()
    speed_table(args.quick)


if __name__ == "__main__":
    main()
