"""What every command shares: exit codes, the usage error, the terminal, the dashboard settings."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

from biofeedback import BiofeedbackError

if TYPE_CHECKING:
    from biofeedback.ui.app import BiofeedbackApp, DashboardSettings


EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
SPEED_MIN = 0.1
SPEED_MAX = 10_000.0


class UsageError(BiofeedbackError):
    """The command line asks for something that cannot be done as asked."""


# The program's start-up (the imports, a session's set-up) makes objects that live to
# its end: collecting them as they are made finds nothing to free, and was ~11 ms of
# a 15-minute simulated session (~90 collections). ``cli.main`` puts collection aside
# for the program (not for a caller's ``main(argv)``); ``started`` resumes it.
def set_up_first() -> None:
    """No garbage collection until ``started`` (the program's start-up)."""
    gc.disable()


# Collection after start-up, in allocations between youngest-generation passes and
# passes between older ones (Python's defaults: 700, 10, 10). A 24 h replay at full
# speed made 560-670 young, 50-60 middle and 4-5 full passes (~0.2 s of ~11 s) and
# freed not one object: a session's objects die by reference counting or live to
# its end. Rarer passes would free the same cycles, later (a few MB at most).
COLLECT_EVERY = (50_000, 20, 20)


def started() -> None:
    """The command's long work begins (a session runs, a person fills a form, a
    service listens): what start-up made is frozen (never scanned again; it lives
    to the end anyway) and collection resumes, less often (``COLLECT_EVERY``), if
    ``set_up_first`` put it aside. A no-op otherwise."""
    if not gc.isenabled():
        gc.freeze()
        gc.set_threshold(*COLLECT_EVERY)
        gc.enable()


def on_terminal() -> bool:
    """Screens need a person at a terminal; piped, commands print instead."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def as_minutes(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def dashboard_settings() -> DashboardSettings:
    from biofeedback import config
    from biofeedback.ui.app import DashboardSettings

    saved = config.load().dashboard
    return DashboardSettings(reduced_motion=saved.reduced_motion, keymap=dict(saved.keys))


def report_keys(app: BiofeedbackApp) -> None:
    """Key settings the dashboard left out, one line each (it shows them too)."""
    for problem in app.key_problems:
        print(f"biofeedback: {problem}", file=sys.stderr)


def check_app(app: BiofeedbackApp) -> None:
    """Raise why the dashboard ended, if it ended by a failure rather than a choice."""
    if app.error is not None:
        raise app.error
    if app.return_code:
        # Textual has already printed the traceback of its own failure.
        raise RuntimeError("the dashboard stopped on an error")
