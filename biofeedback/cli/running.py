"""Running a session: the one place it is wired (plan_session), headless or on the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from biofeedback import practice_cli, setup_cli

if TYPE_CHECKING:
    from biofeedback.audio.setup import AudioPlan
    from biofeedback.pacing.protocols import Routine
    from biofeedback.practice.ratings import Ratings
    from biofeedback.sensors import HeartRateSource
    from biofeedback.session import SessionPlan, SessionResult, Sink
    from biofeedback.store import Store

from biofeedback.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    as_minutes,
    check_app,
    dashboard_settings,
    on_terminal,
    report_keys,
)
from biofeedback.cli.records import existing_store
from biofeedback.cli.sources import choose_source, mqtt_publisher


def cmd_run(args: argparse.Namespace) -> int:
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
    ratings_before: Ratings | None = None,
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
        source = choose_source(args, real_clock.now)
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
    chosen: list[Sink] = [
        RecorderSink(db_path, virtual=source.virtual, ratings_before=ratings_before)
    ]
    if not dashboard:
        chosen.append(ConsoleSink(as_json=args.json))
    chosen += audio.sinks
    if args.mqtt:
        chosen.append(mqtt_publisher(args.mqtt))
        # The whole record too, read back from the store as it commits (issue 27).
        from biofeedback.broker import load_settings
        from biofeedback.cli.central import record_publisher, records_wanted

        if records_wanted(args, load_settings()):
            chosen.append(record_publisher(args.mqtt, db_path))
    elif getattr(args, "mqtt_record", False):
        raise UsageError("--mqtt-record needs --mqtt URL (the broker to publish to)")
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
    dashboard = not args.headless and on_terminal()
    if "before" not in ratings.asked:
        ratings.before = (
            await practice_cli.ask_in_form("before")
            if dashboard
            else practice_cli.prompt_ratings("before")
        )
    # Wired once the person is ready: the session's clock starts here, so time
    # spent on the ratings form is not counted (or fast-forwarded) as session time.
    plan = plan_session(args, dashboard=dashboard, ratings_before=ratings.before)
    if dashboard:
        result = await _run_dashboard(plan, ended_by)
        if result is None:
            return EXIT_OK
        print(
            f"Session {result.session_id}: {result.reason} after {as_minutes(result.duration_s)}."
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
        # The ratings before were saved by the recorder as the session began.
        if ratings.after is not None:
            practice_cli.save_after_ratings(resolve_db_path(args.db), session_id, ratings.after)
        if args.json:
            print(json.dumps(ratings.to_event(session_id, result.duration_s)), flush=True)
    failed = [r for r in result.sinks if r.failed]
    for report in failed:
        print(f"biofeedback: {report.name} stopped early: {report.failed}", file=sys.stderr)
    if args.mqtt:
        from biofeedback.mqtt import MqttPublisher
        from biofeedback.mqtt.record import RecordPublisher

        for sink in plan.sinks:
            if isinstance(sink, MqttPublisher | RecordPublisher):
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


def start_run(protocol: str, db: str | None) -> int:
    """A dashboard session of ``protocol``, as `run` with no other flags (from `today`)."""
    from biofeedback.cli.parser import build_parser  # the parser names this module's commands

    argv = ["run", "--protocol", protocol] + (["--db", db] if db else [])
    return cmd_run(build_parser().parse_args(argv))


def cmd_resonance(args: argparse.Namespace) -> int:
    from biofeedback.pacing.resonance_plan import AssessmentPlan, parse_rates

    args.assessment = AssessmentPlan(rates_bpm=parse_rates(args.rates), step_s=args.step)
    # The assessment is breathing only: no routine, zone or body-region choices.
    args.protocol, args.zone, args.sides, args.imagery = "resonance", "auto", False, ""
    # Ratings are for practice sessions, not for the assessment.
    args.no_ratings, args.rate_before, args.rate_after = True, None, None
    return cmd_run(args)


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

    with existing_store(args) as store:
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


async def _run_dashboard(plan: SessionPlan, ended_by: list[signal.Signals]) -> SessionResult | None:
    from biofeedback.ui.app import create_app

    app = create_app(plan, dashboard_settings())
    report_keys(app)
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
        # Saved as ended by the signal; cmd_run turns this into 128 + its number.
        raise asyncio.CancelledError
    check_app(app)
    return app.session_result
