"""Does the resonance assessment find the rate planted in the simulated heart?

Goal (issue 17): with planted resonance rates across 4.5-6.5 breaths/min and
20 seeds each, the assessment finds the rate within +-0.25 breaths/min in at
least 95 % of runs, in at most 15 minutes. Each run is a whole assessment
session through the real loop (estimator, controller, the stepped routine) on
the calm person with its planted rate changed; the result is the one the
session records. Prints the success rate and median error per planted rate,
and the session length.

Then the contractions figure: the heart-rate swing of 0.1 Hz contractions
(4 s gentle activation, 6 s release) against the same contractions at 12 a
minute (2.5 s and 2.5 s), on the simulator, at the pacing frequency.

    .venv/bin/python benchmarks/resonance.py [--seeds N] [--rates 4.5,4.75,...]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from biofeedback.cli import SessionRequest, build_session
from biofeedback.models import (
    HeartSample,
    ResonanceAssessed,
    SessionEvent,
    SessionInfo,
    StepKind,
    StepStarted,
)
from biofeedback.pacing.resonance_plan import AssessmentPlan
from simulators.scenario import load_scenario
from simulators.source import SimulatedSource

TOLERANCE_BPM = 0.25
GOAL_SHARE = 0.95
GOAL_S = 15 * 60.0


class _Collect:
    name = "collect"
    queue_size = 100_000

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, SessionEvent):
            self.events.append(item)

    async def stop(self) -> None:
        return None


async def one_run(
    planted_bpm: float, seed: int, plan: AssessmentPlan
) -> tuple[float | None, float]:
    calm = load_scenario("calm")
    person = dataclasses.replace(calm.person, resonance_bpm=planted_bpm)
    source = SimulatedSource(dataclasses.replace(calm, person=person), seed=seed)
    sink = _Collect()
    # `biofeedback resonance --sim --speed max`, on this planted person, not recorded.
    with tempfile.TemporaryDirectory() as folder:
        request = SessionRequest(
            sim="calm",
            assessment=plan,
            speed=None,
            audio="off",
            db=str(Path(folder) / "bench.db"),
            record=False,
        )
        session = build_session(request, source=source, sinks=[sink], session_id=f"bench-{seed}")
        result = await session.run()
    found = next(e for e in sink.events if isinstance(e, ResonanceAssessed))
    return found.best_rate_bpm, result.duration_s


def contraction_swing_bpm(tense_s: float, release_s: float, seeds: int) -> float:
    """Median HR swing (peak-to-trough of the fitted wave) at the contraction rate."""
    swings = []
    for seed in range(seeds):
        source = SimulatedSource("calm", seed=seed)
        script: list[StepStarted] = []
        t = 60.0
        while t < 420.0:
            script.append(_step(t, StepKind.TENSE))
            script.append(_step(t + tense_s, StepKind.RELEASE))
            t += tense_s + release_s
        beats_t: list[float] = []
        rr: list[float] = []
        i = 0
        for item in source.items():
            while i < len(script) and script[i].t <= item.t_s:
                source.observe(script[i])
                i += 1
            if item.t_s > 420.0:
                break
            if isinstance(item, HeartSample):
                beats_t += item.beat_t_s
                rr += item.rr_ms
        bt, hr = np.array(beats_t), 60000.0 / np.array(rr)
        keep = bt > 120.0
        bt, hr = bt[keep], hr[keep]
        freq = 1.0 / (tense_s + release_s)
        phasor = np.mean((hr - hr.mean()) * np.exp(-2j * np.pi * freq * bt))
        swings.append(4.0 * abs(phasor))
    return float(statistics.median(swings))


def _step(t_s: float, kind: StepKind) -> StepStarted:
    return StepStarted(t_s, f"{kind}-{t_s:g}", kind, "hips", "", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rates", default="4.5,4.75,5,5.25,5.5,5.75,6,6.25,6.5")
    parser.add_argument("--step-s", type=float, default=AssessmentPlan().step_s)
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.rates = 1, "5.5"
    planted_rates = [float(r) for r in args.rates.split(",")]
    plan = AssessmentPlan(step_s=args.step_s)

    print(
        f"assessment: rates {', '.join(f'{r:g}' for r in plan.rates_bpm)} breaths/min,"
        f" {plan.step_s:g} s each; {args.seeds} seeds per planted rate"
    )
    print(f"{'planted':>8} {'found':>6} {'share':>7} {'median |err|':>13} {'worst':>7}")
    all_hits = 0
    total = 0
    lengths: list[float] = []
    started = time.perf_counter()
    for planted in planted_rates:
        errors = []
        for seed in range(args.seeds):
            found, length_s = asyncio.run(one_run(planted, seed, plan))
            lengths.append(length_s)
            errors.append(abs(found - planted) if found is not None else float("inf"))
        hits = sum(e <= TOLERANCE_BPM + 1e-9 for e in errors)
        all_hits += hits
        total += len(errors)
        print(
            f"{planted:>8g} {hits:>6d} {hits / len(errors):>7.0%}"
            f" {statistics.median(errors):>13.3f} {max(errors):>7.3f}"
        )
    share = all_hits / total
    verdict = "ok" if share >= GOAL_SHARE else "BELOW GOAL"
    print(f"overall: {all_hits}/{total} = {share:.1%} within +-{TOLERANCE_BPM} ({verdict})")
    longest = max(lengths)
    print(
        f"session length: {longest / 60:.1f} min (goal <= {GOAL_S / 60:.0f});"
        f" wall {time.perf_counter() - started:.0f} s for {total} sessions"
    )

    swing_seeds = 1 if args.quick else 10
    slow = contraction_swing_bpm(4.0, 6.0, swing_seeds)
    fast = contraction_swing_bpm(2.5, 2.5, swing_seeds)
    print(
        f"contractions (calm, resonance 5.5/min, 10 seeds): HR swing at 6/min (0.1 Hz)"
        f" {slow:.2f} bpm vs 12/min {fast:.2f} bpm: x{slow / fast:.1f}"
    )


if __name__ == "__main__":
    main()
