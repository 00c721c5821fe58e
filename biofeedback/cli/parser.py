"""The argument parser: every command, its options and its help."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from biofeedback import __version__
from biofeedback.cli.common import EXIT_USAGE, SPEED_MAX, SPEED_MIN
from biofeedback.routines import EYES, POSITIONS


# A command's modules load only when that command runs: a session's (asyncio, the
# estimator, the sinks) and the profile's and practice's (routines.personalise,
# the plan) alike, so `--help` and the record commands answer without them.
def cmd_run(args: argparse.Namespace) -> int:
    from biofeedback.cli.running import cmd_run as run

    return run(args)


def cmd_resonance(args: argparse.Namespace) -> int:
    from biofeedback.cli.running import cmd_resonance as run

    return run(args)


def start_run(protocol: str, db: str | None) -> int:
    from biofeedback.cli.running import start_run as run

    return run(protocol, db)


def cmd_setup(args: argparse.Namespace) -> int:
    from biofeedback.cli import setup as setup_cli
    from biofeedback.cli.request import setup_request

    return setup_cli.cmd_setup(setup_request(args))


def cmd_today(args: argparse.Namespace) -> int:
    from biofeedback.cli import practice as practice_cli
    from biofeedback.cli.request import today_request

    return practice_cli.cmd_today(today_request(args), start_run=start_run)


def cmd_plan(args: argparse.Namespace) -> int:
    from biofeedback.cli import practice as practice_cli
    from biofeedback.cli.request import plan_request

    return practice_cli.cmd_plan(plan_request(args))


def cmd_scan(args: argparse.Namespace) -> int:
    from biofeedback.cli.sources import cmd_scan as run

    return run(args)


def cmd_pair(args: argparse.Namespace) -> int:
    from biofeedback.cli.sources import cmd_pair as run

    return run(args)


def cmd_monitor(args: argparse.Namespace) -> int:
    from biofeedback.cli.sources import cmd_monitor as run

    return run(args)


def cmd_sync(args: argparse.Namespace) -> int:
    from biofeedback.cli.central import cmd_sync as run

    return run(args)


def cmd_collect(args: argparse.Namespace) -> int:
    from biofeedback.cli.central import cmd_collect as run

    return run(args)


def cmd_review(args: argparse.Namespace) -> int:
    from biofeedback.cli.records import cmd_review as run

    return run(args)


def cmd_history(args: argparse.Namespace) -> int:
    from biofeedback.cli.records import cmd_history as run

    return run(args)


def cmd_delete(args: argparse.Namespace) -> int:
    from biofeedback.cli.records import cmd_delete as run

    return run(args)


def cmd_protocols(args: argparse.Namespace) -> int:
    from biofeedback.cli.records import cmd_protocols as run

    return run(args)


def cmd_phrases(args: argparse.Namespace) -> int:
    from biofeedback.cli.records import cmd_phrases as run

    return run(args)


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line naming what to do, not a usage dump; its
    help as wide as argparse makes it, found without shutil (see ``_sized``)."""

    def __init__(
        self,
        *,
        formatter_class: type[argparse.HelpFormatter] = argparse.HelpFormatter,
        **kwargs: Any,
    ) -> None:
        super().__init__(formatter_class=_sized(formatter_class), **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        if self.prog.endswith(" run"):
            self.epilog = _run_epilog()
        return super().format_help()


def _sized(
    formatter_class: type[argparse.HelpFormatter],
) -> Callable[..., argparse.HelpFormatter]:
    """``formatter_class`` made as argparse makes it, told the width it would look up.

    argparse's formatter asks shutil for the terminal's width, and shutil loads bz2,
    lzma and fnmatch (~1.4 ms of every start, where a formatter is made for each
    option added, to check its metavar); ``terminal_columns`` answers as shutil does.
    """

    def make(prog: str) -> argparse.HelpFormatter:
        return formatter_class(prog, width=terminal_columns() - 2)

    return make


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS when it is a whole number above
    0, else the width of the terminal ``sys.__stdout__`` is (when it says one), else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _run_epilog() -> str:
    """The routines and simulated people ``run`` can use, read only when help is asked for."""
    from biofeedback.routines.protocols import load_all
    from simulators.scenario import load_scenario, scenario_names

    routines = "\n".join(f"  {p.name:<18} {p.title}" for p in load_all())
    people = "\n".join(
        f"  {name:<18} {load_scenario(name).description}" for name in scenario_names()
    )
    return (
        f"routines for --protocol:\n{routines}\n\n"
        f"simulated people for --sim SCENARIO:\n{people}\n\n"
        "examples:\n"
        "  biofeedback run --sim                    try it without a strap\n"
        "  biofeedback run --protocol back-care     with your paired strap\n"
        "  biofeedback run --replay old.db          a recorded session again"
    )


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        speed = math.nan
    # float() takes "nan" and "inf", which would make the clock's waits meaningless.
    if not math.isfinite(speed):
        raise argparse.ArgumentTypeError(f"expected a number or 'max', not {value!r}")
    if not SPEED_MIN <= speed <= SPEED_MAX:
        # 1e-9 would take decades a session; past 10,000 only "max" makes sense.
        raise argparse.ArgumentTypeError(
            f"speed must be {SPEED_MIN:g} to {SPEED_MAX:g} times real time, or max"
        )
    return speed


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    # "nan" parses but compares false with everything: a limit never reached.
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"expected seconds, not {value!r}")
    if seconds <= 0:
        raise argparse.ArgumentTypeError("expected a positive number of seconds")
    return seconds


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return int(value)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Without ``argv``: every command and its options.
    Given the command line ``argv``: only what parsing it can reach, for the same
    help, errors and arguments (every command's options are ~3 ms of each start):
    the options of the command it names, and no other command; when it names none
    (`--help`, the overview), each command's name and help line. Anything unusual
    before the command (an abbreviated flag, ``--``, an unknown command) gets every
    command."""
    parser = _Parser(
        prog="biofeedback",
        description=(
            "Heart-paced progressive muscle relaxation. A heart-rate strap (or the"
            " simulator) paces a guided session that slows down, or steps down to"
            " breath-led or passive rest, when your body says so."
        ),
        epilog="Start without hardware:  biofeedback run --sim",
    )
    parser.add_argument("--version", action="version", version=f"biofeedback {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    named = _EVERY_COMMAND if argv is None else _command_named(argv)
    for name, heading, add_options in COMMANDS:
        if named in (_EVERY_COMMAND, name):
            add_options(sub.add_parser(name, **heading))
        elif named == _NO_COMMAND:
            # Listed in the top-level help and the overview, never parsed with.
            sub.add_parser(name, add_help=False, **_help_line(heading))
    return parser


_EVERY_COMMAND = "*"
_NO_COMMAND = ""
_TOP_LEVEL_FLAGS = frozenset({"--debug", "--version"})


def _command_named(argv: Sequence[str]) -> str:
    """The command ``argv`` names; ``_NO_COMMAND`` when it names none or asks for the
    top-level help first; ``_EVERY_COMMAND`` when that is not plain to see."""
    for arg in argv:
        if arg in ("-h", "--help"):
            return _NO_COMMAND
        if arg not in _TOP_LEVEL_FLAGS:
            return arg if arg in _COMMAND_NAMES else _EVERY_COMMAND
    return _NO_COMMAND


def _help_line(heading: dict[str, Any]) -> dict[str, Any]:
    return {"help": heading["help"]} if "help" in heading else {}


def _scan(scan: argparse.ArgumentParser) -> None:
    scan.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=5.0,
        metavar="S",
        help="seconds to listen (default 5)",
    )
    scan.add_argument("--json", action="store_true", help="one JSON object per strap")
    scan.set_defaults(handler=cmd_scan)


def _pair(pair: argparse.ArgumentParser) -> None:
    pair.add_argument(
        "device",
        nargs="?",
        metavar="DEVICE",
        help="address (AA:BB:...) or name; none: choose from a live list on a terminal",
    )
    pair.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=10.0,
        metavar="S",
        help="seconds to look for it (default 10)",
    )
    pair.set_defaults(handler=cmd_pair)


def _run(run: argparse.ArgumentParser) -> None:
    _add_session_options(run)
    run.add_argument(
        "--protocol",
        metavar="NAME",
        help="guided routine (see `biofeedback protocols`; default full, or back-care"
        " when your profile says your back is sore)",
    )
    run.add_argument(
        "--zone",
        choices=["auto", "green", "yellow", "red"],
        default="auto",
        help="start zone; auto decides from the baseline (default)",
    )
    run.add_argument(
        "--sides",
        action="store_true",
        help="do arms and legs one side at a time (protocols that allow it)",
    )
    run.add_argument(
        "--resonant",
        action="store_true",
        help="tense and release in gentle rounds at your resonance rhythm (0.1 Hz until assessed)",
    )
    run.add_argument(
        "--imagery",
        metavar="REGION[,REGION]",
        default="",
        help="body regions to do by imagery only, e.g. lower-back,neck",
    )
    add_run_flags(run)
    add_run_arguments(run)
    run.set_defaults(handler=cmd_run)


def _resonance(resonance: argparse.ArgumentParser) -> None:
    _add_session_options(resonance)
    resonance.add_argument(
        "--rates",
        default="6.5-4.5/0.5",
        metavar="LIST",
        help="breaths a minute to try, e.g. 6.5,6,5.5 or 6.5-4.5/0.5 (default)",
    )
    resonance.add_argument(
        "--step",
        type=_positive_seconds,
        default=150.0,
        metavar="S",
        help="seconds at each rate (default 150; at least 60)",
    )
    resonance.add_argument(
        "--no-ratings",
        action="store_true",
        help="accepted as run takes it; an assessment never asks for ratings",
    )
    resonance.set_defaults(handler=cmd_resonance)


def _review(review: argparse.ArgumentParser) -> None:
    review.add_argument("session", nargs="?", default="latest", metavar="SESSION|latest")
    review.add_argument("--json", action="store_true", help="the whole summary as JSON")
    review.add_argument("--png", metavar="F", help="plot HR, RMSSD and arousal (matplotlib)")
    review.add_argument("--pdf", metavar="F", help="the same plot as PDF")
    review.add_argument("--csv", metavar="F", help="samples, estimates and events as CSV")
    review.add_argument(
        "--rr", metavar="F", help="RR intervals as recorded, one ms value a line (Kubios)"
    )
    review.add_argument("--rr-corrected", metavar="F", help="RR intervals with artifacts corrected")
    review.add_argument(
        "--db",
        metavar="PATH|URL",
        help="the session store (env BIOFEEDBACK_DB), or postgresql://... for the central copy",
    )
    review.add_argument("--runner", metavar="NAME", help="with a central --db: whose session")
    review.set_defaults(handler=cmd_review)


def _history(history: argparse.ArgumentParser) -> None:
    history.add_argument("--json", action="store_true", help="sessions and trends as JSON")
    history.add_argument(
        "--last",
        type=_positive_int,
        default=10,
        metavar="N",
        help="patterns over the latest N sessions (default 10)",
    )
    history.add_argument(
        "--db",
        metavar="PATH|URL",
        help="the session store (env BIOFEEDBACK_DB), or postgresql://... for the central copy",
    )
    history.add_argument("--runner", metavar="NAME", help="with a central --db: whose sessions")
    history.set_defaults(handler=cmd_history)


def _delete(delete: argparse.ArgumentParser) -> None:
    delete.add_argument("session", metavar="SESSION", help="its id (see `biofeedback history`)")
    delete.add_argument(
        "--yes", action="store_true", help="delete without asking (needed when not on a terminal)"
    )
    delete.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")
    delete.set_defaults(handler=cmd_delete)


def _protocols(protocols: argparse.ArgumentParser) -> None:
    protocols.add_argument("--json", action="store_true", help="one JSON object per routine")
    protocols.set_defaults(handler=cmd_protocols)


def _phrases(phrases: argparse.ArgumentParser) -> None:
    phrases.add_argument("--protocol", default="full", metavar="NAME")
    phrases.add_argument("--sides", action="store_true")
    phrases.set_defaults(handler=cmd_phrases)


def _monitor(monitor: argparse.ArgumentParser) -> None:
    monitor.add_argument("url", metavar="mqtt://HOST[:PORT]", help="the broker to watch")
    monitor.set_defaults(handler=cmd_monitor)


def _sync(sync: argparse.ArgumentParser) -> None:
    sync.add_argument("session", nargs="?", default="all", metavar="SESSION|all")
    sync.add_argument("--mqtt", required=True, metavar="URL", help="the broker, mqtt[s]://HOST")
    sync.add_argument(
        "--again",
        action="store_true",
        help="send everything again, acknowledged or not (after a broker lost messages)",
    )
    sync.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")
    sync.set_defaults(handler=cmd_sync)


def _collect(collect: argparse.ArgumentParser) -> None:
    collect.add_argument("--broker", required=True, metavar="URL", help="mqtt[s]://HOST[:PORT]")
    collect.add_argument("--db", required=True, metavar="URL", help="postgresql://USER@HOST/DB")
    collect.add_argument(
        "--group", default="collectors", metavar="NAME", help="the shared subscription's group"
    )
    collect.add_argument(
        "--name",
        metavar="NAME",
        help="this collector's MQTT client id, the same across restarts (default: from the host)",
    )
    collect.add_argument(
        "--max-waiting",
        type=int,
        default=5_000,
        metavar="N",
        help="most messages taken and not yet written (default 5000)",
    )
    collect.add_argument(
        "--status-every", type=_positive_seconds, default=60.0, metavar="S", help=argparse.SUPPRESS
    )
    collect.set_defaults(handler=cmd_collect)


def _add_session_options(parser: argparse.ArgumentParser) -> None:
    """Where a session's heartbeats come from and where its events go (run, resonance)."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument(
        "--sim",
        nargs="?",
        const="calm",
        metavar="SCENARIO",
        help="simulated person (default scenario: calm)",
    )
    src.add_argument("--device", metavar="DEVICE", help="a strap by address or name")
    src.add_argument(
        "--replay",
        metavar="FILE",
        help="an RR file (one ms value a line, or CSV), or a session store:"
        " STORE for its latest session, STORE#SESSION for one",
    )
    src.add_argument("--source", metavar="URL", help="mqtt://HOST[:PORT]/TOPIC")
    parser.add_argument(
        "--replay-acc",
        metavar="ACC.csv",
        help="with --replay: chest motion recorded with it (CSV t_s,x_mg,y_mg,z_mg;"
        " seconds from the first RR beat, milli-g, 25-200 Hz)",
    )
    parser.add_argument("--headless", action="store_true", help="no dashboard; print events")
    parser.add_argument("--json", action="store_true", help="with --headless: JSON Lines")
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="X|max",
        help="simulator and replay only: X times real time, or max",
    )
    parser.add_argument(
        "--duration",
        type=_positive_seconds,
        metavar="S",
        help="stop after S seconds of session time",
    )
    parser.add_argument("--seed", type=int, help="simulator seed (default: the scenario's)")
    parser.add_argument(
        "--audio",
        choices=["on", "off", "tones"],
        help="spoken cues, breath tones and bells; tones: no speech (default: on, or [audio])",
    )
    parser.add_argument(
        "--audio-out",
        metavar="FILE.wav",
        help="also write the session's sound to a WAV file in session time (any --speed)",
    )
    parser.add_argument("--mqtt", metavar="URL", help="also publish telemetry to a broker")
    parser.add_argument(
        "--mqtt-record",
        action="store_true",
        help="with --mqtt: also publish the whole record, for a central copy"
        " (or record = true in [mqtt]; see `biofeedback sync`)",
    )
    parser.add_argument(
        "--keep-raw",
        action="store_true",
        help="also keep the strap's chest motion in the store (about 2.2 MB an hour at"
        " 200 Hz; each breath is kept either way)",
    )
    parser.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")


