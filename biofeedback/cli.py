"""The command line: parse arguments, choose concrete sources and sinks, run.

Heavy libraries (numpy, textual, bleak, aiomqtt) are imported inside the
command that needs them, so ``biofeedback --help`` answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn

from biofeedback import BiofeedbackError, __version__, practice_cli, setup_cli

if TYPE_CHECKING:
    from biofeedback.audio.setup import AudioPlan
    from biofeedback.models import Recording, StoredSession
    from biofeedback.mqtt import MqttPublisher
    from biofeedback.pacing.protocols import Routine
    from biofeedback.practice.ratings import Ratings
    from biofeedback.review import History, SessionSummary
    from biofeedback.review.resonance import AssessmentEntry
    from biofeedback.sensors import HeartRateSource
    from biofeedback.sensors.ble import BleSource
    from biofeedback.session import SessionPlan, SessionResult, Sink
    from biofeedback.store import Store
    from biofeedback.ui.app import BiofeedbackApp, DashboardSettings
    from biofeedback.ui.records import ReviewView

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
SPEED_MIN = 0.1
SPEED_MAX = 10_000.0


class UsageError(BiofeedbackError):
    """The command line asks for something that cannot be done as asked."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line naming what to do, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        if self.prog.endswith(" run"):
            self.epilog = _run_epilog()
        return super().format_help()


def _run_epilog() -> str:
    """The routines and simulated people ``run`` can use, read only when help is asked for."""
    from biofeedback.pacing.protocols import load_all
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


