"""What the RR cleaner costs (issue 28), this tree beside the cleaner of ``--base``
in the same process, interleaved, on the same beats, CPU time (process_time):
a whole recording, 100,000 beats as benchmarks/arousal.py's speed table builds
them, pushed and decided at once (``estimate_series``' cleaning), with this tree's
stages and the minor page faults of each (the kernel zero-fills every fresh page:
a few hundred per array of 100,000 floats). The live path cleans beat by beat in
floats (``live_beats.LiveCleaner``: benchmarks/estimator_cost.py).

Each line says whether both cleaners gave the same chunks to the bit (every field,
bytes and dtype). The before is ``--base``'s rr_clean.py loaded beside this tree
(with this tree's buffers.py and median.py, whose old behaviour it keeps).
Medians of --runs timings.

    .venv/bin/python benchmarks/clean_push.py [--runs N] [--base REV] [--quick]

Figures (2026-12-07, 2 cores shared with six other sessions, load 7-8; two runs
of the benchmark, medians of 9 runs each; before = 4fed2a8; chunks the same to
the bit in every line):
    whole recording, 100,000  8.1 -> 5.0 ms (0.62x),  7.7 -> 4.8 ms (0.62x)
        this tree: push 2.4-2.5 ms, process 1.7-2.0 ms
The page faults printed are this process's, whose allocator has pages to reuse
by then (0 here). In a call that must map fresh pages, as estimate_series' is,
this tree's cleaning takes ~1,360 (push 945: the beats, their medians, thresholds
and running sums, the medians' scratch; process 415: the corrected beats) where
the before took ~2,700; each costs about a microsecond of system time.
Where this tree's batch time goes: window medians ~1.0 ms (two windows of 11 at
a time through a pruned network of 48 min/max), thresholds ~0.4 ms, the beats'
copies and running sums ~1 ms; judging ~0.6 ms (only beats beyond their
threshold, then only those with a jump, an outlier or 1.5 medians: ~4,000 of
100,000), corrections ~1 ms (three new arrays of corrected beats when a beat is
split or merged).
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import base_tree, load_line
from biofeedback.signals import rr_clean
from tests.support.arousal_data import load_rr

FIELDS = ("raw_t_s", "raw_rr_ms", "kind", "raw_available_s", "t_s", "nn_ms", "available_s")
BASE = "4fed2a8"


def digest(chunks: list[object]) -> bytes:
    return b"".join(
        str(getattr(c, f).dtype).encode() + getattr(c, f).tobytes() for c in chunks for f in FIELDS
    )


def per_call_us(step: Callable[[], object], number: int) -> float:
    start = time.process_time_ns()
    for _ in range(number):
        step()
    return (time.process_time_ns() - start) / number / 1e3


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def before_module(rev: str, folder: Path) -> ModuleType | None:
    """``rev``'s rr_clean.py as a module of its own (None when git cannot give it)."""
    tree = base_tree(rev, folder)
    if tree is None:
        return None
    path = tree / "biofeedback" / "signals" / "rr_clean.py"
    spec = importlib.util.spec_from_file_location("before_rr_clean", path)
    if spec is None or spec.loader is None:
        print(f"before ({rev}): no {path}")
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def compare(
    label: str, make: Callable[[ModuleType], Callable[[], object]], before: ModuleType | None,
    runs: int, number: int, unit: str,
) -> None:  # fmt: skip
    scale = 1e-3 if unit == "ms" else 1.0
    ours = make(rr_clean)
    theirs = make(before) if before is not None else None
    mine, old = [], []
    for _ in range(runs):
        if theirs is not None:
            old.append(per_call_us(theirs, number) * scale)
        mine.append(per_call_us(ours, number) * scale)
    line = f"  {label:<24} this tree {statistics.median(mine):8.1f} {unit}"
    line += f" (range {min(mine):.1f}-{max(mine):.1f})"
    if theirs is not None:
        a, b = statistics.median(old), statistics.median(mine)
        same = digest(ours.chunks) == digest(theirs.chunks)  # type: ignore[attr-defined]
        line += (
            f"; before {a:.1f} {unit} -> {b / a:.2f}x; chunks {'the same' if same else 'DIFFER'}"
        )
    print(line)


class Batch:
    """Push and decide a whole recording at once, keeping the chunk."""

    def __init__(self, module: ModuleType, rr: np.ndarray, t: np.ndarray) -> None:
        self.module, self.rr, self.t = module, rr, t
        self.chunks: list[object] = []

    def __call__(self) -> None:
        cleaner = self.module.RRCleaner()
        cleaner.push(self.t, self.rr)
        self.chunks = [cleaner.process(final=True)]


def stages(rr: np.ndarray, t: np.ndarray, runs: int) -> None:
    """This tree's push and process of a whole recording: CPU and page faults."""
    push_ms, process_ms, push_flt, process_flt = [], [], [], []
    for _ in range(runs):
        cleaner = rr_clean.RRCleaner()
        f0, c0 = faults(), time.process_time_ns()
        cleaner.push(t, rr)
        f1, c1 = faults(), time.process_time_ns()
        cleaner.process(final=True)
        f2, c2 = faults(), time.process_time_ns()
        push_ms.append((c1 - c0) / 1e6)
        process_ms.append((c2 - c1) / 1e6)
        push_flt.append(f1 - f0)
        process_flt.append(f2 - f1)
    med = statistics.median
    print(
        f"  {'':<24} this tree's stages: push {med(push_ms):.1f} ms ({med(push_flt):,.0f} page"
        f" faults), process {med(process_ms):.1f} ms ({med(process_flt):,.0f} page faults)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--base", default=BASE, help="the commit whose cleaner is the before")
    parser.add_argument("--quick", action="store_true", help="10,000 beats, one run")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    size = 10_000 if args.quick else 100_000
    rec = load_rr("nsrdb_pyhrv_60min_nni.txt")
    big = np.tile(rec, int(np.ceil(size / rec.size)))[:size]
    big_t = np.cumsum(big) / 1000.0
    with tempfile.TemporaryDirectory() as tmp:
        before = before_module(args.base, Path(tmp))
    print(f"RR cleaner, this tree beside {args.base}'s (CPU, medians of {runs} runs)")
    compare(
        f"whole recording, {size:,}", lambda m: Batch(m, big, big_t),
        before, runs, 1 if args.quick else 3, "ms",
    )  # fmt: skip
    stages(big, big_t, runs)
    print(f"  {load_line()}")


if __name__ == "__main__":
    main()
