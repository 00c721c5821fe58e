"""The core stays free of UI, BLE and MQTT libraries; the CLI imports lazily."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("textual", "aiomqtt", "bleak", "miniaudio")


def loaded_after(import_line: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys\n{import_line}\nprint(','.join(n for n in {names!r} if n in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return [n for n in out.stdout.strip().split(",") if n]


def test_core_does_not_load_ui_ble_or_mqtt() -> None:
    core = (
        "import biofeedback.models, biofeedback.session, biofeedback.pacing.arousal,"
        " biofeedback.pacing.controller, biofeedback.pacing.protocols"
    )
    assert loaded_after(core, HEAVY) == []


def test_cli_import_is_light() -> None:
    assert loaded_after("import biofeedback.cli", (*HEAVY, "numpy")) == []
