"""What the live resonance reading costs, beside the same reading at ``--base``.

Every session takes a reading every 5 s (``pacing/resonance_live.py``: clean the
beats since the last one, resample the last 64 s, remove a line, one padded
transform, coherence, LF peak and heart rate's swing): 17,265 readings in the
24 h replay of ``benchmarks/replay.py``. Here the same beats as that replay (the
60-minute NSRDB extract written ``--hours`` times, in the replay's notifications)
go into a ``ResonanceTracker`` and a reading is taken every 5 s of the
recording; each reading is timed in-process (CPU, ``process_time_ns``) in a
child process per tree (this one, and the package at ``--base`` from `git
archive`, run from its own folder), runs interleaved so both see the same load.
Prints per-reading median and p90 over all readings of all runs, the CPU of
all readings of one run, and whether both trees' readings are identical (a
digest of every reading event).

    .venv/bin/python benchmarks/resonance_live.py [--hours H] [--runs N] [--base REV] [--quick]

Figures (2 cores shared with six other sessions; 2026-12-07; 3 h, 2,147
readings a run, 5 interleaved runs; before = 4fed2a8):

                        a reading (median, p90)   a run's readings   load
    before (4fed2a8)    176.9 us, 265.9 us        413 ms             3.1
    this tree           151.9 us, 221.7 us        365 ms             (0.86x)
    before (4fed2a8)    186.6 us, 308.1 us        461 ms             7.5
    this tree           164.0 us, 276.7 us        397 ms             (0.88x, 0.86x)
    readings identical (and, unrounded, to the bit: tests/test_resonance_spectrum.py)

Second round (issue 28; before = 6d215c5, the first round merged; load ~2.5):
the beats cleaned by the arousal estimator's ``LiveCleaner`` (beat by beat in
floats, RRCleaner's decisions to the bit: tests/test_clean_arrivals.py) instead
of ``RRCleaner``'s array pushes. The cleaning moves from the reading to
``add_sample`` (a push per notification), so both are printed:

                        a reading (median, p90)   a run's readings   add_sample
    before (6d215c5)    146.8 us, 206.8 us        348 ms             11 ms
    this tree           107.4 us, 137.5 us        253 ms             36 ms
    before (6d215c5)    146.5 us, 209.8 us        350 ms             11 ms
    this tree           104.4 us, 130.6 us        241 ms             32 ms
    readings identical; readings + add_sample 361 -> 273 ms a run (0.76x):
    ~0.7 s less CPU in a 24 h day

Where a reading's time goes now (3 h, load ~2.5): the 8192-point transform
(~40 us), the line fit's least squares (~10 us, of which ~5 us numpy's
compiled routine and the rest its public wrapper), and some eighteen numpy
calls on a few hundred values (~1-3 us each); deciding the new beats, ~4 us.

Tried and left out: a shorter FFT (the zero padding sets the bins the peak and
the coherence are read on, so a shorter one would read other values); the
needed ~800 bins by a direct sum (slower than the whole transform, and not the
same bits). Since taken (issue 28, integ28 5cdd424 -> s28fit): the line fit by
its closed form (signals/line_fit.py, ~4 us a call instead of ~16): the last bits of the
unrounded figures move (<= 3.3e-15 relative), the shown readings are identical;
on a heart rate that never changes (a metronome source) the residuals are the
fit's rounding alone, so there polyfit itself is still called. This benchmark,
--base 5cdd424 --runs 5 (2026-12-07, load ~1, niced): a reading 136.9 -> 110.1 us
(p90 156.3 -> 127.1), a run's readings 303 -> 245 ms (0.81x); readings identical.

Third round (issue 28, s29res; before = f7a5092; 2026-12-07, load ~6, niced, 3 h,
5 interleaved runs): what a reading does besides its transform, with fewer numpy
calls and nothing made twice:

    the window's beats kept as C doubles (``array``), its tail copied as a block
        into an array: no ``np.array`` of two Python lists each reading
    per window size, once: the taper, the density's divisor, the bands' spans, the
        bins near each peak, and the line fit's sums of the usual grid
        (``line_fit.line_x``; used when the grid less its start is those bytes,
        i.e. unless the window straddles a power of two in seconds: 2,097 of the
        3 h day's 2,147 readings)
    sums by ``np.add.reduce`` (what ``.sum()`` calls), the spread's sort without
        ``np.sort``'s dispatch and its ranks once per size, the event built by
        ``signals.slots.builder``

                        a reading (median, p90)   a run's readings   add_sample
    before (f7a5092)    118.8 us, 152.9 us        274 ms             38 ms
    this tree           106.5 us, 137.3 us        245 ms             38 ms
    before (f7a5092)    124.5 us, 153.1 us        292 ms             40 ms   (load ~6)
    this tree           113.4 us, 150.1 us        268 ms             40 ms   (an earlier step)
    readings identical; every reading's unrounded figures identical (their repr);
    ~12 us a reading less: ~0.2 s of CPU in a 24 h day (17,265 readings)

The 24 h replay (benchmarks/replay.py --base f7a5092 --runs 3, load ~6.5): CPU
13.63 -> 13.23 s (0.97x; range 12.7-14.0 -> 12.2-13.8 s), printed lines identical
(111,995); the 3 h day's printed lines and the store's rows (every table, wall-clock
and id columns left out) identical too.

Where a reading's ~105 us go now (each step timed over the 3 h day's 2,147 windows,
in-process, load ~5-8): the 8192-point transform ~45-60 us; deciding the new beats
(the cleaner's look-ahead) ~5 us; the line's removal ~7 us (y's sum, its
deviations, one dot product, the line and the subtraction: x's are kept); |X| of
the total band's ~810 bins ~5 us; the powers' two sums ~5 us; the spread ~4.5 us
(its sort); interp ~3 us; the rest (window, sum check, grid, taper, density,
argmax) ~1 us each. About 20 numpy calls of ~1-2 us each are left; each computes
part of a figure shown, in the order that gives its bits, so they stay.

Tried and left out: a spectrum buffer handed to ``rfft`` (``out=``): < 1 us a
reading, and a buffer shared between readings (taken in the fourth round, below:
~2-3 us a reading with the power array too, one pair per thread); the near-peak and
total sums by one ``np.add.reduceat`` (not the same bits: its segments are summed in
another order); the density's argmax from the powers (dividing by the scale can make
two powers equal, and argmax then picks another bin). Sharing the arousal
estimator's cleaned beats (add_sample 38 ms a 3 h run, ~0.3 s a day, plus ~5 us a
reading deciding): to the bit it needs the estimator's decisions as they are made
(its ``LiveBeats`` forgets beats a reading may still need when the times fall back)
and a copy of its cleaner's state where its pushes part from the tracker's (times it
clamps, a reading without an estimate first): both inside ``ArousalEstimator``/
``live_beats.py``, which s29arousal is rewriting this round; left for after.

Fourth round (issue 28, s29res2; before = 24bd57f, this morning's six branches
merged; 2026-12-07, 3 h, 5 interleaved runs, niced):

    the transform and the total band's |X| written into the thread's arrays for
        that spectrum size (``rfft(..., out=)``, ``abs(..., out=)``; numpy >= 2.0),
        not a new 65 KB spectrum and power array each reading: measured below but
        NOT merged (per-thread buffers and a raised numpy floor for ~2 us a
        reading, ~35 ms a day)
    add_sample hands the sample's beat tuples to ``LiveCleaner.push`` as they
        are (it only reads them), not copied into two lists a notification

                        a reading (median, p90)   a run's readings   add_sample
    before (24bd57f)    111.6 us, 184.2 us        270 ms             35 ms   (load 4.6)
    this tree           109.2 us, 165.5 us        267 ms             33 ms
    before (24bd57f)    111.3 us, 146.3 us        266 ms             34 ms   (load 2.6)
    this tree           109.4 us, 145.0 us        259 ms             33 ms
    readings identical; the 3 h day's unrounded figures identical (digest of their
    reprs 31d27567ceb558bc, as before); the 3 h replay's 14,000 printed lines identical

(Both measured together.) ~2 us a reading and ~1-3 ms of add_sample a 3 h day
less: ~0.05-0.1 s of CPU in
a 24 h day, below the replay's noise. The 24 h replay (benchmarks/replay.py --base
24bd57f --runs 3, load ~4.6, niced): CPU 11.82 -> 11.10 s (ranges 11.1-12.3 and
10.8-12.2 s: mostly noise), printed lines identical (111,995, session id masked).

Measured and left out (in-process A/B on the 3 h day, no gain beyond the noise
of ~1 us a reading): the density into a kept array (``out=``); its peak from the
powers' argmax with a check that no earlier power rounds to the same density
(exact, but the check's reduction costs what the two operations saved); the
padded input written into a kept zero-padded array (callgrind: the same
instructions as rfft's own padding). By callgrind, ``out=`` saves ~3 % of the
transform's instructions (777k -> 753k a reading); the rest of the transform is
the 8192-point arithmetic itself. |X| is ``hypot`` per bin (~4 us for ~810
bins): re*re + im*im is not the same bits (526 of 813 bins of a test
spectrum differ in the last bit), so it stays. A reading's first
reduction costs ~3 us against ~0.9 us for the next (the caches the transform
and the loop between readings leave cold), so cutting one of the three sums
only moves that cost to the next. Still left: the tracker cleaning beats the
arousal estimator already cleaned (add_sample ~30 ms a 3 h day, ~0.25 s a 24 h
day; its times are not clamped as the estimator's, so sharing is not the same
beats whenever rebuilt times overlap).

Fifth round (issue 28, s30tick; before = 3bd8ea8; 2026-12-07, 3 h, 5 interleaved
runs, niced, load 1.4): the transform written into the tracker's own spectrum
array (``rfft(..., out=)``, as the breath reading from the beats already writes
into its estimator's), not a new 65 KB one each reading. The fourth round left it
out for its per-thread arrays and the numpy floor it raised; numpy >= 2.0 is the
floor now (the breath reading needs it), and the array is the tracker's own (one
tracker, one session, one thread), so neither holds:

                        a reading (median, p90)   a run's readings   add_sample
    before (3bd8ea8)    74.4 us, 82.5 us          167 ms             20 ms
    this tree           71.4 us, 80.2 us          163 ms             20 ms
    readings identical (tests/test_resonance_spectrum.py: a reading into a handed
    array, NaN-filled, reused or of another size, is the reading into a new one)

~3 us a reading: ~0.3 ms of the 900 s simulated session's 113 readings, ~50 ms of
a 24 h day's 17,265 (below the replay's noise: benchmarks/replay.py --base 3bd8ea8
--runs 3, load 2.2, CPU 7.53 -> 7.57 s, ranges 7.4-7.7 and 7.4-7.8 s; printed
lines identical).

Issue 28, seventh round: the tracker's cleaner led by the arousal estimator's (each
beat's reference and threshold worked out once, not twice) took the tracker's
add_sample from 1.80 to 0.20 us, 1.12 -> 0.12 ms a 900 s session, instructions
1,188.7 M -> 1,185.1 M (0.3 %). Not merged: two estimators' cleaners coupled (and
released when a sample's times go back) for ~1 ms was more machinery than it saves.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import (  # noqa: E402
    load_line,
    parse_args,
    replay_recording,
    run_child,
    trees_beside,
)

BASE = "24bd57f"
UPDATE_S = 5.0

# Run in each tree's folder (its package first on the path); public API only, so
# that it runs on the older tree as on this one.
CHILD = """
import hashlib, json, sys, time
from biofeedback.models import HeartSample
from biofeedback.pacing.resonance_live import ResonanceTracker
from biofeedback.sensors.replay import open_rr_file

