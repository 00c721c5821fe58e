"""Memory and time of reading what a person hands us (issue 16).

1. Peak memory of a 24 h replay: the 60-minute NSRDB extract of tests/data/rr
   written 24 times into one RR file (~100,000 real beats), replayed by the CLI
   as a user runs it (`biofeedback run --replay FILE --headless --speed max`,
   recorder included), in a child process; its peak RSS beside that of the
   same command on the 5-minute extract (the interpreter, imports and one
   short session: the floor).
2. Peak memory of a 50 MB RR file: the replay source checks the whole file
   and then yields every notification (what a session pulls from it), in a
   child process; peak RSS and its ratio to the file's size (goal <= 5x), and
   the increase over a child that only imports the same modules. A session on
   it is not run: 50 MB of beats is ~80 days of heart.
3. Protocol validation of 100,000 steps (goal < 1 s): parse_protocol on the
   parsed data, and on a TOML file's text (TOML parsing included; such a file
   is over the 1 MB cap, so --protocol itself refuses it in one line).

Run: .venv/bin/python benchmarks/hardening.py
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biofeedback.pacing.protocols import (  # noqa: E402
    ProtocolError,
    load_protocol_file,
    parse_protocol,
)
from biofeedback.store import Store  # noqa: E402
from biofeedback.store.database import QUICK_CHECK_S  # noqa: E402

RR_DIR = ROOT / "tests" / "data" / "rr"
MB = 1 << 20
DAY_S = 24 * 3600.0
# Sizes (--quick makes them tiny).
RR_FILE_MB = 50
PROTOCOL_STEPS = 100_000


def child_peak_mb(code: str, *args: str) -> tuple[float, float]:
    """Run ``python -c code args`` alone; (its peak RSS in MB, wall seconds)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    wall_s = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {proc.stderr.strip()[-400:]}")
    return float(proc.stdout.strip().splitlines()[-1]), wall_s


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent.
PEAK = (
    "print(next(int(line.split()[1]) for line in open('/proc/self/status')"
    " if line.startswith('VmHWM')) / 1024)"
)

RUN_CLI = f"""
import sys
sys.argv = ["biofeedback", *sys.argv[1:]]
from biofeedback.cli import main
code = main()
assert code == 0, code
{PEAK}
"""

READ_FILE = f"""
import asyncio, sys
from biofeedback.sensors.replay import open_rr_file
async def pull():
    source = open_rr_file(sys.argv[1])
    n = 0
    async with source:
        async for _ in source:
            n += 1
    return n
assert asyncio.run(pull()) > 0
{PEAK}
"""

IMPORTS_ONLY = f"""
import asyncio
from biofeedback.sensors import replay
{PEAK}
"""


