"""The pacing controller: walk a protocol step by step and adapt it to the body.

Pure: every method takes ``now_s`` and returns the events it decided on. No
clock, no I/O, no sleeping; ``session.py`` feeds it estimates, source status
changes and user actions, and reads the properties for the dashboard.

A session is a frame around the chosen protocol:

1. **settle**: slow breaths (4 s in, 6 s out) while the estimator takes the
   baseline; extended until a baseline exists (up to ``settle_max_s``);
2. **body**: the routine for the current zone. Green runs the chosen protocol;
   a zone the protocol is not safe in runs that zone's fallback routine
   (Yellow: breath-partial, Red: passive-rest), its regions ordered to continue
   where the body had got to. Each routine keeps its place, so stepping back up
   resumes the protocol where it was left (a step cut before half its plan is
   repeated). A fallback routine repeats while the protocol still has steps;
3. **closing**: a whole-body scan (in Red: a rest with outward attention, as Red
   allows no deep inward focus) and one last slow breath with a one-word cue.

The rules and their numbers are in ``rules.py``; the zone decisions in
``zone_judge.py``, which step comes next in ``planner.py``, and every sentence
spoken in ``texts.py``.

User actions: pause/resume (the step clock stops; no judging while paused),
skip (next step), hurts (stop the step now, give the stop rules and red flags,
and do that region by imagery for the rest of the session), stop.

Every decision is an event carrying what was measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from biofeedback.models import (
    Action,
    Advice,
    ArousalEstimate,
    PaceChanged,
    SessionEvent,
    SignalLost,
    SourceStatus,
    Step,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.pacing.breath_watch import BreathWatch, breath_signals
from biofeedback.pacing.planner import CLOSING_BREATH as CLOSING_BREATH
from biofeedback.pacing.planner import CLOSING_REST as CLOSING_REST
from biofeedback.pacing.planner import CLOSING_SCAN as CLOSING_SCAN
from biofeedback.pacing.planner import SETTLE, Pause, Phase, RoutinePlanner, Running
from biofeedback.pacing.planner import planned_session_s as planned_session_s
from biofeedback.pacing.rules import PacingConfig as PacingConfig
from biofeedback.pacing.rules import PressorFade
from biofeedback.pacing.signal_watch import SignalWatch
from biofeedback.pacing.speaking import SpeechTimes
from biofeedback.pacing.zone_judge import Decision, ZoneJudge, measured_text
from biofeedback.pacing.zone_judge import StoredBaseline as StoredBaseline
from biofeedback.routines import texts
from biofeedback.routines.personalise import PersonalPlan, plan_event
from biofeedback.routines.protocols import ProtocolError, Routine, load_protocol
from biofeedback.routines.texts import RED_FLAGS as RED_FLAGS
from biofeedback.routines.texts import STOP_RULES as STOP_RULES
from biofeedback.signals.breath_estimate import BreathEstimate

StartZone = Zone | Literal["auto"]

# The routines a session falls back to in a zone its protocol is not safe in.
FALLBACK_YELLOW = "breath-partial"
FALLBACK_RED = "passive-rest"

# Enum members read on every tick, looked up once: reading one off its class
# costs about 0.1 us in Python 3.11 (as much as a small function call).
_TENSE = StepKind.TENSE
_BREATH = StepKind.BREATH
# Steps a release bell may ring before (after a tense step), looked up once a step.
_BELL_KINDS = (StepKind.RELEASE, StepKind.IMAGERY, StepKind.REST)


class PacingController:
    """One session's pacing decisions."""

    def __init__(
        self,
        protocol: Routine,
        *,
        yellow: Routine | None = None,
        red: Routine | None = None,
        config: PacingConfig | None = None,
        start_zone: StartZone = Zone.GREEN,
        stored_baseline: StoredBaseline | None = None,
        imagery_regions: Iterable[str] = (),
        plan: PersonalPlan | None = None,
        speech: SpeechTimes | None = None,
    ) -> None:
        # The built-in fallbacks unless a caller (a test) wants others.
        yellow = yellow or load_protocol(FALLBACK_YELLOW)
        red = red or load_protocol(FALLBACK_RED)
        if not yellow.safe_in(Zone.YELLOW) or not red.safe_in(Zone.RED):
            raise ProtocolError(
                f"fallback routines must suit their zones: {yellow.name!r} is {yellow.zone},"
                f" {red.name!r} is {red.zone}"
            )
        self.config = config or PacingConfig()
        self.protocol = protocol
        # Asked at every step start and extension: the protocol and the config are frozen.
        self._planned_s = planned_session_s(protocol, self.config)
        self._auto = start_zone == "auto"
        self._stored = stored_baseline
        self._judge = ZoneJudge(
            self.config, Zone.GREEN if start_zone == "auto" else Zone(start_zone)
        )
        self._plan = RoutinePlanner(
            protocol, {Zone.YELLOW: yellow, Zone.RED: red}, self.config, set(imagery_regions)
        )
        # The profile's changes, said once at the start (the routine is already adapted).
        self._personal = plan
        self._run: Running | None = None
        # How much of the last tense step's pressor bump may still be in the heart rate.
        self._pressor = PressorFade(self.config)
        self._pause = Pause()
        self._signal = SignalWatch(
            loss_hold_s=self.config.signal_loss_hold_s,
            return_hold_s=self.config.signal_return_hold_s,
        )
        self._started_s = 0.0
        self._last_estimate_s: float | None = None
        self._baseline_sent = False
        # A gentle start decided on the opening waits here until the session is not paused.
        self._opening: Decision | None = None
        self._finished = False
        self._end_reason = ""
        # How long the sound takes to say each text (empty without speech).
        self._speech = speech or SpeechTimes()
        # Time steps ran past their plan so speech could be said: not the
        # session's overrun (the budget is for the person's seconds).
        self._spoken_s = 0.0
        # When the last cue will have been said (speech is let finish, not cut).
        self._said_until_s = 0.0
        self._breath = BreathWatch()

    # ------------------------------------------------------------------
    # What the session and the dashboard read

    @property
    def zone(self) -> Zone:
        return self._judge.state.zone

    @property
    def protocol_name(self) -> str:
        return self.protocol.name

    @property
    def routine_name(self) -> str:
        """The routine now running: the protocol, a fallback, or the frame."""
        if self._plan.phase is Phase.BODY and self._plan.routine is not None:
            return self._plan.routine.name
        return self._plan.phase.value

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def end_reason(self) -> str:
        return self._end_reason

    @property
    def step(self) -> Step | None:
        return None if self._run is None else self._run.step

    @property
    def next_step(self) -> Step | None:
        return self._plan.next_up(self.zone)

    @property
    def paused(self) -> bool:
        return self._pause.at_s is not None

    @property
    def signal_ok(self) -> bool:
        return self._signal.ok

    @property
    def brief_signal_gaps(self) -> int:
        """Gaps in the heart data that ended before they were announced."""
        return self._signal.brief_gaps

    @property
    def imagery_regions(self) -> frozenset[str]:
        return frozenset(self._plan.imagery)

    @property
    def planned_s(self) -> float:
        return self._planned_s

    def remaining_s(self, now_s: float) -> float:
        """Time left in the current step (frozen while paused)."""
        if self._run is None:
            return 0.0
        ref = self._pause.at_s if self._pause.at_s is not None else now_s
        return max(self._run.end_s - ref, 0.0)

    def session_remaining_s(self, now_s: float) -> float:
        """Planned time left in the session if nothing else changes."""
        return self.remaining_s(now_s) + self._plan.upcoming_left(self.zone)[1]

    # ------------------------------------------------------------------
    # Inputs

    def start(self, now_s: float) -> list[SessionEvent]:
        self._started_s = now_s
        self._judge.start(now_s)
        self._signal.start(now_s)
        self._plan.start()
        opening = [] if self._personal is None else [plan_event(now_s, self._personal)]
        return opening + self._advance(now_s, "start")

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        if self._finished:
            return []
        last_s = self._last_estimate_s
        dt = 0.0 if last_s is None else now_s - last_s
        self._last_estimate_s = now_s
        events: list[SessionEvent] = []
        if not self._baseline_sent and estimate.baseline_hr_bpm is not None:
            self._baseline_sent = True
            opening = self._judge.opening(estimate, self._stored, self._auto)
            events.append(opening.event(now_s, estimate))
            self._opening = opening.decision
        signal = self._signal.on_estimate(now_s, estimate)
        if signal:
            events += self._signal_events(signal)
        if self._pause.at_s is not None:
            return events
        changed: list[SessionEvent] = []
        if self._opening is not None:
            changed = self._apply(now_s, self._opening, estimate)
            self._opening = None
        if not changed:
            # Within [0, max_tick_s]: ``min(max(dt, 0.0), cap)`` without the two calls.
            dt = 0.0 if dt < 0.0 else dt
            cap_s = self.config.max_tick_s
            changed = self._judge_zone(now_s, estimate, cap_s if cap_s < dt else dt)
        if changed:
            events += changed
        else:
            run = self._run
            if run is not None and now_s >= run.end_s:
                events += self._end_or_extend(now_s, estimate)
        return events

    def on_breath(self, now_s: float, breath: BreathEstimate) -> list[SessionEvent]:
        """The breath estimate (before the heart's, each tick): reminders and the glide."""
        if self._finished:
            return []
        if self._pause.at_s is not None:
            return []
        events = self._breath.check(now_s, breath)
        if events:
            events += [
                Advice(now_s, e.plain) for e in events if isinstance(e, PaceChanged) and e.plain
            ]
        glide = self._breath.glide(now_s)
        if glide is not None:
            events.append(glide)
        return events

    def on_source_status(self, now_s: float, status: SourceStatus) -> list[SessionEvent]:
        if self._finished:
            return []
        return self._signal_events(self._signal.on_status(now_s, status.connected, status.reason))

    def on_action(self, now_s: float, action: Action) -> list[SessionEvent]:
        if self._finished:
            return []
        events: list[SessionEvent] = [UserActed(now_s, action)]
        if action is Action.PAUSE and not self.paused:
            self._pause.at_s = now_s
            self._judge.reset()
        elif action is Action.RESUME:
            self._resume(now_s)
        elif action is Action.SKIP:
            self._resume(now_s)
            self._said_until_s = now_s  # a skip cuts what is being said
            events += self._advance(now_s, "skipped")
        elif action is Action.HURTS:
            self._resume(now_s)
            self._said_until_s = now_s
            events += self._hurts(now_s)
        elif action is Action.STOP:
            events += self.stop(now_s, "stopped by user")
        return events

    def stop(self, now_s: float, reason: str) -> list[SessionEvent]:
        if self._finished:
            return []
        events = self._end_step(now_s, reason)
        self._finish(reason)
        return events

    def _signal_events(self, events: list[SessionEvent]) -> list[SessionEvent]:
        if any(isinstance(e, SignalLost) for e in events):
            self._judge.reset()
        return events

    # ------------------------------------------------------------------
    # Zones

    def _judge_zone(self, now_s: float, est: ArousalEstimate, dt: float) -> list[SessionEvent]:
        # Once a tick: the step's fields read once, not once per rule.
        step = None if self._run is None else self._run.step
        kind = None if step is None else step.kind
        # How much of tensing's bump may still be in the 10 s and the fast heart rate.
        tensing = kind is _TENSE
        pressor, pressor_fast = self._pressor.shares(now_s, tensing)
        decision = self._judge.judge(
            now_s,
            est,
            dt,
            # The data as it is now: a gap not yet announced is still no evidence.
            signal_ok=self._signal.data_ok,
            pressor=pressor,
            pressor_fast=pressor_fast,
            paced_breathing=kind is _BREATH,
            # The breath heard this tick (before the heart's), and whether a pacer runs.
            breath=self._breath.latest,
            paced=step is not None and bool(step.breath_in_s and step.breath_out_s),
        )
        return [] if decision is None else self._apply(now_s, decision, est)

    def _apply(self, now_s: float, d: Decision, est: ArousalEstimate) -> list[SessionEvent]:
        from_zone = self.zone
        to_zone = d.to_zone
        down = to_zone.rank > from_zone.rank
        hr = est.hr_10s_bpm if est.hr_10s_bpm is not None else est.hr_bpm
        self._judge.changed(now_s, to_zone, hr)
        changed = ZoneChanged(
            now_s,
            from_zone,
            to_zone,
            d.reason,
            plain=d.plain,
            hr_delta_bpm=d.hr_delta_bpm,
            evidence=d.evidence,
            evidence_needed=d.evidence_needed,
        )
        events: list[SessionEvent] = [changed]
        advice = texts.ZONE_ADVICE.get((from_zone, to_zone))
        if advice:
            events.append(Advice(now_s, advice))
        plan = self._plan
        if plan.phase is Phase.BODY and plan.routine_for(to_zone) is not plan.routine:
            run = self._run
            cut = run is not None and now_s - run.started_s < run.source.planned_s / 2
            plan.leave(
                from_zone,
                down,
                run.source if cut and run is not None else None,
                run.main_index if run is not None else None,
            )
            plan.switch(to_zone)
            said = [advice] if advice else []
            events += self._advance(now_s, f"zone changed to {to_zone}", said_first=said)
        return events

    # ------------------------------------------------------------------
    # Steps

    def _advance(
        self, now_s: float, reason: str, said_first: Sequence[str] = ()
    ) -> list[SessionEvent]:
        ended = self._run
        events = self._end_step(now_s, reason)
        source, main_index, overran = self._plan.take_next(self.zone, self._over_budget(now_s))
        if overran:
            events.append(Advice(now_s, texts.OVERRUN_ADVICE))
            said_first = [*said_first, texts.OVERRUN_ADVICE]
        if source is None:
            self._finish("completed")
            return events
        step = self._plan.adapt(source)
        # The settle and closing frame belong to the protocol the person chose.
        plan = self._plan
        routine = plan.routine if plan.phase is Phase.BODY and plan.routine else plan.protocol
        # Room for what is said first and for the cue itself (none without speech).
        length_s = self._speech.step_s(
            step.planned_s,
            step.kind,
            step.cue,
            said_first=said_first,
            bell=ended is not None and ended.step.kind is _TENSE and step.kind in _BELL_KINDS,
            busy_s=max(self._said_until_s - now_s, 0.0),
        )
        self._said_until_s = self._speech.said_until_s(
            now_s, length_s, step.kind, step.cue, step.planned_s
        )
        self._spoken_s += length_s - step.planned_s
        self._run = Running(step, source, now_s, now_s + length_s, main_index)
        upcoming = self.next_step
        left, left_s = self._plan.upcoming_left(self.zone)
        events.append(
            StepStarted(
                now_s,
                step.id,
                step.kind,
                step.region,
                step.cue,
                length_s,
                step.breath_in_s,
                step.breath_out_s,
                next_kind=upcoming.kind if upcoming else None,
                next_cue=upcoming.cue if upcoming else None,
                steps_left=left,
                session_left_s=self.remaining_s(now_s) + left_s,
                routine=routine.title,
                routine_zone=routine.zone,
            )
        )
        met = self._breath.step_started(
            now_s, step.id, step.kind, step.breath_in_s, step.breath_out_s
        )
        if met is not None:
            events += [met, Advice(now_s, met.plain)]
        return events

    def _end_step(self, now_s: float, reason: str) -> list[SessionEvent]:
        run = self._run
        if run is None:
            return []
        self._run = None
        if run.step.kind is _TENSE:
            self._pressor.tense_ended(now_s)
        return [StepEnded(now_s, run.step.id, now_s - run.started_s, reason)]

    def _end_or_extend(self, now_s: float, est: ArousalEstimate) -> list[SessionEvent]:
        cfg = self.config
        run = self._run
        assert run is not None
        by_s = 0.0
        reason = plain = ""
        if run.step.id == SETTLE and est.baseline_hr_bpm is None and self._signal.data_ok:
            by_s = min(cfg.extend_by_s, cfg.settle_max_s - run.source.planned_s - run.extended_s)
            reason = "no baseline yet: a little longer to learn your resting heart"
            plain = texts.SETTLE_LONGER_PLAIN
        elif (
            self._plan.phase is Phase.BODY
            and run.step.kind in cfg.extend_kinds
            and self._signal.data_ok
            and est.arousal is not None
            and est.arousal > cfg.extend_above
            and est.hr_delta_bpm is not None
            and est.hr_delta_bpm >= cfg.extend_hr_bpm
            and not self._over_budget(now_s)
        ):
            by_s = min(cfg.extend_by_s, cfg.extend_cap_s - run.extended_s)
            reason = (
                f"not settled yet: arousal {est.arousal:.1f} above {cfg.extend_above:.1f}"
                f" ({measured_text(est)})"
            )
            plain = texts.EXTEND_PLAIN
        elif (
            self._plan.phase is Phase.BODY
            and run.step.kind in cfg.extend_kinds
            and self._signal.ok
            and est.hr_delta_bpm is not None
            and est.hr_delta_bpm >= cfg.extend_hr_bpm / 2
            and not self._over_budget(now_s)
            and (crossed := breath_signals(self._breath.latest, self._breath.rules))
        ):
            # The breath answers arousal sooner than the heart: with the heart
            # still a little up, a breath that has clearly changed is enough.
            by_s = min(cfg.extend_by_s, cfg.extend_cap_s - run.extended_s)
            reason = (
                f"not settled yet: {'; '.join(crossed)};"
                f" heart {est.hr_delta_bpm:+.1f} bpm over baseline ({measured_text(est)})"
            )
            plain = texts.EXTEND_PLAIN
        if by_s > 0:
            run.extended_s += by_s
            run.end_s += by_s
            return [StepExtended(now_s, run.step.id, by_s, reason, plain)]
        return self._advance(now_s, "done")

    def _over_budget(self, now_s: float) -> bool:
        active_s = now_s - self._started_s - self._pause.total_s - self._spoken_s
        return active_s > self._planned_s + self.config.max_overrun_s

    # ------------------------------------------------------------------
    # User actions

    def _resume(self, now_s: float) -> None:
        if self._pause.at_s is None:
            return
        held = now_s - self._pause.at_s
        self._pause.total_s += held
        self._pause.at_s = None
        if self._run is not None:
            self._run.end_s += held

    def _hurts(self, now_s: float) -> list[SessionEvent]:
        events: list[SessionEvent] = [Advice(now_s, STOP_RULES), Advice(now_s, RED_FLAGS)]
        region = None if self._run is None else self._run.step.region
        if region is not None and self._plan.add_imagery(region):
            events.append(Advice(now_s, texts.imagery_from_now(region)))
        self._plan.check_in()
        said = [e.text for e in events if isinstance(e, Advice)]
        events += self._advance(now_s, "it hurts", said_first=said)
        return events

    def _finish(self, reason: str) -> None:
        self._run = None
        self._plan.finish()
        self._finished = True
        self._end_reason = reason
