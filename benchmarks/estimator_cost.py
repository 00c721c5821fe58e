"""What one live estimate costs, against the vectorised per-tick path it replaced.

The live estimator keeps its beats in plain Python running sums
(``biofeedback/signals/live_beats.py``). The peer here does a tick the way the
estimator did before: push the notification's beats into ``RRCleaner``, decide
them, extend ``BeatWindows``/``FlagWindows`` and ``measure_windows`` at one time,
all numpy (without the baseline, quality gate and result object, which both
share: the ratio understates the gain a little). Same recording, same ticks,
same process. Goal (issue 13): <= 50 us median per estimate.

Then the replay's ticks (issue 28: the 24 h replay's goal is 10 s, and the live
estimators run every one of its 86,385 ticks): the 60-minute extract as
``run --replay`` feeds it (``sensors/replay.py``: a notification a second), the
arousal estimator and the breath estimator (its rate from the heart's rhythm,
read every 5 s) asked once a second as the session asks them; this process's
CPU per call (``time.process_time_ns``), medians, and the CPU of all the calls
per tick, this tree beside the tree at ``--base`` (its ``biofeedback`` package
run by this same script in a child process), interleaved runs.
Run: .venv/bin/python benchmarks/estimator_cost.py [--runs N] [--rounds N] [--base REV] [--quick]

Figures (2026-12-07, 2 cores shared with six other sessions, load 4-5; before =
4fed2a8, after = branch s28live; issue 28):

    live estimate (60-min recording, 1 Hz): estimate() median 11.1-12.0 us before
        (two runs of the benchmark at 4fed2a8), 8.2-8.5 us after; add_sample +
        estimate 14.9-16.9 us -> 11.1-11.7 us (issue 13's goal: <= 50 us)
    the replay's ticks, 5 interleaved runs (two runs of the benchmark, load 4-5 and ~1):
                        arousal add  estimate  breath add  estimate  (mean)  a tick    a day
        before             6.02 us   14.93 us    1.60 us    4.55 us  27.1 us  52.45 us  4.53 s
        after              4.84 us   11.67 us    1.55 us    3.53 us  23.7 us  44.08 us  3.81 s
        before             6.28 us   15.24 us    1.65 us    4.70 us  24.8 us  49.91 us  4.31 s
        after              5.01 us   11.94 us    1.60 us    3.58 us  22.6 us  43.13 us  3.73 s
    (reading the process clock costs ~0.25 us, inside each call's figure: a tick's
    four calls carry ~1 us of it, before and after alike.)
    (the breath estimate's mean holds its reading from the beats every 5 s, ~60 us:
    its line fit, ``signals/line_fit.py``'s least squares, and the padded FFT are
    two thirds of it and are not this benchmark's to cut.)

Second round (2026-12-07, load ~2.3; before = 6d215c5, after = branch s28tick; one
run of the benchmark, 5 interleaved runs):

                        arousal add  estimate  breath add  estimate  (mean)  a tick    a day
    before (6d215c5)       4.34 us   10.72 us    1.48 us    3.41 us  17.9 us  35.74 us  3.09 s
    after                  4.10 us    9.22 us    1.37 us    2.66 us  16.6 us  32.39 us  2.80 s
    live estimate (60-min recording): estimate() median 8.3 -> 6.8 us, add_sample +
        estimate 11.4 -> 9.6 us (the first from a run at 6d215c5 earlier the same hour)

    What went: ``slots.builder`` writes its function out one statement a slot
    instead of looping over zip (ArousalEstimate 1.6 -> 1.0 us; BreathEstimate's
    builders gain as much); the estimator no longer offers readings to a baseline
    that has both its figures, keeps its forgetting horizon instead of working it
    out each tick, and asks ``HeartSample.usable`` one enum lookup less.

Third round (2026-12-07, 2 cores shared with six other sessions, load 1-7;
before = f7a5092, after = branch s29arousal; this benchmark, 5 interleaved runs
each; three runs of it as the branch grew, the last on its final code):

                        arousal add  estimate  breath add  estimate  (mean)  a tick    a day
    before (f7a5092)       5.39 us   11.21 us    1.53 us    3.07 us  19.0 us  39.31 us  3.40 s
    after (0df7c9e)        4.53 us   10.22 us    1.71 us    2.97 us  18.8 us  37.64 us  3.25 s
    before (f7a5092)       4.60 us    9.87 us    1.39 us    2.74 us  15.9 us  33.50 us  2.89 s
    after (56c9abd)        3.90 us    9.00 us    1.45 us    2.74 us  15.7 us  31.73 us  2.74 s
    before (f7a5092)       5.82 us   11.73 us    1.58 us    3.20 us  20.6 us  42.17 us  3.64 s
    after (a21115e)        4.50 us   10.68 us    1.93 us    3.15 us  20.6 us  41.00 us  3.54 s
    live estimate (60-min recording, the last run): estimate() median 7.0 us,
        add_sample + estimate 9.9 us (22.1x the vectorised peer per estimate)
    (the breath estimator's code is the same in both trees; its add's median
    moving with ours is where the shared allocator and collector land, hence
    the whole tick's sum beside the medians.)

    The same in one process, the steadiest clock figure here: both trees'
    estimators alternated 7 times on the 3 h day of the issue's profile (10,799
    ticks, estimate then add_sample as the session calls them; CPU per tick,
    medians), four runs on the final code: estimate 9.47-9.65 -> 8.52-8.80 us,
    add_sample 4.27-4.47 -> 3.27-3.38 us, both 13.72-14.15 -> 11.78-12.16 us
    (-14 to -15 %). Steadier than any clock on a shared machine, the
    instructions it runs a tick (valgrind's callgrind on the 60-minute
    recording, a run of two passes less a run of one, over 3,599 ticks; not
    quite the same from run to run, hash seeds and collections): 102,125-104,562
    before (four runs), 94,361 after (a21115e), -8 to -10 %.

    What went (``live_beats.py``; ``arousal.py``'s ``add_sample`` and running mean):
    the cleaner's median reference kept sorted beat by beat (one removal and one
    insertion instead of a sort of the 11-beat window a beat; sorted afresh, as
    before, while a NaN is in the window); ``LiveBeats``'s running sum of squares,
    which nothing read; the chunked partial sums of the counts (whole numbers: the
    same sum in any order), and a chunk's base and partial sums written in place;
    given beat times converted as they are put in order, in one pass;
    zip's ``strict`` keyword (one length check before the loop, which now refuses
    a notification whole); and the four binary searches for ``now`` a tick
    (``known``, ``flagged_rate``) answered by the last entry while the times are
    in order (always, for a strap's beats; a list out of order is searched as
    before, ``tests/test_live_beats.py`` compares both with ``bisect``).

    The whole 24 h replay (``benchmarks/replay.py --base f7a5092 --runs 3``, three
    runs of it, load 5-8): CPU median 12.5 -> 12.3 s (ranges 11.5-12.6 and
    12.0-12.6), 12.07 -> 12.06 s (11.7-12.5 and 11.9-12.9) and, on the final
    code, 13.42 -> 12.61 s (13.2-13.7 and 12.4-13.2): the ~0.1-0.2 s a day this
    saves is inside the spread. 111,995 printed lines identical every time;
    the 3 h day's 14,000 lines identical in three interleaved runs. The arousal
    estimator is ~12 us of a tick's ~140 us: what is left of it is the per-tick
    arithmetic itself (five windows, the baseline and the quality gate, a log or
    two, an 18-field result: ``slots.builder``'s 18 slot writes are ~1 us of
    it), Python's own cost per statement. Tried and not kept: trimming the beats
    at 256 instead of 1,024 (~0.7 us a tick) changes the estimates when beat
    times are out of order (a binary search of an unordered list answers by its
    path, and the path depends on the list's length):
    ``tests/test_arousal_awkward.py`` pins such streams and fails on it; the
    five windows' searches nested in one call (~0.5 us a tick) would duplicate
    ``hr_bpm``/``rmssd_ms``.

Fourth round (2026-12-07, 2 cores shared with six other sessions, load 2.8-4.8;
before = 282c935, after = branch s29est2): one run of this benchmark (5 interleaved
runs), and its in-process part (new: both trees' estimators alternated in this one
process, 7 rounds on the 3 h day, with every estimate compared) run three times:

                        arousal add  estimate  breath add  estimate  (mean)  a tick    a day
    before (282c935)       4.43 us    9.84 us    2.09 us    1.56 us  18.4 us  37.94 us  3.28 s
    after                  4.33 us    9.41 us    1.96 us    1.50 us  18.3 us  36.86 us  3.18 s
    in one process, CPU per tick (estimate / add_sample / both, medians of 7):
        before   7.68 / 3.22 / 10.90 us    7.56 / 3.19 / 10.73 us    8.05 / 3.42 / 11.49 us
        after    7.51 / 3.15 / 10.69 us    7.45 / 3.32 / 10.73 us    7.74 / 3.33 / 11.09 us
    every estimate the same in both trees (all three runs).

    What went: ``estimate``'s two helper calls a tick (the ingest steps: decide,
    forget, the strap readings' horizon; and the baseline RMSSD's cached ``exp``),
    written in place: ~0.1-0.3 us of ~7.7 us (1-4 %), inside the spread of the
    whole tick. The whole 24 h replay (``benchmarks/replay.py --base 282c935 --runs
    3``, load ~4.5): CPU median 11.2 -> 11.1 s (ranges 10.9-11.2 and 10.9-11.1),
    111,995 printed lines identical; the 3 h day's 14,000 lines identical.

    Where the ~11 us a tick goes now (timeit of each call on a warmed estimator,
    load ~3): the cleaner's ``decide`` ~1.5-2 us (``add_beat`` ~0.28 us,
    ``add_raw`` ~0.11 us, ``start_chunk`` ~0.08 us a beat, the rest its own loop),
    ``push`` ~1.6 us a notification, the five windows ~1.5-2 us (a binary search
    and a call each), ``flagged_rate`` ~0.5 us, the running mean ~0.25 us, the
    18-field result ~0.35-0.5 us; the rest is ``estimate``'s own statements.
    Looked at and not done: reusing a window's sums while its beats stay the same
    (at 1 Hz ticks and 60-90 beats a minute a new beat moves nearly every window
    nearly every tick: the check costs what it saves); forgetting the strap's HR
    readings only once they are many (not bit-identical when ``now`` steps back or
    a window is longer than the HR window, both allowed); ``drop_z`` from
    ``-ln_delta`` (one subtraction less, but -0.0 where the code gives +0.0).

Every figure the estimators give is the same to the bit before and after
(tests/test_live_streams.py; the replay prints the same lines).
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# ``--tree PATH`` (the child that times an older tree): its package first.
if "--tree" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--tree") + 1])

from benchmarks.figures import base_tree  # noqa: E402
from biofeedback.models import HeartSample  # noqa: E402
from biofeedback.sensors.replay import iter_beat_times, iter_notifications, read_rr_file  # noqa: E402
from biofeedback.signals.arousal import ArousalEstimator, EstimatorConfig, measure_windows  # noqa: E402
from biofeedback.signals.breath_estimate import BreathEstimator  # noqa: E402
from biofeedback.signals.hrv import BeatWindows, FlagWindows  # noqa: E402
from biofeedback.signals.rr_clean import RRCleaner  # noqa: E402
from tests.support.arousal_data import SHARED_RR, load_rr, samples_from_rr  # noqa: E402

RECORDING = "nsrdb_pyhrv_60min_nni.txt"
# main when issue 28's work on the live estimators began: the "before".
BASE = "4fed2a8"
DAY_TICKS = 86_385
# estimate() alone before live_beats.py: issue 13's figure (117-206 us measured
# on this shared machine at e318661, depending on load).
BEFORE_US = 140.0


@dataclass(frozen=True, slots=True)
class Cost:
    estimate_us: list[float]
    """``estimate(now)`` alone, once a second."""
    tick_us: list[float]
    """The second's ``add_sample`` calls plus ``estimate``."""


