"""Running a session, headless or on the dashboard: `run`, `resonance` and `today`'s start.

Each command turns its arguments into one ``SessionRequest``; the session is
wired from it in ``wiring.build_session``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from biofeedback import practice_cli

if TYPE_CHECKING:
    from biofeedback.practice.ratings import Ratings
    from biofeedback.sensors import HeartRateSource
    from biofeedback.session import SessionPlan, SessionResult, Sink

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
from biofeedback.cli.request import SessionRequest, assessment_request, request_from_args
from biofeedback.cli.wiring import build_session


def cmd_run(args: argparse.Namespace) -> int:
    return run_request(request_from_args(args))


def cmd_resonance(args: argparse.Namespace) -> int:
    return run_request(assessment_request(args))


def start_run(protocol: str, db: str | None) -> int:
    """A dashboard session of ``protocol``, as `run` with no other flags (from `today`)."""
    return run_request(SessionRequest(protocol=protocol, db=db))


def run_request(request: SessionRequest) -> int:
    """Run the session ``request`` asks for; the exit code."""
    if request.json and not request.headless:
        raise UsageError("--json needs --headless")
    if request.seed is not None and request.sim is None:
        raise UsageError("--seed works with --sim only")
    ended_by: list[signal.Signals] = []
    try:
        return asyncio.run(_run(request, ended_by))
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
    """``build_session`` for `run`'s parsed arguments (kept for callers that have them)."""
    return build_session(
        request_from_args(args),
        dashboard=dashboard,
        source=source,
        sinks=sinks,
        ratings_before=ratings_before,
    )


async def _run(request: SessionRequest, ended_by: list[signal.Signals]) -> int:
    import json

    from biofeedback.store import RecorderSink, resolve_db_path

    ratings = practice_cli.run_ratings(
        ask=request.ratings, before=request.rate_before, after=request.rate_after
    )
    # The dashboard needs a terminal; piped, a session prints its events instead.
    dashboard = not request.headless and on_terminal()
    if "before" not in ratings.asked:
        ratings.before = (
            await practice_cli.ask_in_form("before")
            if dashboard
            else practice_cli.prompt_ratings("before")
        )
    # Wired once the person is ready: the session's clock starts here, so time
    # spent on the ratings form is not counted (or fast-forwarded) as session time.
    plan = build_session(request, dashboard=dashboard, ratings_before=ratings.before)
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
            practice_cli.save_after_ratings(resolve_db_path(request.db), session_id, ratings.after)
        if request.json:
            print(json.dumps(ratings.to_event(session_id, result.duration_s)), flush=True)
    failed = [r for r in result.sinks if r.failed]
    for report in failed:
        print(f"biofeedback: {report.name} stopped early: {report.failed}", file=sys.stderr)
    if request.mqtt:
        from biofeedback.mqtt import MqttPublisher

        for sink in plan.sinks:
            if isinstance(sink, MqttPublisher):
                print(f"biofeedback: {sink.report_line()}", file=sys.stderr)
    if request.audio_out:
        from biofeedback.audio.render import WavSink

        for sink in plan.sinks:
            if isinstance(sink, WavSink):  # where the track is, and how loud each part
                print(f"biofeedback: {sink.report_line()}", file=sys.stderr)
    if request.assessment is not None and not request.json:
        _print_assessment(request.db, result.session_id)
    # Telemetry is optional; a session that was not saved is not.
    return EXIT_USAGE if any(r.name == RecorderSink.name for r in failed) else EXIT_OK


def _print_assessment(db: str | None, session_id: str) -> None:
    from biofeedback.review.resonance import assessment_in, format_assessment

    with existing_store(db) as store:
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
