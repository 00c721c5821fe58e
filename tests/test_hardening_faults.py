"""Issue 26's faults, each through the command line where a person meets it."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest

from biofeedback.broker import MqttSettings, parse_url
from biofeedback.mqtt import MqttSource
from biofeedback.store import Store
from simulators.bus import PrivateSystemBus
from tests.support.broker import Mosquitto, listening, mosquitto
from tests.support.cli import ROOT, assert_one_line_error, live_run, run_cli, wait_for_event
from tests.support.strap import STRAP_ADDRESS, strap_process

__all__ = ["mosquitto"]

# -- 1: a closed terminal ends the dashboard, and SIGTERM always ends it


def _dashboard_on_a_pty(
    db: Path,
    *,
    controlling: bool,
    source: tuple[str, ...] = ("--sim", "calm"),
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """`biofeedback run --sim calm` on the dashboard of a fresh pseudo-terminal.

    With ``controlling`` the terminal is the process's own (it is a session leader,
    as in a tmux pane), so closing it also sends SIGHUP; without, only the tty's
    reads and writes fail, as for a process the hang-up does not reach.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    argv = ["run", *source, "--no-ratings", "--audio", "off", "--db", str(db)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=dict(os.environ, TERM="xterm-256color", **(env or {})),
        preexec_fn=take_terminal if controlling else None,
        start_new_session=not controlling,
    )
    os.close(slave)
    return proc, master


def _until(done: Callable[[], bool], what: str, master: int | None = None) -> None:
    """Wait for ``done``, reading the terminal (if given) so the dashboard can draw."""
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, what
        if master is None:
            select.select([], [], [], 0.1)
            continue
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            os.read(master, 65536)


def _recording(db: Path) -> Callable[[], bool]:
    return lambda: bool(list(db.parent.glob(f"{db.name}-rec-*.lock")))


@pytest.mark.parametrize("controlling", [True, False], ids=["session-leader", "no-hangup"])
def test_closing_the_terminal_ends_the_dashboard_within_two_seconds(
    tmp_path: Path, controlling: bool
) -> None:
    db = tmp_path / "s.db"
    proc, master = _dashboard_on_a_pty(db, controlling=controlling)
    try:
        _until(_recording(db), "the session never started recording", master)
        os.close(master)  # the terminal window closes
        closed_at = time.monotonic()
        code = proc.wait(timeout=10)
        took_s = time.monotonic() - closed_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took_s < 2.5, f"took {took_s:.1f} s"
    assert code == 128 + signal.SIGHUP
    with Store(db) as store:
        session = store.session("latest")
    assert session.finished
    assert session.end_reason == "terminal closed"
    assert not _recording(db)(), "the recording lock (and with it the source) was let go"


