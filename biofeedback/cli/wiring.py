"""The one place a session is wired: ``build_session(request)``.

Every session is built here, whoever asks for it: `run` and `resonance` (headless
or on the dashboard), `today`'s start button, the dashboard tests and the
benchmarks. It chooses the concrete source and sinks the request names (the CLI
is the only layer that may), reads what the store and the profile add (the
resting baseline, the personal breathing rate, a gentler routine after a hard
session), and hands the loop a ``SessionPlan`` of already-chosen parts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from biofeedback.cli import practice as practice_cli
from biofeedback.cli import setup as setup_cli
from biofeedback.cli.common import UsageError
from biofeedback.cli.request import SessionRequest
from biofeedback.cli.sources import choose_source, mqtt_publisher

if TYPE_CHECKING:
    from biofeedback.audio.setup import AudioPlan
    from biofeedback.loop.session import ActionInbox, Clock, SessionPlan, Sink
    from biofeedback.pacing.rules import PacingConfig
    from biofeedback.pacing.speaking import SpeechTimes
    from biofeedback.practice.ratings import Ratings
    from biofeedback.routines.protocols import Routine
    from biofeedback.sensors import HeartRateSource
    from biofeedback.store import Store


def _print_note(note: str) -> None:
    print(f"biofeedback: {note}", file=sys.stderr)


def build_session(
    request: SessionRequest,
    *,
    source: HeartRateSource | None = None,
    sinks: Sequence[Sink] = (),
    dashboard: bool | None = None,
    ratings_before: Ratings | None = None,
    actions: ActionInbox | None = None,
    session_id: str | None = None,
    started_at_unix_s: float | None = None,
    speech: SpeechTimes | None = None,
    pacing: PacingConfig | None = None,
    real_clock: Clock | None = None,
    tell: Callable[[str], None] = _print_note,
) -> SessionPlan:
    """The session ``request`` asks for, ready to ``run()``.

    ``source``: one the caller chose (a test's, held still between steps), instead
    of the one the request names. ``sinks`` hear every item after the ones the
    request chooses (the recorder first). ``dashboard`` (default: not
    ``request.headless``) leaves the console printer out, as the screen shows the
    events. ``actions``: an inbox with actions scripted ahead (a test's).
    ``session_id`` and ``started_at_unix_s`` fix what is otherwise fresh
    (a record a picture test must find again); ``speech``: how long the sound a
    caller brings takes to say each cue (a test's own voices), instead of the
    request's sound; ``pacing``: the pacing rules instead of the defaults or the
    person's rate (a test's shorter holds); ``real_clock``: the clock a live
    ``source`` runs on, the wall clock its items are stamped on (a test's virtual
    clock runs a live source's session at once); ``tell`` hears a line for the person
    about the sound (stderr by default).
    """
    import dataclasses
    import os
    import time
    from pathlib import Path

    from biofeedback.store import (
        RecorderSink,
        Store,
        StoreOpenError,
        StoreOpening,
        resolve_db_path,
    )

    db_path = resolve_db_path(request.db)
    # A store that exists is checked (only read) on a thread of its own while the
    # session's modules load and its parts are chosen (numpy's import alone is ~40 ms;
    # the check grows with the store, ~1 ms a MB), when there is a second core to run
    # it. It is opened (migrated, made private) below, as a new one is made, once
    # every other check has passed: a foreign or damaged store is refused there,
    # before the session, and a refused request leaves it as it was.
    opening = StoreOpening.begin(db_path)
    try:
        from biofeedback.console import ConsoleSink
        from biofeedback.loop.session import ActionInbox, RealClock, SessionPlan, VirtualClock
        from biofeedback.models import SessionInfo, Zone
        from biofeedback.pacing.controller import PacingController
        from biofeedback.pacing.resonance_live import with_resonance
        from biofeedback.routines.protocols import load_protocol
        from biofeedback.signals.arousal import ArousalEstimator

        if dashboard is None:
            dashboard = not request.headless
        assessment = request.assessment
        personal = None
        if assessment is not None:
            # `biofeedback resonance`: the assessment is the routine.
            from biofeedback.pacing import resonance_plan

            protocol = resonance_plan.assessment_routine(assessment)
        else:
            # The routine as this person does it: the profile (see `setup`) and the flags.
            personal = setup_cli.run_plan(
                request.protocol,
                use_profile=request.use_profile,
                sides=request.sides,
                imagery=request.imagery,
                start_region=request.start_region,
                gentle=request.gentle,
            )
            protocol = personal.routine
        if request.sides and not protocol.has_sides:
            raise UsageError(f"protocol {protocol.name!r} has no one-side-at-a-time groups")
        real_clock = real_clock or RealClock()
        if source is None:
            source = choose_source(request, real_clock.now)
        clock: Clock = VirtualClock(request.speed) if source.virtual else real_clock
        if not source.virtual and request.speed != 1.0:
            raise UsageError("--speed works with --sim and --replay only")
        if request.audio_out:
            from biofeedback.audio.render import check_wav_path

            check_wav_path(Path(request.audio_out))  # a bad path stops before anything is recorded
    except BaseException:
        if opening is not None:
            opening.discard()
        raise
    store = Store(db_path) if opening is None else opening.store()
    if request.record and store.read_only:
        # Recorded there, the session would go into a private copy of the store (one
        # whose folder cannot be written is read from a copy), lost at the end.
        store.close()
        raise StoreOpenError(
            f"the session store {db_path} cannot be written here (its file or folder is"
            " read-only), so this session could not be kept; choose another file with --db"
        )
    # Opened once: the recorder keeps this one (see below), unless it is not needed.
    kept = request.record
    try:
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
    except BaseException:
        store.close()
        raise
    if not kept:
        store.close()
    try:
        yellow = load_protocol("breath-partial")
        pacing_config = None
        # The assessment's plan (~0.75 ms) loads only for what it shapes.
        if rate_bpm is not None:
            from biofeedback.pacing import resonance_plan

            yellow = resonance_plan.paced_routine(yellow, rate_bpm)
            pacing_config = resonance_plan.personal_config(rate_bpm)
        if request.resonant:
            from biofeedback.pacing import resonance_plan

            protocol = resonance_plan.resonant_contractions(protocol, rate_bpm or 6.0)
        # Sound is prepared for the routines as they will run (adapted, resonant, at
        # the person's rate), so every cue the controller can show can be spoken.
        audio = _audio_plan(
            request,
            protocol,
            yellow=yellow,
            pacing_config=pacing_config,
            # Eyes closed in the profile turns sound on unless --audio says otherwise.
            mode=(
                request.audio
                if personal is None
                else setup_cli.audio_mode(request.audio, use_profile=request.use_profile)
            ),
            real_time=not source.virtual or request.speed == 1.0,
            dashboard=dashboard,
            tell=tell,
        )
        if audio.speech and request.sim is not None and hasattr(source, "listen"):
            # The simulated person hears each cue when it has been said.
            source.listen = audio.heard_after
        if personal is not None and adaptation is not None and adaptation.reason:
            # Why this session is gentler than the routine file is said once, with the
            # profile's changes, in the controller's plan event.
            personal = dataclasses.replace(
                personal, routine=protocol, notes=(*personal.notes, adaptation.reason)
            )
        controller = PacingController(
            protocol,
            yellow=yellow,
            config=pacing_config if pacing is None else pacing,
            start_zone="auto" if request.zone == "auto" else Zone(request.zone),
            stored_baseline=resting,
            imagery_regions=() if personal is None else personal.imagery,
            plan=personal if personal is not None and personal.notes else None,
            speech=audio.speech_times() if speech is None else speech,
        )
        estimator, paced = with_resonance(ArousalEstimator(), controller, assessment=assessment)
        # The recorder first: it hears every item before anything is shown.
        chosen: list[Sink] = []
        if request.record:
            chosen.append(
                RecorderSink(
                    db_path,
                    virtual=source.virtual,
                    ratings_before=ratings_before,
                    keep_raw=request.keep_raw,
                    store=store if kept else None,
                    # As fast as it can go: nothing waits on the disk in real time.
                    on_loop=source.virtual and request.speed is None,
                )
            )
        if not dashboard:
            chosen.append(ConsoleSink(as_json=request.json))
        chosen += audio.sinks
        if request.mqtt or request.mqtt_record:
            from biofeedback.broker import load_settings
            from biofeedback.cli.central import record_publisher, records_wanted

            if request.mqtt:
                chosen.append(mqtt_publisher(request.mqtt))
            if records_wanted(request.mqtt_record, request.mqtt, load_settings()):
                assert request.mqtt is not None
                # The whole record too, read back from the store as it commits (issue 27).
                chosen.append(record_publisher(request.mqtt, db_path))
        info = SessionInfo(
            # 12 random hex digits, as uuid4().hex[:12] gave (its first 48 bits are
            # random too) without loading uuid and platform (~2 ms of a start).
            session_id=session_id or os.urandom(6).hex(),
            protocol=protocol.name,
            source=source.description,
            started_at_unix_s=time.time() if started_at_unix_s is None else started_at_unix_s,
            extra={} if adaptation is None else {"adaptation": adaptation.to_dict()},
        )
        return SessionPlan(
            source,
            estimator,
            paced,
            clock,
            info,
            [*chosen, *sinks],
            actions=actions or ActionInbox(),
            duration_s=request.duration_s,
            title=protocol.title,
            sound=audio.player,
            sound_status=audio.status,
            saved_to=str(db_path),
        )
    except BaseException:
        if kept:
            store.close()  # the recorder that would have closed it never runs
        raise


def _audio_plan(
    request: SessionRequest,
    protocol: Routine,
    *,
    yellow: Routine,
    pacing_config: PacingConfig | None,
    mode: str | None,
    real_time: bool,
    dashboard: bool,
    tell: Callable[[str], None],
) -> AudioPlan:
    from pathlib import Path

    from biofeedback import config
    from biofeedback.audio.setup import prepare

    plan = prepare(
        protocol,
        config.load().audio,
        mode=mode,
        out_path=Path(request.audio_out) if request.audio_out else None,
        real_time=real_time,
        tell_missing=dashboard,
        yellow=yellow,
        config=pacing_config,
    )
    for note in plan.notes:
        tell(note)
    return plan


def _personal_rate(store: Store, virtual: bool) -> float | None:
    """The breathing rate of the latest assessment that ran all its rates and found
    one with at least medium confidence (a simulated heart's for simulated sessions
    only)."""
    from biofeedback.pacing import ASSESSMENT_PROTOCOL

    # Only the assessments (every session was read here: ~3 us each, a person's
    # store holds hundreds).
    for session in store.sessions(protocol=ASSESSMENT_PROTOCOL, virtual=virtual):
        # Loaded only when there is an assessment to read (~2 ms of every start).
        from biofeedback.review.resonance import assessment_in, counts

        found = assessment_in(store.load(session.session_id).events)
        if found is not None and counts(found, session.end_reason):
            return found.best_rate_bpm
    return None
