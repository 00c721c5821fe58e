"""Many runners' records through mosquitto into collectors and PostgreSQL.

Real parts: a mosquitto and a throwaway PostgreSQL cluster on this machine
(durable: fsync on), ``biofeedback collect`` processes (MQTT 5 shared
subscription, COPY batches). The runners are synthetic: load processes
(tests/support/loadgen.py, 500 runners each, one MQTT 5 connection a runner)
publish at real speed what `run --mqtt-record` sends: one QoS 1 record message
a second per runner holding one notification's sample with its beats and one
estimate, an event every 10 s, and an end message with the counts. They speak
bare MQTT and build each second's payload once, so a thousand runners cost
little CPU and publish on time; their lateness is printed apart.

Prints, for each run: rows of the messages the broker acknowledged against
rows in PostgreSQL, checked row by row in PostgreSQL (lost, duplicated,
unexpected), sessions complete, ingest lag per message (its publish time,
which it carries, to the commit that stored it: ``track_commit_timestamp``)
p50/p90/p99/max, rows/s, and CPU per component. Runs:

    python benchmarks/collect.py [--runners 1000] [--seconds 600]
        [--collectors 2] [--restarts [--restart-seconds S] [--no-plain]]
        [--flood-rate 1000,2000,5000,10000] [--flood-seconds 300] [--publishers 2]

``--restarts`` also runs with one collector killed (SIGKILL) a third of the
way and started again 5 s later, and PostgreSQL crashed (immediate stop) half
way and started 3 s later; ``--no-plain`` runs that one only. ``--flood-rate``
runs the collectors alone against publishers replaying that many runners'
seconds (a message each a second), each rate in turn on a fresh database.

First, the cost of the chest's rows (issue 24: each breath, and the motion kept
raw with ``--keep-raw``) beside the heart's: real simulated sessions with a
chest, recorded by the CLI, their record as it travels (bytes and messages per
hour of session, live at about a message a second and by `sync`), the time to
write them into PostgreSQL, and their size there. The synthetic runners above
carry no chest rows; what the chest adds at 1,000 runners follows from the
per-hour figures (printed).
``--breath-only`` prints that part alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biofeedback.store import Store  # noqa: E402
from biofeedback.store.central import CentralStore  # noqa: E402
from biofeedback.store.outgoing import RecordOutbox  # noqa: E402
from biofeedback.wire import TABLES, Message, RowBatch, SessionEnd, encode  # noqa: E402
from tests.support import central as synthetic  # noqa: E402
from tests.support.broker import Mosquitto  # noqa: E402
from tests.support.postgres import SUPERUSER_PASSWORD, Postgres  # noqa: E402

TICK_S = 1.0


def cpu_s(pid: int, children: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(cluster: Postgres) -> float:
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    except OSError:
        return 0.0
    total = cpu_s(postmaster, children=True)
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == postmaster:
                    total += cpu_s(int(proc.name))
    return total


def waited_s(pid: int) -> float:
    """Seconds the process's threads were ready to run but waited for a CPU (run queue)."""
    total = 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError):
                total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def postgres_pids(cluster: Postgres) -> list[int]:
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    except OSError:
        return []
    found = [postmaster]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    found.append(int(proc.name))
    return found


STARTED: list[subprocess.Popen[str]] = []  # every collector, stopped at the end whatever happens


class Collectors:
    def __init__(self, broker: Mosquitto, db_url: str, count: int) -> None:
        self.broker = broker
        self.db_url = db_url
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.cpu_done_s = 0.0
        for i in range(count):
            self.start(f"bench-c{i}")

    def start(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "biofeedback", "collect", "--broker", self.broker.url,
             "--db", self.db_url, "--name", name, "--status-every", "30"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PGPASSWORD": SUPERUSER_PASSWORD},
        )  # fmt: skip
        STARTED.append(self.procs[name])
        out = self.procs[name].stdout
        assert out is not None
        out.readline()  # its first line: connected and ready

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        self.cpu_done_s += cpu_s(proc.pid)
        proc.kill()
        proc.wait()

    def cpu_s(self) -> float:
        return self.cpu_done_s + sum(cpu_s(p.pid) for p in self.procs.values() if p.poll() is None)

    def stop(self) -> list[str]:
        self.cpu_done_s = self.cpu_s()
        lines = []
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            out, _ = proc.communicate(timeout=120)
            lines += [ln for ln in out.splitlines() if "(stopped)" in ln]
        return lines


