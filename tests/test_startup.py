"""`biofeedback --help` imports only what it shows (issue 28: start-up within 5x a bare
`python -c pass`): no event loop, no sockets or TLS, no numpy."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("asyncio", "ssl", "socket", "numpy")


def test_help_loads_no_event_loop_sockets_or_numpy() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from biofeedback.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'usage' in out.getvalue()\n"
        f"print(','.join(n for n in {HEAVY!r} if n in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "", f"--help imported {run.stdout.strip()}"
