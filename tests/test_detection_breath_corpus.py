"""The breathing corpus of ``benchmarks/detection_breath.py`` is balanced: every
breathing kind meets every ramp size and the calm sessions alike, so no ramp
size's figures rest on the easier (or harder) half of the kinds. Read from the
benchmark's own ``--table`` (tests import no benchmark)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("plain", "posture", "fidgets", "sigher", "fast-calm", "holder", "side", "unmoved")


def test_every_kind_meets_every_ramp_size_and_calm_alike() -> None:
    # Eight hearts (six cases each: four ramps, two calm) bring each of the
    # eight kinds to each place once.
    argv = [sys.executable, "benchmarks/detection_breath.py", "--table", "--seeds", "3"]
    done = subprocess.run(
        [*argv, "--hearts", "8"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if "cases of each breathing kind" in line)
    assert header.split(":")[1].split() == ["calm", "+8", "+10", "+15", "+25"]
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.strip()}
    for kind in KINDS:
        assert rows[kind] == ["2", "1", "1", "1", "1"], kind
