"""What recording costs, and how long reviewing a 24-hour recording takes.

1. Recorder cost per sample: a 1 Hz notification (about 1.2 beats) plus the
   estimate event of that second, fed to RecorderSink as fast as possible;
   the time on the event loop (``handle``) and end to end (until stop() has
   committed everything), beside bare sqlite3 inserting the same rows in one
   transaction (the peer).
2. A 24 h session (~100,000 real beats: the 60-minute NSRDB extract of
   tests/data/rr played 24 times) run through the real session loop into
   the store, then `biofeedback review --json` and `review --png` on it, as a
   user runs them (wall and CPU time of the command). The recorder keeps the
   session's column block as it ends, so the first review reads the block as
   the later ones do (timed on its own, on fresh copies of the store); a
   session without a block (recorded by an older version) is timed too: that
   first read builds the block from the rows and keeps it.

3. The peer: the sqlite3 shell reading the rows review reads, in the same run.

Goals (issue 28): `review --json` <= 0.3 s, `review --png` <= 1.0 s, the 24 h
replay <= 10 s.

Where a review's time goes (24 h, CPU, a quiet moment; `python -X importtime` and
cProfile of the command): python and numpy ~110 ms; the package's modules ~50 ms;
reading the store ~55 ms (7,000 events decoded ~25 ms, the beats ~10 ms); the
summary ~45 ms (the beats' cleaner ~15, the region means ~10, the events' fold
~3-12); the JSON ~12 ms. `--png` adds matplotlib's import (~0.27 s, of which its
artists' set() docstrings were ~0.1 s, now skipped), the figure ~55 ms, drawing
~125 ms (axes and their tick labels ~50, the legend ~23) and the PNG ~26 ms.
Before this round (341feb4) a review also paid SQLite's whole-file check at
open (~35 ms), the planner and routines loaded for four step ids, the live
estimator for its cleaner's settings, and, the first time, reading every row
(~0.2 s more).

Figures (24 h: 112,416 beats, 86,385 estimates, 6,987 events; medians of 3 runs,
wall and CPU of the command; taken while six other sessions shared the 2 CPUs,
load average 7-9, so wall is 2-3x CPU and CPU the steadier figure):

    figure                        before (341feb4)        after
    sqlite3 shell (peer)          212 ms, CPU 101 ms      290 ms, CPU 111 ms
    review --json, first          940 ms, CPU 524 ms      804 ms, CPU 312 ms
      ..., without a block        -                      1390 ms, CPU 533 ms
    review --json                 896 ms, CPU 351 ms      588 ms, CPU 295 ms
    review --png                 1591 ms, CPU 871 ms     1158 ms, CPU 775 ms
    python + numpy start          200 ms, CPU 107 ms      263 ms, CPU 121 ms

Before and after interleaved on one store with its block (run by run, 9 runs each,
load average ~10, CPU median): review --json 379 -> 323 ms, review --png 1,025 ->
838 ms. On a quieter moment review --json took ~0.26-0.30 s of CPU and --png ~0.7 s.

Run: .venv/bin/python benchmarks/store.py [--quick] [--replay-only] [--sinks]
(``--replay-only``: part 2's replay alone, median of 3, without the recorder's
cost per sample and the reviews; with ``--quick`` a 10-minute one. ``--sinks
[--base REV] [--runs N]``: the 24 h replay's two sinks alone, before and after,
see SINKS below; ``--quick`` runs it too, on the 5-minute extract, this tree only.)

Where the replay's time goes (issue 28; CPU seconds of each part on the main
thread, measured per call on a loaded machine, at f0eec85): the breathing rate
from the heart's rhythm, read every 5 s over 64 s (an FFT and a least-squares
line, ~140 us a reading in a session) 2.7 s (3.8 s before: every reading copied
400 beats, masked and took numpy's median; the lead then put numpy's public rfft
and lstsq back in place of their private compiled routines, ~20 us a reading
dearer, so as not to depend on numpy's internals); the pacing controller's
on_estimate 2.3 s; the live arousal estimate and its samples 2.3 s; the event
fan-out 0.6 s; the rest of the loop (asyncio, source, clock) ~3 s; the
recorder's writer thread 1.3 s beside them. This round (2026-12-07, the loop's
shell: fewer passes of the event loop, sinks handed a batch, the writer's rows
inline), ``--replay-only``, 3 runs each one after the other, load 3-5: CPU median
11.4 s at 4fed2a8 -> 10.3 s (wall 10.8 -> 11.2 s, the load's).

The replay's two sinks, next round (2026-12-07, before = f7a5092; issue 28's
profile gave the recorder ~11 % of the 24 h replay with "its thread" and the
console ~7 %):

    the writer: each table's rows one after the other in one flat list, cut a
        statement at a time, not a tuple a row flattened for the statement:
        the write holds nothing the garbage collector scans (it ran ~150
        collections inside the day's writes, ~45 ms), and the estimate and
        sample numbers counted in locals
    the console: at most one write each 0.05 s of wall time (FLUSH_EVERY_S);
        the first lines after a quiet while are written the turn they come, as
        before. A --speed max day wrote its 111,995 lines 2,700 times, a write
        a turn of the loop, each into a pipe that wakes its reader: ~0.1 s of
        CPU (~25-40 us a write beyond its bytes); now ~250-500

Figures (2 cores shared with six other sessions, load average 3-6; CPU, the
steadier figure; niced):

    ``--sinks`` (in-process, 5 runs interleaved)   before (f7a5092)   after
      recording (the day in 20 writes)             791 ms             759 ms
      printing (JSON lines into a pipe)            832 ms             795 ms
    in the 24 h replay itself (the sinks' methods timed in the process, thread
    CPU, the garbage collector's passes by callbacks; 3 runs interleaved, medians):
      the recorder (handle_batch + its writes)     1,175 ms           983 ms  (-16 %)
      the console (handle_batch + its writes)      1,009 ms           934 ms  (-7 %)
        of which the writes (_flush)               86-124 ms          17-43 ms
      garbage collection, whole run                230 ms             192 ms
      the process (timed so)                       13.16 s            12.91 s
    benchmarks/replay.py --base f7a5092 --runs 3 --parts (load 6):
      CPU, whole command                           13.52 s            13.48 s  (1.00x: the
                                                   change, ~0.3 s, is within the noise of 3 runs)
      parts: recording                             846 ms             783 ms
             printing (into a StringIO: no pipe)   733 ms             726 ms
      printed lines                                identical (111,995, session id masked)

The printed lines (3 h: 14,000, 24 h: 111,995) and the store's rows (every
table, wall-clock times left out, session id masked: digests ff2a2419ffed8ca6
for 3 h, c66c7ceace915632 for 24 h) are the same before and after.

The recorder's "thread" (~3.8 % in the profile) is not CPU: at --speed max the
writes are made on the event loop's thread (``on_loop``), and the thread the
profile saw is the WAL's fsync worker waiting on its queue (py-spy counted it
as busy); /proc's per-thread CPU for it over a 3 h replay: 0 ticks.

Tried and left out: the rows built as the items come (a turn at a time) instead
of a second's items held for the write: the held items are what the collector
scans at --speed max (~400 collections, ~0.15 s a day; built at once: 1), but
building the rows between the estimators' turns cost as much more (in-replay
CPU of the recorder plus the collector, 24 h, 2 runs each: 1,018 and 1,056 ms
held, 1,051 and 1,100 ms built as they came). executemany with prepared tuples:
~30 % slower than a statement of 99 rows (404 vs 305 ms for a day's rows);
larger statements (500 or 3,000 rows), a larger page cache, no auto-checkpoint:
within 3 %. What is left of the sinks is near its floor in Python: SQLite
~0.3 s a day (the beats' BLOB ~35 ms of it), the rows ~0.35 s (the events'
to_dict and JSON ~0.18 s of it, their dicts made twice, by the console and the
recorder, ~0.1 s: models/events.py), the console's to_dict ~0.4 s (round() is
~2.8 % of a 1 h replay's instructions, callgrind) and its JSON ~0.45 s (float repr).

The printed lines, third round (2026-12-07, before = integ29 282c935): an
estimate's line (86,385 of a day's 111,995) written straight from its fields
(models/events.py ``estimate_json``: each figure rounded by round3 and written
by float.__repr__, as json writes it, into one f-string), not by its dict and
the encoder; anything not plainly a finite float or None, a known quality or
breath source (inf, an int, a numpy float, a bool, another string, a subclass)
goes by the dict as before. The same bytes: tests/test_models.py compares it with
json.dumps of to_dict on 30,000 random and awkward estimates; the 3 h and 24 h
replays' printed lines (session id masked) and the store's rows (every table)
are identical to 282c935's.

    an estimate's line (86,000 estimates, in-process, median of 5)
      to_dict + its share of a batch's encoding   4.2 us
      estimate_json                               3.3 us  (~6 round3 + 6 float
                                                  reprs: ~2.5 us of it, the floor)
    the console over the 24 h day's events, a turn (64 s of session) a batch,
    into a StringIO, 5 runs each (CPU):  282c935 490 ms (477-502)   after 428 ms
      (421-437), -13 %
    ``--sinks --base 282c935 --runs 5`` (load 4-5):   before         after
      printing (JSON lines into a pipe)            743 ms (697-791)  692 ms (641-727)
      recording (unchanged code)                   796 ms (754-943)  762 ms (734-885)
    benchmarks/replay.py --base 282c935 --runs 3 (load ~3, niced), whole command:
      CPU 11.24 -> 11.19 s (1.00x: the ~0.06 s is within 3 runs' noise; before
      11.0-12.4, after 11.0-11.3), wall 11.44 -> 11.54 s; lines identical (111,995)

Left as it was: each of the other 25,600 events' dicts is made twice (by the
console and by the recorder). Made once, it would have to be kept where both
find it: an event is a frozen dataclass with slots (no room for it, no weak
reference), to_dict's dict is the caller's to change (format_event pops from
it) and the recorder may write on its own thread live; and it would save at
most one of the two, ~45 ms a day (the other events' to_dict, measured 44-46
ms). Tried and slower: the figures formatted by one %-template (3.4 vs 3.2 us),
a loop over the fields (3.6 us).

Issue 28, seventh round (s35loop, before = 02481e4): a writer on the event loop's
thread (the recorder's ``on_loop``, a session at --speed max) inserts a statement a
row (``executemany``, one statement parsed once), not 99 rows a statement: SQLite
parsed each new multi-row statement (~0.25 ms for 99 rows, ~0.05 ms for the
remainder, a pair a table), and on the loop's own thread no other thread waits for
the interpreter between steps. The 900 s session: instructions 1,185.1 M -> 1,181.8
M; its one write ~4.5 ms either way in-process (7 runs: 4.36-5.06 vs 4.14-4.52 ms).
The 3 h replay: wall 957 -> 947 ms, CPU 947 -> 935 ms (7 interleaved runs, with the
round's other two changes); its lines and rows identical; tests/test_writer_rows.py
compares both ways' rows in every table.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import (  # noqa: E402
    load_line,
    parse_args,
    replay_recording,
    run_child,
    spread,
    timed,
    trees_beside,
)
from benchmarks.hardening import day_protocol  # noqa: E402
from biofeedback.loop.session import VirtualClock, run_session  # noqa: E402
from biofeedback.models import (  # noqa: E402
    Contact,
    Estimate,
    HeartSample,
    Quality,
    SessionInfo,
)
from biofeedback.pacing.controller import PacingController  # noqa: E402
from biofeedback.routines.protocols import load_protocol  # noqa: E402
from biofeedback.sensors.replay import ReplaySource, beat_times, pack_beats  # noqa: E402
from biofeedback.signals.arousal import ArousalEstimator  # noqa: E402
from biofeedback.store import RecorderSink, Store  # noqa: E402

# main when this round began: the "before" of ``--sinks``.
BASE = "f7a5092"
SHARED_RR = ROOT / "tests" / "data" / "rr" / "nsrdb_pyhrv_60min_nni.txt"
DAY_S = 24 * 3600.0


def items_for(seconds: int) -> list[HeartSample | Estimate]:
    rr = [float(x) for x in SHARED_RR.read_text().split()]
    rr = (rr * (seconds // 3000 + 1))[: int(seconds * 1.3)]
    samples = pack_beats(beat_times(rr), rr)[:seconds]
    out: list[HeartSample | Estimate] = []
    for s in samples:
        out.append(Estimate(s.t_s, s.hr_bpm, 42.0, 0.3, Quality.OK, 0.01))
        out.append(HeartSample(s.t_s, s.hr_bpm, s.rr_ms, s.beat_t_s, Contact.DETECTED))
    return out


async def recorder_cost(db: Path, items: list[HeartSample | Estimate]) -> tuple[float, float]:
    sink = RecorderSink(db)
    await sink.start(SessionInfo("bench", "full", "bench", time.time()))
    loop_s = 0.0
    start = time.perf_counter()
    for n, item in enumerate(items):
        t0 = time.perf_counter()
        await sink.handle(item)
        loop_s += time.perf_counter() - t0
        if n % 64 == 0:
            await asyncio.sleep(0)  # let the writer run, as the session loop does
    await sink.stop()
    return loop_s, time.perf_counter() - start


def bare_sqlite(db: Path, items: list[HeartSample | Estimate]) -> float:
    """The same rows in the same layout, inserted in one transaction: the floor."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("CREATE TABLE samples (seq, t_s, hr_bpm, contact, rr_ms, beat_t_s)")
    con.execute("CREATE TABLE estimates (seq, t_s, hr_bpm, rmssd_ms, arousal, q, artifacts)")
    start = time.perf_counter()
    con.execute("BEGIN")
    for seq, item in enumerate(items):
        if isinstance(item, HeartSample):
            rr = " ".join(map(repr, item.rr_ms))
            beat_t = " ".join(map(repr, item.beat_t_s))
            con.execute(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                (seq, item.t_s, item.hr_bpm, "detected", rr, beat_t),
            )
        else:
            con.execute(
                "INSERT INTO estimates VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, item.t, item.hr_bpm, item.rmssd_ms, item.arousal, "ok", 0.0),
            )
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def day_protocols(folder: Path) -> tuple[Path, Path]:
    """A green routine of tense/release cycles and a rest routine, each a day long."""
    regions = ["feet", "calves", "thighs", "hands", "shoulders", "face"]
    green = ['name = "day"\ntitle = "Day"\nzone = "green"\ndescription = "bench"\n']
    rest = ['name = "day-rest"\ntitle = "Day rest"\nzone = "red"\ndescription = "bench"\n']
    for n in range(int(DAY_S // 40) + 2):
        region = regions[n % len(regions)]
        green.append(
            f'[[steps]]\nid = "t{n}"\nkind = "tense"\nregion = "{region}"\ncue = "Tense."\ns = 10\n'
            f'[[steps]]\nid = "r{n}"\nkind = "release"\nregion = "{region}"\ncue = "Let go."\n'
            "s = 30\n"
        )
        rest.append(f'[[steps]]\nid = "rest{n}"\nkind = "rest"\ncue = "Rest."\ns = 40\n')
    (folder / "day.toml").write_text("".join(green))
    (folder / "day-rest.toml").write_text("".join(rest))
    return folder / "day.toml", folder / "day-rest.toml"


async def record_day(db: Path, folder: Path, day_s: float = DAY_S) -> tuple[float, float, int, int]:
    """(wall s, CPU s of this process, beats fed, items written) of the session alone."""
    rr = [float(x) for x in SHARED_RR.read_text().split()]
    day_rr = rr * max(round(day_s / 3600), 1)
    samples = pack_beats(beat_times(day_rr), day_rr)
    green_path, rest_path = day_protocols(folder)
    rest = load_protocol(str(rest_path))
    # Wired by hand on purpose (not build_session): a day of long steps with its own
    # rest routine as both fallbacks, and the bare estimator, so the figure is the
    # loop and the recorder over a day (issue 28's "24 h replay"), comparable with
    # its earlier runs; the resonance indicator `run` adds is timed in pacing.py.
    controller = PacingController(load_protocol(str(green_path)), yellow=rest, red=rest)
    sink = RecorderSink(db, virtual=True)
    start, start_cpu = time.perf_counter(), time.process_time()
    await run_session(
        ReplaySource(samples, "replay:nsrdb-60min x24"),
        ArousalEstimator(),
        controller,
        [sink],
        VirtualClock(None),
        SessionInfo("day", "day", "replay:nsrdb-60min x24", time.time()),
        duration_s=day_s,
        drain_timeout_s=600.0,
    )
    assert sink.items_written, "the recorder wrote nothing"
    cpu_s = time.process_time() - start_cpu
    return time.perf_counter() - start, cpu_s, len(day_rr), sink.items_written


def recorder_lines(folder: Path, seconds: int) -> None:
    """Part 1: the recorder's cost per sample beside bare sqlite3's."""
    items = items_for(seconds)
    n_samples = sum(isinstance(i, HeartSample) for i in items)
    loop_s, total_s = asyncio.run(recorder_cost(folder / "rec.db", items))
    peer_s = bare_sqlite(folder / "bare.db", items)
    print(f"recorder, {n_samples} samples + {len(items) - n_samples} estimates:")
    print(f"  on the event loop   {loop_s / n_samples * 1e6:7.2f} µs per sample")
    print(f"  end to end          {total_s / n_samples * 1e6:7.2f} µs per sample")
    print(
        f"  bare sqlite3 (peer) {peer_s / n_samples * 1e6:7.2f} µs per sample"
        f"  (recorder / peer {total_s / peer_s:.2f})"
    )


# ``--sinks``: the two sinks of the 24 h replay, in-process CPU, in a child run from
# each tree (interleaved, run by run). Recording: the day's notifications and printed
# events written into a fresh store in 20 batches, as the recorder on the loop writes
# a --speed max day (a commit a second of wall time). Printing: the day's events
# handed to the JSON console a turn of the loop at a time (64 s of session, as at
# --speed max), a turn every TURN_S of wall time (a day's ~2,700 turns in its ~12 s),
# the lines into a pipe that `cat` empties, as a reader of the command's output does;
# CPU of the printing thread (the reader's is not ours).
SINKS = """
import asyncio, json, os, subprocess, sys, time
from pathlib import Path
from biofeedback.console import ConsoleSink
from biofeedback.models import SessionInfo
from biofeedback.models.events import event_from_dict
from biofeedback.sensors.replay import open_rr_file
from biofeedback.store.database import Store

day, printed, folder, turn_s = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
events = [event_from_dict(json.loads(line)) for line in open(printed)]
samples = list(open_rr_file(day).samples())
items = sorted([*samples, *events], key=lambda x: x.t_s if hasattr(x, "t_s") else x.t)

def record():
    path = Path(folder) / f"sinks{os.getpid()}.db"
    store = Store(path)
    writer = store.begin_session(SessionInfo(path.stem, "day", "bench", 0.0), virtual=True)
    size = len(items) // 20 + 1
    start = time.process_time()
    for i in range(0, len(items), size):
        writer.write(items[i : i + size])
    store.close()
    return time.process_time() - start

async def print_day():
    reader = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    sink = ConsoleSink(reader.stdin, as_json=True)
    turns, turn, end_t = [], [], 64.0
    for event in events:
        if event.t >= end_t and turn:
            turns.append(turn)
            turn, end_t = [], (event.t // 64.0 + 1) * 64.0
        turn.append(event)
    turns.append(turn)
    start = time.thread_time()
    for turn in turns:
        await sink.handle_batch(turn)
        await asyncio.sleep(turn_s)
    await sink.stop()
    cpu_s = time.thread_time() - start
    reader.stdin.close()
    reader.wait()
    return cpu_s

print(json.dumps({"recording": record(), "printing": asyncio.run(print_day())}))
"""
# A turn of the loop at --speed max, wall seconds (a day: ~2,700 turns in ~12 s).
TURN_S = 0.0045


def sinks(runs: int, base: str, quick: bool) -> None:
    """The sinks' in-process CPU, before and after (see SINKS)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rr = replay_recording(folder, 24, quick)
        # The day's printed events, from this tree's replay of it (the trees print
        # the same lines: benchmarks/replay.py checks it).
        command = [sys.executable, "-m", "biofeedback", "run", "--replay", str(rr)]
        command += ["--headless", "--json", "--speed", "max", "--audio", "off", "--no-ratings"]
        command += ["--protocol", str(day_protocol(folder)), "--db", str(folder / "day.db")]
        printed = folder / "printed.jsonl"
        printed.write_text(run_child(command, ROOT, 900)[2])
        # --quick: this tree alone (a smoke test of the figures' code).
        trees = {"this tree": ROOT} if quick else trees_beside(base, folder)
        figures: dict[str, dict[str, list[float]]] = {
            label: {"recording": [], "printing": []} for label in trees
        }
        argv = [sys.executable, "-c", SINKS, str(rr), str(printed), str(folder), str(TURN_S)]
        for _ in range(runs):
            for label, tree in trees.items():
                out = run_child(argv, tree, 600)[2]
                for name, cpu_s in json.loads(out.strip().splitlines()[-1]).items():
                    figures[label][name].append(cpu_s)
        lines = printed.read_text().count("\n")
        print(f"the replay's sinks, in-process CPU ({lines} printed events, {rr.name}):")
        for label, parts in figures.items():
            print(f"  {label:<18} recording {spread(parts['recording'])}")
            print(f"  {'':<18} printing  {spread(parts['printing'])}")
        print(load_line())


# What review reads of a session, read by the sqlite3 shell: the peer.
PEER_SQL = (
    "SELECT t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate FROM estimates"
    " WHERE session = 1 ORDER BY seq; SELECT beats FROM samples WHERE session = 1 ORDER BY seq;"
    " SELECT data FROM events WHERE session = 1 ORDER BY seq;"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--replay-only",
        action="store_true",
        help="the 24 h replay alone (no recorder cost, reviews)",
    )
    parser.add_argument(
        "--sinks",
        action="store_true",
        help="the replay's sinks alone (recording, printing), before and after",
    )
    parser.add_argument("--base", default=BASE, help="the commit timed as the before (--sinks)")
    parser.add_argument("--runs", type=int, default=5, help="runs per tree (--sinks)")
    args = parse_args(__doc__, parser)
    if args.sinks or args.quick:
        sinks(1 if args.quick else args.runs, args.base, args.quick)
        if args.sinks:
            return
    day_s = 600.0 if args.quick else DAY_S
    runs = 1 if args.quick and not args.replay_only else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.replay_only:
            recorder_lines(folder, 2_000 if args.quick else 20_000)

        db = folder / "day.db"
        # The replay, median of ``runs`` (each into a fresh store; review reads the last).
        walls, cpus = [], []
        for _ in range(runs):
            if db.exists():
                db.unlink()
            session_s, session_cpu, beats, written = asyncio.run(record_day(db, folder, day_s))
            walls.append(session_s)
            cpus.append(session_cpu)
        with Store(db) as store:
            rec = store.load("day")
        print(
            f"{day_s / 3600:.3g} h session: {beats} beats fed,"
            f" {sum(len(s.rr_ms) for s in rec.samples)} stored,"
            f" {len(rec.estimates)} estimates, {len(rec.events)} events, {written} items;"
            f" store {db.stat().st_size / 1e6:.1f} MB"
        )
        print(
            f"  replayed at --speed max: wall {spread(walls, 1.0, 's')},"
            f" CPU {spread(cpus, 1.0, 's')} (the recorder's thread included;"
            " goal for 24 h <= 10 s)"
        )
        if args.replay_only:
            print(load_line())
            return
        exe = [sys.executable, "-m", "biofeedback"]
        peer_wall, peer_cpu = timed(["sqlite3", str(db), PEER_SQL], runs)
        print(
            f"{'sqlite3 shell (peer)':<22} wall {spread(peer_wall, 1e3, 'ms')},"
            f" CPU median {statistics.median(peer_cpu) * 1e3:.0f} ms"
        )
        flags = {
            "review --json": ["--json"],
            "review --png": ["--png", str(folder / "day.png")],
            "review --json --png": ["--json", "--png", str(folder / "both.png")],
        }
        goals = {"review --json": "<= 0.3 s", "review --png": "<= 1.0 s"}
        if importlib.util.find_spec("matplotlib") is None:
            # A plain `pip install .` has no matplotlib: time what it can run.
            flags = {"review --json": flags["review --json"]}
            print("review --png: not timed, matplotlib is not installed (pip install '.[plot]')")
        # The first review of a session, each run on a fresh copy of the store as
        # the recorder left it (its column block kept when the session ended); and
        # of a session without a block (recorded by an older version): that read
        # builds the block from the rows and keeps it.
        timed([*exe, "review", "day", "--json", "--db", str(db)], 1)  # compiles the modules
        for label, drop_block, note in (
            ("review --json, first", False, "the store as recorded"),
            ("  ..., without a block", True, "reads the rows, keeps the block"),
        ):
            first_wall, first_cpu = [], []
            for _ in range(runs):
                fresh = folder / "first.db"
                shutil.copyfile(db, fresh)
                if drop_block:
                    with sqlite3.connect(fresh) as raw:
                        raw.execute("DELETE FROM column_blocks")
                    raw.close()
                wall, cpu = timed([*exe, "review", "day", "--json", "--db", str(fresh)], 1)
                first_wall += wall
                first_cpu += cpu
                fresh.unlink()
            print(
                f"{label:<22} wall {spread(first_wall, 1e3, 'ms')}, CPU median"
                f" {statistics.median(first_cpu) * 1e3:.0f} ms ({note})"
            )
        for label, extra in flags.items():
            wall, cpu = timed([*exe, "review", "day", *extra, "--db", str(db)], runs, warm=True)
            ratio = statistics.median(wall) / statistics.median(peer_wall)
            print(
                f"{label:<22} wall {spread(wall, 1e3, 'ms')}, CPU median"
                f" {statistics.median(cpu) * 1e3:.0f} ms; {ratio:.1f}x the peer's wall"
                f" (goal {goals.get(label, '-')})"
            )
        wall, cpu = timed([sys.executable, "-c", "import numpy"], runs, warm=True)
        print(
            f"{'python + numpy start':<22} wall median {statistics.median(wall) * 1e3:.0f} ms,"
            f" CPU {statistics.median(cpu) * 1e3:.0f} ms (floor)"
        )
        print(load_line())


if __name__ == "__main__":
    main()
