"""How well the breath estimator reads the chest: rate, holds, following a pacer, cost.

    python -m benchmarks.breath [--seeds N] [--minutes M]
    python -m benchmarks.breath --heart [--runs N] [--base REV]

The corpus is our own, generated (there are no real chest recordings in the
repository, and none with a licence we could add was found): breaths built as
the simulated person takes them (simulators/breathing.py), the chest's
acceleration from them (simulators/chest.py) at 50 Hz, in hard cases: lying,
on the side, posture changes, tensing, talking (the simulator's talker: all
the time, or in spells of 30-90 s about 20 an hour), fidgeting, shallow fast
breathing, sighs, and breath holds of 4-20 s; plus paced stretches where the
person follows the pacer (a second behind it) or does not (their own rate, or
near the pace but drifting).

Figures: rate error against the truth (the median breath length over the last
30 s) at every second the estimate gives a chest rate, median and p90, with how
much of the time it gave one; hold detection delay (from the moment the chest
goes still) and false holds per hour; pacer-following classification accuracy;
and the cost per acceleration sample at 200 Hz (must stay under 2 % of a core:
100 microseconds a sample).

The breath from the heart through a replay day (``--heart [--runs N] [--base REV]``;
issue 28). A replay has no chest motion: every tick (86,387 a 24 h day) the
estimate comes from the heart's rhythm, read afresh every 5 s (17,278 readings:
the beats of the last 64 s on a 4 Hz grid, the line off, a taper, a 2048-point
FFT). In-process CPU of the day from a child run in each tree, interleaved; a
reading's and a tick's share from the same day with one reading only and with
no estimate (see ``HEART``). 2026-12-07, before = f7a5092, load average ~5.7 on
2 cores shared with six other sessions, medians of 7 runs:

                              before (f7a5092)     after
    CPU a day, in-process     1,661 ms             1,488 ms  (0.90x; ranges
                              (1,639-1,713)        (1,431-1,560)  apart)
    a reading                 80.5 us              71.5 us
    a tick (no reading)       2.12 us              1.80 us
    a notification            1.00 us              1.13 us   (a numpy store a beat)
    every estimate            identical (digest a60a54286ab4bdf9 of the day's reprs)

Instructions (callgrind: the same on a loaded machine as on a quiet one; the 3 h
day, 2,160 readings, 10,800 ticks and notifications, the same driver as ``HEART``):
the breath piece 1,390 M -> 1,239 M (-10.9 %); a reading ~441 k -> ~386 k
(-12 %); a tick 24.7 k -> 21.9 k (paced 26.1 k -> 22.5 k); a notification 14.5 k
-> 15.3 k (+6 %). The whole 3 h replay command 9,703 M -> 9,553 M (-1.6 %: the
piece's cut, no more), its printed lines and its store's rows identical (only
the wall-clock start and end differ). The 24 h replay (benchmarks/replay.py
--base f7a5092 --runs 3, load 6-7): CPU 12.95 -> 13.14 s, ranges 12.7-14.0 and
12.7-13.6: the ~0.2 s cut is under that noise; printed lines identical (111,995).

What changed (signals/breath_estimate.py): the beats are kept in two arrays (the
last 400 read; the oldest moved out when full) and a reading's window is a view
found by one searchsorted (~11 k instructions), not two lists of ~80 beats made
one array (~57 k); the median from np.sort; the tick without chest motion goes straight to
the heart's reading, and the pacer's rate is worked out when the pace is set, not
by two properties every paced tick. Tests: tests/test_live_streams.py's breath
digests unchanged; tests/test_breath_rr_rate.py compares every reading with the
plain numpy one on awkward beats (NaN, -0.0, times going back, implausible
intervals, ~1,000 beats in one notification across the arrays' move).

Where a reading's ~386 k instructions go now: np.fft.rfft ~190 k (~45 %; numpy
2.4 builds the pocketfft plan anew each call, ~41 k of it: a floor without numpy's
internals), line_fit ~50 k (signals/line_fit.py: its sums and dots), the grid and
interpolation ~47 k, the band's power, peak and share ~39 k, the median ~18 k,
the line off and the taper ~17 k; the rest the window's slicing and calls. A tick
is ~22 k, of which building the BreathEstimate (23 slots, signals/slots.py) is
~18 k: its floor in Python.

Second pass, 2026-12-07, before = 24bd57f (the first pass merged; ``--heart
--base 24bd57f --runs 5``, load average ~2.5-3.5 on 2 cores shared with other
sessions, medians of 5 interleaved runs):

                              before (24bd57f)     after
    CPU a day, in-process     1,371 ms             1,142 ms  (0.83x; ranges
                              (1,337-1,372)        (1,137-1,179)  apart)
    a reading                 70.0 us              57.1 us
    a tick (no reading)       0.76 us              0.75 us
    a notification            1.12 us              1.05 us
    every estimate            identical (digest a60a54286ab4bdf9 of the day's reprs)

Instructions (callgrind): a reading over the 3 h day's windows ~376 k -> ~335 k
(-11 %); the breath piece through the 3 h day as ``HEART`` drives it ~1,103 M ->
~1,013 M (-8 %; a start-up's count, +-10 M from run to run, taken off). In-process,
the notifications of the 3 h day alone: ~800 -> ~710 ns each. The 3 h replay's
printed lines and its store's rows identical (session id masked). The 24 h replay
(benchmarks/replay.py --base 24bd57f --runs 3, load ~2-3): CPU 10.48 -> 10.29 s
(ranges 10.3-10.9 and 10.1-10.6: the ~0.2 s cut is about the noise), printed
lines identical (111,995).

What changed (signals/breath_estimate.py): a reading's grid is nearly always
i / 4 s from its first beat to the bit (not where it crosses a power of two and its
steps round: ~2 % of the 3 h day's readings), so the line fit takes that x's sums
(``line_fit.line_x``) worked out once per grid length, after comparing x's bytes,
and works them out afresh otherwise (tests/test_breath_rr_rate.py compares every
reading, on both kinds of grid, with the exact one to the bit); the spectrum is
written into the estimator's own array (``rfft(..., out=)``: no 16 KB array a
reading); the band's sums by ``np.add.reduce`` and each peak's bins, chance and
rate looked up in one table; the window found by ``bisect`` on a memoryview of the
times; a beat stored through memoryviews of the two arrays (~25 ns a store against
numpy's ~70).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import dataclasses
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.figures import load_line, replay_recording, run_child, spread, trees_beside
from biofeedback.models import ChestMotion
from biofeedback.signals.breath_estimate import BreathEstimate, BreathEstimator, BreathSource, Pacer
from simulators.breathing import BreathRecord, Lungs
from simulators.chest import Chest
from simulators.scenario import IDLE, Person

RATE_HZ = 50.0
ROOT = Path(__file__).resolve().parent.parent
# main when this round began: the "before" of ``--heart``.
BASE = "f7a5092"


@dataclass
class Case:
    """One stretch of chest data and its truth."""

    name: str
    breaths: list[BreathRecord]
    activity: list[tuple[float, str]] = field(default_factory=lambda: [(-math.inf, IDLE)])
    person: Person = field(default_factory=Person)
    pacer: Pacer | None = None
    following: bool | None = None


# --------------------------------------------------------------------------
# Breath timelines


def _breaths(
    rng: np.random.Generator,
    seconds: float,
    per_min: float,
    *,
    jitter: float = 0.12,
    in_share: float = 0.4,
    depth: float = 1.0,
    depth_sd: float = 0.1,
    sighs: float = 0.0,
    holds_every_s: float = 0.0,
    hold_s: tuple[float, float] = (4.0, 20.0),
) -> list[BreathRecord]:
    out: list[BreathRecord] = []
    t = float(rng.uniform(-5.0, 0.0))
    next_hold = float(rng.uniform(15.0, 30.0)) if holds_every_s else math.inf
    while t < seconds:
        if t >= next_hold:
            held = float(rng.uniform(*hold_s))
            out.append(BreathRecord(t, 1.2, held, 3.0, 1.3, held=True))
            t += 1.2 + held + 3.0
            next_hold = t + float(rng.uniform(0.6, 1.4)) * holds_every_s
            continue
        period = math.exp(jitter * float(rng.standard_normal())) * 60.0 / per_min
        d = max(depth * (1.0 + depth_sd * float(rng.standard_normal())), 0.1)
        in_s = period * in_share
        sigh = sighs > 0 and float(rng.uniform()) < sighs
        if sigh:
            d *= 2.4
            in_s *= 1.6
        out.append(BreathRecord(t, in_s, 0.0, period * (1 - in_share), d, sigh=sigh))
        t += in_s + period * (1 - in_share)
    return out


def _talker(
    rng: np.random.Generator,
    seconds: float,
    per_min: float,
    *,
    talks_per_h: float,
    talk_s: float,
    all_along: bool = False,
) -> list[BreathRecord]:
    """The breaths of the simulator's talker (simulators/breathing.py): their own
    rate between spells of speech; ``all_along``: one spell from start to end."""
    person = Person(breath_rate_hz=per_min / 60.0, talks_per_h=talks_per_h, talk_s=talk_s)
    lungs = Lungs(person, rng.standard_normal, np.random.default_rng(rng.integers(1 << 32)))
    lungs.start(0.0, float(rng.uniform(0.0, lungs.cycle_s)))
    if all_along:
        lungs.talk_spell(-math.inf, seconds + 60.0)
    step_s = 0.1
    for i in range(int((seconds + 10.0) / step_s)):
        lungs.advance(i * step_s, step_s)
    return lungs.log


def _paced(
    rng: np.random.Generator,
    seconds: float,
    pacer: Pacer,
    *,
    lag_s: float,
    lock: float,
    own_per_min: float | None = None,
    compliance: float = 1.0,
) -> list[BreathRecord]:
    """Breaths toward a pacer: a share of the way to its period, nudged toward its phase."""
    out: list[BreathRecord] = []
    t = 0.0
    share = pacer.in_s / pacer.period_s
    while t < seconds:
        own = 60.0 / (own_per_min or pacer.per_min)
        period = compliance * pacer.period_s + (1.0 - compliance) * own
        period *= math.exp(0.05 * float(rng.standard_normal()))
        miss = (t + period - pacer.start_s - lag_s) % pacer.period_s
        if miss > pacer.period_s / 2:
            miss -= pacer.period_s
        period = min(max(period - lock * miss, 0.6 * period), 1.4 * period)
        out.append(BreathRecord(t, period * share, 0.0, period * (1 - share), 1.0))
        t += period
    return out


def _tensing(rng: np.random.Generator, seconds: float) -> list[tuple[float, str]]:
    activity: list[tuple[float, str]] = [(-math.inf, IDLE)]
    t = float(rng.uniform(10.0, 20.0))
    while t < seconds:
        activity += [(t, "tense"), (t + 5.0, "release")]
        t += 20.0
    return activity


def corpus(seed: int, minutes: float) -> list[Case]:
    rng = np.random.default_rng(seed)
    s = minutes * 60.0
    still = Person(fidgets_per_h=0.0, posture_shifts_per_h=0.0)
    pacer = Pacer(0.0, 4.0, 6.0)
    return [
        Case("sitting", _breaths(rng, s, 15.0), person=still),
        Case("lying", _breaths(rng, s, 13.0), person=dataclasses.replace(still, tilt_deg=85.0)),
        Case(
            "on the side",
            _breaths(rng, s, 14.0),
            person=dataclasses.replace(still, tilt_deg=90.0, roll_deg=80.0),
        ),
        Case("posture changes", _breaths(rng, s, 15.0), person=Person(posture_shifts_per_h=20.0)),
        Case("tensing", _breaths(rng, s, 15.0), _tensing(rng, s), person=still),
        Case(
            "talking",
            _talker(rng, s, 15.0, talks_per_h=1.0, talk_s=60.0, all_along=True),
            person=still,
        ),
        Case(
            "talking in spells",
            _talker(rng, s, 15.0, talks_per_h=20.0, talk_s=60.0),
            person=still,
        ),
        Case("fidgeting", _breaths(rng, s, 15.0), person=Person(fidgets_per_h=40.0)),
        Case("shallow fast", _breaths(rng, s, 28.0, depth=0.4), person=still),
        Case("sighs", _breaths(rng, s, 16.0, sighs=0.15), person=still),
        Case("holds", _breaths(rng, s, 15.0, holds_every_s=45.0), person=still),
        Case(
            "paced, following",
            _paced(rng, s, pacer, lag_s=float(rng.uniform(0.3, 1.5)), lock=0.5),
            person=still,
            pacer=pacer,
            following=True,
        ),
        Case(
            "paced, own rate",
            _paced(rng, s, pacer, lag_s=0.0, lock=0.0, own_per_min=16.0, compliance=0.15),
            person=still,
            pacer=pacer,
            following=False,
        ),
        Case(
            "paced, drifting near the pace",
            _paced(rng, s, pacer, lag_s=0.0, lock=0.0, own_per_min=8.0, compliance=0.0),
            person=still,
            pacer=pacer,
            following=False,
        ),
    ]


# --------------------------------------------------------------------------
# Running a case


@dataclass
class Result:
    name: str
    errors: list[float]
    seconds: int
    rated: int
    hold_delays: list[float]
    missed_holds: int
    false_holds: int
    following: bool | None
    truth_following: bool | None


def _truth_rate(breaths: list[BreathRecord], t_s: float) -> float | None:
    inside = [b for b in breaths if t_s - 30.0 < b.start_s <= t_s and not b.held]
    if len(inside) < 2 or any(b.held for b in breaths if t_s - 15.0 < b.start_s <= t_s):
        return None
    return 60.0 / float(np.median([b.in_s + b.hold_s + b.out_s for b in inside]))


def run_case(case: Case, seed: int, minutes: float, rate_hz: float = RATE_HZ) -> Result:
    chest = Chest(case.person, np.random.default_rng(seed + 1000), rate_hz)
    est = BreathEstimator()
    est.pace(case.pacer)
    seconds = int(minutes * 60)
    estimates: list[BreathEstimate] = []
    for second in range(1, seconds + 1):
        batch = chest.batch(float(second), case.breaths, case.activity)
        if batch is not None:
            t_s, x, y, z = batch
            est.add_motion(
                ChestMotion(t_s, rate_hz, tuple(x.tolist()), tuple(y.tolist()), tuple(z.tolist()))
            )
        estimates.append(est.estimate(float(second) + 0.05))
    moving = [(b.start_s, b.end_s + 10.0) for b in chest.done]
    errors: list[float] = []
    rated = 0
    for e in estimates[45:]:
        if any(a <= e.t_s < b for a, b in moving):
            continue
        truth = _truth_rate(case.breaths, e.t_s)
        if truth is None:
            continue
        if e.source is BreathSource.ACC and e.per_min:
            rated += 1
            errors.append(abs(e.per_min - truth))
    # Holds: from when the chest goes still (the breath drawn) to when it is seen.
    delays: list[float] = []
    missed = 0
    true_holds = [b for b in case.breaths if b.held and b.start_s < seconds - 25.0]
    for h in true_holds:
        still_s = h.start_s + h.in_s
        seen = [
            e.t_s
            for e in estimates
            if e.holding_since_s is not None
            and still_s - 2.0 <= e.holding_since_s <= still_s + h.hold_s
        ]
        if seen:
            delays.append(seen[0] - still_s)
        else:
            missed += 1
    false_holds = sum(
        not any(
            h.start_s - 2.0 <= found.started_s <= h.start_s + h.in_s + h.hold_s + 3.0
            for h in true_holds
        )
        for found in est.holds
    )
    following = None
    if case.pacer is not None:
        late = [e.following for e in estimates[-60:] if e.following is not None]
        following = sum(late) > len(late) / 2 if late else False
    return Result(
        case.name,
        errors,
        len(estimates) - 45,
        rated,
        delays,
        missed,
        false_holds,
        following,
        case.following,
    )


def cost_per_sample_us(minutes: float = 10.0) -> tuple[float, float]:
    """Microseconds per acceleration sample at 200 Hz (add_motion and the 1 Hz estimate),
    and the share of a core that is at 200 Hz."""
    rng = np.random.default_rng(7)
    s = minutes * 60.0
    breaths = _breaths(rng, s, 15.0)
    chest = Chest(Person(), np.random.default_rng(8), 200.0)
    batches = []
    for second in range(1, int(s) + 1):
        batch = chest.batch(float(second), breaths, [(-math.inf, IDLE)])
        assert batch is not None
        t_s, x, y, z = batch
        batches.append(
            ChestMotion(t_s, 200.0, tuple(x.tolist()), tuple(y.tolist()), tuple(z.tolist()))
        )
    est = BreathEstimator()
    start = time.perf_counter()
    for motion in batches:
        est.add_motion(motion)
        est.estimate(motion.t_s + 0.01)
    elapsed = time.perf_counter() - start
    samples = sum(len(m.x_mg) for m in batches)
    per_sample = elapsed / samples
    return per_sample * 1e6, per_sample * 200.0


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


# ``--heart``: the breath estimator as a replay drives it, in a child run from each
# tree: the day's notifications handed to ``add_sample`` as they fall due, an
# estimate a second (a reading of the heart's rhythm every fifth), the pacer on and
# off every ten minutes. In-process CPU of the whole day; of the same day with one
# reading only (``rr_every_s`` infinite); and of the notifications alone (no
# estimate): their differences are the readings' and the ticks' share, no timer
# around each call. And a digest of every estimate's repr (a float's repr is
# exact: the same digest, the same figures to the bit).
HEART = """
import hashlib, json, math, sys, time
from biofeedback.sensors.replay import open_rr_file
from biofeedback.signals.breath_estimate import BreathConfig, BreathEstimator, Pacer

