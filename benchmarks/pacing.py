"""What the pacing does with each simulated person, and how fast a session runs.

Prints, per scenario over several seeds: extensions, step-downs and step-ups,
seconds from the injected onset to the first step-down and to Red, session
length (each session built as `run` builds it, by ``build_session``). Then the
wall time of a 15-minute session in virtual time as `run` wires it (with and
without the recorder), the same session on the bare loop (simulator, estimator,
controller only, as this benchmark measured it before; goal < 0.5 s), and what
each part costs on its own over the same data.

    .venv/bin/python benchmarks/pacing.py [--seeds N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.session import Sink, VirtualClock, run_session
from biofeedback.models import (
    ArousalEstimate,
    HeartSample,
    SessionEvent,
    SessionInfo,
    StepExtended,
    Zone,
    ZoneChanged,
)
from biofeedback.pacing.controller import PacingController
from biofeedback.routines.protocols import load_protocol
from biofeedback.signals.arousal import ArousalEstimator
from biofeedback.store import RecorderSink
from simulators.source import SimulatedSource, scenario_names


class CountingSink:
    name = "events"
    queue_size = 1_000_000

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    async def start(self, info: SessionInfo) -> None:
        pass

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, SessionEvent):
            self.events.append(item)

    async def stop(self) -> None:
        pass


def controller(protocol: str = "full", *, sides: bool = False) -> PacingController:
    return PacingController(
        load_protocol(protocol, sides=sides),
    )


@dataclass
class Row:
    extensions: int
    downs: int
    ups: int
    to_down_s: float | None
    to_red_s: float | None
    length_s: float


def request(scenario: str, seed: int, folder: str, **changes: Any) -> SessionRequest:
    """`run --sim SCENARIO --seed SEED --zone green --speed max`, no profile or sound, on
    a store of its own (``changes``: other fields)."""
    asked = SessionRequest(
        sim=scenario,
        seed=seed,
        protocol="full",
        zone="green",
        speed=None,
        audio="off",
        use_profile=False,
        db=str(Path(folder) / f"{scenario}-{seed}.db"),
        record=False,
    )
    return dataclasses.replace(asked, **changes)


async def one(scenario: str, seed: int) -> Row:
    sink = CountingSink()
    with tempfile.TemporaryDirectory() as folder:
        plan = build_session(request(scenario, seed, folder), sinks=[sink])
        result = await plan.run()
    source = plan.source
    assert isinstance(source, SimulatedSource)
    zones = [e for e in sink.events if isinstance(e, ZoneChanged)]
    downs = [z for z in zones if z.to_zone.rank > z.from_zone.rank]
    onsets = source.scenario.onsets_s
    to_down = to_red = None
    if onsets:
        after = [z for z in downs if z.t >= onsets[0]]
        to_down = after[0].t - onsets[0] if after else None
        red = [z for z in after if z.to_zone is Zone.RED]
        to_red = red[0].t - onsets[0] if red else None
    return Row(
        extensions=sum(isinstance(e, StepExtended) and e.step != "settle" for e in sink.events),
        downs=len(downs),
        ups=len(zones) - len(downs),
        to_down_s=to_down,
        to_red_s=to_red,
        length_s=result.duration_s,
    )


def fmt(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    if len(known) < len(values):
        return f"{statistics.median(known):.0f} ({len(values) - len(known)} none)"
    return f"{statistics.median(known):.0f} [{min(known):.0f}-{max(known):.0f}]"


async def scenarios(seeds: int) -> None:
    print(f"per scenario, protocol full, seeds 0-{seeds - 1} (median [min-max])")
    header = (
        f"{'scenario':<14}{'extensions':>12}{'step-downs':>12}{'step-ups':>10}"
        f"{'onset->down s':>18}{'onset->red s':>18}{'length s':>18}"
    )
    print(header)
    for name in scenario_names():
        rows = [await one(name, seed) for seed in range(seeds)]
        print(
            f"{name:<14}"
            f"{statistics.median(r.extensions for r in rows):>12.0f}"
            f"{statistics.median(r.downs for r in rows):>12.0f}"
            f"{statistics.median(r.ups for r in rows):>10.0f}"
            f"{fmt([r.to_down_s for r in rows]):>18}"
            f"{fmt([r.to_red_s for r in rows]):>18}"
            f"{fmt([r.length_s for r in rows]):>18}"
        )


async def session_15_min(*, record: bool) -> tuple[float, int]:
    """A 15-minute session as `run` wires it (build_session), timed from its start."""
    with tempfile.TemporaryDirectory() as folder:
        asked = request("panic", 0, folder, sides=True, duration_s=900.0, record=record)
        plan = build_session(asked, sinks=[CountingSink()])
        start = time.perf_counter()
        result = await plan.run()
        return time.perf_counter() - start, result.events


async def bare_loop_15_min() -> float:
    """The same session on the loop with the bare estimator and controller (no
    resonance indicator) and the recorder: what this benchmark timed before sessions
    were built by build_session, for comparison with its earlier figures."""
    source = SimulatedSource("panic", seed=0)
    info = SessionInfo("bench", "full", source.description, 0.0)
    with tempfile.TemporaryDirectory() as folder:
        sinks: list[Sink] = [CountingSink(), RecorderSink(Path(folder) / "bench.db")]
        start = time.perf_counter()
        await run_session(
            source,
            ArousalEstimator(),
            controller(sides=True),
            sinks,
            VirtualClock(),
            info,
            duration_s=900.0,
        )
        return time.perf_counter() - start


def spread(values: Sequence[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):.0f} ms, p90 {p90:.0f}, range {ms[0]:.0f}-{ms[-1]:.0f}"


def parts_alone() -> tuple[float, float, float]:
    """Simulator, estimator and controller each on their own over the same 900 s."""
    source = SimulatedSource("panic", seed=0)
    items = source.items()
    start = time.perf_counter()
    samples: list[HeartSample] = []
    for item in items:
        if item.t_s > 900.0:
            break
        if isinstance(item, HeartSample):
            samples.append(item)
    sim_s = time.perf_counter() - start

    estimator = ArousalEstimator()
    estimates: list[ArousalEstimate] = []
    start = time.perf_counter()
    i = 0
    for second in range(1, 901):
        while i < len(samples) and samples[i].t_s <= second:
            estimator.add_sample(samples[i])
            i += 1
        estimates.append(estimator.estimate(float(second)))
    est_s = time.perf_counter() - start

    pacing = controller(sides=True)
    start = time.perf_counter()
    pacing.start(0.0)
    for est in estimates:
        pacing.on_estimate(est.t_s, est)
    ctl_s = time.perf_counter() - start
    return sim_s, est_s, ctl_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.runs = 1, 1
    asyncio.run(scenarios(args.seeds))

    print()
    for record in (True, False):
        runs = [asyncio.run(session_15_min(record=record)) for _ in range(args.runs)]
        timings = [wall_s for wall_s, _ in runs]
        note = "with the SQLite recorder" if record else "no recorder"
        print(
            f"15-min session (panic, full --sides, 900 s virtual) as `run` wires it, {note}:"
            f" {spread(timings)} over {args.runs} runs, {runs[0][1]} events"
            f"  ({900 / statistics.median(timings):.0f}x real time)"
        )
    bare = [asyncio.run(bare_loop_15_min()) for _ in range(args.runs)]
    median = statistics.median(bare)
    print(
        f"  the loop with the bare estimator and controller and the recorder (as this"
        f" benchmark measured before build_session): {spread(bare)} (goal < 500 ms)"
    )
    parts = [parts_alone() for _ in range(args.runs)]
    sim_s, est_s, ctl_s = (statistics.median(p[k] for p in parts) for k in range(3))
    print(
        f"  alone over the same 900 s: simulator {sim_s * 1000:.0f} ms,"
        f" estimator {est_s * 1000:.0f} ms, controller {ctl_s * 1000:.1f} ms"
        f" ({ctl_s / 900 * 1e6:.0f} us per tick);"
        f" the loop and sinks add {(median - sim_s - est_s - ctl_s) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
