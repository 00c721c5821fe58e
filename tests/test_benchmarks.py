"""Every benchmark still runs, unattended, in its quick mode (issue 28): a
benchmark that waits on a form, needs a flag it lost, or leaves a process behind
fails here instead of rotting until someone next wants its figures.

The list is every script in benchmarks/ but the ones named in ``EXCLUDED``,
each with its reason; a new benchmark is covered as soon as it is added (give
it ``--quick``: tiny inputs, one run). Figures are not asserted: the benchmarks
print them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

EXCLUDED = {
    "__init__.py": "not a benchmark",
    "figures.py": "what the benchmarks print figures with, not a benchmark",
    "detection_corpus.py": "the corpus detection.py and detection_frontier.py share, no figures",
    "detection_breath_corpus.py": "the breathing corpus detection_breath.py runs, no figures",
    "ble.py": "needs a private D-Bus system bus and the virtual strap (see tests/test_ble*.py)",
    "mqtt.py": "needs a mosquitto broker (tests/test_mqtt_*.py cover the publisher)",
}
COVERED = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name not in EXCLUDED)
# Quick runs are small, but some still run a session or a corpus: a generous bound.
LIMIT_S = 120


@pytest.mark.parametrize("name", COVERED)
def test_benchmark_runs_quick_and_leaves_nothing_running(name: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        # Nothing of the benchmark's lands in the user's own store or settings.
        "BIOFEEDBACK_DB": str(tmp_path / "sessions.db"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, str(BENCHMARKS / name), "--quick"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=LIMIT_S)
    finally:
        leftovers = _session_members(proc.pid)
        if proc.poll() is None or leftovers:
            os.killpg(proc.pid, 9)
        proc.wait()
    assert proc.returncode == 0, f"{name} --quick failed:\n{err[-2000:]}"
    assert out.strip(), f"{name} --quick printed no figures"
    assert not leftovers, f"{name} left processes running: {leftovers}"


def _session_members(sid: int) -> list[str]:
    """Processes still in the benchmark's session (its children, if it left any)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(stat.parent.name)
    return found