source = open_rr_file(sys.argv[1])
items = source.samples() if callable(source.samples) else source.samples
samples = [s for s in items if isinstance(s, HeartSample)]
clock = time.process_time_ns
tracker = ResonanceTracker()
reading_ns, add_ns = [], 0
digest = hashlib.sha256()
next_s = samples[0].t_s + tracker.window_s
for sample in samples:
    start = clock()
    tracker.add_sample(sample)
    add_ns += clock() - start
    if sample.t_s >= next_s:
        next_s += float(sys.argv[2])
        start = clock()
        reading = tracker.reading(sample.t_s)
        reading_ns.append(clock() - start)
        digest.update(repr(reading).encode())
print(json.dumps({"reading_ns": reading_ns, "add_ns": add_ns, "digest": digest.hexdigest()}))
"""


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=3, help="hours of the recording replayed")
    parser.add_argument("--runs", type=int, default=5, help="runs per tree (interleaved)")
    parser.add_argument("--base", default=BASE, help="the commit timed as the before")
    args = parse_args(__doc__, parser)
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rr = replay_recording(folder, args.hours, args.quick)
        trees = trees_beside(args.base, folder)
        reading_us: dict[str, list[float]] = {t: [] for t in trees}
        run_ms: dict[str, list[float]] = {t: [] for t in trees}
        add_ms: dict[str, list[float]] = {t: [] for t in trees}
        digests: dict[str, set[str]] = {t: set() for t in trees}
        count = 0
        for _ in range(runs):
            for label, tree in trees.items():
                argv = [sys.executable, "-c", CHILD, str(rr), str(UPDATE_S)]
                _, _, printed = run_child(argv, tree)
                result = json.loads(printed)
                ns = result["reading_ns"]
                count = len(ns)
                reading_us[label] += [v / 1e3 for v in ns]
                run_ms[label].append(sum(ns) / 1e6)
                add_ms[label].append(result["add_ns"] / 1e6)
                digests[label].add(result["digest"])
    print(f"live resonance reading, {count} readings a run ({rr.name}), {runs} run(s) per tree:")
    for label in trees:
        us = reading_us[label]
        print(
            f"  {label:<20} a reading: median {statistics.median(us):.1f} us"
            f" (p90 {_p90(us):.1f});"
            f" all readings of a run: median {statistics.median(run_ms[label]):.0f} ms;"
            f" add_sample: median {statistics.median(add_ms[label]):.0f} ms"
        )
    if len(trees) == 2:
        before, after = (statistics.median(reading_us[t]) for t in trees)
        before_run, after_run = (statistics.median(run_ms[t]) for t in trees)
        # Cleaning may be done as the beats come (add_sample) or at the reading.
        before_all, after_all = (
            statistics.median(r + a for r, a in zip(run_ms[t], add_ms[t], strict=True))
            for t in trees
        )
        same = len(set().union(*digests.values())) == 1
        print(
            f"a reading {before:.1f} -> {after:.1f} us ({after / before:.2f}x), a run's readings"
            f" {before_run:.0f} -> {after_run:.0f} ms ({after_run / before_run:.2f}x),"
            f" with add_sample {before_all:.0f} -> {after_all:.0f} ms"
            f" ({after_all / before_all:.2f}x); readings {'identical' if same else 'DIFFER'}"
        )
    print(load_line())


if __name__ == "__main__":
    main()
