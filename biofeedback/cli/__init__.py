"""The command line: parse arguments, choose concrete sources and sinks, run.

Heavy libraries (numpy, textual, bleak, aiomqtt) are imported inside the
command that needs them, so ``biofeedback --help`` answers at once. The parts:
``parser`` (every command and option), ``request`` (a session as asked for, the
typed ``SessionRequest`` that leaves the parser), ``wiring`` (``build_session``,
where every session is wired), ``running`` (running one, headless or on the
dashboard), ``sources`` (straps, replay, broker), ``records`` (review, history,
exports) and ``common``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from biofeedback import BiofeedbackError
from biofeedback.cli.common import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    set_up_first,
    started,
)
from biofeedback.cli.parser import build_parser, command_parser, print_overview

if TYPE_CHECKING:
    from biofeedback.cli.records import review_view
    from biofeedback.cli.request import SessionRequest
    from biofeedback.cli.running import plan_session
    from biofeedback.cli.wiring import build_session

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "SessionRequest",
    "UsageError",
    "build_parser",
    "build_session",
    "main",
    "plan_session",
    "review_view",
]


def __getattr__(name: str) -> Any:
    # Loaded when first asked for: `biofeedback --help` needs none of them.
    if name == "SessionRequest":
        from biofeedback.cli.request import SessionRequest

        return SessionRequest
    if name == "plan_session":
        from biofeedback.cli.running import plan_session

        return plan_session
    if name == "build_session":
        from biofeedback.cli.wiring import build_session

        return build_session
    if name == "review_view":
        from biofeedback.cli.records import review_view

        return review_view
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Options whose value may start with "-" (a negative rating): argparse would take
# "-1,," for an option of its own and say only "expected one argument".
_SIGNED_VALUES = frozenset({"--rate-before", "--rate-after"})


def _join_signed_values(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        value = args[i + 1] if i + 1 < len(args) else ""
        if args[i] in _SIGNED_VALUES and value.startswith("-") and not value.startswith("--"):
            out.append(f"{args[i]}={value}")  # then checked as a rating
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


# numpy's BLAS starts a worker thread per core when numpy is imported, and they spin
# after each call: every matrix here is a few hundred values (a line fitted to a
# minute of heart rate), so they only cost time, ~5 % of a headless session's CPU.
# Set before numpy loads (the commands import it lazily); a value the person set wins.
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")


# The commands that say themselves when their set-up is done (``common.started``):
# a session's; the others resume garbage collection before they begin.
_SET_UP_UNCOLLECTED = frozenset({"run", "resonance"})


def main(argv: Sequence[str] | None = None) -> int:
    """The program (``argv`` None: the process's own arguments, and the process
    ends after it); a test's call with ``argv`` leaves the interpreter as it was."""
    if argv is None:
        set_up_first()
    try:
        return _command(argv)
    finally:
        if argv is None:
            # The interpreter's last act is to collect every object it holds (numpy's,
            # the session's): ~35 ms of a 0.4 s headless session. Frozen, they are
            # left to the process's end instead. Nothing is lost: the command has
            # closed its store and its sinks, and exit handlers still run.
            import gc

            gc.freeze()


def _command(argv: Sequence[str] | None) -> int:
    os.environ.setdefault(*_BLAS_THREADS)
    argv = _join_signed_values(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        # A mistake in a command's options names that command's help, not the top level's.
        command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    # Here, not at the top: `--help` has exited by now and never needs it.
    import logging

    debug = args.debug or bool(os.environ.get("BIOFEEDBACK_DEBUG"))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not debug:
        # bleak warns when bluetoothctl is missing (it then assumes a recent
        # BlueZ): nothing a user can act on, and errors must stay one line.
        logging.getLogger("bleak").setLevel(logging.ERROR)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if args.command not in _SET_UP_UNCOLLECTED:
        started()
    if handler is None:
        print_overview(parser)
        return EXIT_OK
    try:
        return handler(args)
    except BiofeedbackError as exc:
        print(f"biofeedback {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing left to tell it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        print(
            f"biofeedback {args.command}: internal error: {type(exc).__name__}: {exc}"
            " (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
