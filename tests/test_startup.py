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


def test_reading_the_store_loads_no_event_loop() -> None:
    # review, history and export only read: the recorder (asyncio, a thread pool)
    # is loaded when a session is recorded.
    code = (
        "import sys\n"
        "import biofeedback.cli.records, biofeedback.review\n"
        "from biofeedback.store import Store, resolve_db_path\n"
        "print('asyncio' in sys.modules)\n"
        "from biofeedback.store import RecorderSink\n"
        "print('asyncio' in sys.modules, RecorderSink.__name__)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True", "RecorderSink"]