def live_cost(samples: list[HeartSample]) -> Cost:
    est = ArousalEstimator()
    estimate_us, tick_us = [], []
    i = 0
    for now in np.arange(1.0, samples[-1].t_s + 1.0):
        t0 = time.perf_counter()
        while i < len(samples) and samples[i].t_s <= now:
            est.add_sample(samples[i])
            i += 1
        t1 = time.perf_counter()
        est.estimate(float(now))
        t2 = time.perf_counter()
        estimate_us.append((t2 - t1) * 1e6)
        tick_us.append((t2 - t0) * 1e6)
    return Cost(estimate_us, tick_us)


def vectorised_cost(samples: list[HeartSample]) -> Cost:
    cfg = EstimatorConfig()
    cleaner, windows, flags = RRCleaner(cfg.cleaner), BeatWindows(), FlagWindows()
    estimate_us, tick_us = [], []
    i = 0
    for now in np.arange(1.0, samples[-1].t_s + 1.0):
        t0 = time.perf_counter()
        while i < len(samples) and samples[i].t_s <= now:
            s = samples[i]
            cleaner.push(np.asarray(s.beat_t_s, float), np.asarray(s.rr_ms, float))
            i += 1
        t1 = time.perf_counter()
        chunk = cleaner.process()
        windows.extend(chunk.t_s, chunk.nn_ms, chunk.available_s)
        flags.extend(chunk.raw_t_s, chunk.kind != 0, chunk.raw_available_s)
        at = np.array([float(now)])
        measure_windows(windows, flags.rate(at, cfg.artifact_window_s), at, cfg)
        t2 = time.perf_counter()
        estimate_us.append((t2 - t1) * 1e6)
        tick_us.append((t2 - t0) * 1e6)
    return Cost(estimate_us, tick_us)


