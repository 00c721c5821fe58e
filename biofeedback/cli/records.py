"""Recorded sessions: review, history, exports, delete, and the routine lists."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biofeedback.models import Recording, StoredSession
    from biofeedback.practice.ratings import Ratings
    from biofeedback.review import History, SessionSummary
    from biofeedback.review.resonance import AssessmentEntry
    from biofeedback.store import Store
    from biofeedback.ui.records import ReviewView

from biofeedback.cli.common import (
    EXIT_OK,
    UsageError,
    check_app,
    dashboard_settings,
    on_terminal,
    report_keys,
)


def cmd_protocols(args: argparse.Namespace) -> int:
    import json
    import textwrap

    from biofeedback.pacing.controller import planned_session_s
    from biofeedback.routines.protocols import load_all

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


def cmd_phrases(args: argparse.Namespace) -> int:
    from biofeedback.audio.phrases import build_book
    from biofeedback.routines.protocols import load_protocol

    for phrase in build_book(load_protocol(args.protocol, sides=args.sides)):
        print(f"{phrase.id}.wav\t{phrase.text}")
    return EXIT_OK


def existing_store(db: str | None, *, check: bool = True) -> Store:
    from biofeedback.store import Store, StoreError, resolve_db_path

    path = resolve_db_path(db)
    if not path.exists():
        raise StoreError(
            f"no sessions recorded yet (no store at {path}); start one with `biofeedback run --sim`"
        )
    return Store(path, check=check)


def cmd_review(args: argparse.Namespace) -> int:
    import json

    from biofeedback import review
    from biofeedback.review.practice import format_session_ratings, session_ratings

    targets = [getattr(args, name) for name in ("png", "pdf", "csv", "rr", "rr_corrected")]
    _check_export_targets(args)
    # The review screen and the CSV export show each sample; a summary, a plot
    # and the RR exports need their beats only.
    screen = not args.json and not any(targets) and on_terminal()
    recording, (before, after) = _load_rated(
        args, args.session, sample_rows=screen or bool(args.csv)
    )
    summary = review.summarize(recording)
    if screen:
        return _show_records(args, review=review_view(recording, (before, after)))
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
            # Encoded once (indented JSON is encoded in Python: a day's changes are
            # tens of thousands of values).
            data = _summary_dict(summary, recording)
            data["ratings"] = session_ratings(summary, before, after)
            print(json.dumps(data, indent=2))
        else:
            print(_summary_text(summary, recording))
            print(format_session_ratings(summary, before, after))
    for target in written:
        shown = "standard output" if target == "-" else target
        print(f"biofeedback review: wrote {shown}", file=sys.stderr)
    return EXIT_OK


def _load_rated(
    args: argparse.Namespace, ref: str, *, sample_rows: bool = True
) -> tuple[Recording, tuple[Ratings | None, Ratings | None]]:
    """A session and its ratings, from the local store or the central one (--db
    postgresql://); ``sample_rows=False``: the local store reads the beats only."""
    from biofeedback.cli.central import central_reader

    central = central_reader(args)
    if central is not None:
        with central:
            recording = central.load(ref, runner=args.runner)
            return recording, central.ratings(recording.session.session_id, runner=args.runner)
    from biofeedback.store import load_ratings

    # Checked for damage only if a read fails (the store's whole-file check is
    # a tenth of a day's review).
    with existing_store(args.db, check=False) as store:
        recording = store.load(ref, sample_rows=sample_rows)
        return recording, load_ratings(store, recording.session.session_id)


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


def cmd_history(args: argparse.Namespace) -> int:
    import json

    from biofeedback import review
    from biofeedback.cli import practice as practice_cli
    from biofeedback.cli.central import central_reader
    from biofeedback.review import resonance as resonance_review
    from biofeedback.review.practice import format_practice_history
    from biofeedback.store import resolve_db_path

    practice = None
    central = central_reader(args)
    if central is not None:
        with central:
            sessions = central.sessions(runner=args.runner)
            practice = practice_cli.practice_history(central, args.last, runner=args.runner)
    elif resolve_db_path(args.db).exists():
        with existing_store(args.db) as store:
            sessions = store.sessions()
            practice = practice_cli.practice_history(store, args.last)
    else:
        sessions = []
    history = review.build_history(sessions)
    assessments = _assessments(args, sessions)
    if not args.json and on_terminal():
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
    for session in chosen:
        recording, _ = _load_rated(args, session.session_id)
        item = resonance_review.entry(session, recording.events)
        if item is not None:
            found.append(item)
    return found


def review_view(
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


def _summary_dict(summary: SessionSummary, recording: Recording) -> dict[str, Any]:
    from biofeedback.review.resonance import assessment_in, assessment_json

    data = summary.to_dict()
    found = assessment_in(recording.events)
    if found is not None:
        data["resonance"] = assessment_json(found)
    return data


def _show_records(
    args: argparse.Namespace, *, review: ReviewView | None = None, history: History | None = None
) -> int:
    """The review or history screen; from the history, enter reviews a session."""
    from biofeedback.ui.app import create_app

    def open_review(session_id: str) -> ReviewView:
        return review_view(*_load_rated(args, session_id))

    app = create_app(
        settings=dashboard_settings(), review=review, history=history, open_review=open_review
    )
    report_keys(app)
    app.run()
    check_app(app)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    import time

    from biofeedback.review import clock

    if args.session == "latest":
        raise UsageError("name the session to delete by its id (see `biofeedback history`)")
    with existing_store(args.db) as store:
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
