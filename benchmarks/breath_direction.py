"""Which way is in, and when a hold ends: the chest estimator over many seeds.

    python -m benchmarks.breath_direction [--seeds 10]

- A calm simulated person breathes freely for a minute, then follows a pacer
  whose in-breath is the longer half (5.5 s in, 4.5 s out; and 6 in, 4 out) for
  four minutes. Of the breaths the estimator notes once the pace has settled
  (40 s on): how many start inside the breath before them (a swapped breath),
  how many start far (over 1.5 s) from any breath truly taken (turned over),
  and the error of the median in- and out-breath against the pacer's.
- A breath-holder tenses and lets go for five minutes: of the holds the
  estimator records, how many were said (live ``hold_s``, which a reminder
  quotes) to have lasted longer than recorded (``breath_held.duration_s``), and
  by how much at most; and how many of its breaths were swapped.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import itertools

import numpy as np

from biofeedback.models import SessionEvent, StepKind
from biofeedback.signals.breath_estimate import BreathEstimate, BreathEstimator, Pacer
from simulators.source import SimulatedSource
from tests.support.simulator import drive, step, tense_release

PACED_AT_S = 60.0
PACERS = ((5.5, 4.5), (6.0, 4.0))


def _estimate(
    source: SimulatedSource, until_s: float, pacer: Pacer | None, events: list[SessionEvent]
) -> tuple[BreathEstimator, list[BreathEstimate]]:
    """The estimator fed the person's chest, read each second; the pacer from its start."""
    run = drive(source, until_s, events)
    est = BreathEstimator()
    live: list[BreathEstimate] = []
    paced = False
    next_s = 1.0
    for motion in run.motion:
        if pacer is not None and not paced and motion.t_s >= pacer.start_s:
            est.pace(pacer)
            paced = True
        est.add_motion(motion)
        if motion.t_s >= next_s:
            live.append(est.estimate(motion.t_s + 0.02))
            next_s += 1.0
    return est, live


def _direction(seeds: int) -> None:
    for in_s, out_s in PACERS:
        noted = swapped = turned = 0
        in_err: list[float] = []
        out_err: list[float] = []
        for seed in range(1, seeds + 1):
            pacer = Pacer(PACED_AT_S, in_s, out_s)
            source = SimulatedSource("calm", seed=seed, acc_rate_hz=25.0)
            events: list[SessionEvent] = [step(PACED_AT_S, StepKind.BREATH, breath=(in_s, out_s))]
            est, _ = _estimate(source, PACED_AT_S + 240.0, pacer, events)
            paced = [b for b in est.breaths if b.onset_s > PACED_AT_S + 40.0]
            starts = np.array([b.start_s for b in source.truth.breaths])
            noted += len(paced)
            swapped += sum(
                1
                for a, b in itertools.pairwise(paced)
                if b.onset_s < a.onset_s + a.inhale_s + a.exhale_s - 0.5
            )
            turned += sum(1 for b in paced if float(np.min(np.abs(starts - b.onset_s))) > 1.5)
            if paced:
                in_err.append(float(np.median([b.inhale_s for b in paced])) - in_s)
                out_err.append(float(np.median([b.exhale_s for b in paced])) - out_s)
        print(
            f"paced {in_s:g} s in, {out_s:g} s out ({seeds} seeds): {noted} breaths noted,"
            f" {swapped} swapped, {turned} turned over; median in-breath error"
            f" {np.median(in_err):+.2f} s (range {min(in_err):+.2f}..{max(in_err):+.2f}),"
            f" out-breath {np.median(out_err):+.2f} s"
            f" (range {min(out_err):+.2f}..{max(out_err):+.2f})"
        )


def _holds(seeds: int) -> None:
    holds = longer = swapped = noted = 0
    worst = 0.0
    for seed in range(1, seeds + 1):
        source = SimulatedSource("breath-holder", seed=seed, acc_rate_hz=25.0)
        events = tense_release(30.0, 300.0, tense_s=5.0, release_s=15.0)
        est, live = _estimate(source, 300.0, None, list(events))
        noted += len(est.breaths)
        swapped += sum(
            1
            for a, b in itertools.pairwise(est.breaths)
            if b.onset_s < a.onset_s + a.inhale_s + a.exhale_s - 0.5
        )
        said: dict[float, float] = {}
        for e in live:
            if e.holding_since_s is not None:
                said[e.holding_since_s] = max(said.get(e.holding_since_s, 0.0), e.hold_s)
        for h in est.holds:
            holds += 1
            excess = said.get(h.started_s, 0.0) - h.duration_s
            if excess > 1e-9:
                longer += 1
                worst = max(worst, excess)
        # A hold said live under a start no recorded hold has: its start moved.
        recorded = {h.started_s for h in est.holds}
        for started_s, hold_s in said.items():
            if started_s not in recorded:
                longer += 1
                worst = max(worst, hold_s)
    print(
        f"breath-holder ({seeds} seeds): {holds} holds recorded; said live to last longer"
        f" than recorded: {longer}, by at most {worst:.1f} s; {noted} breaths noted,"
        f" {swapped} swapped"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="two seeds: a smoke test")
    args = parser.parse_args(argv)
    seeds = 2 if args.quick else args.seeds
    _direction(seeds)
    _holds(seeds)


if __name__ == "__main__":
    main()