def _fig(values: list[float]) -> str:
    return f"median {statistics.median(values):6.1f} us, p90 {np.percentile(values, 90):6.1f} us"


def cost_lines(runs: int = 3) -> list[str]:
    samples = samples_from_rr(load_rr(RECORDING))
    # Best of three runs each (the machine is shared); interleaved so both see the same load.
    live = min(
        (live_cost(samples) for _ in range(runs)), key=lambda c: statistics.median(c.tick_us)
    )
    peer = min(
        (vectorised_cost(samples) for _ in range(runs)), key=lambda c: statistics.median(c.tick_us)
    )
    live_med = statistics.median(live.estimate_us)
    peer_med = statistics.median(peer.estimate_us)
    return [
        f"live estimator, 60-min recording at 1 Hz ({len(live.estimate_us)} estimates):",
        f"  estimate()            {_fig(live.estimate_us)}  (goal <= 50 us median)",
        f"  add_sample + estimate {_fig(live.tick_us)}",
        f"  vectorised peer       {_fig(peer.estimate_us)} per estimate,"
        f" {_fig(peer.tick_us)} with its pushes",
        f"  ratio peer / live: {peer_med / live_med:4.1f}x per estimate,"
        f" {statistics.median(peer.tick_us) / statistics.median(live.tick_us):4.1f}x per tick;"
        f" before live_beats.py estimate() was ~{BEFORE_US:.0f} us median:"
        f" {BEFORE_US / live_med:4.1f}x",
    ]


