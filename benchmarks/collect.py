"""Many runners' records through mosquitto into collectors and PostgreSQL.

Real parts: a mosquitto and a throwaway PostgreSQL cluster on this machine,
``biofeedback collect`` processes (MQTT 5 shared subscription, COPY batches).
The runners are synthetic publishers in this process (one MQTT 5 connection
each, at real speed: one QoS 1 record message a second holding one
notification's sample with its beats and one estimate, an event every 10 s,
and an end message with the counts), the traffic `run --mqtt-record` makes,
without running a thousand sessions' estimators on two cores.

Prints, for each run: rows sent (acknowledged by the broker) against rows in
PostgreSQL, checked row by row (lost, duplicated), sessions complete, ingest lag
(from the end of the second a row describes to its insert in PostgreSQL: the
runner's one-second batching included) p50/p99, rows/s, and CPU seconds per
component. Runs:

    python benchmarks/collect.py [--runners 1000] [--seconds 600]
        [--collectors 2] [--restarts] [--flood-rate 10000] [--flood-seconds 300]

``--restarts`` kills one collector (SIGKILL) a third of the way and starts it
again, and restarts PostgreSQL (immediate: a crash) half-way. ``--flood-rate``
runs the collectors alone against a publisher replaying record messages at that
many messages a second, as fast as the broker takes them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biofeedback.wire import Message, encode, record_topic  # noqa: E402
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


SLIPS_S: list[float] = []  # how late each runner message left (this process starved of CPU)


async def runner(
    port: int, name: str, seconds: int, start_at: float, sent: list[tuple[str, str, int, int]]
) -> None:
    """One runner's session at real speed; what the broker acknowledged goes in ``sent``."""
    session_id = f"{name}-s"
    topic = record_topic(name, session_id)
    client = aiomqtt.Client(
        "127.0.0.1", port, identifier=name, protocol=aiomqtt.ProtocolVersion.V5, timeout=30
    )
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    started = time.time()
    async with client:
        for t in range(seconds + 1):
            await asyncio.sleep(max(0.0, start_at + (t + 1) * TICK_S - time.monotonic()))
            message: Message = (
                synthetic.second(session_id, started, t)
                if t < seconds
                else synthetic.end(session_id, started, seconds)
            )
            SLIPS_S.append(time.time() - (started + (t + 1) * TICK_S))
            while True:
                try:
                    await client.publish(
                        topic, encode(message, sent_at_unix_s=time.time()), qos=1, timeout=30
                    )
                    break
                except aiomqtt.MqttError:
                    await asyncio.sleep(1)
            if t < seconds:
                for table in ("samples", "estimates", "events"):
                    for row in getattr(message, table):
                        sent.append((name, table, row[0], 0))


async def run_runners(port: int, runners: int, seconds: int) -> list[tuple[str, str, int, int]]:
    sent: list[tuple[str, str, int, int]] = []
    begin = time.monotonic() + 2.0
    await asyncio.gather(
        *(
            runner(port, f"r{i:05d}", seconds, begin + i * TICK_S / runners, sent)
            for i in range(runners)
        )
    )
    return sent


def check(db_url: str, sent: list[tuple[str, str, int, int]]) -> dict[str, object]:
    """Row by row: every row sent is there once; lag and counts from PostgreSQL."""
    with psycopg.connect(db_url, password=SUPERUSER_PASSWORD) as db:
        stored: dict[tuple[str, str, int], int] = {}
        for table in ("samples", "estimates", "events"):
            for runner_name, seq, copies in db.execute(
                f"SELECT s.runner, t.seq, count(*) FROM {table} t"
                " JOIN sessions s ON s.id = t.session GROUP BY 1, 2"
            ):
                stored[(runner_name, table, seq)] = copies
        want = {(r, table, seq) for r, table, seq, _ in sent}
        lost = len(want - stored.keys())
        duplicated = sum(c - 1 for c in stored.values() if c > 1)
        extra = len(stored.keys() - want)
        lag = db.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag) FROM ("
            "  SELECT extract(epoch FROM t.received_at) - (s.started_at_unix_s + t.t_s) AS lag"
            "  FROM samples t JOIN sessions s ON s.id = t.session) x"
        ).fetchone()
        size = db.execute(
            "SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname IN ('samples', 'estimates', 'events')"
        ).fetchone()
        complete = db.execute(
            "SELECT count(*) FILTER (WHERE complete_at IS NOT NULL), count(*) FROM sessions"
        ).fetchone()
    assert lag is not None
    assert complete is not None
    return {
        "sent": len(want),
        "stored": len(stored),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": extra,
        "lag_p50_s": lag[0],
        "lag_p99_s": lag[1],
        "lag_max_s": lag[2],
        "complete": f"{complete[0]}/{complete[1]}",
        "bytes_per_row": (int(size[0] or 0) / max(1, len(stored))) if size else 0.0,
    }


