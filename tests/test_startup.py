"""`biofeedback --help` imports only what it shows (issue 28: start-up within 5x a bare
`python -c pass`): no event loop, no sockets or TLS, no numpy, no dataclasses."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from biofeedback.cli.common import COLLECT_EVERY
from tests.support.store import record_sim

# dataclasses loads inspect, ast, dis and tokenize (~1/4 of `--help`'s CPU); the
# central copy's commands load pathlib, urllib.parse and ipaddress (~1/6; an
# editable install's finder loads pathlib itself, so the module is named here), the
# profile and the session request dataclasses, the record commands' module: the
# commands that use them load them; shutil (bz2, lzma) for the terminal's width.
HEAVY = (
    "asyncio",
    "ssl",
    "socket",
    "numpy",
    "dataclasses",
    "biofeedback.cli.central",
    "biofeedback.cli.request",
    "biofeedback.routines.profile",
    "biofeedback.cli.records",
    "shutil",
)


def _python(code: str) -> str:
    """What a fresh interpreter running ``code`` prints (it must succeed): the
    modules a command loads can only be seen in a process of its own."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _which_loaded(names: tuple[str, ...]) -> str:
    """A line of code printing which of ``names`` the process has loaded."""
    return f"print(','.join(n for n in {names!r} if n in sys.modules))\n"


def _command_and_loaded(argv: list[str], names: tuple[str, ...]) -> tuple[str, str]:
    """What the command ``argv`` prints, run in a fresh interpreter (it must succeed),
    and which of ``names`` it loaded (comma-separated, empty for none)."""
    code = (
        "import sys\n"
        "from biofeedback.cli import main\n"
        f"code = main({argv!r})\n"
        "assert code == 0, code\n"
        "print('loaded:')\n" + _which_loaded(names)
    )
    printed, _, loaded = _python(code).rpartition("loaded:")
    return printed, loaded.strip()


def test_help_loads_no_event_loop_sockets_numpy_or_dataclasses() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from biofeedback.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'usage' in out.getvalue()\n" + _which_loaded(HEAVY)
    )
    stdout = _python(code)
    assert stdout.strip() == "", f"--help imported {stdout.strip()}"


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
    stdout = _python(code)
    assert stdout.split() == ["False", "True", "RecorderSink"]


# What a headless simulated session never uses: the screen, plots, sound (no sound is
# made at --speed max, so neither its phrases nor its timeline), the central store,
# the broker, the strap's radio, the mail and web modules the sound library pulls in,
# masked arrays, the summaries of review, the fold only progress-aware sinks take, the
# batch path's beat windows, statistics' exact arithmetic (fractions, decimal) for a
# median of floats, numpy.typing (annotations only), the resonance assessment's plan
# (a session without one needs only its routine's name) and the record commands;
# platformdirs and the temporary files it loads (the XDG folders are worked out from
# two variables on Linux); the requests of `setup`, `today` and `plan`; tomllib, once
# the package's own TOML (the routines, the scenario) is in the cache (see
# inputs.parse_shipped_toml) and there is no config file; shutil and the archive
# modules it loads (argparse's help asks it for the terminal's width: see
# cli/parser.py's _sized); the utf-8-sig codec (inputs.read_text leaves a byte-order
# mark out itself).
NOT_FOR_A_HEADLESS_RUN = (
    "encodings.utf_8_sig",
    "shutil",
    "bz2",
    "lzma",
    "tomllib",
    "biofeedback.cli.command_requests",
    "platformdirs",
    "tempfile",
    "textual",
    "rich",
    "matplotlib",
    "miniaudio",
    "soxr",
    "psycopg",
    "aiomqtt",
    "bleak",
    "email",
    "http.client",
    "numpy.ma",
    "biofeedback.ui",
    "biofeedback.audio.device",
    "biofeedback.audio.voice",
    "biofeedback.audio.phrases",
    "biofeedback.audio.score",
    "biofeedback.review.summary",
    "biofeedback.review.plot",
    "biofeedback.loop.progress",
    "biofeedback.signals.hrv",
    "statistics",
    "fractions",
    "decimal",
    "numpy.typing",
    "biofeedback.pacing.resonance_plan",
    "biofeedback.cli.records",
)