@dataclass(frozen=True, slots=True)
class TickCost:
    """Medians per call (us) over the replay's ticks, and the CPU of all the calls
    per tick (us): the four calls a tick makes of the two estimators."""

    ticks: int
    arousal_add_us: float
    arousal_estimate_us: float
    breath_add_us: float
    breath_estimate_us: float
    breath_estimate_mean_us: float
    """With the readings every 5 s (the median is a tick between them)."""
    per_tick_us: float


def replay_samples(path: Path) -> list[HeartSample]:
    """The notifications ``run --replay`` makes of an RR file."""
    rr_ms, times_s = read_rr_file(path)
    times: list[float | None] = list(times_s) if times_s else [None] * len(rr_ms)
    return list(iter_notifications(iter_beat_times(zip(rr_ms, times, strict=True))))


def tick_cost(samples: list[HeartSample]) -> TickCost:
    """Both estimators a tick, as the session calls them: the estimates at ``now``,
    then the notifications that arrived by ``now``."""
    clock = time.process_time_ns
    arousal, breath = ArousalEstimator(), BreathEstimator()
    a_add: list[int] = []
    a_est: list[int] = []
    b_add: list[int] = []
    b_est: list[int] = []
    i = 0
    ticks = int(samples[-1].t_s)
    for second in range(1, ticks + 1):
        now = float(second)
        t0 = clock()
        arousal.estimate(now)
        t1 = clock()
        breath.estimate(now)
        t2 = clock()
        a_est.append(t1 - t0)
        b_est.append(t2 - t1)
        while i < len(samples) and samples[i].t_s <= now:
            t0 = clock()
            arousal.add_sample(samples[i])
            t1 = clock()
            breath.add_sample(samples[i])
            t2 = clock()
            a_add.append(t1 - t0)
            b_add.append(t2 - t1)
            i += 1
    total = sum(a_add) + sum(a_est) + sum(b_add) + sum(b_est)
    return TickCost(
        ticks,
        statistics.median(a_add) / 1e3,
        statistics.median(a_est) / 1e3,
        statistics.median(b_add) / 1e3,
        statistics.median(b_est) / 1e3,
        statistics.mean(b_est) / 1e3,
        total / ticks / 1e3,
    )


