"""The command line of personal practice: ratings around ``run``, ``today`` and ``plan``.

Part of the CLI layer (``biofeedback.cli`` calls in here); kept apart so the practice
commands and the run hooks stay small and in one place. Their flags are in
``cli/parser.py``, so that building the parser does not load this module.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biofeedback.practice.ratings import Phase, RatingError, Ratings, parse_ratings, ratings_dict

if TYPE_CHECKING:
    from biofeedback.cli.command_requests import PlanRequest, TodayRequest
    from biofeedback.models import Recording
    from biofeedback.practice.adapt import Adaptation
    from biofeedback.practice.plan import Plan
    from biofeedback.review.practice import PracticeHistory
    from biofeedback.routines.protocols import Routine
    from biofeedback.store import Store
    from biofeedback.store.central import CentralStore

# How far back cross-session decisions look.
HISTORY_SESSIONS = 30

PROMPTS: dict[Phase, str] = {
    "before": "Before you start: how tense, how much pain, how anxious, 0-10?",
    "after": "How do you feel now: tension, pain, anxiety, 0-10?",
}


# Internal state of one run: nothing compares or prints it (no __eq__, __repr__ to compile).
@dataclass(eq=False, repr=False)
class RunRatings:
    """The ratings of one ``run``: from flags, a prompt or the dashboard form."""

    before: Ratings | None = None
    after: Ratings | None = None
    asked: set[str] = field(default_factory=set)

    def to_event(self, session_id: str, t_s: float) -> dict[str, Any]:
        return {
            "t": round(t_s, 3),
            "type": "ratings",
            "session_id": session_id,
            **ratings_dict(self.before, self.after),
        }


def run_ratings(*, ask: bool, before: str | None, after: str | None) -> RunRatings:
    """The ratings flags (--no-ratings: ``ask`` False; --rate-before, --rate-after),
    parsed up front so a typo stops the run before it starts."""
    ratings = RunRatings()
    if not ask:
        if before is not None or after is not None:
            raise RatingError("--no-ratings and --rate-before/--rate-after exclude each other")
        ratings.asked = {"before", "after"}
    for phase, text in (("before", before), ("after", after)):
        if text is not None:
            setattr(ratings, phase, parse_ratings(text, what=f"--rate-{phase}"))
            ratings.asked.add(phase)
    return ratings


def prompt_ratings(phase: Phase) -> Ratings | None:
    """Ask on the terminal; enter skips.

    Never asks when stdin is not a terminal (a script or a pipe), nor when the
    question could not be seen (stderr redirected).
    """
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    print(f"{PROMPTS[phase]} (e.g. 5,2,4; enter to skip)", file=sys.stderr)
    while True:
        print("> ", end="", file=sys.stderr, flush=True)
        try:
            line = sys.stdin.readline()
        except KeyboardInterrupt:
            return None
        if not line.strip():
            return None
        try:
            ratings = parse_ratings(line.strip())
        except RatingError as exc:
            print(f"{exc}; try again or press enter to skip", file=sys.stderr)
            continue
        return None if ratings.empty else ratings


def adapt_routine(store: Store, routine: Routine, *, virtual: bool) -> tuple[Routine, Adaptation]:
    """The routine made as gentle as this person's recent sessions of it ask for.

    Simulated or replayed sessions count only for simulated or replayed runs:
    they are not this person's heart.
    """
    from biofeedback.practice.adapt import decide, gentler
    from biofeedback.store import outcomes

    history = [o for o in outcomes(store, HISTORY_SESSIONS) if o.virtual == virtual]
    adaptation = decide(history, routine.name)
    return gentler(routine, adaptation.level), adaptation


def save_after_ratings(db_path: Path, session_id: str, after: Ratings) -> None:
    """The ratings given once a session ended (those before are saved as it starts)."""
    from biofeedback.store import Store, save_ratings

    with Store(db_path) as store:
        save_ratings(store, session_id, "after", after)


# --------------------------------------------------------------------------
# today and plan


def load_plan() -> Plan:
    from biofeedback import config
    from biofeedback.practice.plan import PlanError, parse_plan
    from biofeedback.routines.protocols import builtin_names

    try:
        return parse_plan(config.load_table("plan"), known_routines=frozenset(builtin_names()))
    except PlanError as exc:
        raise PlanError(f"{config.config_path()}: {exc}") from None


def _now(at: str | None) -> datetime:
    from biofeedback.practice import PracticeError

    if at is None:
        return datetime.now()
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        raise PracticeError(
            f"--at takes a local time like '2026-03-02 22:30', not {at!r}"
        ) from None


def cmd_today(request: TodayRequest, *, start_run: Callable[[str, str | None], int]) -> int:
    """Suggest a routine; ``start_run(routine, db)`` runs the one chosen on the screen."""
    from biofeedback.cli import setup as setup_cli
    from biofeedback.practice.adapt import decide
    from biofeedback.practice.today import suggest
    from biofeedback.review import build_history
    from biofeedback.routines.protocols import load_protocol
    from biofeedback.store import Store, outcomes, resolve_db_path

    now = _now(request.at)
    plan = load_plan()
    path = resolve_db_path(request.db)
    history = []
    trend = None
    if path.exists():
        with Store(path) as store:
            history = outcomes(store, HISTORY_SESSIONS)
            trend = build_history(store.sessions(limit=HISTORY_SESSIONS)).hr_trend
    live = [o for o in history if not o.virtual]
    # The person's own sessions decide; a simulator-only store still gets the clock.
    pool = live or history
    suggestion = suggest(
        now,
        plan,
        pool,
        resting_hr_change_bpm=trend.change if trend is not None and live else None,
        back_pain=setup_cli.load_profile().back_pain,
    )
    adaptation = decide(pool, suggestion.routine)
    command = f"biofeedback run --protocol {suggestion.routine}"
    if request.json:
        out = {
            **suggestion.to_dict(),
            "at": now.isoformat(timespec="minutes"),
            "command": command,
            "adaptation": adaptation.to_dict(),
        }
        print(json.dumps(out, indent=2))
        return 0
    title = load_protocol(suggestion.routine).title
    if sys.stdin.isatty() and sys.stdout.isatty():
        from biofeedback.ui.today import TodayApp, TodayView

        view = TodayView(
            suggestion.routine,
            title,
            suggestion.minutes,
            suggestion.reason,
            adaptation.reason,
            [f"{i.time}  {i.cue()}" for i in plan.on(now.weekday())],
            suggestion.sessions_today,
        )
        app = TodayApp(view)
        app.run()
        if app.chosen is not None:
            return start_run(app.chosen, request.db)
        return 0
    length = f", about {suggestion.minutes} min" if suggestion.minutes else ""
    print(f"Today: {title}{length}")
    print(suggestion.reason)
    if adaptation.reason:
        print(adaptation.reason)
    if suggestion.sessions_today:
        print(f"(you have practised {suggestion.sessions_today} time(s) today already)")
    print(f"Start it with: {command}")
    return 0


def cmd_plan(request: PlanRequest) -> int:
    from biofeedback import config

    plan = load_plan()
    if request.ics:
        _check_ics_target(Path(request.ics))  # before anything is saved
    if request.save:
        path = config.save_table("plan", plan.to_table(), by="biofeedback plan --save")
        print(f"biofeedback plan: saved to {path}; edit its [plan.NAME] tables", file=sys.stderr)
    if request.ics:
        write_ics(Path(request.ics), plan)
        print(f"biofeedback plan: wrote {request.ics}", file=sys.stderr)
    if request.json:
        print(json.dumps(plan.to_dict(), indent=2))
    elif not request.ics and not request.save:
        print(format_plan(plan))
    return 0


def format_plan(plan: Plan) -> str:
    note = " (the default; `biofeedback plan --save` to edit it)" if plan.default else ""
    lines = [f"Your weekly plan{note}"]
    for item in plan.items:
        days = ",".join(item.day_names)
        lines.append(
            f"  {item.time}  {days:<27}  {item.minutes:>2} min  {item.routine:<17}  {item.cue()}"
        )
    return "\n".join(lines)


def _check_ics_target(path: Path) -> None:
    from biofeedback.practice import PracticeError

    # The rule of every output path (review's exports, --audio-out): its folder
    # must exist; nothing creates folders on its own.
    if not path.parent.is_dir():
        raise PracticeError(f"--ics {path}: there is no folder {path.parent}; create it first")


def write_ics(path: Path, plan: Plan) -> None:
    """The plan's calendar, written as every export is (``store.exporting``): 0600,
    whole or not at all, into a folder that must exist."""
    from biofeedback.practice.ics import plan_to_ics
    from biofeedback.store.files import exporting

    text = plan_to_ics(plan, now=datetime.now().astimezone(), first_day=date.today())
    with exporting(path, newline="") as out:
        out.write(text)


async def ask_in_form(phase: Phase) -> Ratings | None:
    """The dashboard's ratings form, on its own screen; None when skipped."""
    from biofeedback.ui.ratings import RatingsApp

    app = RatingsApp(phase)
    await app.run_async()
    return app.ratings


