"""How long `review --png` takes on a 24 h session whose strap keeps dropping out.

The 24 h store of benchmarks/store.py has a signal throughout; a real day has
gaps, and each one used to be hatched on its own. Here a day of one-second
estimates (the NSRDB extract of tests/data/rr, repeated) is written through the
recorder with ~900 dropouts of 2-40 s (seeded), then `biofeedback review day
--png` is run on it: CPU seconds (user + sys) of the command, median of 3 after
one untimed run, for this tree and, as the "before", for the package as it was
at ``--base`` (extracted with `git archive`, run from its own folder), and
how many pixels of the two PNGs differ (the picture should not change).

Goal (issue 28): `review --png` of a day <= 1.0 s.

Run: .venv/bin/python benchmarks/review_gaps.py [--quick] [--base REV]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from matplotlib.image import imread

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import base_tree, load_line, parse_args, spread, timed  # noqa: E402
from biofeedback.models import (  # noqa: E402
    Contact,
    Estimate,
    HeartSample,
    Quality,
    SessionEnded,
    SessionInfo,
)
from biofeedback.sensors.replay import beat_times, pack_beats  # noqa: E402
from biofeedback.store import RecorderSink  # noqa: E402

SHARED_RR = ROOT / "tests" / "data" / "rr" / "nsrdb_pyhrv_60min_nni.txt"
# The commit this benchmark was added on, before gaps were drawn as one shape.
BASE = "95942f3"


def dropouts(seconds: int, every_s: int, seed: int = 28) -> set[int]:
    """The seconds without a signal: a gap of 2-40 s in every ``every_s`` s."""
    rng = random.Random(seed)
    silent: set[int] = set()
    for start in range(every_s // 2, seconds - 40, every_s):
        at = start + rng.randrange(every_s // 2)
        silent.update(range(at, at + rng.randrange(2, 41)))
    return silent


async def record(db: Path, seconds: int, silent: set[int]) -> int:
    """A session of ``seconds`` one-second estimates, ``silent`` ones without a
    signal (and no beats); the number of gaps."""
    rr = [float(x) for x in SHARED_RR.read_text().split()]
    rr = rr * (seconds // 3000 + 1)
    samples = pack_beats(beat_times(rr), rr)[:seconds]
    sink = RecorderSink(db, virtual=True)
    await sink.start(SessionInfo("day", "full", "bench:dropouts", time.time()))
    for s in samples:
        n = round(s.t_s)
        if n in silent:
            await sink.handle(Estimate(s.t_s, None, None, None, Quality.NO_SIGNAL, 0.0))
            continue
        await sink.handle(HeartSample(s.t_s, s.hr_bpm, s.rr_ms, s.beat_t_s, Contact.DETECTED))
        await sink.handle(Estimate(s.t_s, s.hr_bpm, 42.0, 0.3, Quality.OK, 0.01))
    end_s = samples[-1].t_s
    await sink.handle(SessionEnded(end_s, "day", "completed", end_s))
    await sink.stop()
    return sum(1 for n in silent if n - 1 not in silent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=BASE, help="the commit timed as the before")
    args = parse_args(__doc__, parser)
    seconds = 3_600 if args.quick else 86_400
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "day.db"
        silent = dropouts(seconds, 96)
        gaps = asyncio.run(record(db, seconds, silent))
        print(
            f"{seconds / 3600:.3g} h session, {gaps} gaps, {len(silent)} s without a signal;"
            f" store {db.stat().st_size / 1e6:.1f} MB"
        )
        trees = {"after (this tree)": ROOT}
        old = base_tree(args.base, folder / "base")
        if old is not None:
            trees = {f"before ({args.base})": old, **trees}
        cpu_of: dict[str, float] = {}
        pngs: list[Path] = []
        for label, tree in trees.items():
            pngs.append(folder / f"day{len(pngs)}.png")
            argv = [sys.executable, "-m", "biofeedback", "review", "day", "--db", str(db)]
            argv += ["--png", str(pngs[-1])]
            # From the tree's own folder, so `-m biofeedback` is that tree's package.
            try:
                wall, cpu = timed(argv, runs, warm=not args.quick, cwd=tree)
            except subprocess.CalledProcessError as err:
                # An older tree refuses a store of a newer schema (exit 2, one line).
                why = err.stderr.decode().strip().splitlines()[-1:] or ["no message"]
                print(f"review --png, {label:<22} not measured: {why[0]}")
                pngs.pop()
                continue
            cpu_of[label] = statistics.median(cpu)
            print(
                f"review --png, {label:<22} CPU {spread(cpu, 1e3, 'ms')},"
                f" wall median {statistics.median(wall) * 1e3:.0f} ms"
            )
        if len(cpu_of) == 2:
            before, after = cpu_of.values()
            print(f"  before / after (CPU medians): {before / after:.2f}x (goal: <= 1.0 s)")
            old_px, new_px = (imread(png) for png in pngs)
            differ = int(np.any(old_px != new_px, axis=-1).sum())
            print(f"  pixels that differ between the two PNGs: {differ} of {old_px[..., 0].size}")
        print(load_line())


if __name__ == "__main__":
    main()