def _child_cost(tree: Path | None, path: Path) -> TickCost:
    argv = [sys.executable, str(Path(__file__).resolve()), "--ticks-json", str(path)]
    if tree is not None:
        argv += ["--tree", str(tree)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300).stdout
    return TickCost(**json.loads(out))


def tick_lines(runs: int, rev: str, path: Path) -> list[str]:
    """This tree's ticks beside ``rev``'s, ``runs`` interleaved child runs each."""
    with tempfile.TemporaryDirectory() as tmp:
        trees: dict[str, Path | None] = {"this tree": None}
        old = base_tree(rev, Path(tmp))
        if old is not None:
            trees = {f"before ({rev})": old, **trees}
        costs: dict[str, list[TickCost]] = {label: [] for label in trees}
        for _ in range(runs):
            for label, tree in trees.items():
                costs[label].append(_child_cost(tree, path))
    ticks = costs["this tree"][0].ticks
    lines = [
        f"the replay's ticks ({path.name} as `run --replay` feeds it, {ticks} ticks;"
        f" CPU per call, median of each run's median, over {runs} interleaved runs):",
        f"  {'':<18} {'arousal add':>12} {'estimate':>9} {'breath add':>11}"
        f" {'estimate':>9} {'(mean)':>7} {'all, a tick':>12} {'a 24 h day':>11}",
    ]
    for label, runs_of_tree in costs.items():

        def med(name: str, of: list[TickCost] = runs_of_tree) -> float:
            return float(statistics.median(getattr(c, name) for c in of))

        per_tick = [c.per_tick_us for c in runs_of_tree]
        tick = statistics.median(per_tick)
        lines.append(
            f"  {label:<18} {med('arousal_add_us'):9.2f} us {med('arousal_estimate_us'):6.2f} us"
            f" {med('breath_add_us'):8.2f} us {med('breath_estimate_us'):6.2f} us"
            f" {med('breath_estimate_mean_us'):4.1f} us"
            f" {tick:8.2f} us {tick * DAY_TICKS / 1e6:8.2f} s"
            f"  (a tick: {min(per_tick):.2f}-{max(per_tick):.2f} us)"
        )
    return lines


def _estimator_of(tree: Path) -> type[ArousalEstimator]:
    """``ArousalEstimator`` of the package under ``tree``, in this process beside this
    tree's: its modules are imported under their own names while it loads, and this
    tree's put back after (each class keeps its own module's globals)."""
    ours = {k: m for k, m in sys.modules.items() if k.partition(".")[0] == "biofeedback"}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        module = importlib.import_module("biofeedback.signals.arousal")
    finally:
        sys.path.remove(str(tree))
        for name in [k for k in sys.modules if k.partition(".")[0] == "biofeedback"]:
            del sys.modules[name]
        sys.modules.update(ours)
    assert Path(module.__file__ or "").is_relative_to(tree), module.__file__
    cls: type[ArousalEstimator] = module.ArousalEstimator
    return cls