def build_parser() -> argparse.ArgumentParser:
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

    scan = sub.add_parser("scan", help="list straps advertising the Heart Rate service")
    scan.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=5.0,
        metavar="S",
        help="seconds to listen (default 5)",
    )
    scan.add_argument("--json", action="store_true", help="one JSON object per strap")
    scan.set_defaults(handler=_cmd_scan)

    pair = sub.add_parser("pair", help="remember a strap as the default source")
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
    pair.set_defaults(handler=_cmd_pair)

    run = sub.add_parser(
        "run",
        help="run a guided session",
        description="Run a guided session from a strap, the simulator, a file or a broker.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    setup_cli.add_run_flags(run)
    practice_cli.add_run_arguments(run)
    run.set_defaults(handler=_cmd_run)

    resonance = sub.add_parser(
        "resonance",
        help="find the breathing rate your heart answers most",
        description=(
            "A stepped resonance assessment: paced breathing from 6.5 down to 4.5 breaths"
            " a minute, each rate scored on your heart's response. The result is recorded;"
            " later sessions pace their slow breaths at your rate."
        ),
    )
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
    resonance.set_defaults(handler=_cmd_resonance)

    review = sub.add_parser(
        "review",
        help="summarise a recorded session",
        description="Summarise a recorded session; optionally plot or export it.",
    )
    review.add_argument("session", nargs="?", default="latest", metavar="SESSION|latest")
    review.add_argument("--json", action="store_true", help="the whole summary as JSON")
    review.add_argument("--png", metavar="F", help="plot HR, RMSSD and arousal (matplotlib)")
    review.add_argument("--pdf", metavar="F", help="the same plot as PDF")
    review.add_argument("--csv", metavar="F", help="samples, estimates and events as CSV")
    review.add_argument(
        "--rr", metavar="F", help="RR intervals as recorded, one ms value a line (Kubios)"
    )
    review.add_argument("--rr-corrected", metavar="F", help="RR intervals with artifacts corrected")
    review.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")
    review.set_defaults(handler=_cmd_review)

    history = sub.add_parser(
        "history",
        help="past sessions and trends",
        description="Your recorded sessions, newest first, with the trend of your resting"
        " heart rate and RMSSD (simulated and replayed sessions count only when there"
        " are too few of your own).",
    )
    history.add_argument("--json", action="store_true", help="sessions and trends as JSON")
    history.add_argument(
        "--last",
        type=_positive_int,
        default=10,
        metavar="N",
        help="patterns over the latest N sessions (default 10)",
    )
    history.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")
    history.set_defaults(handler=_cmd_history)

    delete = sub.add_parser(
        "delete",
        help="remove one recorded session for good",
        description="Remove one recorded session, with all its samples and events, for good.",
    )
    delete.add_argument("session", metavar="SESSION", help="its id (see `biofeedback history`)")
    delete.add_argument(
        "--yes", action="store_true", help="delete without asking (needed when not on a terminal)"
    )
    delete.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")
    delete.set_defaults(handler=_cmd_delete)

    setup_cli.add_setup_parser(sub)

    protocols = sub.add_parser(
        "protocols",
        help="list the guided routines",
        description="The guided routines, their zone (green: full practice, yellow:"
        " gentle and breath-led, red: rest only), length and what each is for.",
    )
    protocols.add_argument("--json", action="store_true", help="one JSON object per routine")
    protocols.set_defaults(handler=_cmd_protocols)
    practice_cli.add_commands(sub, start_run=_start_run)

    phrases = sub.add_parser(
        "phrases",
        help="what a protocol can say: phrase ids (voice folder file names) and texts",
    )
    phrases.add_argument("--protocol", default="full", metavar="NAME")
    phrases.add_argument("--sides", action="store_true")
    phrases.set_defaults(handler=_cmd_phrases)

    monitor = sub.add_parser(
        "monitor",
        help="watch every runner on an MQTT broker",
        description="A live table of every session publishing to an MQTT broker"
        " (see `run --mqtt`).",
    )
    monitor.add_argument("url", metavar="mqtt://HOST[:PORT]", help="the broker to watch")
    monitor.set_defaults(handler=_cmd_monitor)
    return parser


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
    parser.add_argument("--db", metavar="PATH", help="the session store (env BIOFEEDBACK_DB)")


# --------------------------------------------------------------------------
# Commands


def _cmd_protocols(args: argparse.Namespace) -> int:
    import json
    import textwrap

    from biofeedback.pacing.controller import planned_session_s
    from biofeedback.pacing.protocols import load_all

    for p in load_all():
        # A whole session's length: the settle and closing frame included.
        session_s = planned_session_s(p)
        if args.json:
            row = {
                "name": p.name,
                "title": p.title,
                "zone": p.zone.value,
                "duration_s": round(session_s),
                "steps_s": round(p.duration_s),
                "sides": p.has_sides,
                "regions": list(p.regions),
                "description": p.description,
            }
            print(json.dumps(row))
        else:
            sides = "  (--sides)" if p.has_sides else ""
            print(f"{p.name:<18} {p.zone:<7} {session_s / 60:4.1f} min  {p.title}{sides}")
            if p.description:
                print(
                    textwrap.fill(
                        p.description, width=78, initial_indent=" " * 4, subsequent_indent=" " * 4
                    )
                )
    return EXIT_OK


def _cmd_phrases(args: argparse.Namespace) -> int:
    from biofeedback.audio.phrases import build_book
    from biofeedback.pacing.protocols import load_protocol

    for phrase in build_book(load_protocol(args.protocol, sides=args.sides)):
        print(f"{phrase.id}.wav\t{phrase.text}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    if args.json and not args.headless:
        raise UsageError("--json needs --headless")
    if args.seed is not None and args.sim is None:
        raise UsageError("--seed works with --sim only")
    ended_by: list[signal.Signals] = []
    try:
        return asyncio.run(_run(args, ended_by))
    except asyncio.CancelledError:
        # Ended by a signal (see _end_on_signals): the session has been saved as ended.
        return 128 + (ended_by[0] if ended_by else signal.SIGTERM)


def plan_session(
    args: argparse.Namespace,
    *,
    dashboard: bool,
    source: HeartRateSource | None = None,
    sinks: Sequence[Sink] = (),
) -> SessionPlan:
    """The session `biofeedback run ARGS` asks for: the one place a session is wired.

    ``dashboard`` leaves the console printer out (the screen shows the events).
    A test may hand in its own ``source`` (one it can hold still) and extra
    ``sinks``; everything else comes from ``args`` as the command line gives it.
    """
    import time
    import uuid

    from biofeedback.console import ConsoleSink
    from biofeedback.models import SessionInfo, Zone
    from biofeedback.pacing import resonance_plan
    from biofeedback.pacing.arousal import ArousalEstimator
    from biofeedback.pacing.protocols import load_protocol
    from biofeedback.pacing.resonance_live import with_resonance
    from biofeedback.practice.noted import NotedController
    from biofeedback.session import Clock, RealClock, SessionPlan, VirtualClock
    from biofeedback.store import RecorderSink, Store, resolve_db_path

    # `biofeedback resonance` runs this same session with the assessment as its routine.
    assessment: resonance_plan.AssessmentPlan | None = getattr(args, "assessment", None)
    personal = None
    if assessment is not None:
        protocol = resonance_plan.assessment_routine(assessment)
    else:
        # The routine as this person does it: the profile (see `setup`) and the flags.
        personal = setup_cli.run_plan(args)
        protocol = personal.routine
    if args.sides and not protocol.has_sides:
        raise UsageError(f"protocol {protocol.name!r} has no one-side-at-a-time groups")
    real_clock = RealClock()
    if source is None:
        source = _choose_source(args, real_clock.now)
    clock: Clock = VirtualClock(args.speed) if source.virtual else real_clock
    if not source.virtual and args.speed != 1.0:
        raise UsageError("--speed works with --sim and --replay only")
    if args.audio_out:
        from pathlib import Path

        from biofeedback.audio.render import check_wav_path

        check_wav_path(Path(args.audio_out))  # a bad path stops before anything is recorded
    db_path = resolve_db_path(args.db)
    with Store(db_path) as store:  # a foreign or damaged store is refused before the session
        # A simulated or replayed heart is not the person's: no stored baseline for it.
        resting = None if source.virtual else store.resting_baseline()
        # Slow breaths at the person's own rate, once an assessment has found it.
        rate_bpm = None if assessment is not None else _personal_rate(store, source.virtual)
        adaptation = None
        if assessment is None:
            # Gentler after a session of this routine that left the body more wired.
            protocol, adaptation = practice_cli.adapt_routine(
                store, protocol, virtual=source.virtual
            )
    yellow = load_protocol("breath-partial")
    if getattr(args, "resonant", False):
        protocol = resonance_plan.resonant_contractions(protocol, rate_bpm or 6.0)
    # Sound is prepared for the routine as it will run (adapted, resonant).
    audio = _audio_plan(
        args,
        protocol,
        # Eyes closed in the profile turns sound on unless --audio says otherwise.
        mode=args.audio if personal is None else setup_cli.audio_mode(args),
        real_time=not source.virtual or args.speed == 1.0,
        dashboard=dashboard,
    )
    if audio.speech and args.sim is not None and hasattr(source, "listen"):
        # The simulated person hears each cue when it has been said.
        source.listen = audio.heard_after
    controller = NotedController(
        protocol,
        yellow=yellow if rate_bpm is None else resonance_plan.paced_routine(yellow, rate_bpm),
        config=None if rate_bpm is None else resonance_plan.personal_config(rate_bpm),
        start_zone="auto" if args.zone == "auto" else Zone(args.zone),
        stored_baseline=resting,
        imagery_regions=() if personal is None else personal.imagery,
        plan=personal if personal is not None and personal.notes else None,
        notes=[] if adaptation is None else [adaptation.reason],
    )
    estimator, paced = with_resonance(ArousalEstimator(), controller, assessment=assessment)
    # The recorder first: it hears every item before anything is shown.
    chosen: list[Sink] = [RecorderSink(db_path, virtual=source.virtual)]
    if not dashboard:
        chosen.append(ConsoleSink(as_json=args.json))
    chosen += audio.sinks
    if args.mqtt:
        chosen.append(_mqtt_publisher(args.mqtt))
    info = SessionInfo(
        session_id=uuid.uuid4().hex[:12],
        protocol=protocol.name,
        source=source.description,
        started_at_unix_s=time.time(),
        extra={} if adaptation is None else {"adaptation": adaptation.to_dict()},
    )
    return SessionPlan(
        source,
        estimator,
        paced,
        clock,
        info,
        [*chosen, *sinks],
        duration_s=args.duration,
        title=protocol.title,
        sound=audio.player,
        saved_to=str(db_path),
    )


async def _run(args: argparse.Namespace, ended_by: list[signal.Signals]) -> int:
    import json

    from biofeedback.store import RecorderSink, resolve_db_path

    ratings = practice_cli.ratings_from_args(args)
    # The dashboard needs a terminal; piped, a session prints its events instead.
    dashboard = not args.headless and _on_terminal()
    plan = plan_session(args, dashboard=dashboard)
    if "before" not in ratings.asked:
        ratings.before = (
            await practice_cli.ask_in_form("before")
            if dashboard
            else practice_cli.prompt_ratings("before")
        )
    if dashboard:
        result = await _run_dashboard(plan, ended_by)
        if result is None:
            return EXIT_OK
        print(
            f"Session {result.session_id}: {result.reason} after {_minutes(result.duration_s)}."
            f" Saved in {plan.saved_to}; see `biofeedback review {result.session_id}`."
        )
    else:
        _end_on_signals(ended_by)
        result = await plan.run(trouble=_print_trouble)
        # On stderr: stdout is the session's events (maybe JSON Lines).
        print(
            f"biofeedback: session {result.session_id} saved in {plan.saved_to}"
            f" (see `biofeedback review {result.session_id}`)",
            file=sys.stderr,
        )
    if result.rejected_samples:
        print(
            f"biofeedback: left out {result.rejected_samples} samples that cannot be heart"
            f" data (first: {result.first_rejection})",
            file=sys.stderr,
        )
    if "after" not in ratings.asked:
        ratings.after = (
            await practice_cli.ask_in_form("after")
            if dashboard
            else practice_cli.prompt_ratings("after")
        )
    if ratings.before is not None or ratings.after is not None:
        session_id = plan.info.session_id
        practice_cli.save_run_ratings(resolve_db_path(args.db), session_id, ratings)
        if args.json:
            print(json.dumps(ratings.to_event(session_id, result.duration_s)), flush=True)
    failed = [r for r in result.sinks if r.failed]
    for report in failed:
        print(f"biofeedback: {report.name} stopped early: {report.failed}", file=sys.stderr)
    if args.mqtt:
        from biofeedback.mqtt import MqttPublisher

        for sink in plan.sinks:
            if isinstance(sink, MqttPublisher):
                print(f"biofeedback: {sink.report_line()}", file=sys.stderr)
    if getattr(args, "assessment", None) is not None and not args.json:
        _print_assessment(args, result.session_id)
    # Telemetry is optional; a session that was not saved is not.
    return EXIT_USAGE if any(r.name == RecorderSink.name for r in failed) else EXIT_OK


def _audio_plan(
    args: argparse.Namespace,
    protocol: Routine,
    *,
    mode: str | None,
    real_time: bool,
    dashboard: bool,
) -> AudioPlan:
    from pathlib import Path

    from biofeedback import config
    from biofeedback.audio.setup import prepare

    plan = prepare(
        protocol,
        config.load().audio,
        mode=mode,
        out_path=Path(args.audio_out) if args.audio_out else None,
        real_time=real_time,
        tell_missing=dashboard,
    )
    for note in plan.notes:
        print(f"biofeedback: {note}", file=sys.stderr)
    return plan


def _start_run(protocol: str, db: str | None) -> int:
    """A dashboard session of ``protocol``, as `run` with no other flags (from `today`)."""
    argv = ["run", "--protocol", protocol] + (["--db", db] if db else [])
    return _cmd_run(build_parser().parse_args(argv))


def _cmd_resonance(args: argparse.Namespace) -> int:
    from biofeedback.pacing.resonance_plan import AssessmentPlan, parse_rates

    args.assessment = AssessmentPlan(rates_bpm=parse_rates(args.rates), step_s=args.step)
    # The assessment is breathing only: no routine, zone or body-region choices.
    args.protocol, args.zone, args.sides, args.imagery = "resonance", "auto", False, ""
    # Ratings are for practice sessions, not for the assessment.
    args.no_ratings, args.rate_before, args.rate_after = True, None, None
    return _cmd_run(args)


def _personal_rate(store: Store, virtual: bool) -> float | None:
    """The breathing rate of the latest assessment that found one with at least
    medium confidence (a simulated heart's for simulated sessions only)."""
    from biofeedback.pacing.resonance import confidence_label
    from biofeedback.review.resonance import ASSESSMENT_PROTOCOL, assessment_in

    for session in store.sessions():
        if session.protocol != ASSESSMENT_PROTOCOL or session.virtual != virtual:
            continue
        found = assessment_in(store.load(session.session_id).events)
        if (
            found is not None
            and found.best_rate_bpm is not None
            and confidence_label(found.confidence) != "low"
        ):
            return found.best_rate_bpm
    return None


def _print_assessment(args: argparse.Namespace, session_id: str) -> None:
    from biofeedback.review.resonance import assessment_in, format_assessment

    with _existing_store(args) as store:
        found = assessment_in(store.load(session_id).events)
    if found is None:
        print("The assessment ended before its rates were done: nothing to score yet.")
        return
    print(format_assessment(found))


# How each signal ends a session, as recorded.
_SIGNAL_REASONS = {
    signal.SIGINT: "interrupted",
    signal.SIGTERM: "terminated",
    signal.SIGHUP: "terminal closed",
}


def _end_on_signals(ended_by: list[signal.Signals]) -> None:
    """Let Ctrl-C, `kill`, a service manager or a closed terminal end a headless
    session cleanly: the loop is cancelled, so the session ends and is saved,
    instead of the process dying with its record left unfinished."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def end(sig: signal.Signals) -> None:
        if not ended_by:
            ended_by.append(sig)
            task.cancel(_SIGNAL_REASONS[sig])

    for sig in _SIGNAL_REASONS:
        loop.add_signal_handler(sig, end, sig)


def _print_trouble(trouble: str | None) -> None:
    if trouble is None:
        print("biofeedback: the session is being saved again", file=sys.stderr)
    else:
        print(f"biofeedback: {trouble}", file=sys.stderr)


def _mqtt_publisher(url: str) -> MqttPublisher:
    from biofeedback.broker import load_settings, parse_url
    from biofeedback.mqtt import MqttPublisher

    return MqttPublisher(parse_url(url), load_settings())


def _cmd_monitor(args: argparse.Namespace) -> int:
    from biofeedback.broker import load_settings, parse_url
    from biofeedback.mqtt import Broker, watch_runners
    from biofeedback.ui.monitor import MonitorApp

    broker = Broker.prepare(parse_url(args.url), load_settings())
    MonitorApp(watch_runners(broker), where=broker.url.where).run()
    return EXIT_OK


def _dashboard_settings() -> DashboardSettings:
    from biofeedback import config
    from biofeedback.ui.app import DashboardSettings

    saved = config.load().dashboard
    return DashboardSettings(reduced_motion=saved.reduced_motion, keymap=dict(saved.keys))


async def _run_dashboard(plan: SessionPlan, ended_by: list[signal.Signals]) -> SessionResult | None:
    from biofeedback.ui.app import create_app

    app = create_app(plan, _dashboard_settings())
    _report_keys(app)
    loop = asyncio.get_running_loop()

    def end(sig: signal.Signals) -> None:
        if not ended_by:
            ended_by.append(sig)
            app.end_session(_SIGNAL_REASONS[sig])

    for sig in (signal.SIGTERM, signal.SIGHUP):
        # Textual reads Ctrl-C as a key; these two end the session cleanly.
        loop.add_signal_handler(sig, end, sig)
    await app.run_async()
    if ended_by:
        # Saved as ended by the signal; _cmd_run turns this into 128 + its number.
        raise asyncio.CancelledError
    _check_app(app)
    return app.session_result


def _report_keys(app: BiofeedbackApp) -> None:
    """Key settings the dashboard left out, one line each (it shows them too)."""
    for problem in app.key_problems:
        print(f"biofeedback: {problem}", file=sys.stderr)


def _check_app(app: BiofeedbackApp) -> None:
    """Raise why the dashboard ended, if it ended by a failure rather than a choice."""
    if app.error is not None:
        raise app.error
    if app.return_code:
        # Textual has already printed the traceback of its own failure.
        raise RuntimeError("the dashboard stopped on an error")


def _on_terminal() -> bool:
    """Screens need a person at a terminal; piped, commands print instead."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _minutes(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _choose_source(args: argparse.Namespace, clock_now: Callable[[], float]) -> HeartRateSource:
    if args.sim is not None:
        from simulators.source import ScenarioError, SimulatedSource

        try:
            return SimulatedSource(args.sim, seed=args.seed)
        except ScenarioError as exc:
            raise UsageError(str(exc)) from None
    if args.device:
        return _ble_source(args.device, None, clock_now)
    if args.source:
        from biofeedback.broker import load_settings, parse_url
        from biofeedback.mqtt import MqttSource

        return MqttSource(parse_url(args.source, topic=True), load_settings(), now=clock_now)
    if args.replay:
        return _replay_source(args.replay)
    from biofeedback import config

    paired = config.load().device
    if paired is not None:
        return _ble_source(paired.address, paired.name, clock_now)
    raise UsageError(
        "no strap paired; run `biofeedback run --sim` to try the simulator,"
        " or `biofeedback pair DEVICE` first"
    )


def _ble_source(device: str, name: str | None, clock_now: Callable[[], float]) -> BleSource:
    from biofeedback.sensors.ble import BleSource

    return BleSource(device, name=name, clock_now=clock_now)


def _cmd_scan(args: argparse.Namespace) -> int:
    import json

    from biofeedback.sensors.ble import scan

    straps = asyncio.run(scan(args.timeout))
    for strap in straps:
        if args.json:
            print(json.dumps(strap.to_dict()))
        else:
            rssi = f"{strap.rssi_dbm} dBm" if strap.rssi_dbm is not None else "? dBm"
            battery = f"battery {strap.battery_pct}%" if strap.battery_pct is not None else ""
            print(f"{strap.address}  {rssi:>8}  {strap.name or '(no name)':<24} {battery}".rstrip())
    if not straps:
        print(
            f"no heart-rate strap found in {args.timeout:g} s; wear it (straps sleep without"
            " skin contact) and scan again",
            file=sys.stderr,
        )
    return EXIT_OK


def _cmd_pair(args: argparse.Namespace) -> int:
    from biofeedback import config

    if args.device is None:
        chosen = asyncio.run(_choose_strap())
        if chosen is None:
            return EXIT_OK
        address, name = chosen
    else:
        from biofeedback.sensors.ble import resolve

        strap = asyncio.run(resolve(args.device, args.timeout))
        address, name = strap.address, strap.name
    config.remember_device(config.PairedDevice(address, name))
    print(f"paired {name or 'strap'} ({address}); `biofeedback run` now uses it")
    return EXIT_OK


async def _choose_strap() -> tuple[str, str | None] | None:
    """The pair screen: the strap the person chose from the live list, if any."""
    if not _on_terminal():
        raise UsageError("name the strap: biofeedback pair DEVICE (see biofeedback scan)")
    from biofeedback.sensors.ble import scan
    from biofeedback.ui.app import create_app

    app = create_app(
        settings=_dashboard_settings(),
        scan=lambda timeout_s, battery: scan(timeout_s, read_battery=battery),
    )
    _report_keys(app)
    await app.run_async()
    _check_app(app)
    return None if app.paired is None else (app.paired.address, app.paired.name)


def _replay_source(spec: str) -> HeartRateSource:
    """An RR file, or a session store (``FILE`` for its latest session, ``FILE#SESSION``)."""
    from pathlib import Path

    from biofeedback.sensors.replay import ReplaySource, open_rr_file
    from biofeedback.store import Store, is_store_file

    path, ref = Path(spec), ""
    if not path.exists() and "#" in spec:
        head, _, ref = spec.rpartition("#")
        path = Path(head)
    if is_store_file(path):
        with Store(path) as store:
            recording = store.load(ref or "latest")
        return ReplaySource(recording.samples, f"replay:{path.name}#{recording.session.session_id}")
    return open_rr_file(path)


def _existing_store(args: argparse.Namespace) -> Store:
    from biofeedback.store import Store, StoreError, resolve_db_path

    path = resolve_db_path(args.db)
    if not path.exists():
        raise StoreError(
            f"no sessions recorded yet (no store at {path}); start one with `biofeedback run --sim`"
        )
    return Store(path)


def _cmd_review(args: argparse.Namespace) -> int:
    import json

    from biofeedback import review
    from biofeedback.review.practice import format_session_ratings, session_ratings

    targets = [getattr(args, name) for name in ("png", "pdf", "csv", "rr", "rr_corrected")]
    _check_export_targets(args)
    with _existing_store(args) as store:
        recording = store.load(args.session)
        before, after = practice_cli.review_ratings(store, recording.session.session_id)
    summary = review.summarize(recording)
    if not args.json and not any(targets) and _on_terminal():
        return _show_records(args, review=_review_view(recording, (before, after)))
    written: list[str] = []
    for fmt in ("png", "pdf"):
        target = getattr(args, fmt)
        if target:
            image = review.render_plot(recording, summary, fmt)
            with _export(target, binary=True) as fh:
                fh.write(image)
            written.append(target)
    if args.csv:
        with _export(args.csv, newline="") as fh:
            review.write_csv(recording, fh)
        written.append(args.csv)
    for target, corrected in ((args.rr, False), (args.rr_corrected, True)):
        if target:
            with _export(target) as fh:
                review.write_rr(recording, fh, corrected=corrected)
            written.append(target)
    if "-" not in targets:
        if args.json:
            data = json.loads(_summary_json(summary, recording))
            data["ratings"] = session_ratings(summary, before, after)
            print(json.dumps(data, indent=2))
        else:
            print(_summary_text(summary, recording))
            print(format_session_ratings(summary, before, after))
    for target in written:
        shown = "standard output" if target == "-" else target
        print(f"biofeedback review: wrote {shown}", file=sys.stderr)
    return EXIT_OK


def _check_export_targets(args: argparse.Namespace) -> None:
    """Refuse what cannot be written as asked, before any work is done."""
    from pathlib import Path

    from biofeedback.store.files import is_database

    names = ("png", "pdf", "csv", "rr", "rr_corrected")
    given = {name: getattr(args, name) for name in names if getattr(args, name)}
    if list(given.values()).count("-") > 1 or ("-" in given.values() and args.json):
        raise UsageError("only one export can go to standard output (-), without --json")
    for name, target in given.items():
        folder = Path(target).parent
        if target != "-" and not folder.is_dir():
            flag = name.replace("_", "-")
            raise UsageError(f"--{flag} {target}: there is no folder {folder}; create it first")
        if target != "-" and is_database(Path(target)):
            # An export aimed at a store by mistake would replace every session in it.
            raise UsageError(f"{target} is a database; choose another file to export to")
    for fmt in ("png", "pdf"):
        target = given.get(fmt)
        suffix = Path(target).suffix.lower() if target and target != "-" else ""
        if suffix and suffix != f".{fmt}":
            stem = Path(target or "").stem
            raise UsageError(f"--{fmt} writes a {fmt.upper()} image; name the file {stem}.{fmt}")


@contextlib.contextmanager
def _export(target: str, *, binary: bool = False, newline: str | None = None) -> Iterator[IO[Any]]:
    """An export file written atomically, or standard output for ``-``."""
    from pathlib import Path

    from biofeedback.store import exporting

    if target == "-":
        out: IO[Any] = sys.stdout.buffer if binary else sys.stdout
        yield out
        out.flush()
        return
    with exporting(Path(target), binary=binary, newline=newline) as fh:
        yield fh


def _cmd_history(args: argparse.Namespace) -> int:
    import json

    from biofeedback import review
    from biofeedback.review import resonance as resonance_review
    from biofeedback.review.practice import format_practice_history
    from biofeedback.store import resolve_db_path

    practice = None
    if resolve_db_path(args.db).exists():
        with _existing_store(args) as store:
            sessions = store.sessions()
            practice = practice_cli.practice_history(store, args.last)
    else:
        sessions = []
    history = review.build_history(sessions)
    assessments = _assessments(args, sessions)
    if not args.json and _on_terminal():
        return _show_records(args, history=history)
    if args.json:
        data = history.to_dict()
        data["practice"] = None if practice is None else practice.to_dict()
        data["resonance"] = resonance_review.trend_json(assessments)
        print(json.dumps(data, indent=2))
    else:
        print(review.format_history(history))
        if practice is not None:
            print(format_practice_history(practice))
        if assessments:
            print(resonance_review.format_trend(assessments))
    return EXIT_OK


def _assessments(
    args: argparse.Namespace, sessions: Sequence[StoredSession]
) -> list[AssessmentEntry]:
    """Every recorded resonance assessment, newest first."""
    from biofeedback.review import resonance as resonance_review

    chosen = [s for s in sessions if s.protocol == resonance_review.ASSESSMENT_PROTOCOL]
    if not chosen:
        return []
    found: list[AssessmentEntry] = []
    with _existing_store(args) as store:
        for session in chosen:
            item = resonance_review.entry(session, store.load(session.session_id).events)
            if item is not None:
                found.append(item)
    return found


def _review_view(
    recording: Recording, ratings: tuple[Ratings | None, Ratings | None] = (None, None)
) -> ReviewView:
    from biofeedback import review
    from biofeedback.review.practice import format_session_ratings
    from biofeedback.ui.records import ReviewView

    summary = review.summarize(recording)
    text = _summary_text(summary, recording) + "\n" + format_session_ratings(summary, *ratings)
    return ReviewView(recording, text)


def _summary_text(summary: SessionSummary, recording: Recording) -> str:
    """The summary, and a resonance assessment's result when the session ran one."""
    from biofeedback import review
    from biofeedback.review.resonance import assessment_in, format_assessment

    text = review.format_summary(summary)
    found = assessment_in(recording.events)
    return text if found is None else f"{text}\n\n{format_assessment(found)}"


def _summary_json(summary: SessionSummary, recording: Recording) -> str:
    import json

    from biofeedback import review
    from biofeedback.review.resonance import assessment_in, assessment_json

    found = assessment_in(recording.events)
    if found is None:
        return review.summary_json(summary)
    data = json.loads(review.summary_json(summary))
    data["resonance"] = assessment_json(found)
    return json.dumps(data, indent=2)


def _show_records(
    args: argparse.Namespace, *, review: ReviewView | None = None, history: History | None = None
) -> int:
    """The review or history screen; from the history, enter reviews a session."""
    from biofeedback.ui.app import create_app

    def open_review(session_id: str) -> ReviewView:
        with _existing_store(args) as store:
            return _review_view(
                store.load(session_id), practice_cli.review_ratings(store, session_id)
            )

    app = create_app(
        settings=_dashboard_settings(), review=review, history=history, open_review=open_review
    )
    _report_keys(app)
    app.run()
    _check_app(app)
    return EXIT_OK


def _cmd_delete(args: argparse.Namespace) -> int:
    import time

    from biofeedback.review import clock

    if args.session == "latest":
        raise UsageError("name the session to delete by its id (see `biofeedback history`)")
    with _existing_store(args) as store:
        session = store.session(args.session)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.started_at_unix_s))
        what = f"session {session.session_id} ({when}, {session.protocol})"
        if not args.yes:
            if not sys.stdin.isatty():
                # Health data, gone for good: never from a script's guess or a short prefix.
                raise UsageError(f"to delete {what} for good, add --yes")
            answer = input(f"Delete {what} for good? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print(f"kept {what}")
                return EXIT_OK
        gone = store.delete(session.session_id)
    print(f"deleted {what}, {clock(gone.length_s)} long")
    return EXIT_OK


# --------------------------------------------------------------------------


def _command_parser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, "command", None) or "")
            if isinstance(chosen, argparse.ArgumentParser):
                return chosen
    return parser


def _print_overview(parser: argparse.ArgumentParser) -> None:
    """``biofeedback`` alone: what it is and what to type next, in a few lines."""
    lines = [f"biofeedback {__version__}: heart-paced progressive muscle relaxation.", ""]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                lines.append(f"  biofeedback {choice.dest:<10} {choice.help}")
    lines += ["", "Start without a strap:  biofeedback run --sim", "More:  biofeedback --help"]
    print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # A mistake in a command's options names that command's help, not the top level's.
        _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
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
    if handler is None:
        _print_overview(parser)
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