class Load:
    """Load generator processes (tests/support/loadgen.py): what they published, their CPU."""

    def __init__(self, folder: Path, mode: str, port: int, begin: float) -> None:
        self.folder = folder
        self.mode = mode
        self.port = port
        self.begin = begin
        self.procs: list[tuple[subprocess.Popen[str], Path]] = []

    def start(self, first: int, count: int, total: int, seconds: int, connections: int) -> None:
        out = self.folder / f"{self.mode}-{first}.npz"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.loadgen", self.mode, "--port", str(self.port),
             "--first", str(first), "--count", str(count), "--total", str(total),
             "--seconds", str(seconds), "--begin", repr(self.begin),
             "--connections", str(connections), "--out", str(out)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        STARTED.append(proc)
        self.procs.append((proc, out))

    async def ready(self) -> None:
        for proc, _ in self.procs:
            assert proc.stdout is not None
            line = await asyncio.to_thread(proc.stdout.readline)
            if line.strip() != "ready":
                raise RuntimeError(f"a load process did not start: {line!r}")
        if time.time() > self.begin:
            print(f"  (the load connected {time.time() - self.begin:.1f} s after its start)")

    async def results(
        self, first_of: list[int]
    ) -> tuple[list[tuple[str, int, float]], dict[str, Any]]:
        """Every acknowledged (session's runner, second, publish time); lateness and CPU."""
        sent: list[tuple[str, int, float]] = []
        lates: list[np.ndarray] = []
        cpu = 0.0
        prefix = "r" if self.mode == "runners" else "f"
        for (proc, out), first in zip(self.procs, first_of, strict=True):
            await asyncio.to_thread(proc.wait)
            data = np.load(out)
            published, late = data["published"], data["late"]
            cpu += float(data["cpu_s"])
            lates.append(late[np.isfinite(late)])
            for i, t in zip(*np.nonzero(np.isfinite(published)), strict=True):
                sent.append((f"{prefix}{first + int(i):05d}", int(t), float(published[i, t])))
        late_all = np.concatenate(lates) if lates else np.zeros(1)
        return sent, {"cpu_s": cpu, "late": late_all}


def spread(values: np.ndarray) -> str:
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return f"p50 {p50:.3f} s, p90 {p90:.3f} s, p99 {p99:.3f} s, max {values.max():.3f} s"


def check(db_url: str, sent: list[tuple[str, int, float]], seconds: int) -> dict[str, Any]:
    """Row by row, in PostgreSQL: every row of every acknowledged message is there once.

    The messages the load acknowledged go into a table of their own; the rows
    each one carries follow from its second (``tests/support/central.second``).
    Lag is per message: its publish time to the commit of the transaction that
    inserted its sample (``track_commit_timestamp``).
    """
    with psycopg.connect(db_url, password=SUPERUSER_PASSWORD) as db:
        db.execute("CREATE TEMP TABLE sent (runner text, t int, published float8)")
        with db.cursor().copy("COPY sent FROM STDIN") as copy:
            for row in sent:
                copy.write_row(row)
        db.execute("CREATE INDEX ON sent (runner, t)")
        db.execute(
            "CREATE TEMP TABLE want AS"
            " SELECT runner, 'samples' AS tbl, t AS seq FROM sent WHERE t < %(s)s"
            " UNION ALL SELECT runner, 'estimates', t FROM sent WHERE t < %(s)s"
            " UNION ALL SELECT runner, 'events', t / %(e)s FROM sent"
            "  WHERE t < %(s)s AND t %% %(e)s = 0",
            {"s": seconds, "e": synthetic.EVENT_EVERY_S},
        )
        db.execute(
            "CREATE TEMP TABLE have AS "
            + " UNION ALL ".join(
                f"SELECT s.runner, '{table}' AS tbl, x.seq, count(*) AS copies FROM {table} x"
                " JOIN sessions s ON s.id = x.session GROUP BY 1, 2, 3"
                for table in ("samples", "estimates", "events")
            )
        )
        counts = db.execute(
            "SELECT (SELECT count(*) FROM want), (SELECT count(*) FROM have),"
            " (SELECT count(*) FROM want w WHERE NOT EXISTS (SELECT 1 FROM have h"
            "   WHERE h.runner = w.runner AND h.tbl = w.tbl AND h.seq = w.seq)),"
            " (SELECT coalesce(sum(copies - 1), 0) FROM have),"
            " (SELECT count(*) FROM have h WHERE NOT EXISTS (SELECT 1 FROM want w"
            "   WHERE h.runner = w.runner AND h.tbl = w.tbl AND h.seq = w.seq)),"
            " (SELECT count(*) FILTER (WHERE complete_at IS NOT NULL) FROM sessions),"
            " (SELECT count(*) FROM sessions)"
        ).fetchone()
        lags = db.execute(
            "SELECT extract(epoch FROM pg_xact_commit_timestamp(x.xmin)) - sent.published"
            " FROM samples x JOIN sessions s ON s.id = x.session"
            " JOIN sent ON sent.runner = s.runner AND sent.t = x.seq"
        ).fetchall()
        size = db.execute(
            "SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname IN ('samples', 'estimates', 'events')"
        ).fetchone()
    assert counts is not None
    return {
        "sent": counts[0],
        "stored": counts[1],
        "lost": counts[2],
        "duplicated": counts[3],
        "unexpected": counts[4],
        "complete": f"{counts[5]}/{counts[6]}",
        "lag": np.array([float(r[0]) for r in lags]) if lags else np.zeros(1),
        "bytes_per_row": (int(size[0] or 0) / max(1, counts[1])) if size else 0.0,
    }