# --------------------------------------------------------------------------
# Commands


def command_parser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    # argparse has no public way to reach a parser's commands: its own names, here only.
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            chosen = action.choices.get(getattr(args, "command", None) or "")
            if isinstance(chosen, argparse.ArgumentParser):
                return chosen
    return parser


def print_overview(parser: argparse.ArgumentParser) -> None:
    """``biofeedback`` alone: what it is and what to type next, in a few lines."""
    lines = [f"biofeedback {__version__}: heart-paced progressive muscle relaxation.", ""]
    for action in parser._actions:  # noqa: SLF001 (as in command_parser)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for choice in action._choices_actions:  # noqa: SLF001
                lines.append(f"  biofeedback {choice.dest:<10} {choice.help}")
    lines += ["", "Start without a strap:  biofeedback run --sim", "More:  biofeedback --help"]
    print("\n".join(lines))


# The flags of the profile and practice commands live here, not beside their
# handlers in setup.py and practice.py: building the parser must not load those.
def _setup(setup: argparse.ArgumentParser) -> None:
    """`setup`'s flags; ``cmd_setup`` turns them into a ``SetupRequest``."""
    setup.add_argument("--position", choices=POSITIONS, help="how you usually practise")
    setup.add_argument("--eyes", choices=EYES, help="eyes closed: guidance is spoken")
    setup.add_argument(
        "--painful",
        metavar="REGION[,REGION]|none",
        help="regions that hurt: done by imagery only (none: clear)",
    )
    setup.add_argument(
        "--tension-starts",
        metavar="REGION|none",
        help="where your tension starts: routines start there (none: clear)",
    )
    setup.add_argument(
        "--gentle-joints",
        action=argparse.BooleanOptionalAction,
        help="sensitive or hypermobile joints: micro-contractions, shorter holds",
    )
    setup.add_argument(
        "--back-pain",
        action=argparse.BooleanOptionalAction,
        help="active back pain: the back-care routine and a supported position",
    )
    setup.add_argument("--show", action="store_true", help="print the profile and what it changes")
    setup.add_argument("--json", action="store_true", help="with --show: the profile as JSON")
    setup.add_argument("--reset", action="store_true", help="forget the profile")
    setup.set_defaults(handler=cmd_setup)


