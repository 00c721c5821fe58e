"""What one live estimate costs, against the vectorised per-tick path it replaced.

The live estimator keeps its beats in plain Python running sums
(``biofeedback/signals/live_beats.py``). The peer here does a tick the way the
estimator did before: push the notification's beats into ``RRCleaner``, decide
them, extend ``BeatWindows``/``FlagWindows`` and ``measure_windows`` at one time,
all numpy (without the baseline, quality gate and result object, which both
share: the ratio understates the gain a little). Same recording, same ticks,
same process. Goal (issue 13): <= 50 us median per estimate.
Run: .venv/bin/python benchmarks/estimator_cost.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biofeedback.models import HeartSample
from biofeedback.signals.arousal import ArousalEstimator, EstimatorConfig, measure_windows
from biofeedback.signals.hrv import BeatWindows, FlagWindows
from biofeedback.signals.rr_clean import RRCleaner
from tests.support.arousal_data import load_rr, samples_from_rr

RECORDING = "nsrdb_pyhrv_60min_nni.txt"
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


def _quick() -> bool:
    """``--quick``: tiny inputs, one run (tests/test_benchmarks.py runs it so)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    return bool(parser.parse_args().quick)


if __name__ == "__main__":
    # --quick: the same figures (a 60-minute recording is a few seconds' work).
    print("\n".join(cost_lines(1 if _quick() else 3)))