async def real_speed(
    broker: Mosquitto,
    cluster: Postgres,
    runners: int,
    seconds: int,
    collectors: int,
    restarts: bool,
) -> None:
    db_name = cluster.fresh_database()
    db_url = cluster.url(db_name)
    group = Collectors(broker, db_url, collectors)
    broker_cpu0, pg_cpu0, own_cpu0 = (
        cpu_s(broker_pid(broker)),
        postgres_cpu_s(cluster),
        time.process_time(),
    )
    t0 = time.monotonic()
    sending = asyncio.create_task(run_runners(broker.port, runners, seconds))
    if restarts:
        await asyncio.sleep(seconds / 3)
        group.kill("bench-c0")
        print(f"  killed collector bench-c0 at {time.monotonic() - t0:.0f} s", flush=True)
        await asyncio.sleep(5)
        group.start("bench-c0")
        await asyncio.sleep(max(0.0, seconds / 2 - (time.monotonic() - t0)))
        pg_cpu0 -= postgres_cpu_s(cluster)
        await asyncio.to_thread(cluster.stop, "immediate")
        print(f"  PostgreSQL stopped (immediate) at {time.monotonic() - t0:.0f} s", flush=True)
        await asyncio.sleep(3)
        await asyncio.to_thread(cluster.start)
        pg_cpu0 += postgres_cpu_s(cluster)
    sent = await sending
    runners_cpu = time.process_time() - own_cpu0
    # Until every session is complete (or a minute passes), then stop the collectors.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with psycopg.connect(db_url, password=SUPERUSER_PASSWORD) as db:
            row = db.execute("SELECT count(*) FROM sessions WHERE complete_at IS NULL").fetchone()
            total = db.execute("SELECT count(*) FROM sessions").fetchone()
        if row == (0,) and total == (runners,):
            break
        await asyncio.sleep(1)
    elapsed = time.monotonic() - t0
    collectors_cpu = group.cpu_s()
    lines = group.stop()
    result = check(db_url, sent)
    per = 1000 / runners
    print(
        f"  {runners} runners x {seconds} s, {collectors} collectors"
        f"{' + restarts' if restarts else ''}:"
        f" rows sent {result['sent']}, stored {result['stored']}, lost {result['lost']},"
        f" duplicated {result['duplicated']}, unexpected {result['unexpected']},"
        f" sessions complete {result['complete']}"
    )
    slips = sorted(SLIPS_S)
    SLIPS_S.clear()
    print(
        f"  runners' own delay (a message leaving after its second ended): p50"
        f" {slips[len(slips) // 2]:.2f} s, p99 {slips[int(len(slips) * 0.99)]:.2f} s;"
        f" the runs took {elapsed:.0f} s for {seconds} s of traffic"
    )
    print(
        f"  ingest lag (end of the row's second to its insert) p50 {result['lag_p50_s']:.2f} s,"
        f" p99 {result['lag_p99_s']:.2f} s, max {result['lag_max_s']:.2f} s;"
        f" rows/s {result['stored'] / elapsed:.0f} over the run"  # type: ignore[operator]
        f"; {result['bytes_per_row']:.0f} bytes a row on disk with its indexes"
    )
    broker_cpu = cpu_s(broker_pid(broker)) - broker_cpu0
    pg_cpu = postgres_cpu_s(cluster) - pg_cpu0
    print(
        f"  CPU s over {elapsed:.0f} s (per 1,000 runners): runners {runners_cpu:.1f}"
        f" ({runners_cpu * per:.1f}), broker {broker_cpu:.1f} ({broker_cpu * per:.1f}),"
        f" collectors {collectors_cpu:.1f} ({collectors_cpu * per:.1f}),"
        f" PostgreSQL {pg_cpu:.1f} ({pg_cpu * per:.1f})"
    )
    for line in lines:
        print(f"  {line}")