def add_run_flags(run: argparse.ArgumentParser) -> None:
    """`run`'s flags that override the profile for one session."""
    run.add_argument(
        "--start-region",
        metavar="REGION",
        help="start the routine at this body region (overrides the profile)",
    )
    run.add_argument(
        "--gentle",
        action=argparse.BooleanOptionalAction,
        help="micro-contractions and shorter holds (overrides the profile)",
    )
    run.add_argument(
        "--no-profile", action="store_true", help="run the routine as written, ignoring setup"
    )


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--no-ratings",
        action="store_true",
        help="do not ask for ratings before and after this session",
    )
    for phase in ("before", "after"):
        run.add_argument(
            f"--rate-{phase}",
            metavar="T,P,A",
            help=f"tension, pain and anxiety {phase} the session, 0-10 each;"
            " blanks skip one (e.g. 5,,3)",
        )


def _today(today: argparse.ArgumentParser) -> None:
    """`today`'s flags; ``cmd_today`` turns them into a ``TodayRequest``."""
    today.add_argument("--json", action="store_true")
    today.add_argument(
        "--at", metavar="'YYYY-MM-DD HH:MM'", help="as if it were this local time (for planning)"
    )
    today.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")
    today.set_defaults(handler=cmd_today)


def _plan(plan: argparse.ArgumentParser) -> None:
    """`plan`'s flags; ``cmd_plan`` turns them into a ``PlanRequest``."""
    plan.add_argument("--json", action="store_true")
    plan.add_argument("--ics", metavar="FILE", help="write the plan as an iCalendar file")
    plan.add_argument(
        "--save", action="store_true", help="write the plan into config.toml to edit it"
    )
    plan.set_defaults(handler=cmd_plan)


