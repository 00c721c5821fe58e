"""How closely a stored session replays its breath when its chest motion was not
kept (`run --replay STORE#SESSION` of a session recorded without --keep-raw: the
motion rebuilt from the breaths table and the held breaths), and what review's
breathed rate per paced span reads from the breaths beside the running rate it
read before.

Each simulated session with chest motion (breath-holder, fast-breather; several
seeds) is recorded by the CLI without --keep-raw, then replayed from its store.
Per session: breaths counted again (replayed over recorded), the median breath
length's error, the halves' and depth's, holds seen again (within 1.5 s of
their start) and how far off, reminders in the same steps. Per paced span: the
breathed rate from the breaths (now) and from the running rate over the span's
second half (before), each against the pace.

Run: .venv/bin/python benchmarks/replay_breaths.py [--quick]
"""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import load_line, parse_args, runs_of, spread  # noqa: E402
from biofeedback.models import (  # noqa: E402
    BreathHeld,
    BreathReminder,
    Recording,
    StepStarted,
)
from biofeedback.review import summarize  # noqa: E402
from biofeedback.store import Store  # noqa: E402

RUN = ["--headless", "--speed", "max", "--audio", "off", "--no-ratings", "--no-profile"]


def run(db: Path, *args: str) -> str:
    argv = [sys.executable, "-m", "biofeedback", "run", *args, *RUN, "--db", str(db)]
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    with Store(db) as store:
        return store.session().session_id


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pct(values: list[float]) -> str:
    """A spread of shares or ratios, as the figures module prints timings."""
    return spread(values, 1.0, "")


def main() -> None:
    args = parse_args(__doc__)
    seconds = 240 if args.quick else 900
    seeds = (1,) if args.quick else (1, 2, 3, 4, 5)
    scenarios = ("breath-holder",) if args.quick else ("breath-holder", "fast-breather")
    print(load_line())
    print(f"{seconds} s a session, seeds {seeds[0]}-{seeds[-1]}, recorded without --keep-raw")
    for name in scenarios:
        counts: list[float] = []
        length_err: list[float] = []
        half_err: list[float] = []
        depth_err: list[float] = []
        holds_seen: list[float] = []
        hold_start: list[float] = []
        hold_len: list[float] = []
        extra_holds: list[float] = []
        same_steps = 0
        reminded = 0
        same_course = 0
        differ: list[str] = []
        now_vs_pace: list[float] = []
        before_vs_pace: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in seeds:
                db = Path(tmp) / f"{name}-{seed}.db"
                live = run(db, "--sim", name, "--seed", str(seed), "--duration", str(seconds))
                again = run(db, "--replay", f"{db}#{live}")
                with Store(db) as store:
                    a, b = store.load(live), store.load(again)
                counts.append(len(b.breaths) / max(len(a.breaths), 1))
                la = median([x.inhale_s + x.exhale_s for x in a.breaths])
                lb = median([x.inhale_s + x.exhale_s for x in b.breaths])
                length_err.append(abs(lb - la) / la)
                for part in ("inhale_s", "exhale_s"):
                    pa = median([getattr(x, part) for x in a.breaths])
                    pb = median([getattr(x, part) for x in b.breaths])
                    half_err.append(abs(pb - pa))
                da = median([x.depth_mg for x in a.breaths])
                db_ = median([x.depth_mg for x in b.breaths])
                depth_err.append(abs(db_ - da) / da)
                ha = [e for e in a.events if isinstance(e, BreathHeld)]
                hb = [e for e in b.events if isinstance(e, BreathHeld)]
                seen = 0
                for h in ha:
                    near = [g for g in hb if abs(g.started_t - h.started_t) <= 1.5]
                    if near:
                        seen += 1
                        hold_start.append(abs(near[0].started_t - h.started_t))
                        hold_len.append(abs(near[0].duration_s - h.duration_s))
                if ha:
                    holds_seen.append(seen / len(ha))
                extra_holds.append(len(hb) - seen)
                steps_a = [e.step for e in a.events if isinstance(e, BreathReminder)]
                steps_b = [e.step for e in b.events if isinstance(e, BreathReminder)]
                reminded += bool(steps_a)
                same_steps += bool(steps_a) and steps_a == steps_b
                same_course += _course(a) == _course(b)
                if steps_a != steps_b:
                    differ.append(f"seed {seed}: {len(steps_a)} -> {len(steps_b)}")
                now, before = _spans(a)
                now_vs_pace += now
                before_vs_pace += before
        print(f"\n{name}")
        print(f"  breaths replayed / recorded: {spread(counts, 100.0, '%')}")
        print(f"  median breath length, error: {spread(length_err, 100.0, '%')}")
        print(f"  median in- and out-breath, error: {spread(half_err, 1.0, 's')}")
        print(f"  median depth, error: {spread(depth_err, 100.0, '%')}")
        if holds_seen:
            print(f"  holds seen again (share of a session's): {spread(holds_seen, 100.0, '%')}")
            print(f"  held again, start off by: {spread(hold_start, 1.0, 's')}")
            print(f"  held again, length off by: {spread(hold_len, 1.0, 's')}")
        print(f"  holds in the replay only, a session: {pct(extra_holds)}")
        print(f"  reminded in the same steps: {same_steps} of {reminded} reminded sessions")
        if differ:
            print(f"    reminders counted, recorded -> replayed: {'; '.join(differ)}")
        print(f"  every step started when it did: {same_course} of {len(seeds)} sessions")
        if now_vs_pace:
            print("  breathed minus paced per paced span (a minute):")
            print(f"    from the breaths (now):           {spread(now_vs_pace, 1.0, '')}")
            print(f"    running rate, second half (before): {spread(before_vs_pace, 1.0, '')}")
    _cost(1.0 if args.quick else 24.0, 1 if args.quick else 3)