async def flood(
    broker: Mosquitto, cluster: Postgres, rate: int, seconds: int, collectors: int
) -> None:
    """The collectors alone against ``rate`` runners' traffic for ``seconds``.

    One publisher process replays the messages of ``rate`` runners (one a
    second each) as fast as it can, paced at ``rate`` a second at most; the
    collectors keep up if the drain ends with the publishing and their lag
    (publish to commit) stays small. Whatever is slower (the publisher, the
    broker, the collectors, PostgreSQL) shows in the rates and CPU seconds.
    (Queued for collectors away, mosquitto 2.0.11 gave a shared subscription's
    backlog to one member only: measured that way, one collector drained all.)
    """
    db_url = cluster.url(cluster.fresh_database())
    group = Collectors(broker, db_url, collectors)
    broker_cpu0, pg_cpu0 = cpu_s(broker_pid(broker)), postgres_cpu_s(cluster)
    sessions = max(1, rate)
    started = time.time()
    published = 0
    t0 = time.monotonic()
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, protocol=aiomqtt.ProtocolVersion.V5, timeout=600
    ) as client:
        client.pending_calls_threshold = 10_000_000
        for t in range(seconds):
            await asyncio.sleep(max(0.0, t0 + t - time.monotonic()))
            for first in range(0, sessions, 1000):
                await asyncio.gather(
                    *(
                        client.publish(
                            record_topic(f"f{s:05d}", f"f{s:05d}-s"),
                            encode(
                                synthetic.second(f"f{s:05d}-s", started, t),
                                sent_at_unix_s=time.time(),
                            ),
                            qos=1,
                        )
                        for s in range(first, min(sessions, first + 1000))
                    )
                )
            published += sessions
    publish_s = time.monotonic() - t0
    every = sum(1 for t in range(seconds) if t % synthetic.EVENT_EVERY_S == 0)
    want = published * 2 + every * sessions

    def stored() -> int:
        with psycopg.connect(db_url, password=SUPERUSER_PASSWORD) as db:
            n = 0
            for table in ("samples", "estimates", "events"):
                row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
                n += int(row[0]) if row else 0
            return n

    deadline = time.monotonic() + 900
    while (have := stored()) < want and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(1)
    drain_s = time.monotonic() - t0
    collectors_cpu = group.cpu_s()
    lines = group.stop()
    print(
        f"  flood: {published} messages ({rate} runners x {seconds} s) published in"
        f" {publish_s:.0f} s ({published / publish_s:.0f}/s, one publisher process);"
        f" all {have}/{want} rows stored {drain_s:.0f} s after the start:"
        f" {published / drain_s:.0f} messages/s, {have / drain_s:.0f} rows/s end to end"
    )
    print(
        f"  CPU s: publisher {time.process_time():.1f} (whole process),"
        f" broker {cpu_s(broker_pid(broker)) - broker_cpu0:.1f},"
        f" collectors {collectors_cpu:.1f}, PostgreSQL {postgres_cpu_s(cluster) - pg_cpu0:.1f}"
        f" (of {drain_s * (os.cpu_count() or 1):.0f} CPU-s the machine had, shared)"
    )
    for line in lines:
        print(f"  {line}")


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
    parser.add_argument("--flood-rate", type=int, default=0, metavar="MESSAGES_PER_S")
    parser.add_argument("--flood-seconds", type=int, default=300)
    parser.add_argument(
        "--quick", action="store_true", help="10 runners for 10 s, no flood: a smoke test"
    )
    args = parser.parse_args()
    if args.quick:
        args.runners, args.seconds, args.restarts, args.flood_rate = 10, 10, False, 0
    folder = Path(tempfile.mkdtemp(prefix="bf-bench-"))
    os.chmod(folder, 0o755)
    os.mkdir(folder / "broker")
    os.mkdir(folder / "pg")
    broker = Mosquitto(folder / "broker")
    # No cap on what the broker queues for a collector away (0: none).
    broker.conf.write_text(
        broker.conf.read_text().replace("max_queued_messages 100000", "max_queued_messages 0")
    )
    broker.start()
    cluster = Postgres(folder / "pg")
    cluster.start()
    print(f"biofeedback collect benchmark ({os.cpu_count()} CPUs, mosquitto, PostgreSQL)")
    try:
        if args.runners:
            await real_speed(broker, cluster, args.runners, args.seconds, args.collectors, False)
            if args.restarts:
                await real_speed(broker, cluster, args.runners, args.seconds, args.collectors, True)
        if args.flood_rate:
            await flood(broker, cluster, args.flood_rate, args.flood_seconds, args.collectors)
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