def practice_history(
    store: Store | CentralStore, window: int, *, runner: str | None = None
) -> PracticeHistory:
    """History's practice part: rating patterns, practice days, where you brace.

    From the local store, or one person's sessions (``runner``) in the central one.
    """
    from biofeedback import review
    from biofeedback.review.practice import build_practice_history
    from biofeedback.store import Store, outcomes

    if isinstance(store, Store):
        history = outcomes(store, max(window, HISTORY_SESSIONS))
        load: Callable[[str], Recording] = functools.partial(store.load, sample_rows=False)
        # Ratings are read from the latest rated sessions, even when many
        # unrated ones came after them.
        rated = outcomes(store, window, rated=True)
    else:
        history = store.outcomes(max(window, HISTORY_SESSIONS), runner=runner)
        load = functools.partial(store.load, runner=runner)
        rated = [o for o in history if o.before is not None and o.after is not None][:window]

    recent = [o for o in history[:window] if o.finished]
    # Where you brace is about your body: a simulated heart counts only when
    # nothing else was recorded (so a first look with --sim shows something).
    live = [o for o in recent if not o.virtual]
    chosen = live or recent
    # A summary needs the beats, not each sample's row.
    summaries = [review.summarize(load(o.session_id)) for o in chosen]
    return build_practice_history(
        history,
        summaries,
        date.today(),
        window,
        brace_simulated=bool(chosen) and not live,
        rated=rated,
    )
