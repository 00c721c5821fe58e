"""``python -m simulators``: the simulator's own commands.

Each command is two functions: ``_add_NAME(sub)`` declares its parser and sets
``handler`` to ``_cmd_NAME(args) -> exit status``. To add a command, write both
and list the adder in ``_COMMANDS``. A handler raises ``SimulatorError`` (or a
subclass) for anything the user caused: it is printed as one line, exit 2.
Heavy imports go inside the handler that needs them, so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from simulators import SimulatorError
from simulators.mqtt_straps import add_parser as add_mqtt

PROG = "python -m simulators"
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
MAX_MINUTES = 24 * 60

_SubParsers = Any  # argparse's _SubParsersAction is private


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line naming what to do, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes, not {value!r}") from None
    if not 0 < minutes <= MAX_MINUTES:
        raise argparse.ArgumentTypeError(f"expected minutes between 0 and {MAX_MINUTES}")
    return minutes


def _seed(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {value!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError("the seed must be 0 or more")
    return seed


# --------------------------------------------------------------------------
# rr: an RR file from a simulated person


def _add_rr(sub: _SubParsers) -> None:
    from simulators.scenario import scenario_names

    rr = sub.add_parser(
        "rr",
        help="write a simulated person's RR intervals to a file (for --replay)",
        description=(
            "Write the RR intervals a strap would report for a simulated person, one"
            " value in milliseconds a line (or CSV with arrival times), for"
            " `biofeedback run --replay FILE`. The person hears no session cues."
        ),
    )
    rr.add_argument(
        "--scenario",
        default="calm",
        metavar="NAME",
        help=f"{', '.join(scenario_names())}, or a .toml file (default calm)",
    )
    rr.add_argument(
        "--minutes", type=_minutes, default=15.0, metavar="M", help="how long (default 15)"
    )
    rr.add_argument("--out", required=True, metavar="FILE", help="where to write; - for stdout")
    rr.add_argument("--seed", type=_seed, metavar="N", help="default: the scenario's own")
    rr.add_argument(
        "--format",
        choices=["lines", "csv"],
        default="lines",
        help="lines (default): one RR in ms a line; csv: arrival_s,rr_ms, which keeps gaps",
    )
    rr.set_defaults(handler=_cmd_rr)


def _cmd_rr(args: argparse.Namespace) -> int:
    from simulators.rrfile import simulated_rr, write_rr
    from simulators.source import SimulatedSource

    source = SimulatedSource(args.scenario, seed=args.seed)
    count = write_rr(args.out, simulated_rr(source, args.minutes * 60.0), args.format)
    if args.out != "-":
        print(
            f"wrote {count} RR intervals ({args.minutes:g} min of {source.scenario.name},"
            f" seed {source.seed}) to {args.out}",
            file=sys.stderr,
        )
    return EXIT_OK


# --------------------------------------------------------------------------
# scenarios: what can be simulated


def _add_scenarios(sub: _SubParsers) -> None:
    scenarios = sub.add_parser("scenarios", help="list the built-in scenarios")
    scenarios.add_argument("--json", action="store_true", help="one JSON object per scenario")
    scenarios.set_defaults(handler=_cmd_scenarios)


def _cmd_scenarios(args: argparse.Namespace) -> int:
    import json

    from simulators.scenario import load_scenario, scenario_names

    for name in scenario_names():
        scenario = load_scenario(name)
        if args.json:
            row = {
                "name": name,
                "description": scenario.description,
                "onsets_s": list(scenario.onsets_s),
                "artifact_share": round(scenario.artifacts.expected_share, 4),
                "dropouts": len(scenario.dropouts),
                "contact_losses": len(scenario.contact_losses),
                "hrv_usable": scenario.hrv_usable,
            }
            print(json.dumps(row))
        else:
            print(f"{name:<15} {scenario.description}")
    return EXIT_OK


# --------------------------------------------------------------------------
# strap: a virtual BLE heart-rate strap on a (private) system D-Bus


def _add_strap(sub: _SubParsers) -> None:
    from simulators import strap

    parser = sub.add_parser(
        "strap",
        help="a virtual BLE heart-rate strap that the real Bluetooth code connects to",
        description=(
            "Impersonate BlueZ with one heart-rate strap, so that `biofeedback scan`,"
            " `pair` and `run --device` work without hardware. Point"
            " DBUS_SYSTEM_BUS_ADDRESS at the bus (--private-bus starts one and prints it)."
            " Times are strap time: seconds since a central first subscribed."
        ),
    )
    strap.add_arguments(parser)
    parser.set_defaults(handler=_cmd_strap)


def _cmd_strap(args: argparse.Namespace) -> int:
    from simulators import strap

    return strap.run(args)


# --------------------------------------------------------------------------

_COMMANDS: tuple[Callable[[_SubParsers], None], ...] = (
    _add_rr,
    _add_scenarios,
    _add_strap,
    add_mqtt,
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Simulated people and straps, for trying and testing biofeedback without hardware.\n"
            "A simulated person has a beat-by-beat heart that breathes, tenses, settles and\n"
            "gets aroused as their scenario says; a simulated strap adds the artifacts,\n"
            "contact losses and dropouts of real ones."
        ),
        epilog=(
            "Examples:  python -m simulators rr --scenario anxious --minutes 10 --out rr.txt\n"
            "           biofeedback run --sim anxious    (the closed-loop simulator in a session)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except SimulatorError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
