"""What one live cleaning costs: ``RRCleaner.push`` + ``process`` of the few beats
since the last resonance reading (issue 28), in plain floats (this tree) beside
the array path alone (the float path switched off, in the same run, on the same
beats). Median, p90 and range of --runs timings, microseconds per push.

    .venv/bin/python benchmarks/clean_push.py [--runs N] [--quick]

Figures (2026-12-07, 2 cores shared, load ~2; medians of 7 runs of 500 pushes):
    5 beats   this tree 25.6 us   array path 54.2 us   (0.47x)
    7 beats   this tree 29.1 us   array path 63.3 us   (0.46x)
    50 beats  array path either way, 221.6 / 218.4 us
In the whole command, two runs of each benchmark against integ (shared machine):
benchmarks/replay.py --runs 1 (a 24 h replay): CPU 17.8 -> 17.1 s and
17.6 -> 16.0 s, printed lines identical (111,995); benchmarks/cli_help.py --runs 7
(the 900 s session): CPU median 354 -> 342 ms and 351 -> 328 ms, events identical.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable

import numpy as np

from biofeedback.signals import rr_clean
from biofeedback.signals.rr_clean import RRCleaner

WARM_BEATS = 200


class Pusher:
    """One live push + process of ``size`` beats a call, from a warmed cleaner."""

    def __init__(self, rr: np.ndarray, t: np.ndarray, size: int) -> None:
        self.rr, self.t, self.size = rr, t, size
        self._restart()

    def _restart(self) -> None:
        self.cleaner = RRCleaner()
        self.cleaner.push(self.t[:WARM_BEATS], self.rr[:WARM_BEATS])
        self.cleaner.process()
        self.at = WARM_BEATS

    def __call__(self) -> None:
        if self.at + self.size > self.rr.size:
            self._restart()
        at, size = self.at, self.size
        self.cleaner.push(self.t[at : at + size], self.rr[at : at + size], arrivals=[1] * size)
        self.cleaner.process()
        self.at = at + size


def timings_us(step: Callable[[], None], runs: int, number: int) -> list[float]:
    step()
    return [timeit.timeit(step, number=number) / number * 1e6 for _ in range(runs)]


def spread(us: list[float]) -> str:
    p90 = statistics.quantiles(us, n=10, method="inclusive")[-1] if len(us) > 1 else us[0]
    return (
        f"median {statistics.median(us):6.1f} us (p90 {p90:.1f}, range {min(us):.1f}-{max(us):.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="few pushes, one run")
    args = parser.parse_args()
    runs, number = (1, 20) if args.quick else (args.runs, 500)
    rng = np.random.default_rng(28)
    rr = 900.0 + rng.normal(0.0, 30.0, 4000)
    t = np.cumsum(rr) / 1000.0
    small = rr_clean.SMALL_PUSH_BEATS
    for size in (5, 7, 50):
        floats = timings_us(Pusher(rr, t, size), runs, number)
        rr_clean.SMALL_PUSH_BEATS = 0  # the array path alone, on the same beats
        try:
            array = timings_us(Pusher(rr, t, size), runs, number)
        finally:
            rr_clean.SMALL_PUSH_BEATS = small
        print(f"{size:2d} beats a push   this tree   {spread(floats)}")
        print(f"{'':16} array path  {spread(array)}")
        ratio = statistics.median(floats) / statistics.median(array)
        print(f"{'':16} = {ratio:.2f}x the array path's median, n={runs} x {number} pushes")


if __name__ == "__main__":
    main()