def test_a_headless_simulated_session_loads_only_what_it_uses(tmp_path: Path) -> None:
    # The routines and the scenario the session reads, parsed once into the cache.
    _python(
        "from biofeedback.routines.protocols import load_protocol\n"
        "from simulators.scenario import load_scenario\n"
        "for name in ('full', 'breath-partial', 'passive-rest'):\n"
        "    load_protocol(name)\n"
        "load_scenario('calm')\n"
    )
    # Long enough for every part of the loop to run (the resonance readings among them).
    code = (
        "import contextlib, io, sys\n"
        "from biofeedback.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main(['run', '--sim', '--headless', '--json', '--no-ratings', '--speed',"
        f" 'max', '--duration', '180', '--db', {str(tmp_path / 's.db')!r}])\n"
        "assert code == 0, code\n"
        'assert \'"type":"session_ended"\' in out.getvalue()\n'
        + _which_loaded(NOT_FOR_A_HEADLESS_RUN)
        + _dataclasses_made(NOT_MADE_FOR_A_HEADLESS_RUN)
    )
    stdout = _python(code)
    assert stdout.strip() == "", f"a headless session imported or made {stdout.strip()}"


# Dataclasses a headless session never builds, by name: wherever they live, their
# classes are not made (each ~0.1-0.3 ms of the start).
NOT_MADE_FOR_A_HEADLESS_RUN = ("SetupRequest", "TodayRequest", "PlanRequest", "RestingBaseline")


def _dataclasses_made(names: tuple[str, ...]) -> str:
    """A line of code printing which dataclasses named in ``names`` the loaded modules hold."""
    return (
        "made = {c.__name__ for m in list(sys.modules.values()) for c in vars(m).values()"
        " if isinstance(c, type) and '__dataclass_fields__' in vars(c)}\n"
        f"print(','.join(n for n in {names!r} if n in made))\n"
    )


def test_review_names_load_on_first_use() -> None:
    # biofeedback.review loads each part when one of its names is first used; every
    # public name must say where it lives, and load.
    code = (
        "import sys\n"
        "import biofeedback.review as review\n"
        "print('biofeedback.review.summary' in sys.modules)\n"
        "missing = [n for n in review.__all__ if getattr(review, n, None) is None]\n"
        "print(missing, 'biofeedback.review.summary' in sys.modules)\n"
    )
    stdout = _python(code)
    assert stdout.split("\n")[:2] == ["False", "[] True"]


# What reading a record never uses: the profile's and the practice plan's command
# modules and the shaping of a routine to a person (they load when `setup`, `today`,
# `plan`, `history` or `run` runs), and the writer of a new session's rows.
NOT_FOR_A_REVIEW = (
    "biofeedback.cli.setup",
    "biofeedback.cli.practice",
    "biofeedback.routines.personalise",
    "biofeedback.store.writer",
)


def test_review_json_loads_no_profile_or_practice_commands(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "short", duration_s=60.0))
    summary, loaded = _command_and_loaded(
        ["review", "short", "--json", "--db", str(db)], NOT_FOR_A_REVIEW
    )
    assert json.loads(summary)["session_id"] == "short"
    assert loaded == "", f"review --json imported {loaded}"


def test_today_json_loads_no_numpy(tmp_path: Path) -> None:
    # `today` reads past sessions' final heart rates (their column blocks) and
    # nothing else numeric: numpy would be ~25 ms of its start, and would start
    # without the one BLAS thread a session sets.
    db = tmp_path / "s.db"
    asyncio.run(record_sim(db, "done", duration_s=150.0))
    suggestion, loaded = _command_and_loaded(["today", "--json", "--db", str(db)], ("numpy",))
    assert "routine" in json.loads(suggestion)
    assert loaded == "", f"today --json imported {loaded}"