class Cpu:
    """CPU seconds of the broker and PostgreSQL from a starting point."""

    def __init__(self, broker: Mosquitto, cluster: Postgres) -> None:
        self.broker, self.cluster = broker, cluster
        self.broker0 = cpu_s(broker_pid(broker))
        self.pg0 = postgres_cpu_s(cluster)
        self.pg_done = 0.0

    def pg_restarting(self) -> None:
        self.pg_done += postgres_cpu_s(self.cluster) - self.pg0

    def pg_restarted(self) -> None:
        self.pg0 = postgres_cpu_s(self.cluster)

    def broker_s(self) -> float:
        return cpu_s(broker_pid(self.broker)) - self.broker0

    def pg_s(self) -> float:
        return self.pg_done + postgres_cpu_s(self.cluster) - self.pg0


async def wait_complete(db_url: str, sessions: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with psycopg.connect(db_url, password=SUPERUSER_PASSWORD) as db:
            row = db.execute(
                "SELECT count(*), count(*) FILTER (WHERE complete_at IS NULL) FROM sessions"
            ).fetchone()
        if row == (sessions, 0):
            return
        await asyncio.sleep(1)


def runner_split(runners: int) -> list[tuple[int, int]]:
    """(first, count) per load process: 500 runners a process."""
    per = 500
    return [(f, min(per, runners - f)) for f in range(0, runners, per)]


async def real_speed(
    folder: Path,
    broker: Mosquitto,
    cluster: Postgres,
    runners: int,
    seconds: int,
    *,
    collectors: int,
    restarts: bool,
) -> None:
    db_url = cluster.url(cluster.fresh_database())
    group = Collectors(broker, db_url, collectors)
    cpu = Cpu(broker, cluster)
    begin = time.time() + 3.0 + runners / 500
    load = Load(folder, "runners", broker.port, begin)
    split = runner_split(runners)
    for first, count in split:
        load.start(first, count, runners, seconds, 1)
    await load.ready()
    if restarts:
        await asyncio.sleep(max(0.0, begin + seconds / 3 - time.time()))
        group.kill("bench-c0")
        print(f"  killed collector bench-c0 (SIGKILL) at {time.time() - begin:.0f} s", flush=True)
        await asyncio.sleep(5)
        group.start("bench-c0")
        await asyncio.sleep(max(0.0, begin + seconds / 2 - time.time()))
        cpu.pg_restarting()
        await asyncio.to_thread(cluster.stop, "immediate")
        print(f"  PostgreSQL stopped (immediate) at {time.time() - begin:.0f} s", flush=True)
        await asyncio.sleep(3)
        await asyncio.to_thread(cluster.start)
        cpu.pg_restarted()
        print(f"  PostgreSQL started again at {time.time() - begin:.0f} s", flush=True)
    sent, own = await load.results([first for first, _ in split])
    await wait_complete(db_url, runners, 120)
    elapsed = time.time() - begin
    collectors_cpu = group.cpu_s()
    broker_cpu, pg_cpu = cpu.broker_s(), cpu.pg_s()
    lines = group.stop()
    result = check(db_url, sent, seconds)
    per = 1000 / runners
    print(
        f"  {runners} runners x {seconds} s, {collectors} collectors"
        f"{' + restarts' if restarts else ''}: messages acknowledged {len(sent)},"
        f" rows sent {result['sent']}, stored {result['stored']}, lost {result['lost']},"
        f" duplicated {result['duplicated']}, unexpected {result['unexpected']},"
        f" sessions complete {result['complete']}"
    )
    print(f"  runners' own lateness (publish after the due moment): {spread(own['late'])}")
    print(
        f"  ingest lag, publish to commit, per message ({len(result['lag'])}):"
        f" {spread(result['lag'])}"
    )
    print(
        f"  rows/s {result['stored'] / elapsed:.0f} over {elapsed:.0f} s (start to all complete);"
        f" {result['bytes_per_row']:.0f} bytes a row on disk with its indexes"
    )
    runners_cpu = own["cpu_s"]
    print(
        f"  CPU s over {elapsed:.0f} s (per 1,000 runners; share of one core):"
        f" runners {runners_cpu:.1f} ({runners_cpu * per:.1f}; {runners_cpu / elapsed:.1%}),"
        f" broker {broker_cpu:.1f} ({broker_cpu * per:.1f}; {broker_cpu / elapsed:.1%}),"
        f" collectors {collectors_cpu:.1f} ({collectors_cpu * per:.1f};"
        f" {collectors_cpu / elapsed:.1%}),"
        f" PostgreSQL {pg_cpu:.1f} ({pg_cpu * per:.1f}; {pg_cpu / elapsed:.1%})"
    )
    print(f"  load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in lines:
        print(f"  {line}")


async def flood(
    folder: Path,
    broker: Mosquitto,
    cluster: Postgres,
    rate: int,
    seconds: int,
    collectors: int,
    publishers: int,
) -> None:
    """The collectors alone against ``rate`` runners' traffic for ``seconds``.

    ``publishers`` load processes replay the seconds of ``rate`` sessions
    between them, each second's messages spread over that second, as fast as
    the broker acknowledges them. The collectors keep up if every row is
    stored soon after the publishing ends and the publish-to-commit lag stays
    small; whichever part is short of CPU shows in the shares of a core.
    """
    db_url = cluster.url(cluster.fresh_database())
    group = Collectors(broker, db_url, collectors)
    cpu = Cpu(broker, cluster)
    waited0 = {p.pid: waited_s(p.pid) for p in group.procs.values()}
    waited0[broker_pid(broker)] = waited_s(broker_pid(broker))
    waited0 |= {pid: waited_s(pid) for pid in postgres_pids(cluster)}
    begin = time.time() + 3.0
    load = Load(folder, "flood", broker.port, begin)
    split = [
        (rate * k // publishers, rate * (k + 1) // publishers - rate * k // publishers)
        for k in range(publishers)
    ]
    for first, count in split:
        load.start(first, count, rate, seconds, 4)
    await load.ready()
    sent, own = await load.results([first for first, _ in split])
    publish_s = time.time() - begin
    want = len(sent) * 2 + sum(1 for _, t, _ in sent if t % synthetic.EVENT_EVERY_S == 0)

    def stored() -> int:
        with psycopg.connect(db_url, password=SUPERUSER_PASSWORD) as db:
            n = 0
            for table in ("samples", "estimates", "events"):
                row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
                n += int(row[0]) if row else 0
            return n

    deadline = time.time() + 600
    while (have := stored()) < want and time.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(2)
    drain_s = time.time() - begin
    per_collector = {name: cpu_s(p.pid) for name, p in group.procs.items()}

    def waited(pids: list[int]) -> float:
        return sum(waited_s(pid) - waited0.get(pid, 0.0) for pid in pids)

    waits = (
        waited([p.pid for p in group.procs.values()]),
        waited(postgres_pids(cluster)),
        waited([broker_pid(broker)]),
    )
    collectors_cpu = group.cpu_s()
    broker_cpu, pg_cpu = cpu.broker_s(), cpu.pg_s()
    lines = group.stop()
    result = check(db_url, sent, seconds)
    print(
        f"  flood {rate} runners' rate x {seconds} s: {len(sent)} messages acknowledged"
        f" ({len(sent) / publish_s:.0f}/s while publishing, {publishers} publisher processes);"
        f" {have}/{want} rows stored {drain_s:.0f} s after the start"
        f" ({have / drain_s:.0f} rows/s); lost {result['lost']},"
        f" duplicated {result['duplicated']}, unexpected {result['unexpected']}"
    )
    print(f"  publisher lateness (publish after the message's due moment): {spread(own['late'])}")
    print(f"  lag, publish to commit, per message: {spread(result['lag'])}")
    each = ", ".join(f"{name} {c / drain_s:.0%}" for name, c in per_collector.items())
    print(
        f"  CPU as a share of one core over {drain_s:.0f} s:"
        f" publishers {own['cpu_s'] / drain_s:.0%},"
        f" broker {broker_cpu / drain_s:.0%}, collectors {collectors_cpu / drain_s:.0%} ({each}),"
        f" PostgreSQL {pg_cpu / drain_s:.0%} (the machine has {os.cpu_count()} cores, shared;"
        f" load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )
    print(
        f"  waiting for a CPU (ready to run, in the run queue) over {drain_s:.0f} s:"
        f" collectors {waits[0]:.1f} thread-s ({waits[0] / drain_s:.2f} a second),"
        f" PostgreSQL {waits[1]:.1f} s, broker {waits[2]:.1f} s"
    )
    for line in lines:
        print(f"  {line}")


# The scenarios with a chest (50 Hz), and the breath-holder at the H10's top rate.
CHEST_SCENARIOS = ("breath-holder", "fast-breather", "breath-holder@200")
HEART = ("samples", "estimates", "events")
CHEST = ("breaths", "motion")


def record_chest(folder: Path, scenario: str, seconds: int) -> Path:
    """One simulated session with a chest, its motion kept (`run --keep-raw`);
    ``NAME@HZ``: the scenario with its chest read at HZ."""
    db = folder / f"{scenario}.db"
    sim = scenario
    if "@" in scenario:
        name, rate = scenario.split("@")
        text = (ROOT / "simulators" / "scenarios" / f"{name}.toml").read_text()
        changed = re.sub(r"(?m)^acc_rate_hz = .*$", f"acc_rate_hz = {rate}", text)
        assert changed != text
        sim = str(folder / f"{name}-{rate}.toml")
        Path(sim).write_text(changed)
    subprocess.run(
        [sys.executable, "-m", "biofeedback", "run", "--sim", sim, "--duration",
         str(seconds), "--headless", "--speed", "max", "--audio", "off", "--no-ratings",
         "--keep-raw", "--db", str(db)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return db


def keeping(message: Message, tables: tuple[str, ...]) -> Message | None:
    """The message with the rows of ``tables`` only (None: none left); an end message
    counting those only."""
    if isinstance(message, SessionEnd):
        counts = {t: n for t, n in message.counts.items() if t in tables}
        return dataclasses.replace(message, counts=counts)
    kept = dataclasses.replace(
        message,
        breaths=message.breaths if "breaths" in tables else (),
        motion=message.motion if "motion" in tables else (),
    )
    return kept if kept.rows else None


def recorded_at(table: str, row: tuple[Any, ...]) -> float:
    """When the store committed ``row``: a breath once it was seen whole."""
    return float(row[1] + row[2] + row[3]) if table == "breaths" else float(row[1])


def by_second(messages: list[Message]) -> list[Message]:
    """The rows regrouped a second each, as `run --mqtt-record` sends them live
    (what the store committed in the last second), then the end message."""
    seconds: dict[int, dict[str, list[Any]]] = {}
    batches = [m for m in messages if isinstance(m, RowBatch)]
    for m in batches:
        for table in TABLES:
            for row in getattr(m, table):
                second = int(recorded_at(table, row))
                seconds.setdefault(second, {}).setdefault(table, []).append(row)
    head = batches[-1].head
    live: list[Message] = [
        RowBatch(head, **{t: tuple(rows) for t, rows in seconds[s].items()})
        for s in sorted(seconds)
    ]
    return live + [m for m in messages if isinstance(m, SessionEnd)]


def wire_cost(messages: list[Message], tables: tuple[str, ...]) -> tuple[int, int]:
    """(messages, bytes) of the record carrying the rows of ``tables``."""
    kept = [k for m in messages if (k := keeping(m, tables)) is not None]
    return len(kept), sum(len(encode(m, sent_at_unix_s=0.0)) for m in kept)


def write_s(cluster: Postgres, messages: list[Message]) -> float:
    """Seconds to write a session's row messages in one batch (as a collector does)
    into a fresh central database, its months and staging tables made beforehand."""
    with CentralStore(cluster.url(cluster.fresh_database())) as central:
        central.migrate()
        central.write([("w", m) for m in messages if isinstance(m, SessionEnd)])
        rows = [("w", m) for m in messages if isinstance(m, RowBatch)]
        start = time.perf_counter()
        central.write(rows)
        return time.perf_counter() - start


def write_cost(cluster: Postgres, sent: list[Message], per_h: float, repeats: int) -> str:
    """Writing into PostgreSQL, per hour of session: the heart's rows, and with the
    chest's (median and range of ``repeats`` fresh databases each, in turn)."""
    heart_only = [k for m in sent if (k := keeping(m, HEART)) is not None]
    heart: list[float] = []
    both: list[float] = []
    for _ in range(repeats):
        heart.append(write_s(cluster, heart_only) * per_h)
        both.append(write_s(cluster, sent) * per_h)
    h, b = np.array(heart) * 1e3, np.array(both) * 1e3
    return (
        f"write to PostgreSQL (ms an hour, median [range] of {repeats}): heart"
        f" {np.median(h):.0f} [{h.min():.0f}-{h.max():.0f}], with the chest's"
        f" {np.median(b):.0f} [{b.min():.0f}-{b.max():.0f}]"
    )


def breath_cost(folder: Path, cluster: Postgres, seconds: int, repeats: int) -> None:
    print(
        "  the chest's rows beside the heart's, per hour of session (simulated sessions,"
        " chest motion kept at the strap's rate; live: a message a second):"
    )
    db_url = cluster.url(cluster.fresh_database())
    os.environ["PGPASSWORD"] = SUPERUSER_PASSWORD  # the central store reads it (libpq)
    hours = 0.0
    rows_per_h: dict[str, list[float]] = {t: [] for t in (*HEART, *CHEST)}
    with CentralStore(db_url) as central:
        central.migrate()
        for scenario in CHEST_SCENARIOS:
            db = record_chest(folder, scenario, seconds)
            with Store(db) as store:
                session = store.sessions()[0]
                outbox = RecordOutbox(store, "cost")
                sent = [i.message for i in outbox.pending(session.session_id, limit=1_000_000)]
                rate = store.motion(session.session_id)[0].rate_hz
            central.write([(scenario, m) for m in sent])
            end = sent[-1]
            assert isinstance(end, SessionEnd)
            per_h = 3600.0 / session.length_s
            hours += session.length_s / 3600.0
            for table in rows_per_h:
                rows_per_h[table].append(end.counts[table] * per_h)
            parts = []
            for path, messages in (("live", by_second(sent)), ("sync", sent)):
                heart = wire_cost(messages, HEART)
                breaths = wire_cost(messages, (*HEART, "breaths"))
                both = wire_cost(messages, (*HEART, *CHEST))
                parts.append(
                    f"{path} {heart[0] * per_h:,.0f} messages {heart[1] * per_h / 1e6:.2f} MB;"
                    f" + breaths {(breaths[0] - heart[0]) * per_h:+,.0f} messages"
                    f" {(breaths[1] - heart[1]) * per_h / 1e6:+.3f} MB;"
                    f" + motion {(both[0] - breaths[0]) * per_h:+,.0f} messages"
                    f" {(both[1] - breaths[1]) * per_h / 1e6:+.2f} MB"
                )
            biggest = max(len(encode(m, sent_at_unix_s=0.0)) for m in sent)
            written = write_cost(cluster, sent, per_h, repeats)
            n = {t: end.counts[t] * per_h for t in TABLES}
            print(
                f"    {scenario} ({session.length_s:.0f} s, motion {rate:g} Hz): rows/h heart"
                f" {sum(n[t] for t in HEART):,.0f}, breaths {n['breaths']:,.0f},"
                f" motion {n['motion']:,.0f}; {parts[0]}; {parts[1]}"
                f" (largest message {biggest / 1e3:.1f} kB); {written}"
            )
        with psycopg.connect(db_url) as pg:
            disk = {
                table: int(
                    pg.execute(
                        "SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)"
                        " FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent"
                        " WHERE p.relname = %s",
                        (table,),
                    ).fetchone()[0]  # type: ignore[index]
                )
                for table in (*HEART, *CHEST)
            }
    heart_disk = sum(disk[t] for t in HEART)
    print(
        f"    in PostgreSQL, per hour of session ({hours * 60:.0f} min in all, with indexes):"
        f" heart {heart_disk / hours / 1e6:.2f} MB, breaths {disk['breaths'] / hours / 1e6:.3f} MB,"
        f" motion {disk['motion'] / hours / 1e6:.2f} MB"
    )
    per_s = {t: float(np.median(v)) * 1000 / 3600 for t, v in rows_per_h.items()}
    print(
        f"    at 1,000 runners with a chest (median of the sessions): rows/s heart"
        f" {sum(per_s[t] for t in HEART):,.0f}, + breaths {per_s['breaths']:,.0f},"
        f" + kept motion {per_s['motion']:,.0f}; messages/s unchanged live (the chest's rows"
        " ride in each second's message)"
    )


def broker_pid(broker: Mosquitto) -> int:
    assert broker.pid is not None
    return broker.pid


def quiet_closed_sockets(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    # aiomqtt 2 schedules a socket's writer after a thousand clients closed it:
    # noise on stderr, not a failure of what is measured.
    if isinstance(context.get("exception"), OSError | KeyError):
        return
    loop.default_exception_handler(context)


async def main() -> None:
    asyncio.get_running_loop().set_exception_handler(quiet_closed_sockets)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runners", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--collectors", type=int, default=2)
    parser.add_argument("--restarts", action="store_true", help="also the run with restarts")
    parser.add_argument(
        "--restart-seconds", type=int, default=0, help="the run with restarts (default: --seconds)"
    )
    parser.add_argument("--no-plain", action="store_true", help="only the run with restarts")
    parser.add_argument(
        "--flood-rate",
        type=lambda text: [int(r) for r in text.split(",")],
        default=[],
        metavar="MESSAGES_PER_S[,...]",
        help="runs the collectors alone at each rate in turn",
    )
    parser.add_argument("--flood-seconds", type=int, default=300)
    parser.add_argument("--publishers", type=int, default=2, help="flood publisher processes")
    parser.add_argument(
        "--breath-only", action="store_true", help="only the cost of the chest's rows"
    )
    parser.add_argument(
        "--breath-seconds",
        type=int,
        default=3600,
        help="the chest sessions' length (a protocol ends them sooner)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="10 runners for 3 s, a 2 s flood: a smoke test"
    )
    args = parser.parse_args()
    if args.quick:
        args.runners, args.seconds, args.restarts, args.no_plain = 10, 3, False, False
        args.flood_rate, args.flood_seconds, args.breath_seconds = [100], 2, 60
    if args.breath_only:
        args.runners, args.flood_rate = 0, []
    folder = Path(tempfile.mkdtemp(prefix="bf-bench-"))
    os.chmod(folder, 0o755)
    for part in ("broker", "pg", "load"):
        os.mkdir(folder / part)
    broker = Mosquitto(folder / "broker")
    # No cap on what the broker queues for a collector away (0: none).
    broker.conf.write_text(
        broker.conf.read_text().replace("max_queued_messages 100000", "max_queued_messages 0")
    )
    broker.start()
    # Durable as in production (the tests' cluster runs without fsync), and each
    # commit's time kept, for the lag of every message.
    cluster = Postgres(
        folder / "pg",
        options="-c fsync=on -c full_page_writes=on -c track_commit_timestamp=on",
    )
    cluster.start()
    print(
        f"biofeedback collect benchmark ({os.cpu_count()} CPUs, load average"
        f" {' '.join(f'{x:.1f}' for x in os.getloadavg())}; mosquitto, PostgreSQL with fsync)"
    )
    load = folder / "load"
    try:
        await asyncio.to_thread(
            breath_cost, load, cluster, args.breath_seconds, 1 if args.quick else 5
        )
        if args.runners:
            run = functools.partial(
                real_speed, load, broker, cluster, args.runners, collectors=args.collectors
            )
            if not args.no_plain:
                await run(args.seconds, restarts=False)
            if args.restarts or args.no_plain:
                await run(args.restart_seconds or args.seconds, restarts=True)
        for rate in args.flood_rate:
            await flood(
                load, broker, cluster, rate, args.flood_seconds, args.collectors, args.publishers
            )
    finally:
        for proc in STARTED:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        broker.stop()
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