def day_protocol(folder: Path) -> Path:
    """A green routine of tense/release cycles a day long (the built-in ones end sooner)."""
    regions = ["feet", "calves", "thighs", "hands", "shoulders", "face"]
    parts = ['name = "day"\ntitle = "Day"\nzone = "green"\n']
    for n in range(int(DAY_S // 40) + 2):
        region = regions[n % len(regions)]
        parts.append(
            f'[[steps]]\nregion = "{region}"\nid = "g{n}"\ntense = "Tense."\n'
            'release = "Let go."\ntense_s = 10\nrelease_s = 30\n'
        )
    path = folder / "day.toml"
    path.write_text("".join(parts))
    return path


def replay_24h(folder: Path) -> None:
    hour = (RR_DIR / "nsrdb_pyhrv_60min_nni.txt").read_text()
    day = folder / "day.txt"
    day.write_text(hour * 24)
    beats = sum(1 for line in day.read_text().splitlines() if line.strip())
    protocol = day_protocol(folder)
    run = ("run", "--headless", "--speed", "max", "--zone", "green", "--protocol", str(protocol))
    floor_mb, floor_s = child_peak_mb(
        RUN_CLI, *run, "--replay", str(RR_DIR / "nsrdb_pyhrv_5min_nni.txt"),
        "--db", str(folder / "floor.db"),
    )  # fmt: skip
    peak_mb, wall_s = child_peak_mb(
        RUN_CLI, *run, "--replay", str(day), "--db", str(folder / "day.db"),
        "--duration", str(DAY_S),
    )  # fmt: skip
    review = subprocess.run(
        [sys.executable, "-m", "biofeedback", "review", "--json", "--db", str(folder / "day.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(review.stdout)
    size_mb = day.stat().st_size / MB
    opens_s = []
    for _ in range(3):
        started = time.perf_counter()
        Store(folder / "day.db").close()
        opens_s.append(time.perf_counter() - started)
    store_mb = (folder / "day.db").stat().st_size / MB
    print(
        f"24 h replay ({beats} beats, file {size_mb:.2f} MB;"
        f" session {summary['duration_s'] / 3600:.1f} h,"
        f" {summary['beats']} beats stored), CLI with recorder: peak RSS {peak_mb:.0f} MB"
        f" in {wall_s:.0f} s; a 5-minute replay peaks at {floor_mb:.0f} MB in {floor_s:.1f} s"
        f" (the day adds {peak_mb - floor_mb:.0f} MB)"
    )
    print(
        f"opening that {store_mb:.1f} MB store with its quick_check: median"
        f" {statistics.median(opens_s) * 1000:.0f} ms (the check gives up after"
        f" {QUICK_CHECK_S:g} s on bigger stores)"
    )


def rr_file_50mb(folder: Path) -> None:
    path = folder / "big.txt"
    rng = random.Random(16)
    with path.open("w") as fh:
        written = 0
        while written < RR_FILE_MB * MB:
            chunk = "".join(f"{rng.uniform(600.0, 1100.0):.1f}\n" for _ in range(10_000))
            fh.write(chunk)
            written += len(chunk)
    size_mb = path.stat().st_size / MB
    base_mb, _ = child_peak_mb(IMPORTS_ONLY)
    peak_mb, wall_s = child_peak_mb(READ_FILE, str(path))
    print(
        f"{RR_FILE_MB} MB RR file ({size_mb:.1f} MB): checked and replayed in {wall_s:.0f} s,"
        f" peak RSS {peak_mb:.0f} MB = {peak_mb / size_mb:.2f}x the file (goal <= 5x);"
        f" {peak_mb - base_mb:.0f} MB above the {base_mb:.0f} MB of the imports alone"
    )


def protocol_100k(folder: Path) -> None:
    steps = [
        {"id": f"s{i}", "kind": "rest", "cue": "Rest and let the body be heavy.", "s": 5}
        for i in range(PROTOCOL_STEPS // 2)
    ] + [
        {"region": "hands", "id": f"g{i}", "tense": "Make fists", "release": "Let go"}
        for i in range(PROTOCOL_STEPS // 4)
    ]
    data = {"name": "big", "title": "Big", "zone": "green", "steps": steps}
    started = time.perf_counter()
    protocol = parse_protocol(data, "benchmark")
    parse_s = time.perf_counter() - started
    assert len(protocol.steps) == PROTOCOL_STEPS

    lines = ['name = "big"', 'title = "Big"', 'zone = "green"']
    for step in steps:
        lines.append("[[steps]]")
        lines += [f"{k} = {v!r}".replace("'", '"') for k, v in step.items()]
    path = folder / "big.toml"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    parse_protocol(tomllib.loads(path.read_text()), "benchmark")
    file_s = time.perf_counter() - started
    try:
        load_protocol_file(path)
        refused = "read"
    except ProtocolError as exc:
        refused = f"refused by the size cap ({str(exc).split(': ', 1)[1]})"
    print(
        f"protocol of {PROTOCOL_STEPS:,} steps: validated in {parse_s:.2f} s (goal < 1 s);"
        f" as {path.stat().st_size / MB:.1f} MB of TOML, parsed and validated in"
        f" {file_s:.2f} s; that file given to --protocol is {refused}"
    )


def main() -> None:
    global DAY_S, RR_FILE_MB, PROTOCOL_STEPS
    if _quick():
        # Tiny sizes: a smoke test that every part still runs.
        DAY_S, RR_FILE_MB, PROTOCOL_STEPS = 600.0, 1, 2_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        protocol_100k(folder)
        replay_24h(folder)
        rr_file_50mb(folder)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak: {own:.0f} MB)")


def _quick() -> bool:
    """``--quick``: tiny inputs, one run (tests/test_benchmarks.py runs it so)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    return bool(parser.parse_args().quick)


if __name__ == "__main__":
    main()