def test_numpy_loads_with_one_blas_thread_unless_the_person_chose() -> None:
    # BLAS worker threads spin between calls on matrices of a few hundred values
    # (~5 % of a session's CPU); the command sets one thread before numpy loads.
    code = (
        "import os, sys\n"
        "from biofeedback.cli import main\n"
        "os.environ.pop('OPENBLAS_NUM_THREADS', None)\n"
        "main(['protocols'])\n"
        "print('threads', os.environ.get('OPENBLAS_NUM_THREADS'))\n"
        "os.environ['OPENBLAS_NUM_THREADS'] = '2'\n"
        "main(['protocols'])\n"
        "print('threads', os.environ.get('OPENBLAS_NUM_THREADS'))\n"
    )
    stdout = _python(code)
    assert [line for line in stdout.splitlines() if line.startswith("threads")] == [
        "threads 1",
        "threads 2",
    ]


def test_the_program_leaves_its_objects_to_the_exit_a_call_does_not() -> None:
    # Collecting every object at exit was ~35 ms of a headless session: the program
    # (no argv given) freezes them for the exit; a caller's main(argv) leaves the
    # collector as it was.
    code = (
        "import gc, sys\n"
        "from biofeedback.cli import main\n"
        "main(['protocols'])\n"
        "print('frozen', gc.get_freeze_count())\n"
        "sys.argv = ['biofeedback', 'protocols']\n"
        "main()\n"
        "print('frozen', gc.get_freeze_count() > 0)\n"
    )
    stdout = _python(code)
    assert [line for line in stdout.splitlines() if line.startswith("frozen")] == [
        "frozen 0",
        "frozen True",
    ]


def test_the_program_collects_no_garbage_while_it_starts_up_a_call_does() -> None:
    # Start-up makes objects that live to the end: collecting as they were made was
    # ~90 collections, ~11 ms of a simulated session. The program (no argv) collects
    # from when the session begins (its first event), and a command that is not a
    # session resumes collection before it begins; a caller's main(argv) is left as
    # it was. Each collection is counted by whether start-up had ended then (the end
    # of start-up freezes what it made: the freeze count turns non-zero; the printed
    # lines are no mark of it, the console writes a batch of steps at a time); each
    # process is fresh (start-up includes the imports).
    session = (
        "['run', '--sim', '--headless', '--json', '--no-ratings', '--speed', 'max',"
        " '--duration', '300', '--db', os.path.join(tempfile.mkdtemp(), 's.db')]"
    )
    counting = (
        "import contextlib, gc, io, os, sys, tempfile\n"
        "from biofeedback.cli import main\n"
        "out = io.StringIO()\n"
        "lines = []\n"
        "gc.callbacks.append(lambda phase, _: phase == 'start'"
        " and lines.append(gc.get_freeze_count()))\n"
    )
    program = _python(
        counting + f"sys.argv = ['biofeedback', *{session}]\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert main() == 0\n"
        "print(sum(1 for n in lines if n == 0), *gc.get_threshold())\n"
        "sys.argv = ['biofeedback', 'protocols']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main()\n"
        "print(gc.isenabled())\n"
    ).split()
    caller = _python(
        counting + "with contextlib.redirect_stdout(out):\n"
        f"    assert main({session}) == 0\n"
        "print(sum(1 for n in lines if n == 0), gc.isenabled(), gc.get_freeze_count())\n"
    ).split()
    assert program[0] == "0", f"{program[0]} collections during start-up"
    # The session collects, less often than Python's default (700, 10, 10).
    assert tuple(int(n) for n in program[1:4]) == COLLECT_EVERY
    assert program[4] == "True", "a command that is not a session did not collect"
    assert int(caller[0]) > 0
    assert caller[1:] == ["True", "0"], "a caller's collector was not left as it was"
