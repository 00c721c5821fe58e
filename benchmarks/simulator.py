"""How fast the simulator makes beats, in virtual time.

Goal (issue 4): a 15-minute session's beats generated in under 50 ms. Prints,
for each scenario, the median wall time to produce every item (notifications,
gaps) of 15 simulated minutes and the beats per second that means; then the
cost of the heart model alone (beats without the strap), for scale.

    .venv/bin/python benchmarks/simulator.py [--runs N]

Issue 28, sixth round (2026-12-07, before = 3bd8ea8, a normal install, load ~1.7-2,
medians of 15 runs, each tree run twice in turn): the same beats to the bit
(tests/test_sim_beats.py pins items and truth on 11 scripted sessions) with less
Python per beat: the draws through a generator's ``__next__``, the slow wander
stepped on locals, the RSA swing worked out once a breath, no pressor or arousal
step while both rest at 0, a clean strap's beats without the detector's list, the
ending events checked against a tuple (``StepEnded | SessionEnded`` built a union at
every event heard). The chest: tensing looked for once a batch, and no brace or
tremor worked out in a batch without tensing (0 and +-0: the same sums to the bit).

    calm (the default)   8.39 -> 5.59 ms     heart only      4.84 -> 3.01 ms
    anxious              9.92 -> 7.40 ms     panic           9.53 -> 6.53 ms
    artifacts            8.19 -> 6.54 ms     dropouts        9.94 -> 6.81 ms
    breath-holder      112.5 -> 79.7 ms      fast-breather 120.9 -> 73.7 ms
    (a second pair of runs: calm 8.35 -> 5.71, breath-holder 117.5 -> 80.0 ms)

The two with a chest (acc_rate_hz 50) stay over the 50 ms goal: ~60 small numpy
calls a one-second batch (posture, the lung fill of its breaths, gravity, noise),
none of them on the default session's path.

Issue 28, seventh round (s35loop, before = 02481e4, 15 runs, load ~1): a sample built
by ``models.slots.builder`` (the same object as ``HeartSample(...)``): calm 5.00 ->
4.69 ms, non-responder 5.60 -> 4.73, panic 6.17 -> 5.45 (one run of the benchmark
each; others moved both ways with the load: artifacts 9.43 -> 5.16, ectopy 5.66 ->
6.48, dropouts 6.18 -> 5.66). In a session the heart also hears only the
events it acts on when no listener is set (no estimate goes through ``Heart.hear``):
tests/test_sim_fast_paths.py holds both to the plain path's items and truth; the
900 s session's instructions 1,198.0 M -> 1,188.7 M.
"""

from __future__ import annotations

import argparse
import statistics
import time

from simulators.scenario import load_scenario, scenario_names
from simulators.source import SimulatedSource

SESSION_S = 15 * 60.0
GOAL_S = 0.050


def session_items(name: str, seed: int) -> tuple[float, int]:
    """Wall seconds to make 15 minutes of items, and how many true beats that was."""
    source = SimulatedSource(name, seed=seed)
    start = time.perf_counter()
    for item in source.items():
        if item.t_s > SESSION_S:
            break
    elapsed = time.perf_counter() - start
    return elapsed, len(source.truth.beat_t_s)


def heart_only(name: str, seed: int) -> tuple[float, int]:
    source = SimulatedSource(name, seed=seed)
    heart = source.heart
    beats = 0
    start = time.perf_counter()
    while heart.next_beat() < SESSION_S:
        beats += 1
    return time.perf_counter() - start, beats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.runs = 1

    print(f"15 simulated minutes ({SESSION_S:.0f} s), median of {args.runs} runs")
    print(f"{'scenario':<15} {'beats':>6} {'ms':>8} {'beats/s':>12}  goal < {GOAL_S * 1000:.0f} ms")
    worst = 0.0
    for name in scenario_names():
        seed = load_scenario(name).seed
        runs = [session_items(name, seed + i) for i in range(args.runs)]
        elapsed = statistics.median(r[0] for r in runs)
        beats = int(statistics.median(r[1] for r in runs))
        worst = max(worst, elapsed)
        verdict = "ok" if elapsed < GOAL_S else "OVER"
        print(f"{name:<15} {beats:>6} {elapsed * 1000:>8.2f} {beats / elapsed:>12,.0f}  {verdict}")
    heart = [heart_only("calm", 1 + i) for i in range(args.runs)]
    heart_s = statistics.median(h[0] for h in heart)
    heart_beats = int(statistics.median(h[1] for h in heart))
    print(
        f"{'heart only':<15} {heart_beats:>6} {heart_s * 1000:>8.2f}"
        f" {heart_beats / heart_s:>12,.0f}  (calm, no strap)"
    )
    print(f"slowest scenario: {worst * 1000:.2f} ms = {worst / GOAL_S:.2f} x the 50 ms goal")


if __name__ == "__main__":
    main()