def test_closing_the_terminal_lets_go_of_the_strap(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with PrivateSystemBus() as bus, strap_process(bus):
        proc, master = _dashboard_on_a_pty(
            db, controlling=True, source=("--device", STRAP_ADDRESS), env=bus.env({})
        )
        try:
            _until(_recording(db), "the session never started recording", master)
            os.close(master)
            assert proc.wait(timeout=10) == 128 + signal.SIGHUP
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # The virtual BlueZ keeps a link its client merely left: false means we
        # disconnected the strap on the way out.
        device = f"/org/bluez/hci0/dev_{STRAP_ADDRESS.replace(':', '_')}"
        connected = asyncio.run(_strap_connected(bus.address, device))
    assert connected is False
    with Store(db) as store:
        assert store.session("latest").end_reason == "terminal closed"


async def _strap_connected(bus_address: str, device: str) -> bool:
    """The virtual BlueZ's ``Connected`` for ``device``, asked over its bus."""
    from dbus_fast import Message
    from dbus_fast.aio import MessageBus

    bus = await MessageBus(bus_address=bus_address).connect()
    try:
        reply = await bus.call(
            Message(
                destination="org.bluez",
                path=device,
                interface="org.freedesktop.DBus.Properties",
                member="Get",
                signature="ss",
                body=["org.bluez.Device1", "Connected"],
            )
        )
    finally:
        bus.disconnect()
    assert reply is not None
    return bool(reply.body[0].value)


def test_sigterm_ends_a_dashboard_stuck_on_a_terminal_that_reads_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    proc, master = _dashboard_on_a_pty(db, controlling=False)
    try:
        _until(_recording(db), "the session never started recording")

        def stuck() -> bool:
            # Nobody reads the terminal: its buffer fills, Textual's writer thread
            # blocks in write(), its queue fills, and the main thread waits on a lock.
            wchan = Path(f"/proc/{proc.pid}/wchan").read_text()
            return "futex" in wchan

        _until(stuck, "the dashboard never blocked on its full terminal")
        proc.send_signal(signal.SIGTERM)
        sent_at = time.monotonic()
        code = proc.wait(timeout=10)
        took_s = time.monotonic() - sent_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert took_s < 3, f"took {took_s:.1f} s"
    assert code == 128 + signal.SIGTERM
    # Its loop was stuck, so the watchdog wrote the end before leaving.
    with Store(db) as store:
        session = store.session("latest")
    assert session.finished
    assert session.end_reason == "terminated"


# -- 2, 3: a flooded topic takes bounded memory; what is skipped is counted and kept


async def _until_async(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def test_a_flood_on_the_topic_is_capped_and_counted(mosquitto: Mosquitto) -> None:
    url = parse_url(f"{mosquitto.url}/straps/flood", topic=True)
    source = MqttSource(url, MqttSettings())
    junk = b"\x7f" * 4000
    beat = json.dumps({"hr": 60, "rr_ms": [1000]}).encode()
    async with source, aiomqtt.Client("127.0.0.1", mosquitto.port) as flood:
        # Nobody reads the source meanwhile: the flood is all the client holds.
        for _ in range(3000):
            await flood.publish("straps/flood", junk)
            await flood.publish("straps/flood", beat)
        await _until_async(lambda: source.skipped + _queued(source) >= 6000, "flood not heard")
        queued = _queued(source)
    counts = source.skip_counts()
    assert counts["not heart rate"] == 3000
    # What a heart can give in the few seconds this took: some 15 s of buffered
    # beats and one a second since; the rest is refused, or never queued at all.
    assert queued <= 64
    assert (
        counts["more beats than time had passed"]
        + counts.get("arrived faster than they could be read", 0)
        >= 3000 - 64
    )


def _queued(source: MqttSource) -> int:
    client = source._client  # noqa: SLF001 (the source's own client, to see its queue)
    assert client is not None
    return len(client.messages)


async def test_no_data_on_the_topic_says_the_topic_may_be_wrong(mosquitto: Mosquitto) -> None:
    url = parse_url(f"{mosquitto.url}/straps/typo", topic=True)
    source = MqttSource(url, MqttSettings(), no_data_hint_s=0.3)
    said: list[str | None] = []
    heard = asyncio.Event()

    def watch(text: str | None) -> None:
        said.append(text)
        heard.set()

    source.watch_trouble(watch)
    async with source:
        await asyncio.wait_for(heard.wait(), 10)
    assert said == ["no data on straps/typo after 0.3 s; is the topic right?"]


def test_skipped_broker_messages_are_in_the_record(mosquitto: Mosquitto, tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    proc = live_run("--source", f"{mosquitto.url}/straps/kim", "--duration", "3", "--db", str(db))

    async def publish() -> None:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as strap:
            # A strap's "no reading yet" (flags 0, HR 0, no RR) does not start the clock.
            await strap.publish("straps/kim", bytes([0x00, 0x00]))
            await strap.publish("straps/kim", b"junk")
            # A bad hr with good RR is skipped whole, as a bad RR is.
            await strap.publish("straps/kim", json.dumps({"hr": "fast", "rr_ms": [1000]}))
            await strap.publish("straps/kim", json.dumps({"hr": 60, "rr_ms": [1000, "x"]}))
            for _ in range(8):
                await strap.publish("straps/kim", json.dumps({"hr": 60, "rr_ms": [1000]}))
                await asyncio.sleep(0.5)  # a heart's pace: one beat a second, as a strap sends

    try:
        wait_for_event(proc, "session_started")
        asyncio.run(publish())
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    ended = json.loads(out.splitlines()[-1])
    skipped = {"neither hr nor rr_ms": 1, "not heart rate": 1, "bad hr": 1, "bad rr_ms": 1}
    assert ended["skipped_messages"] == skipped
    with Store(db) as store:
        rec = store.load("latest")
    assert all(s.rr_ms == (1000.0,) and s.hr_bpm == 60.0 for s in rec.samples)
    review = run_cli("review", "--db", str(db))
    assert "4 broker messages were skipped (1 bad hr, 1 bad rr_ms," in review.stdout
    as_json = json.loads(run_cli("review", "--json", "--db", str(db)).stdout)
    assert as_json["skipped_messages"] == skipped


# -- 4: a store in a read-only folder never hides what its -wal holds


def _as_a_plain_user(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as root without the powers that ignore file modes (as a user would be)."""
    setpriv = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
    if os.geteuid() != 0:
        setpriv = []
    return subprocess.run(
        [*setpriv, sys.executable, "-m", "biofeedback", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _a_session_only_in_the_wal(folder: Path) -> tuple[Path, dict[str, object]]:
    """A store in ``folder`` with a finished session, and a second one (its start
    event returned) killed before any checkpoint: that one is only in the -wal."""
    db = folder / "s.db"
    older = run_cli(
        "run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "60",
        "--db", str(db),
    )  # fmt: skip
    assert older.returncode == 0, older.stderr
    proc = live_run("--sim", "--speed", "20", "--db", str(db))
    try:
        started = wait_for_event(proc, "session_started")
        wait_for_event(proc, "estimate")
        wait_for_event(proc, "estimate")  # a commit a second: the start is on disk
    finally:
        proc.kill()  # kill -9: no checkpoint, the session is only in the -wal
        proc.wait()
    wal = Path(f"{db}-wal")
    assert wal.exists()
    assert wal.stat().st_size > 0
    return db, started


def test_a_read_only_folder_still_shows_the_session_in_its_wal(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    db, started = _a_session_only_in_the_wal(folder)
    folder.chmod(0o500)
    try:
        review = _as_a_plain_user("review", "--json", "--db", str(db))
        history = _as_a_plain_user("history", "--json", "--db", str(db))
    finally:
        folder.chmod(0o700)
    assert review.returncode == 0, review.stderr
    assert json.loads(review.stdout)["session_id"] == started["session_id"]
    assert str(started["session_id"]) in history.stdout


def test_a_session_is_refused_where_it_could_not_be_kept(tmp_path: Path) -> None:
    # A store whose folder cannot be written is read from a private copy: a session
    # recorded there was said to be saved, and was lost with the copy.
    folder = tmp_path / "archive"
    folder.mkdir()
    db, _ = _a_session_only_in_the_wal(folder)
    before = _as_a_plain_user("history", "--json", "--db", str(db))
    folder.chmod(0o500)
    try:
        run = _as_a_plain_user(
            "run", "--sim", "--headless", "--speed", "max", "--duration", "60", "--db", str(db)
        )
        after = _as_a_plain_user("history", "--json", "--db", str(db))
    finally:
        folder.chmod(0o700)
    assert_one_line_error(run, "could not be kept", "--db")
    assert "saved" not in run.stdout + run.stderr
    assert after.stdout == before.stdout  # nothing claimed, nothing changed


# -- 4b: brief gaps in the heart data are counted, not announced


def test_brief_gaps_are_not_announced_and_the_review_counts_them(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    run = run_cli(
        "run", "--sim", "dropouts", "--headless", "--json", "--speed", "max", "--db", str(db)
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    lost = [e for e in events if e["type"] == "signal_lost"]
    restored = [e for e in events if e["type"] == "signal_restored"]
    # The scenario's contact loss at 240-244 s lasts 4 s: under the 5 s hold.
    assert not [e for e in lost if 240 <= e["t"] <= 250]
    for went, back in zip(lost, restored, strict=True):
        assert back["t"] - went["t"] >= 5, "a return is announced after 5 s of data"
    summary = json.loads(run_cli("review", "--json", "--db", str(db)).stdout)
    assert summary["brief_signal_gaps"] >= 1
    text = run_cli("review", "--db", str(db)).stdout
    assert f"{summary['brief_signal_gaps']} brief gaps in the heart data" in text


# -- 5: nothing personal stays retained on the broker after the process dies


async def _retained_states(port: int) -> list[dict[str, object]]:
    """What a newcomer to the broker is handed on the runners' state topics."""
    async with listening(port, "biofeedback/+/state", "probe/done") as newcomer:
        async with aiomqtt.Client("127.0.0.1", port) as probe:
            # Delivered after whatever was retained: the end of what was kept.
            await probe.publish("probe/done", b"1", qos=1)
        await newcomer.wait_for(lambda m: any(t == "probe/done" for t, _, _ in m))
        return [json.loads(p) for t, p, kept in newcomer.messages if kept and t != "probe/done"]


async def test_a_killed_runner_leaves_no_vitals_retained(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    argv = ["run", "--headless", "--json", "--sim", "--speed", "4", "--mqtt", mosquitto.url]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "biofeedback", *argv, "--db", str(tmp_path / "s.db"),
        cwd=ROOT,
        env=dict(
            os.environ, XDG_CONFIG_HOME=str(tmp_path / "home"), BIOFEEDBACK_MQTT_EXPIRE_AFTER_S="1"
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with listening(mosquitto.port, "biofeedback/+/state") as watcher:
            # The live state carries the heart rate while the session runs...
            await watcher.wait_for(
                lambda m: any(json.loads(p).get("hr_bpm") is not None for _, p, _ in m)
            )
        assert [s for s in await _retained_states(mosquitto.port) if s["hr_bpm"] is not None]
    finally:
        proc.kill()  # ...and then the runner dies without a word
        await proc.wait()
    # The broker lets the state go once it is expire_after_s old.
    deadline = time.monotonic() + 10
    while [s for s in await _retained_states(mosquitto.port) if s["hr_bpm"] is not None]:
        assert time.monotonic() < deadline, "the vitals stayed retained"
        await asyncio.sleep(0.2)


# -- 6: a replay from a pipe reads its data once


def test_a_replay_from_a_pipe_reads_it_once(tmp_path: Path) -> None:
    rr = (ROOT / "tests" / "data" / "rr" / "nsrdb_pyhrv_5min_nni.txt").read_text()
    db = tmp_path / "s.db"
    argv = ["run", "--replay", "/dev/stdin", "--headless", "--json", "--speed", "max"]
    proc = subprocess.run(
        [sys.executable, "-m", "biofeedback", *argv, "--db", str(db)],
        input=rr,  # a pipe, as from `cat rr.txt |`
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    ended = json.loads(proc.stdout.splitlines()[-1])
    assert ended["type"] == "session_ended"
    assert ended["duration_s"] > 200, "the whole 5 minutes, not an empty session"
    with Store(db) as store:
        beats = sum(len(s.rr_ms) for s in store.load("latest").samples)
    values = [line for line in rr.splitlines() if line.strip() and not line.startswith("#")]
    assert beats >= len(values) - 5


# -- 8: a FIFO as --protocol is refused before it is opened


def test_a_fifo_as_protocol_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "routine.toml"
    os.mkfifo(fifo)
    proc = run_cli(
        "run", "--sim", "--headless", "--speed", "max", "--protocol", str(fifo),
        "--db", str(tmp_path / "s.db"), timeout=20,
    )  # fmt: skip
    assert_one_line_error(proc, "pipe")
    assert not (tmp_path / "s.db").exists(), "nothing written"


# -- 7: an export's temp file does not outlive a signal, and stale ones are swept

_EXPORT_THEN_SIGNAL = """
import os, signal, sys, threading
from pathlib import Path
from biofeedback.store.files import exporting
with exporting(Path(sys.argv[1])) as fh:
    fh.write("t_s,type\\n")
    fh.flush()
    print("writing", flush=True)
    threading.Event().wait(30)  # a long export: the signal comes meanwhile
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_an_export_ended_by_a_signal_leaves_no_temp_file(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", _EXPORT_THEN_SIGNAL, str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "writing\n"
    assert [p.name for p in tmp_path.iterdir()] == [f".out.csv.{proc.pid}.tmp"]
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 128 + sig
    assert list(tmp_path.iterdir()) == [], "the temp file with heart data is gone"


def test_stale_export_temp_files_are_swept(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    made = run_cli(
        "run", "--sim", "--headless", "--speed", "max", "--duration", "30", "--db", str(db)
    )
    assert made.returncode == 0, made.stderr
    dead_pid = _a_dead_pid()
    stale = tmp_path / f".out.csv.{dead_pid}.tmp"
    stale.write_text("heart data of a killed export")
    other = tmp_path / ".notes.txt.123.tmp"  # not ours: left alone
    other.write_text("x")
    proc = run_cli("review", "--csv", str(tmp_path / "out.csv"), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists()
    assert other.exists()
    assert (tmp_path / "out.csv").exists()


def _a_dead_pid() -> int:
    """The pid of a process that has ended (free, unless reused since)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# -- 9: protocol checks a person can make sense of


def _protocol(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ntitle = "Mine"\nzone = "green"\n' + body)
    return path


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            '[[steps]]\nid = "b"\nkind = "breath"\ncue = "Breathe."\ns = 60\n'
            "breath_in_s = 0.001\nbreath_out_s = 0.001\n",
            ["'breath_in_s' must be 1 to 30 s", "not 0.001 s"],
        ),
        (
            "".join(
                f'[[steps]]\nid = "r{i}"\nkind = "rest"\ncue = "Rest."\ns = 3600\n'
                for i in range(2000)
            ),
            ["2,000.0 h", "at most 48 h"],
        ),
        (
            '[[steps]]\nregion = "hands"\nid = "g"\ntense = "Fists."\nrelease = "Let go."\n'
            "tense_s = 10.000001\n",
            ["at most 10 s, not 10.000001 s"],
        ),
    ],
    ids=["breath-phase", "two-thousand-hours", "tense-just-over"],
)
def test_protocol_checks_say_what_is_wrong(tmp_path: Path, body: str, words: list[str]) -> None:
    path = _protocol(tmp_path, body)
    proc = run_cli(
        "run", "--sim", "--headless", "--speed", "max", "--protocol", str(path),
        "--db", str(tmp_path / "s.db"),
    )  # fmt: skip
    assert_one_line_error(proc, *words)
    assert not (tmp_path / "s.db").exists()


# -- 10: an emptied store, stale locks, and the saved-in line after a signal


def test_an_emptied_store_is_not_silently_made_new(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    db.touch()
    an_hour_ago = time.time() - 3600
    os.utime(db, (an_hour_ago, an_hour_ago))
    for args in (["review"], ["run", "--sim", "--headless", "--speed", "max"]):
        assert_one_line_error(run_cli(*args, "--db", str(db)), "empty (0 bytes)")
    assert db.stat().st_size == 0, "left as it was"


def test_stale_recording_locks_are_swept(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    stale = tmp_path / "s.db-rec-0123456789ab.lock"  # a recorder killed with -9 left it
    stale.touch()
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    proc = run_cli(
        "run", "--sim", "--headless", "--speed", "max", "--duration", "20", "--db", str(db)
    )
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.glob("*.lock")) == []


def test_a_session_ended_by_a_signal_says_where_it_is_saved(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    proc = live_run("--sim", "--speed", "20", "--db", str(db))
    try:
        started = wait_for_event(proc, "session_started")
        wait_for_event(proc, "step_started")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert f"session {started['session_id']} (terminated) saved in {db}" in err