# Every command in the order `--help` lists them: its name, its heading (the help
# line the top level lists, none for the central copy's two, and its own help's
# description) and what adds its options. sync and collect serve a central copy
# (README: "Many people, one place"): not in the short overview a new user reads,
# which stays under twenty lines.
COMMANDS: tuple[tuple[str, dict[str, Any], Callable[[argparse.ArgumentParser], None]], ...] = (
    ("scan", {"help": "list straps advertising the Heart Rate service"}, _scan),
    ("pair", {"help": "remember a strap as the default source"}, _pair),
    (
        "run",
        {
            "help": "run a guided session",
            "description": "Run a guided session from a strap, the simulator, a file or a broker.",
            "formatter_class": argparse.RawDescriptionHelpFormatter,
        },
        _run,
    ),
    (
        "resonance",
        {
            "help": "find the breathing rate your heart answers most",
            "description": (
                "A stepped resonance assessment: paced breathing from 6.5 down to 4.5 breaths"
                " a minute, each rate scored on your heart's response. The result is recorded;"
                " later sessions pace their slow breaths at your rate."
            ),
        },
        _resonance,
    ),
    (
        "review",
        {
            "help": "summarise a recorded session",
            "description": "Summarise a recorded session; optionally plot or export it.",
        },
        _review,
    ),
    (
        "history",
        {
            "help": "past sessions and trends",
            "description": "Your recorded sessions, newest first, with the trend of your resting"
            " heart rate and RMSSD (simulated and replayed sessions count only when there"
            " are too few of your own).",
        },
        _history,
    ),
    (
        "delete",
        {
            "help": "remove one recorded session for good",
            "description": "Remove one recorded session, with all its samples and events,"
            " for good.",
        },
        _delete,
    ),
    (
        "setup",
        {
            "help": "your practice profile: position, eyes, painful regions, where tension starts",
            "description": (
                "Set how you practise; `run` then adapts every session to it (its flags"
                " override it for one session). On a terminal without flags, a form opens."
            ),
            "epilog": (
                "Example: biofeedback setup --position lying --eyes closed --painful lower-back"
                " --tension-starts shoulders --gentle-joints --back-pain"
            ),
        },
        _setup,
    ),
    (
        "protocols",
        {
            "help": "list the guided routines",
            "description": "The guided routines, their zone (green: full practice, yellow:"
            " gentle and breath-led, red: rest only), length and what each is for.",
        },
        _protocols,
    ),
    (
        "today",
        {
            "help": "which routine to do now, and why",
            "description": "Suggest a routine from the time of day, your plan and recent sessions.",
        },
        _today,
    ),
    (
        "plan",
        {
            "help": "your weekly practice plan; --ics writes calendar reminders",
            "description": (
                "Show the weekly plan (the default until you save one; edit the [plan.NAME]"
                " tables in config.toml). --ics writes it as recurring calendar events."
            ),
        },
        _plan,
    ),
    (
        "phrases",
        {"help": "what a protocol can say: phrase ids (voice folder file names) and texts"},
        _phrases,
    ),
    (
        "monitor",
        {
            "help": "watch every runner on an MQTT broker",
            "description": "A live table of every session publishing to an MQTT broker"
            " (see `run --mqtt`).",
        },
        _monitor,
    ),
    (
        "sync",
        {
            "description": "Publish the record of sessions (or what of it the broker has not"
            " acknowledged yet) for a central copy; sending again is harmless."
        },
        _sync,
    ),
    (
        "collect",
        {
            "description": "Subscribe to every runner's record (an MQTT 5 shared subscription:"
            " start several to share the load) and write it into a PostgreSQL database."
            " The database password goes in PGPASSWORD or a password file, never the URL."
        },
        _collect,
    ),
)
_COMMAND_NAMES = frozenset(name for name, _, _ in COMMANDS)