day = sys.argv[1]
samples = list(open_rr_file(day).samples())
end = samples[-1].t_s + 2.0

def day_of(config=None, ask=True, seen=None):
    est, i, n, now, tick = BreathEstimator(config), 0, len(samples), 0.0, 0
    while now < end:
        now += 1.0
        tick += 1
        while i < n and samples[i].t_s <= now:
            est.add_sample(samples[i])
            i += 1
        if tick % 600 == 0:
            est.pace(Pacer(now, 4.0, 6.0) if tick // 600 % 2 else None)
        if ask:
            e = est.estimate(now)
            if seen is not None:
                seen.update(repr(e).encode())
    return tick

def cpu_s(*args):
    start = time.process_time()
    day_of(*args)
    return time.process_time() - start

seen = hashlib.sha256()
ticks = day_of(seen=seen)
once = BreathConfig(rr_every_s=math.inf)
print(json.dumps({"day": cpu_s(), "one reading": cpu_s(once), "beats only": cpu_s(None, False),
                  "ticks": ticks, "notifications": len(samples), "digest": seen.hexdigest()[:16]}))
"""
_PARTS = ("day", "one reading", "beats only")


def heart_cost(base: str, runs: int, quick: bool) -> None:
    """The breath from the heart through a replay day, this tree beside ``base``
    (``HEART``); with ``quick``, the 5-minute extract in this tree alone."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rr = replay_recording(folder, 24, quick)
        trees = {"this tree": ROOT} if quick else trees_beside(base, folder)
        cpu: dict[str, dict[str, list[float]]] = {t: {p: [] for p in _PARTS} for t in trees}
        said: dict[str, dict[str, Any]] = {}
        # One run of each tree at a time, interleaved: both see the same load.
        for _ in range(1 if quick else runs):
            for label, tree in trees.items():
                out = run_child([sys.executable, "-c", HEART, str(rr)], tree)[2]
                said[label] = json.loads(out.strip().splitlines()[-1])
                for part in _PARTS:
                    cpu[label][part].append(said[label][part])
    first = next(iter(said.values()))
    ticks, notes = first["ticks"], first["notifications"]
    readings = math.ceil(ticks / 5)
    print(
        f"\nthe breath from the heart through a replay day ({rr.name}: {notes} notifications,"
        f" {ticks} ticks, {readings} readings), in-process CPU:"
    )
    medians = {t: {p: statistics.median(v) for p, v in cpu[t].items()} for t in trees}
    for label in trees:
        m = medians[label]
        print(f"  {label:<20} a day {spread(cpu[label]['day'], 1e3, 'ms')}")
        print(
            f"  {'':<20} a reading {(m['day'] - m['one reading']) / (readings - 1) * 1e6:.1f} us,"
            f" a tick {(m['one reading'] - m['beats only']) / ticks * 1e6:.2f} us,"
            f" a notification {m['beats only'] / notes * 1e6:.2f} us (the day loop's steps in)"
        )
    digests = {str(s["digest"]) for s in said.values()}
    if len(trees) == 2:
        before, after = (medians[t]["day"] for t in trees)
        print(
            f"CPU a day {before * 1e3:.0f} -> {after * 1e3:.0f} ms ({after / before:.2f}x);"
            f" every estimate {'identical' if len(digests) == 1 else 'DIFFERS'}"
            f" (digest {' / '.join(sorted(digests))})"
        )
    print(load_line())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--quick", action="store_true", help="one seed of two minutes: a smoke test"
    )
    parser.add_argument(
        "--heart",
        action="store_true",
        help="only the breath from the heart through a 24 h replay day, beside --base",
    )
    parser.add_argument("--base", default=BASE, help="the commit --heart times as the before")
    parser.add_argument("--runs", type=int, default=5, help="--heart: runs per tree (median)")
    args = parser.parse_args(argv)
    if args.heart or args.quick:
        heart_cost(args.base, args.runs, args.quick)
        if args.heart:
            return
    if args.quick:
        args.seeds, args.minutes = 1, 2.0
    results: dict[str, list[Result]] = {}
    for seed in range(1, args.seeds + 1):
        for case in corpus(seed, args.minutes):
            results.setdefault(case.name, []).append(run_case(case, seed, args.minutes))
    print(
        f"Breath from the chest: generated corpus, {args.seeds} seeds x {args.minutes:g} min"
        f" a case, 50 Hz (no real chest recordings: none in the repository)\n"
    )
    print(
        f"{'case':32s} {'rated':>6s} {'median':>7s} {'p90':>6s} {'holds':>6s}"
        f" {'delay med':>9s} {'p90':>5s} {'missed':>6s} {'false':>6s}"
    )
    every: list[float] = []
    delays_all: list[float] = []
    missed_all = false_all = 0
    hours = 0.0
    right = total = 0
    follow_rows: list[str] = []
    rate_case: Callable[[Result], int] = lambda r: r.rated  # noqa: E731
    for name, rs in results.items():
        errors = [e for r in rs for e in r.errors]
        every += errors
        delays = [d for r in rs for d in r.hold_delays]
        delays_all += delays
        missed = sum(r.missed_holds for r in rs)
        false = sum(r.false_holds for r in rs)
        missed_all += missed
        false_all += false
        hours += sum(r.seconds for r in rs) / 3600.0
        coverage = sum(map(rate_case, rs)) / max(sum(r.seconds for r in rs), 1)
        n_holds = len(delays) + missed
        print(
            f"{name:32s} {coverage:6.0%} {_pct(errors, 50):7.2f} {_pct(errors, 90):6.2f}"
            f" {n_holds:6d} {_pct(delays, 50):9.1f} {_pct(delays, 90):5.1f} {missed:6d} {false:6d}"
        )
        for r in rs:
            if r.truth_following is not None:
                total += 1
                right += r.following == r.truth_following
        if rs[0].truth_following is not None:
            ok = sum(r.following == r.truth_following for r in rs)
            follow_rows.append(f"  {name}: {ok}/{len(rs)} classified right")
    print(
        f"\nrate error, all cases: median {_pct(every, 50):.2f}, p90 {_pct(every, 90):.2f}"
        f" breaths/min over {len(every)} seconds rated"
    )
    print(
        f"holds: {len(delays_all)} seen, {missed_all} missed; delay from the chest going still"
        f" median {_pct(delays_all, 50):.1f} s, p90 {_pct(delays_all, 90):.1f} s;"
        f" false holds {false_all / hours:.2f} per hour ({false_all} in {hours:.1f} h)"
    )
    print(f"pacer following: {right}/{total} classified right")
    for row in follow_rows:
        print(row)
    us, share = cost_per_sample_us()
    print(
        f"cost: {us:.2f} us per acceleration sample at 200 Hz = {share:.2%} of a core (limit 2 %)"
    )


if __name__ == "__main__":
    main()
