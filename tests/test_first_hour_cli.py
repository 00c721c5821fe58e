"""Smaller first-hour edges of the command line: a negative rating is one clear line,
`resonance` takes `--no-ratings`, a piped `monitor` prints plain lines at low CPU."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support.broker import Mosquitto, mosquitto
from tests.support.cli import ROOT, assert_one_line_error, run_cli

__all__ = ["mosquitto"]


def test_a_negative_rating_is_one_line_about_the_rating(tmp_path: Path) -> None:
    for flag in ("--rate-before", "--rate-after"):
        proc = run_cli("run", "--sim", flag, "-1,,", "--db", str(tmp_path / "s.db"))
        assert_one_line_error(proc, flag, "0-10", "'-1'")
    assert not (tmp_path / "s.db").exists()


def test_resonance_accepts_no_ratings(tmp_path: Path) -> None:
    proc = run_cli(
        "resonance", "--sim", "--headless", "--speed", "max", "--rates", "6", "--step", "60",
        "--no-ratings", "--db", str(tmp_path / "s.db"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Resonance:" in proc.stdout


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_piped_monitor_prints_plain_lines(mosquitto: Mosquitto) -> None:
    monitor = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", "monitor", mosquitto.url],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert monitor.stdout is not None
    out = b""
    try:
        # Watching first: wait for its own line saying so.
        deadline = time.monotonic() + 15
        while b"watching" not in out and time.monotonic() < deadline:
            if select.select([monitor.stdout], [], [], 0.5)[0]:
                out += os.read(monitor.stdout.fileno(), 65536)
        assert b"watching" in out, out[-500:]
        run = run_cli(
            "run", "--sim", "panic", "--headless", "--speed", "max", "--duration", "220",
            "--mqtt", mosquitto.url, env={"BIOFEEDBACK_MQTT_RUNNER": "ana"},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        deadline = time.monotonic() + 15
        while b"ana  ended" not in out and time.monotonic() < deadline:
            if select.select([monitor.stdout], [], [], 0.5)[0]:
                out += os.read(monitor.stdout.fileno(), 65536)
        cpu_s = _cpu_s(monitor.pid)
    finally:
        monitor.terminate()
        monitor.wait(timeout=10)
    text = out.decode()
    assert "\x1b[" not in text  # no screen drawing
    assert "ana  ended" in text, text[-1000:]
    lines = [line for line in text.splitlines() if "  ana  " in line]
    # A line per change (zone, step, decision), not one per state message.
    assert 3 <= len(lines) <= 200, len(lines)
    assert any("zone_changed" in line or "green to yellow" in line for line in lines), text
    # Idle between changes: a few seconds of CPU at most over the whole session.
    assert cpu_s < 5.0, cpu_s


def _config_first_line() -> str:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "biofeedback" / "config.toml"
    return path.read_text().splitlines()[0]


def test_the_config_file_says_which_command_wrote_it() -> None:
    setup = run_cli("setup", "--position", "lying")
    assert setup.returncode == 0, setup.stderr
    assert _config_first_line() == "# Written by `biofeedback setup`; safe to edit."
    plan = run_cli("plan", "--save")
    assert plan.returncode == 0, plan.stderr
    assert _config_first_line() == "# Written by `biofeedback plan --save`; safe to edit."


def test_the_key_warning_names_exactly_the_ids_the_readme_documents() -> None:
    import re

    from biofeedback.ui.app import BiofeedbackApp
    from biofeedback.ui.keys import check_keymap

    checked = check_keymap({"session.nap": "z"}, BiofeedbackApp.binding_groups())
    (problem,) = checked.problems
    named = set(problem.split("use one of: ", 1)[1].split(", "))
    readme = (ROOT / "README.md").read_text()
    paragraph = readme[readme.index("Every binding has an") :].split("\n\n", 1)[0]
    documented = set(re.findall(r"`([a-z]+\.[a-z]+)`", paragraph))
    assert named == documented
