"""Running a session, headless or on the dashboard: `run`, `resonance` and `today`'s start.

Each command turns its arguments into one ``SessionRequest``; the session is
wired from it in ``wiring.build_session``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from biofeedback.cli import practice as practice_cli

if TYPE_CHECKING:
    from biofeedback.loop.session import SessionPlan, SessionResult, Sink
    from biofeedback.practice.ratings import Ratings
    from biofeedback.sensors import HeartRateSource

from biofeedback.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    as_minutes,
    check_app,
    dashboard_settings,
    on_terminal,
    report_keys,
    started,
)
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
    ending = _Ending()
    try:
        return asyncio.run(_run(request, ending))
    except asyncio.CancelledError:
        # Ended by a signal (see _end_on_signals): the session has been saved as ended.
        sig = ending.signals[0] if ending.signals else signal.SIGTERM
        ending.say_saved(_SIGNAL_REASONS[sig])
        return 128 + sig


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


async def _run(request: SessionRequest, ending: _Ending) -> int:
    import json

    from biofeedback.store import RecorderSink, resolve_db_path

    ratings = practice_cli.run_ratings(
        ask=request.ratings, before=request.rate_before, after=request.rate_after
    )
    # The dashboard needs a terminal; piped, a session prints its events instead.
    dashboard = not request.headless and on_terminal()
    if "before" not in ratings.asked:
        started()  # the person takes as long as they like
        ratings.before = (
            await practice_cli.ask_in_form("before")
            if dashboard
            else practice_cli.prompt_ratings("before")
        )
    # Wired once the person is ready: the session's clock starts here, so time
    # spent on the ratings form is not counted (or fast-forwarded) as session time.
    plan = build_session(request, dashboard=dashboard, ratings_before=ratings.before)
    ending.planned(plan)
    started()
    if dashboard:
        result = await _run_dashboard(plan, ending)
        if result is None:
            return EXIT_OK
        print(
            f"Session {result.session_id}: {result.reason} after {as_minutes(result.duration_s)}."
            f" Saved in {plan.saved_to}; see `biofeedback review {result.session_id}`."
        )
    else:
        _end_on_signals(ending.signals)
        result = await plan.run(trouble=_print_trouble, source_trouble=_print_source_trouble)
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
        from biofeedback.mqtt.record import RecordPublisher

        for sink in plan.sinks:
            if isinstance(sink, MqttPublisher | RecordPublisher):
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
    from biofeedback.cli.records import existing_store
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


def _print_source_trouble(trouble: str | None) -> None:
    if trouble is not None:
        print(f"biofeedback: {trouble}", file=sys.stderr)


def _print_trouble(trouble: str | None) -> None:
    if trouble is None:
        print("biofeedback: the session is being saved again", file=sys.stderr)
    else:
        print(f"biofeedback: {trouble}", file=sys.stderr)


async def _run_dashboard(plan: SessionPlan, ending: _Ending) -> SessionResult | None:
    from biofeedback.ui.app import create_app

    app = create_app(plan, dashboard_settings())
    report_keys(app)
    loop = asyncio.get_running_loop()

    def end(signum: int, _frame: object) -> None:
        sig = signal.Signals(signum)
        if ending.signals:
            return
        ending.signals.append(sig)
        # Whatever Textual is stuck in, the program ends (see END_GRACE_S).
        _exit_after(END_GRACE_S, 128 + sig, lambda: ending.record_end(_SIGNAL_REASONS[sig]))
        loop.call_soon_threadsafe(app.end_session, _SIGNAL_REASONS[sig])

    # Textual reads Ctrl-C as a key; these two end the session cleanly. Plain
    # handlers, not the event loop's: theirs could not run while the loop is
    # blocked (on a terminal that went away), these run in any case.
    previous = {sig: signal.signal(sig, end) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        await app.run_async()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if ending.signals:
        # Saved as ended by the signal; cmd_run turns this into 128 + its number.
        raise asyncio.CancelledError
    check_app(app)
    return app.session_result


# A session ended by a signal or a lost terminal gets this long to save its end
# and let go of the strap (well under a second usually); then the program ends
# regardless, so nothing (a terminal that cannot be written) can keep it alive.
END_GRACE_S = 1.5


def _exit_after(delay_s: float, code: int, first: Callable[[], None]) -> None:
    def leave() -> None:
        # A watchdog's last act, whatever happens in it.
        with contextlib.suppress(Exception):
            first()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(code)

    timer = threading.Timer(delay_s, leave)
    timer.daemon = True
    timer.start()


# Internal state of one run: nothing compares or prints it (no __eq__, __repr__ to compile).
@dataclass(eq=False, repr=False)
class _Ending:
    """How a run ended by a signal, and where its session was saved."""

    signals: list[signal.Signals] = field(default_factory=list)
    session_id: str = ""
    saved_to: str = ""

    def planned(self, plan: SessionPlan) -> None:
        self.session_id, self.saved_to = plan.info.session_id, plan.saved_to

    def record_end(self, reason: str) -> None:
        """The session's end, written straight into the store (see ``_exit_after``)."""
        from pathlib import Path

        from biofeedback.store import end_unfinished

        if self.session_id and self.saved_to:
            end_unfinished(Path(self.saved_to), self.session_id, reason)

    def say_saved(self, reason: str) -> None:
        if not self.session_id:
            return
        # The terminal may be gone (that may be why the session ended).
        with contextlib.suppress(OSError, ValueError):
            print(
                f"biofeedback: session {self.session_id} ({reason}) saved in {self.saved_to}"
                f" (see `biofeedback review {self.session_id}`)",
                file=sys.stderr,
                flush=True,
            )
