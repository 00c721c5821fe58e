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
4. A flooded `--source mqtt://` topic (issue 26): a real mosquitto, a heart
   publishing {"hr":61,"rr_ms":[984]} once a second, and for 10 s of a 15 s
   session either 4 KB of junk or that same valid-looking message as fast as
   this process can publish; `biofeedback run --source ... --headless --json`
   in a child. Peak RSS of the child (beside the same session without a
   flood), samples kept, the heart's messages kept (signal kept; the last one
   may arrive after the session's end), estimates a
   second during the flood (the session's own rate: 1), and what was skipped.
   Three runs each: median and range.

Run: .venv/bin/python benchmarks/hardening.py  (--flood: part 4 only)
"""

from __future__ import annotations

import argparse
import asyncio
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

from biofeedback.routines.protocols import (  # noqa: E402
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
    # 100,000 steps (the most a routine may have) within its two days.
    steps: list[dict[str, object]] = [
        {"id": f"s{i}", "kind": "rest", "cue": "Rest and let the body be heavy.", "s": 1}
        for i in range(PROTOCOL_STEPS * 9 // 10)
    ] + [
        {
            "region": "hands",
            "id": f"g{i}",
            "tense": "Make fists",
            "release": "Let go",
            "tense_s": 1,
            "release_s": 10,
        }
        for i in range(PROTOCOL_STEPS // 20)
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


_PEAK_CHILD = """
import atexit, resource, sys
atexit.register(lambda: print(
    f"PEAK {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}", file=sys.stderr))
from biofeedback.cli import main
sys.exit(main(sys.argv[1:]))
"""

SESSION_S = 15.0
FLOOD_S = 10.0
# The heart beats at 61 so its samples are told from a valid-looking flood's (60).
HEART = json.dumps({"hr": 61, "rr_ms": [984]}).encode()
LOOKALIKE = json.dumps({"hr": 60, "rr_ms": [1000]}).encode()


async def _flooded_session(
    port: int, folder: Path, flood: bytes | None, run: int
) -> dict[str, float]:
    import aiomqtt

    topic = f"straps/flood{run}"
    db = folder / f"flood-{run}-{0 if flood is None else len(flood)}.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _PEAK_CHILD, "run", "--source", f"mqtt://127.0.0.1:{port}/{topic}",
        "--headless", "--json", "--duration", str(SESSION_S), "--db", str(db),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    started = json.loads(await proc.stdout.readline())
    assert started["type"] == "session_started", started
    sent = {"heart": 0, "flood": 0}

    async def heart(client: aiomqtt.Client) -> None:
        while True:
            await client.publish(topic, HEART)
            sent["heart"] += 1
            await asyncio.sleep(1.0)

    async with (
        aiomqtt.Client("127.0.0.1", port) as beat,
        aiomqtt.Client("127.0.0.1", port, max_queued_outgoing_messages=1000) as flooder,
    ):
        beating = asyncio.create_task(heart(beat))
        await asyncio.sleep(2.0)  # the session has begun on the heart's data
        flood_from = time.monotonic()
        while flood is not None and time.monotonic() - flood_from < FLOOD_S:
            for _ in range(200):
                await flooder.publish(topic, flood)
            sent["flood"] += 200
            await asyncio.sleep(0)
        out, err = await proc.communicate()
        beating.cancel()
    events = [json.loads(line) for line in out.decode().splitlines()]
    ended = events[-1]
    estimates = [e["t"] for e in events if e["type"] == "estimate"]
    with Store(db) as store:
        samples = store.load("latest").samples
    peak = next(ln for ln in err.decode().splitlines() if ln.startswith("PEAK "))
    return {
        "peak_mb": float(peak.split()[1]),
        "samples": len(samples),
        "heart_kept": sum(s.hr_bpm == 61.0 for s in samples),
        "heart_sent": sent["heart"],
        "flood_sent": sent["flood"],
        "estimates_per_s": len(estimates) / max(ended["t"], 1e-9),
        "skipped": sum(ended.get("skipped_messages", {}).values()),
        "too_fast": ended.get("skipped_messages", {}).get("more beats than time had passed", 0),
    }


def _spread(values: list[float], fmt: str = ".0f") -> str:
    return f"{statistics.median(values):{fmt}} (range {min(values):{fmt}}-{max(values):{fmt}})"


def mqtt_flood(folder: Path, runs: int = 3) -> None:
    from benchmarks.mqtt import free_port, start_broker

    port = free_port()
    broker = start_broker(folder, port)
    try:
        cases: list[tuple[str, bytes | None]] = [
            ("no flood", None),
            ("4 KB junk", bytes([0xFF]) + b"x" * 4095),
            ('valid-looking {"hr":60,"rr_ms":[1000]}', LOOKALIKE),
        ]
        for name, flood in cases:
            got = [asyncio.run(_flooded_session(port, folder, flood, run)) for run in range(runs)]
            rate = [g["flood_sent"] / FLOOD_S for g in got]
            kept = [100 * g["heart_kept"] / g["heart_sent"] for g in got]
            print(
                f"mqtt flood, {name}: {_spread(rate)} msg/s for {FLOOD_S:g} s of a"
                f" {SESSION_S:g} s session; peak RSS {_spread([g['peak_mb'] for g in got], '.1f')}"
                f" MB; samples kept {_spread([g['samples'] for g in got])}"
                f" (heart sent {_spread([g['heart_sent'] for g in got])});"
                f" signal kept {_spread(kept)} %;"
                f" estimates {_spread([g['estimates_per_s'] for g in got], '.2f')} a second;"
                f" skipped {_spread([g['skipped'] for g in got])}"
                f" (of them too fast for a heart {_spread([g['too_fast'] for g in got])})"
            )
    finally:
        broker.terminate()
        broker.wait()
    print(
        "  before (issue 26, same kind of probe): 4 KB junk at ~80 k msg/s took the session"
        " from 131 to 498 MB in 15 s with no plateau; a 5 s valid-looking flood put 96,203"
        " samples into a 60 s session"
    )


def main() -> None:
    global DAY_S, RR_FILE_MB, PROTOCOL_STEPS, SESSION_S, FLOOD_S
    quick, flood_only = _options()
    runs = 3
    if quick:
        # Tiny sizes: a smoke test that every part still runs.
        DAY_S, RR_FILE_MB, PROTOCOL_STEPS = 600.0, 1, 2_000
        SESSION_S, FLOOD_S, runs = 6.0, 3.0, 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if flood_only:
            mqtt_flood(folder, runs)
            return
        protocol_100k(folder)
        replay_24h(folder)
        rr_file_50mb(folder)
        mqtt_flood(folder, runs)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak: {own:.0f} MB)")


def _options() -> tuple[bool, bool]:
    """``--quick``: tiny inputs, one run (tests/test_benchmarks.py runs it so);
    ``--flood``: the MQTT flood figures only."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    parser.add_argument("--flood", action="store_true", help="the MQTT flood figures only")
    args = parser.parse_args()
    return bool(args.quick), bool(args.flood)


if __name__ == "__main__":
    main()
