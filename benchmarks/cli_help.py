"""How long `biofeedback --help` and a 15-minute simulated session take (wall time).

Goals (issue 2): --help under 0.3 s; `run --sim --headless --json --speed max
--duration 900` under 2 s.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    exe = shutil.which("biofeedback") or str(Path(sys.executable).with_name("biofeedback"))
    python = timed([sys.executable, "-c", "pass"], 5)
    help_s = timed([exe, "--help"], 7)
    session_s = timed(
        [exe, "run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "900"], 3
    )
    print(f"python startup        median {statistics.median(python):.3f} s")
    print(f"biofeedback --help    median {statistics.median(help_s):.3f} s  (goal < 0.3 s)")
    print(f"900 s session, max    median {statistics.median(session_s):.3f} s  (goal < 2 s)")
    print(
        f"--help / bare python  ratio {statistics.median(help_s) / statistics.median(python):.1f}"
    )


if __name__ == "__main__":
    main()