def _cost(hours: float, runs: int) -> None:
    """Rebuilding the chest motion itself, for a long session (its breaths drawn at
    random, a hold in every 50th, a 20 s stretch without breath in every 100th)."""
    import numpy as np

    from biofeedback.models import BreathTaken
    from biofeedback.sensors.replay_breaths import chest_motion

    rng = np.random.default_rng(0)
    breaths: list[BreathTaken] = []
    t = 1.0
    while t < hours * 3600.0:
        in_s, out_s = float(rng.uniform(1.5, 2.5)), float(rng.uniform(2.0, 3.5))
        if rng.random() < 0.01:
            t += 20.0
        breaths.append(BreathTaken(t + in_s + out_s, t, in_s, out_s, 12.0))
        t += in_s + out_s
    holds = [(b.onset_t_s + b.inhale_s, 3.0) for b in breaths[::50]]
    samples = sum(len(m.x_mg) for m in chest_motion(breaths, holds))
    wall = runs_of(lambda: sum(1 for _ in chest_motion(breaths, holds)), runs)
    print(
        f"\nrebuilding {hours:g} h of chest motion ({len(breaths)} breaths,"
        f" {samples} samples at 25 Hz): {spread(wall)}"
    )


def _course(rec: Recording) -> list[tuple[float, str]]:
    """When each step started: a replay that decided otherwise (an extension) moves them."""
    return [(e.t, e.step) for e in rec.events if isinstance(e, StepStarted)]


def _spans(rec: Recording) -> tuple[list[float], list[float]]:
    """|breathed - paced| per paced span: from the breaths, and from the running rate
    (what review read before: the same record without its breaths table)."""
    now = summarize(rec).breath
    before = summarize(dataclasses.replace(rec, breaths=())).breath
    if now is None or before is None:
        return [], []
    pairs = [
        (p, q)
        for p, q in zip(now.paced, before.paced, strict=True)
        if p.source == "breaths" and q.breathed_per_min is not None
    ]
    return (
        [abs(p.breathed_per_min - p.paced_per_min) for p, _ in pairs if p.breathed_per_min],
        [abs(q.breathed_per_min - q.paced_per_min) for _, q in pairs if q.breathed_per_min],
    )


if __name__ == "__main__":
    main()
