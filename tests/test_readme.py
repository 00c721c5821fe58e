"""Every command in the README runs as written after the Quick start (issue 18, item 1).

The README's ``sh`` blocks are read from the file itself, so a command added
there without a way to run it here fails ``test_every_readme_command_is_covered``.
Each runs in bash with the Quick start's environment activated, as the README
says to do once; sessions get a private store and config (conftest).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from tests.support.cli import ROOT

README = ROOT / "README.md"
VENV = Path(sys.executable).parent.parent
ACTIVATE = VENV / "bin" / "activate"
QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/biofeedback run --sim"
)
STRAP_RECIPE_START = "python -m simulators strap --private-bus &"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)


def commands(block: str) -> list[str]:
    """The block's command lines, without their trailing comments."""
    lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line]


def bash(
    command: str,
    *,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """``command`` in bash after activating the environment, from the clone's root."""
    return subprocess.run(
        ["bash", "-c", f". {ACTIVATE} && {command}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


needs_venv = pytest.mark.skipif(
    not ACTIVATE.exists() or VENV != ROOT / ".venv",
    reason="the README's commands run from the clone's .venv (as ./scripts/test makes it)",
)


def test_every_readme_command_is_covered() -> None:
    covered = {
        QUICK_START,
        ". .venv/bin/activate",
        "./scripts/test",
        "biofeedback run --sim --headless --json --speed max --duration 900",
        GUIDED_TRACK,
        STRAP_RECIPE_START,
        "export DBUS_SYSTEM_BUS_ADDRESS=...",
        'biofeedback scan && biofeedback pair "Virtual Strap 180D"'
        " && biofeedback run --headless --duration 20",
        *MQTT_COMMANDS,
        *CENTRAL_COMMANDS,
    }
    found = {c for block in sh_blocks() for c in commands(block)}
    assert found == covered, found ^ covered


GUIDED_TRACK = (
    "biofeedback run --sim --headless --speed max --protocol bedtime --audio-out bedtime.wav"
)


@needs_venv
def test_the_guided_track_example_writes_a_wav(tmp_path: Path) -> None:
    proc = bash(GUIDED_TRACK, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    track = tmp_path / "bedtime.wav"
    with wave.open(str(track)) as wav:
        # The whole routine (about seven minutes) in session time.
        assert wav.getnframes() / wav.getframerate() > 300
    assert track.stat().st_mode & 0o077 == 0


# Need a broker at broker.local, which the README names as an example host.
MQTT_COMMANDS = (
    "biofeedback run --sim --mqtt mqtt://broker.local",
    "biofeedback run --source mqtt://broker.local/straps/ana",
    "biofeedback monitor mqtt://broker.local",
    "python -m simulators mqtt mqtt://broker.local/straps --straps 3",
)
# Run for real in tests/test_collect.py and tests/test_central.py; here they must parse.
CENTRAL_COMMANDS = (
    "biofeedback run --mqtt mqtts://broker.clinic --mqtt-record",
    "biofeedback sync --mqtt mqtts://broker.clinic all",
    "biofeedback collect --broker mqtts://broker.clinic"
    " --db postgresql://biofeedback_collector@db.clinic/biofeedback",
    "biofeedback review latest --runner ana"
    " --db postgresql://biofeedback_reviewer@db.clinic/biofeedback",
)


def test_the_central_examples_parse() -> None:
    import shlex

    from biofeedback.cli.parser import build_parser

    for command in CENTRAL_COMMANDS:
        args = build_parser().parse_args(shlex.split(command)[1:])
        assert args.handler is not None


def test_the_readme_tells_to_activate_before_other_commands() -> None:
    text = README.read_text()
    assert text.index(". .venv/bin/activate") < text.index("biofeedback run --sim --headless")
    # ./scripts/test makes the same .venv the Quick start does.
    assert ".venv" in (ROOT / "scripts" / "test").read_text()


@needs_venv
def test_quick_start_opens_a_session_and_ctrl_c_ends_it() -> None:
    # The venv and install are what the suite itself runs in; the session part
    # runs as written (piped, it prints the events instead of the dashboard).
    command = QUICK_START.rsplit("&& ", 1)[1]
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "session_started" in first, first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in err
    assert "session_ended" in out


@needs_venv
def test_the_json_lines_example() -> None:
    proc = bash("biofeedback run --sim --headless --json --speed max --duration 900")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert '"type":"session_started"' in lines[0]
    assert '"type":"session_ended"' in lines[-1]
    assert "saved in" in proc.stderr


@needs_venv
def test_the_strap_recipe_with_the_virtual_strap(tmp_path: Path) -> None:
    blocks = [b for b in sh_blocks() if STRAP_RECIPE_START in b]
    (block,) = blocks
    start, export, rest = commands(block)
    strap = subprocess.Popen(
        ["bash", "-c", f". {ACTIVATE} && exec {start.removesuffix('&').strip()}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert strap.stdout is not None
        printed = strap.stdout.readline().strip()
        if "DBUS_SYSTEM_BUS_ADDRESS=" not in printed:
            strap.kill()
            _, err = strap.communicate(timeout=10)
            pytest.skip(f"no private D-Bus here (dbus-daemon missing?): {err.strip()[:200]}")
        assert "ready" in strap.stdout.readline()
        # The person copies the address it printed into the export.
        address = printed.split("=", 1)[1]
        command = export.replace("...", f"'{address}'") + " && " + rest
        proc = bash(command, timeout=120)
    finally:
        os.killpg(strap.pid, signal.SIGTERM)
        strap.communicate(timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert "Virtual Strap 180D" in proc.stdout  # scan
    assert "paired Virtual Strap 180D" in proc.stdout
    assert "session_started" in proc.stdout
    assert "session_ended" in proc.stdout
    assert "duration reached" in proc.stdout


def test_the_mqtt_examples_need_a_broker_named_in_the_text() -> None:
    text = README.read_text()
    for command in MQTT_COMMANDS:
        assert command in text
    assert "broker.local" in text
