"""Issue 16's holes, each through the command line where a person meets it.

Every bad input is one line on stderr and exit 2, with the data left intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from biofeedback import config
from biofeedback.store import Store
from tests.support.broker import Mosquitto, mosquitto
from tests.support.cli import assert_one_line_error, live_run, run_cli, wait_for_event
from tests.support.store import damage_pages

__all__ = ["mosquitto"]


def record(db: Path, seconds: str = "60") -> str:
    proc = run_cli(
        "run", "--sim", "--headless", "--json", "--speed", "max", "--duration", seconds,
        "--db", str(db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return str(json.loads(proc.stdout.splitlines()[0])["session_id"])


# -- 1, 3: hostile MQTT messages neither end a session nor become heart data


async def test_hostile_broker_messages_are_skipped_or_left_out(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    proc = live_run(
        "--source", f"{mosquitto.url}/straps/eve", "--duration", "6", "--db", str(db)
    )  # fmt: skip
    try:
        await_started = wait_for_event(proc, "session_started")
        assert str(await_started["source"]).startswith("mqtt:")
        hostile = [
            b'{"hr": ' + b"9" * 400 + b"}",  # OverflowError in float()
            b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}",  # RecursionError in json
            json.dumps({"hr": 1e308, "rr_ms": [1e308]}).encode(),  # impossible heart
            json.dumps({"hr": 60, "rr_ms": [800.0] * 250_000}).encode(),  # 1.5 MB
            json.dumps({"hr": 60, "rr_ms": [900.0] * 40}).encode(),  # too many beats
            json.dumps({"hr": 60, "rr_ms": [5e6]}).encode(),  # a beat of 83 minutes
        ]
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as strap:
            for i in range(12):
                await strap.publish("straps/eve", json.dumps({"hr": 60, "rr_ms": [1000]}))
                if i < len(hostile):
                    await strap.publish("straps/eve", hostile[i])
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    last = json.loads(out.splitlines()[-1])
    assert (last["type"], last["reason"]) == ("session_ended", "duration reached")
    assert last["rejected_samples"] == 2
    assert "Traceback" not in err
    assert "skipped 4 broker messages" in err
    assert "left out 2 samples that cannot be heart data" in err
    with Store(db) as store:
        rec = store.load("latest")
    assert rec.samples, "the good messages were recorded"
    assert all(s.hr_bpm == 60.0 and s.rr_ms == (1000.0,) for s in rec.samples)
    review = run_cli("review", "--db", str(db))
    assert "2 samples from the source could not be heart data" in review.stdout


# -- 2: unsafe protocol and scenario numbers


PROTOCOL_HEAD = 'name = "x"\ntitle = "X"\nzone = "green"\n'


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ('[[steps]]\nregion = "hands"\ntense = "Fists"\nrelease = "Let go"\ntense_s = nan\n',
         "tense_s"),
        ('[[steps]]\nid = "b"\nkind = "breath"\ncue = "Breathe"\ns = nan\n', "'s'"),
        ('[[steps]]\nid = "b"\nkind = "breath"\ncue = "Breathe"\ns = 60\n'
         "breath_in_s = nan\nbreath_out_s = 6\n", "breath_in_s"),
        ('[[steps]]\nid = "b"\nkind = "rest"\ncue = "Rest"\ns = inf\n', "'s'"),
    ],
)  # fmt: skip
def test_nan_and_inf_durations_are_refused(tmp_path: Path, steps: str, field: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(PROTOCOL_HEAD + steps)
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--protocol", str(path))
    assert_one_line_error(proc, field, "positive number of seconds")


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("[person]\nrelax_hr_drop_bpm = nan\n", "relax_hr_drop_bpm"),
        ("[person]\nrest_hr_bpm = 0\n", "rest_hr_bpm"),
        ("[person]\nrelax_tau_s = 0\n", "relax_tau_s"),
        ("[person]\nbreath_rate_hz = inf\n", "breath_rate_hz"),
        ("[recovery_tau_s]\nrest = 1e400\n", "rest"),
        ("[[episodes]]\nonset_s = 10\nhold_s = nan\nhr_rise_bpm = 5\nrmssd_factor = 0.5\n",
         "hold_s"),
    ],
)  # fmt: skip
def test_impossible_scenarios_are_refused(tmp_path: Path, table: str, field: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'name = "odd"\n{table}')
    proc = run_cli("run", "--sim", str(path), "--headless", "--speed", "max", "--duration", "5")
    assert_one_line_error(proc, field)


# -- 5, 7: sizes, devices and nesting


@pytest.fixture
def config_file() -> Path:
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_endless_inputs_are_refused_in_one_line(config_file: Path) -> None:
    for args in (
        ("--replay", "/dev/zero"),
        ("--protocol", "/dev/zero", "--sim"),
        ("--sim", "/dev/zero"),
    ):
        proc = run_cli("run", "--headless", "--speed", "max", *args, timeout=20)
        assert_one_line_error(proc, "/dev/zero", "device")
    config_file.symlink_to("/dev/zero")
    assert_one_line_error(run_cli("run", "--headless", timeout=20), "device")


def test_deeply_nested_toml_is_one_line(tmp_path: Path, config_file: Path) -> None:
    deep = "a = " + "[" * 5000 + "]" * 5000 + "\n"
    path = tmp_path / "deep.toml"
    path.write_text(deep)
    for args in (("--protocol", str(path), "--sim"), ("--sim", str(path))):
        proc = run_cli("run", "--headless", "--speed", "max", *args)
        assert_one_line_error(proc, "nested too deeply")
    config_file.write_text(deep)
    assert_one_line_error(run_cli("run", "--headless"), "nested too deeply")


def test_a_huge_one_line_file_and_a_long_bad_line_are_one_short_line(tmp_path: Path) -> None:
    one_line = tmp_path / "one-line.txt"
    one_line.write_bytes(b"8" * 5_000_000)
    proc = run_cli("run", "--replay", str(one_line), "--headless", "--speed", "max")
    assert_one_line_error(proc, "line 1 is longer than")
    bad = tmp_path / "bad.txt"
    bad.write_text("800\n900\n" + "x" * 3000 + "\n")
    proc = run_cli("run", "--replay", str(bad), "--headless", "--speed", "max")
    assert_one_line_error(proc, "line 3", "xxx")
    assert len(proc.stderr) < 300


def test_review_into_a_full_device_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    record(db)
    assert_one_line_error(run_cli("review", "--rr", "/dev/full", "--db", str(db)), "/dev/full")


# -- 4: a damaged store, and a file that is not ours


def test_a_damaged_store_is_refused_before_the_session(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    record(db, "600")
    damaged = damage_pages(db, os.urandom(1 << 16))
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--db", str(db))
    assert_one_line_error(proc, "damaged", "--db")
    assert db.read_bytes() == damaged, "a refused store is left exactly as it was"
    assert_one_line_error(run_cli("review", "--db", str(db)), "damaged")


def test_a_file_refused_as_a_store_keeps_its_mode(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as raw:
        raw.execute("CREATE TABLE notes (text TEXT)")
    raw.close()
    os.chmod(foreign, 0o644)
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--db", str(foreign))
    assert_one_line_error(proc, "another program")
    assert stat.S_IMODE(foreign.stat().st_mode) == 0o644


# -- 8: a store in a folder that cannot be written


@contextlib.contextmanager
def read_only_view(folder: Path, view: Path) -> Iterator[Path]:
    view.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(folder), str(view)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(
            f"needs a bind mount (root with CAP_SYS_ADMIN) to make a read-only folder: {exc}"
        )
    try:
        subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(view)], check=True, capture_output=True
        )
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=False, capture_output=True)


def test_a_store_in_a_read_only_folder_can_be_reviewed(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    session_id = record(folder / "s.db")
    with read_only_view(folder, tmp_path / "view") as view:
        proc = run_cli("review", "--json", "--db", str(view / "s.db"))
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["session_id"] == session_id
        history = run_cli("history", "--json", "--db", str(view / "s.db"))
        assert history.returncode == 0, history.stderr
        # Running a session there is one clear line, not a traceback.
        proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--db", str(view / "s.db"))
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr


# -- a recorder that cannot write says so at once


def test_a_failing_recorder_is_reported_the_moment_it_fails(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mnt)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"filling a disk needs a small tmpfs mount (root, CAP_SYS_ADMIN): {exc}")
    try:
        proc = run_cli(
            "run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "7200",
            "--db", str(mnt / "s.db"), timeout=120,
        )  # fmt: skip
    finally:
        subprocess.run(["umount", str(mnt)], check=False, capture_output=True)
    lines = proc.stderr.strip().splitlines()
    trouble = [i for i, line in enumerate(lines) if "not being saved right now" in line]
    assert trouble, proc.stderr
    final = [i for i, line in enumerate(lines) if "could not be saved" in line]
    assert final, proc.stderr
    assert trouble[0] < final[0], proc.stderr
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


# -- also: delete


def test_delete_refuses_a_session_still_recording(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    proc = live_run("--sim", "--speed", "20", "--db", str(db))
    try:
        started = wait_for_event(proc, "step_started")
        del started
        with Store(db) as store:
            session_id = store.session("latest").session_id
        refused = run_cli("delete", session_id, "--yes", "--db", str(db))
        assert_one_line_error(refused, "still being recorded")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    with Store(db) as store:
        assert store.session(session_id).end_reason == "interrupted"
    done = run_cli("delete", session_id, "--yes", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert f"deleted session {session_id}" in done.stdout


def test_delete_asks_on_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    session_id = record(db)

    def answer(text: bytes) -> str:
        main, child = pty.openpty()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "biofeedback", "delete", session_id[:4], "--db", str(db)],
                stdin=child,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            os.write(main, text)
            out, err = proc.communicate(timeout=30)
        finally:
            os.close(main)
            os.close(child)
        assert proc.returncode == 0, err
        return out.decode()

    kept = answer(b"n\n")
    assert f"Delete session {session_id} (" in kept
    assert "full" in kept
    assert f"kept session {session_id}" in kept
    with Store(db) as store:
        assert store.session(session_id)
    gone = answer(b"y\n")
    assert f"deleted session {session_id}" in gone
    with Store(db) as store:
        assert not store.sessions()


# -- also: exports and flags


def test_exports_say_what_they_write(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    record(db)
    assert_one_line_error(
        run_cli("review", "--png", str(tmp_path / "out.jpg"), "--db", str(db)), "out.png"
    )
    missing = tmp_path / "nope" / "x.csv"
    assert_one_line_error(run_cli("review", "--csv", str(missing), "--db", str(db)), "no folder")
    assert not missing.parent.exists(), "a missing folder is not created behind the person's back"
    proc = run_cli("review", "--rr", "-", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    values = [float(line) for line in proc.stdout.splitlines()]
    assert len(values) > 30
    assert all(300 < v < 2000 for v in values)
    assert not (Path.cwd() / "-").exists()


def test_absurd_speeds_are_refused() -> None:
    for speed in ("1e-9", "0", "1e9"):
        proc = run_cli("run", "--sim", "--headless", "--speed", speed)
        assert proc.returncode == 2
        assert "speed must be" in proc.stderr


# -- 9: a crashed runner's vitals do not stay on the broker


async def test_a_runner_clears_the_vitals_a_crash_left_retained(mosquitto: Mosquitto) -> None:
    from biofeedback.broker import MqttSettings, parse_url
    from biofeedback.models import SessionInfo
    from biofeedback.mqtt import MqttPublisher
    from tests.support.broker import listening

    left = {"session_id": "old", "hr_bpm": 91.0, "rmssd_ms": 12.0, "arousal": 2.5, "ended": False}
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as crashed:
        await crashed.publish("biofeedback/zoe/state", json.dumps(left), qos=1, retain=True)
    publisher = MqttPublisher(parse_url(mosquitto.url), MqttSettings(runner="zoe"))
    await publisher.start(SessionInfo("new", "full", "test", time.time()))
    try:
        async with listening(mosquitto.port, "biofeedback/zoe/state") as watcher:
            await watcher.wait_for(lambda m: any(json.loads(p)["hr_bpm"] is None for _, p, _ in m))
        # Whoever looks now finds no heart data kept on the broker.
        async with listening(mosquitto.port, "biofeedback/zoe/state") as later:
            await later.wait_for(lambda m: m)
            _topic, payload, retained = later.messages[0]
    finally:
        await publisher.stop()
    state = json.loads(payload)
    assert retained
    assert (state["hr_bpm"], state["rmssd_ms"], state["arousal"]) == (None, None, None)


def test_closing_the_terminal_ends_a_dashboard_session_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "biofeedback",
            "run",
            "--sim",
            "--speed",
            "20",
            "--no-ratings",
            "--db",
            str(db),
        ],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"},
    )
    os.close(child)
    try:
        # The dashboard redraws all the time: read until the recorder holds its lock.
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("s.db-rec-*.lock")):
            assert time.monotonic() < deadline, "the session never started recording"
            try:
                os.read(main, 65536)
            except OSError:
                break
        proc.send_signal(signal.SIGHUP)
        with contextlib.suppress(OSError):
            while os.read(main, 65536):
                pass
        assert proc.wait(timeout=30) == 128 + signal.SIGHUP
    finally:
        proc.kill()
        os.close(main)
    with Store(db) as store:
        session = store.session("latest")
    assert session.finished
    assert session.end_reason == "terminal closed"
