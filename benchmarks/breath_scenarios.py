"""The breath in the loop over many seeds: reminders, meeting a fast breather.

    python -m benchmarks.breath_scenarios [--seeds 20] [--protocol full]

Each seed runs a whole simulated session (virtual clock) through the real
session loop, estimators and controller, with the simulated strap's chest motion:

- ``breath-holder``: reminded on the first tense step in which they truly held
  their breath (the simulator's truth), and how many reminders in all;
- ``calm``: reminders (should be none) and pace changes (none);
- ``fast-breather``: met near their own rate, and whether the pace glided down
  to the step's.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio

import numpy as np

from biofeedback.models import BreathReminder, PaceChanged, StepStarted
from tests.support.breath import BreathRun, breath_session


def _session(scenario: str, seed: int, protocol: str) -> BreathRun:
    # The session as `run` wires it, with the chest streamed (tests/support/breath.py).
    return asyncio.run(breath_session(scenario, seed, protocol))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--protocol", default="full")
    parser.add_argument("--quick", action="store_true", help="one seed: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = 1
    seeds = range(1, args.seeds + 1)

    reminded_first = 0
    counts: list[int] = []
    delays: list[float] = []
    for seed in seeds:
        run = _session("breath-holder", seed, args.protocol)
        reminders = [e for e in run.events if isinstance(e, BreathReminder)]
        counts.append(len(reminders))
        first = run.first_held_tense_step()
        if first is not None and any(r.step == first for r in reminders):
            reminded_first += 1
            start = next(e.t for e in run.events if isinstance(e, StepStarted) and e.step == first)
            delays.append(next(r.t for r in reminders if r.step == first) - start)
    print(f"breath-holder ({args.protocol}, {args.seeds} seeds):")
    print(f"  reminded on the first held tense step: {reminded_first}/{args.seeds} (goal >= 19/20)")
    print(
        f"  seconds from that step's start to the reminder: median {np.median(delays):.1f},"
        f" range {min(delays):.0f}-{max(delays):.0f}"
    )
    print(f"  reminders a session: median {np.median(counts):g}, range {min(counts)}-{max(counts)}")

    calm_reminders = []
    calm_paces = []
    for seed in seeds:
        run = _session("calm", seed, args.protocol)
        calm_reminders.append(sum(isinstance(e, BreathReminder) for e in run.events))
        calm_paces.append(sum(isinstance(e, PaceChanged) for e in run.events))
    print(f"calm ({args.seeds} seeds):")
    print(f"  reminders: {sum(calm_reminders)} in all (goal 0); pace changes: {sum(calm_paces)}")

    met = glided = 0
    start_ratio: list[float] = []
    for seed in seeds:
        run = _session("fast-breather", seed, args.protocol)
        paced = {
            e.step: 60.0 / (e.breath_in_s + e.breath_out_s)
            for e in run.events
            if isinstance(e, StepStarted) and e.breath_in_s and e.breath_out_s
        }
        changes = [e for e in run.events if isinstance(e, PaceChanged)]
        if not changes:
            continue
        met += 1
        opening = changes[0]
        start_ratio.append(
            60.0 / (opening.breath_in_s + opening.breath_out_s) / paced[opening.step]
        )
        by_step: dict[str, list[PaceChanged]] = {}
        for change in changes:
            by_step.setdefault(change.step, []).append(change)
        if any(
            abs(60.0 / (g[-1].breath_in_s + g[-1].breath_out_s) - paced[s]) < 0.2
            for s, g in by_step.items()
        ):
            glided += 1
    print(f"fast-breather ({args.seeds} seeds):")
    print(
        f"  met near their rate: {met}/{args.seeds}; the pace glided down to the step's:"
        f" {glided}/{args.seeds}"
    )
    if start_ratio:
        print(
            f"  first pace over the step's: median {np.median(start_ratio):.1f}x,"
            f" range {min(start_ratio):.1f}-{max(start_ratio):.1f}x"
        )


if __name__ == "__main__":
    main()