def _arousal_ticks(cls: type[ArousalEstimator], samples: list[HeartSample]) -> tuple[float, float]:
    """CPU per tick (us) of ``estimate`` and of the tick's ``add_sample`` calls."""
    clock = time.process_time_ns
    est = cls()
    i, n = 0, len(samples)
    ticks = int(samples[-1].t_s)
    est_ns = add_ns = 0
    for second in range(1, ticks + 1):
        now = float(second)
        t0 = clock()
        est.estimate(now)
        est_ns += clock() - t0
        while i < n and samples[i].t_s <= now:
            t0 = clock()
            est.add_sample(samples[i])
            add_ns += clock() - t0
            i += 1
    return est_ns / ticks / 1e3, add_ns / ticks / 1e3


def _estimates(cls: type[ArousalEstimator], samples: list[HeartSample]) -> list[str]:
    """Every tick's estimate as text (the trees' classes differ; their reprs compare)."""
    est = cls()
    out = []
    i, n = 0, len(samples)
    for second in range(1, int(samples[-1].t_s) + 1):
        out.append(repr(est.estimate(float(second))))
        while i < n and samples[i].t_s <= second:
            est.add_sample(samples[i])
            i += 1
    return out


def in_process_lines(rounds: int, rev: str, path: Path, copies: int) -> list[str]:
    """The arousal estimator alone, this tree's and ``rev``'s alternated ``rounds``
    times in this one process (the steadiest figure on a shared machine) on
    ``copies`` copies of ``path`` end to end, as the session calls it; and whether
    every estimate is the same."""
    with tempfile.TemporaryDirectory() as tmp:
        day = Path(tmp) / f"{copies}x_{path.name}"
        day.write_text(path.read_text() * copies)
        samples = replay_samples(day)
        old = base_tree(rev, Path(tmp) / "base")
        if old is None:
            return []
        trees = {f"before ({rev})": _estimator_of(old), "this tree": ArousalEstimator}
    costs: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
    for _ in range(rounds):
        for label, cls in trees.items():
            costs[label].append(_arousal_ticks(cls, samples))
    same = _estimates(trees[f"before ({rev})"], samples) == _estimates(ArousalEstimator, samples)
    lines = [
        f"the arousal estimator in one process ({copies} x {path.name}, {int(samples[-1].t_s)}"
        f" ticks; CPU per tick, medians of {rounds} alternated rounds):"
    ]
    for label, runs in costs.items():
        both = [e + a for e, a in runs]
        lines.append(
            f"  {label:<18} estimate {statistics.median(e for e, _ in runs):5.2f} us"
            f"  add_sample {statistics.median(a for _, a in runs):5.2f} us"
            f"  both {statistics.median(both):5.2f} us ({min(both):.2f}-{max(both):.2f})"
        )
    lines.append(f"  every estimate {'the same' if same else 'DIFFERENT'} in both trees")
    return lines


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per tree")
    parser.add_argument("--base", default=BASE, help="the commit timed as the before")
    parser.add_argument("--rounds", type=int, default=7, help="in-process alternations")
    parser.add_argument("--ticks-json", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    args = _args()
    if args.ticks_json is not None:
        print(json.dumps(asdict(tick_cost(replay_samples(args.ticks_json)))))
        sys.exit(0)
    # --quick: the same figures (a 60-minute recording is a few seconds' work).
    print("\n".join(cost_lines(1 if args.quick else 3)))
    if args.quick:
        print("\n".join(tick_lines(1, args.base, SHARED_RR / "nsrdb_pyhrv_5min_nni.txt")))
        print("\n".join(in_process_lines(1, args.base, SHARED_RR / "nsrdb_pyhrv_5min_nni.txt", 1)))
    else:
        print("\n".join(tick_lines(args.runs, args.base, SHARED_RR / RECORDING)))
        # The 3 h day of the profile.
        print("\n".join(in_process_lines(args.rounds, args.base, SHARED_RR / RECORDING, 3)))
