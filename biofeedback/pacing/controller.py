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

The rules, with their numbers in ``PacingConfig``:

- *Extend*: at the planned end of a release or rest, if arousal is still above
  ``extend_above``, extend by ``extend_by_s`` at a time, up to ``extend_cap_s``.
- *Step down* one zone after arousal has stayed above ``step_down_above`` for
  ``step_down_after_s``, or above ``severe_above`` for ``severe_after_s``
  (Green to Yellow: breath-partial; Yellow to Red: passive rest), with heart
  rate at least ``step_down_hr_bpm`` over baseline throughout: RMSSD alone never
  steps down.
- *Step up* one zone after ``step_up_after_s`` of calm: arousal below
  ``step_up_below`` *and* heart rate within ``calm_hr_margin_bpm`` of baseline
  (slow breathing raises RMSSD by itself, which can make a still-fast heart look
  calm in a blended index). Calm on heart rate alone counts at
  ``hr_only_calm_rate``. Never in Red's first ``red_min_s``.
- *No flapping*: at most one zone change per ``dwell_s``. The one exception is a
  continuing climb: after a step-down, arousal above ``severe_above`` for
  ``severe_after_s`` steps down again (a panic reaches Red quickly).
- *Tensing* raises heart rate by itself (the pressor response). During a tense
  step and ``pressor_recovery_s`` into the release after it, arousal is judged
  ``tense_allowance`` lower, and calm/arousal timers neither start nor reset
  from it: sustained arousal is measured over releases and rests, so releases
  are compared with releases. Tensing does not lower RMSSD, so a drop in it
  (``rmssd_drop_z`` above ``tense_rmssd_drop_z``) cancels the allowance.
- *Missing data* (no signal, bad contact, strap gone): the protocol goes on
  un-paced and says so; timers reset, so nothing ever steps up on missing data.
- *Budget*: a session never runs more than ``max_overrun_s`` of active time past
  its plan: after that no extensions, no repeated fallback routines, and the
  next step boundary goes to the closing.

User actions: pause/resume (the step clock stops; no judging while paused),
skip (next step), hurts (stop the step now, give the stop rules and red flags,
and do that region by imagery for the rest of the session), stop.

Every decision is an event carrying what was measured.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from biofeedback.models import (
    Action,
    Advice,
    ArousalEstimate,
    Baseline,
    Quality,
    SessionEvent,
    SignalLost,
    SignalRestored,
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
from biofeedback.pacing.protocols import BODY_ORDER, ProtocolError, Routine


@dataclass(frozen=True, slots=True)
class PacingConfig:
    """Every number the pacing rules use.

    Arousal thresholds are in the units of ``ArousalEstimate.arousal``: the
    person's own natural variation around their baseline (0 = at baseline,
    1 = one typical resting swing), so they mean the same for everyone.
    """

    # Session frame.
    settle_s: float = 60.0
    """Opening slow breaths; the estimator's baseline takes about this long."""
    settle_max_s: float = 120.0
    """The settle is extended until a baseline exists, but never beyond this."""
    breath_in_s: float = 4.0
    breath_out_s: float = 6.0
    closing_scan_s: float = 45.0

    # Extending releases.
    extend_above: float = 1.0
    """At a release's planned end, arousal above this means "not settled yet"."""
    extend_by_s: float = 5.0
    extend_cap_s: float = 20.0
    """Most a single step is ever extended by, in total."""
    extend_kinds: frozenset[StepKind] = frozenset({StepKind.RELEASE, StepKind.REST})

    # Stepping down.
    step_down_above: float = 2.0
    step_down_after_s: float = 10.0
    """How long arousal must stay above ``step_down_above`` (release/rest time)."""
    severe_above: float = 5.0
    """Arousal this high needs less evidence: about +20 bpm, which a resting heart
    never holds and a panic passes within seconds (an anxious spike of +12-15 bpm
    stays below it, and gets the ordinary rule)."""
    severe_after_s: float = 5.0
    step_down_hr_bpm: float = 3.0
    """A step-down also needs heart rate this far over baseline: RMSSD alone moves
    with artifacts and breathing changes, and arousal raises heart rate."""
    """How long severe arousal must last to step down, even again within a dwell period."""

    # Tensing.
    tense_allowance: float = 1.5
    """How much of the arousal index a tense step's own pressor bump may explain."""
    pressor_recovery_s: float = 12.0
    """How long into the following release the bump is still allowed for (the
    estimator's 12 s HR window still holds the tensing beats)."""
    tense_rmssd_drop_z: float = 1.0
    """Tensing leaves RMSSD flat or higher: a drop beyond this while tensing is
    arousal, and no allowance is made."""

    # Stepping up.
    step_up_below: float = 0.5
    calm_hr_margin_bpm: float = 3.0
    step_up_after_s: float = 60.0
    hr_only_calm_rate: float = 2.0 / 3.0
    """Calm judged on heart rate alone is less evidence: it counts this fast
    (so stepping up takes 90 s instead of 60)."""
    dwell_s: float = 60.0
    """At most one zone change per dwell period (except a continuing climb)."""
    red_min_s: float = 120.0
    """Red is never left in its first two minutes."""

    # Budget.
    max_overrun_s: float = 300.0
    """Most active time a session may run past its plan before it closes."""

    # --zone auto: an opening baseline this far above the stored resting
    # heart rate starts the session in Yellow (day-to-day resting HR varies by
    # a few bpm; 10 is clearly more than that).
    auto_yellow_hr_bpm: float = 10.0

    max_tick_s: float = 2.0
    """Longest gap between two estimates counted towards a sustained period."""


class StoredBaseline(typing.Protocol):
    """A person's resting baseline from earlier sessions, for ``--zone auto``.

    The store's ``RestingBaseline`` fits as it is.
    """

    @property
    def hr_bpm(self) -> float: ...


StartZone = Zone | Literal["auto"]

SETTLE = "settle"
CLOSING_SCAN = "closing-scan"
CLOSING_REST = "closing-rest"
CLOSING_BREATH = "closing-breath"

STOP_RULES = (
    "Stop and rest. Sharp pain, pain that spreads, numbness, dizziness or"
    " shortness of breath all mean: no more effort now."
)
RED_FLAGS = (
    "Please get medical help for back pain that is severe, lasting or spreading,"
    " for numbness or weakness, fever, or loss of bladder or bowel control,"
    " and for panic or sleeplessness that keeps coming back."
)
_ZONE_ADVICE = {
    (Zone.GREEN, Zone.YELLOW): "Let's go gentler: no tensing for now. Just breathe and soften.",
    (Zone.YELLOW, Zone.RED): "Time to simply rest. There is nothing you need to do.",
    (Zone.RED, Zone.YELLOW): "You have settled a lot. Let's add some gentle softening.",
    (Zone.YELLOW, Zone.GREEN): "You are settled again. Let's carry on where we left off.",
}
_OVERRUN_ADVICE = "We have run past the planned time, so let's close gently now."


class _Phase(enum.Enum):
    SETTLE = "settle"
    BODY = "body"
    CLOSING = "closing"
    DONE = "done"


@dataclass
class _Timers:
    """Seconds of sustained state, counted over judged estimates."""

    above_s: float = 0.0
    severe_s: float = 0.0
    calm_s: float = 0.0

    def reset(self) -> None:
        self.above_s = self.severe_s = self.calm_s = 0.0


@dataclass
class _Signal:
    connected: bool = True
    has_data: bool = True
    last_data_s: float = 0.0
    lost_at_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.connected and self.has_data


@dataclass
class _Running:
    """The step in progress."""

    step: Step  # as shown (imagery-adapted)
    source: Step  # as planned by its routine, for resuming
    started_s: float
    end_s: float
    main_index: int | None = None
    extended_s: float = 0.0


@dataclass
class _Pause:
    at_s: float | None = None
    total_s: float = 0.0


@dataclass
class _ZoneState:
    zone: Zone
    since_s: float = 0.0
    last_change: int = 0  # +1 after a step down, -1 after a step up, 0 before any
    saved: dict[Zone, list[Step]] = field(default_factory=dict)


def planned_session_s(protocol: Routine, config: PacingConfig | None = None) -> float:
    """Planned length of a whole session of ``protocol``, frame included."""
    cfg = config or PacingConfig()
    return (
        cfg.settle_s + protocol.duration_s + cfg.closing_scan_s + cfg.breath_in_s + cfg.breath_out_s
    )


class PacingController:
    """One session's pacing decisions."""

    def __init__(
        self,
        protocol: Routine,
        *,
        yellow: Routine,
        red: Routine,
        config: PacingConfig | None = None,
        start_zone: StartZone = Zone.GREEN,
        stored_baseline: StoredBaseline | None = None,
        imagery_regions: Iterable[str] = (),
    ) -> None:
        if not yellow.safe_in(Zone.YELLOW) or not red.safe_in(Zone.RED):
            raise ProtocolError(
                f"fallback routines must suit their zones: {yellow.name!r} is {yellow.zone},"
                f" {red.name!r} is {red.zone}"
            )
        self.config = config or PacingConfig()
        self.protocol = protocol
        self._fallbacks = {Zone.YELLOW: yellow, Zone.RED: red}
        self._auto = start_zone == "auto"
        self._stored = stored_baseline
        self._zs = _ZoneState(Zone.GREEN if start_zone == "auto" else Zone(start_zone))
        self._imagery: set[str] = set(imagery_regions)
        self._phase = _Phase.SETTLE
        self._routine: Routine | None = None
        self._queue: list[Step] = []
        self._main_pos = 0
        self._run: _Running | None = None
        self._last_tense_end_s: float | None = None
        self._pause = _Pause()
        self._timers = _Timers()
        self._signal = _Signal()
        self._started_s = 0.0
        self._last_estimate_s: float | None = None
        self._baseline_sent = False
        # The opening baseline waits here for --zone auto until the session is not paused.
        self._opening_hr_bpm: float | None = None
        self._overran = False
        self._finished = False
        self._end_reason = ""

    # ------------------------------------------------------------------
    # What the session and the dashboard read

    @property
    def zone(self) -> Zone:
        return self._zs.zone

    @property
    def protocol_name(self) -> str:
        return self.protocol.name

    @property
    def routine_name(self) -> str:
        """The routine now running: the protocol, a fallback, or the frame."""
        if self._phase is _Phase.BODY and self._routine is not None:
            return self._routine.name
        return self._phase.value

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
        return next(self._upcoming(), None)

    @property
    def paused(self) -> bool:
        return self._pause.at_s is not None

    @property
    def signal_ok(self) -> bool:
        return self._signal.ok

    @property
    def imagery_regions(self) -> frozenset[str]:
        return frozenset(self._imagery)

    @property
    def planned_s(self) -> float:
        return planned_session_s(self.protocol, self.config)

    def remaining_s(self, now_s: float) -> float:
        """Time left in the current step (frozen while paused)."""
        if self._run is None:
            return 0.0
        ref = self._pause.at_s if self._pause.at_s is not None else now_s
        return max(self._run.end_s - ref, 0.0)

    def session_remaining_s(self, now_s: float) -> float:
        """Planned time left in the session if nothing else changes."""
        return self.remaining_s(now_s) + sum(s.planned_s for s in self._upcoming())

    # ------------------------------------------------------------------
    # Inputs

    def start(self, now_s: float) -> list[SessionEvent]:
        cfg = self.config
        self._started_s = now_s
        self._zs.since_s = now_s
        self._signal.last_data_s = now_s
        cue = (
            f"Settle in. Breathe in for {_count(cfg.breath_in_s)},"
            f" and out slowly for {_count(cfg.breath_out_s)}."
        )
        if self.protocol.setup:
            cue = f"{self.protocol.setup} {cue}"
        settle = Step(
            SETTLE,
            StepKind.BREATH,
            cue,
            cfg.settle_s,
            breath_in_s=cfg.breath_in_s,
            breath_out_s=cfg.breath_out_s,
        )
        self._queue = [settle]
        return self._advance(now_s, "start")

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        if self._finished:
            return []
        dt = 0.0 if self._last_estimate_s is None else now_s - self._last_estimate_s
        self._last_estimate_s = now_s
        events: list[SessionEvent] = []
        if not self._baseline_sent and estimate.baseline_hr_bpm is not None:
            self._baseline_sent = True
            events.append(
                Baseline(
                    now_s, estimate.baseline_hr_bpm, estimate.baseline_rmssd_ms, estimate.quality
                )
            )
            self._opening_hr_bpm = estimate.baseline_hr_bpm
        events += self._watch_data(now_s, estimate)
        if self.paused:
            return events
        changed: list[SessionEvent] = []
        if self._opening_hr_bpm is not None:
            changed = self._auto_zone(now_s, self._opening_hr_bpm)
            self._opening_hr_bpm = None
        if not changed:
            changed = self._judge_zone(now_s, estimate, min(max(dt, 0.0), self.config.max_tick_s))
        events += changed
        if not changed and self._run is not None and now_s >= self._run.end_s:
            events += self._end_or_extend(now_s, estimate)
        return events

    def on_source_status(self, now_s: float, status: SourceStatus) -> list[SessionEvent]:
        if self._finished:
            return []
        was_ok = self._signal.ok
        self._signal.connected = status.connected
        return self._signal_transition(now_s, was_ok, status.reason)

    def on_action(self, now_s: float, action: Action) -> list[SessionEvent]:
        if self._finished:
            return []
        events: list[SessionEvent] = [UserActed(now_s, action)]
        if action is Action.PAUSE and not self.paused:
            self._pause.at_s = now_s
            self._timers.reset()
        elif action is Action.RESUME:
            self._resume(now_s)
        elif action is Action.SKIP:
            self._resume(now_s)
            events += self._advance(now_s, "skipped")
        elif action is Action.HURTS:
            self._resume(now_s)
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

    # ------------------------------------------------------------------
    # Signal

    def _watch_data(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        was_ok = self._signal.ok
        self._signal.has_data = estimate.quality is not Quality.NO_SIGNAL
        if self._signal.has_data:
            reason = "heart data is back"
        else:
            reason = (
                f"no usable heart data since {self._signal.last_data_s:.0f} s (contact or range)"
            )
        events = self._signal_transition(now_s, was_ok, reason)
        if self._signal.has_data:
            self._signal.last_data_s = now_s
        return events

    def _signal_transition(self, now_s: float, was_ok: bool, reason: str) -> list[SessionEvent]:
        if was_ok and not self._signal.ok:
            self._signal.lost_at_s = now_s
            self._timers.reset()
            return [SignalLost(now_s, f"{reason}; the session goes on un-paced")]
        if self._signal.ok and not was_ok:
            gap = now_s - self._signal.lost_at_s
            return [SignalRestored(now_s, f"{reason} after {gap:.0f} s; pacing resumes")]
        return []

    # ------------------------------------------------------------------
    # Zones

    def _auto_zone(self, now_s: float, baseline_hr_bpm: float) -> list[SessionEvent]:
        stored = self._stored
        if not self._auto or stored is None or self._zs.last_change != 0:
            return []
        over = baseline_hr_bpm - stored.hr_bpm
        if over < self.config.auto_yellow_hr_bpm or self.zone is not Zone.GREEN:
            return []
        return self._change_zone(
            now_s,
            Zone.YELLOW,
            f"opening baseline hr {baseline_hr_bpm:.0f} bpm is {over:+.0f} bpm over your"
            f" resting {stored.hr_bpm:.0f} bpm from earlier sessions",
        )

    def _in_pressor_window(self, now_s: float) -> bool:
        if self._run is not None and self._run.step.kind is StepKind.TENSE:
            return True
        end = self._last_tense_end_s
        return end is not None and now_s - end < self.config.pressor_recovery_s

    def _judge_zone(self, now_s: float, est: ArousalEstimate, dt: float) -> list[SessionEvent]:
        cfg = self.config
        timers = self._timers
        arousal = est.arousal
        if arousal is None or not self._signal.ok:
            timers.reset()
            return []
        drop = est.rmssd_drop_z
        tensing = self._in_pressor_window(now_s) and (
            drop is None or drop <= cfg.tense_rmssd_drop_z
        )
        judged = arousal - cfg.tense_allowance if tensing else arousal

        def count(current: float, yes: bool, rate: float = 1.0) -> float:
            # While tensing, a "no" only holds the timer: the bump is not evidence.
            if yes:
                return current + dt * rate
            return current if tensing else 0.0

        hr = est.hr_delta_bpm
        hr_up = hr is None or hr >= cfg.step_down_hr_bpm
        hr_calm = hr is None or hr <= cfg.calm_hr_margin_bpm
        timers.above_s = count(timers.above_s, hr_up and judged > cfg.step_down_above)
        timers.severe_s = count(timers.severe_s, hr_up and judged > cfg.severe_above)
        calm = not tensing and arousal < cfg.step_up_below and hr_calm
        rate = cfg.hr_only_calm_rate if est.quality is Quality.HR_ONLY else 1.0
        timers.calm_s = count(timers.calm_s, calm, rate)

        zone = self._zs.zone
        since = now_s - self._zs.since_s
        measured = _measured(est)
        if zone is not Zone.RED:
            severe = _reached(timers.severe_s, cfg.severe_after_s)
            if severe:
                held = f"above {cfg.severe_above:.1f} for {timers.severe_s:.0f} s"
            else:
                held = f"above {cfg.step_down_above:.1f} for {timers.above_s:.0f} s"
            reason = f"arousal {arousal:.1f} {held} ({measured})"
            sustained = severe or _reached(timers.above_s, cfg.step_down_after_s)
            if sustained and (self._zs.last_change == 0 or since >= cfg.dwell_s):
                return self._change_zone(now_s, zone.lower(), reason)
            # Timers restart at each change, so this is severe_after_s after the last one.
            if severe and self._zs.last_change > 0:
                return self._change_zone(now_s, zone.lower(), f"still climbing: {reason}")
        if (
            zone is not Zone.GREEN
            and _reached(timers.calm_s, cfg.step_up_after_s)
            and since >= cfg.dwell_s
            and (zone is not Zone.RED or since >= cfg.red_min_s)
        ):
            return self._change_zone(
                now_s,
                zone.higher(),
                f"calm for {timers.calm_s:.0f} s: arousal {arousal:.1f} below"
                f" {cfg.step_up_below:.1f} ({measured})",
            )
        return []

    def _change_zone(self, now_s: float, to_zone: Zone, reason: str) -> list[SessionEvent]:
        zs = self._zs
        from_zone = zs.zone
        down = to_zone.rank > from_zone.rank
        zs.zone = to_zone
        zs.since_s = now_s
        zs.last_change = 1 if down else -1
        self._timers.reset()
        events: list[SessionEvent] = [ZoneChanged(now_s, from_zone, to_zone, reason)]
        advice = _ZONE_ADVICE.get((from_zone, to_zone))
        if advice:
            events.append(Advice(now_s, advice))
        routine = self._routine_for(to_zone)
        if self._phase is _Phase.BODY and routine is not self._routine:
            self._leave_routine(now_s, from_zone, down)
            for zone in list(zs.saved):
                if zone.rank > to_zone.rank:
                    del zs.saved[zone]
            self._routine, self._queue = self._take_routine(to_zone)
            events += self._advance(now_s, f"zone changed to {to_zone}")
        return events

    def _leave_routine(self, now_s: float, from_zone: Zone, down: bool) -> None:
        """Remember where the routine being left had got to."""
        run = self._run
        cut_early = run is not None and now_s - run.started_s < run.source.planned_s / 2
        if self._routine is self.protocol:
            if cut_early and run is not None and run.main_index is not None:
                self._main_pos = run.main_index
        elif down:
            again = [run.source] if cut_early and run is not None else []
            self._zs.saved[from_zone] = again + self._queue

    # ------------------------------------------------------------------
    # Routines and steps

    def _routine_for(self, zone: Zone) -> Routine:
        return self.protocol if self.protocol.safe_in(zone) else self._fallbacks[zone]

    def _routine_steps(self, zone: Zone) -> tuple[Routine, list[Step]]:
        """The routine for ``zone`` and the steps it would run from here."""
        routine = self._routine_for(zone)
        if routine is self.protocol:
            return routine, list(self.protocol.steps[self._main_pos :])
        saved = self._zs.saved.get(zone)
        return routine, list(saved) if saved is not None else self._ordered(routine)

    def _take_routine(self, zone: Zone) -> tuple[Routine, list[Step]]:
        taken = self._routine_steps(zone)
        self._zs.saved.pop(zone, None)
        return taken

    def _ordered(self, routine: Routine) -> list[Step]:
        """A fallback routine with its region steps continuing the body order."""
        main_regions = [BODY_ORDER.index(r) for r in self.protocol.regions]
        steps = list(routine.steps)
        if not main_regions:
            return steps
        direction = 1 if main_regions[-1] >= main_regions[0] else -1
        ahead = [s.region for s in self.protocol.steps[self._main_pos :] if s.region]
        here = BODY_ORDER.index(ahead[0]) if ahead else main_regions[-1] + direction
        slots = [i for i, s in enumerate(steps) if s.region]

        def distance(step: Step) -> int:
            assert step.region is not None
            return ((BODY_ORDER.index(step.region) - here) * direction) % len(BODY_ORDER)

        for slot, step in zip(slots, sorted((steps[i] for i in slots), key=distance), strict=True):
            steps[slot] = step
        return steps

    def _closing_steps(self) -> list[Step]:
        cfg = self.config
        if self._zs.zone is Zone.RED:
            first = Step(
                CLOSING_REST,
                StepKind.REST,
                "Feel the support under you and the room around you. Take your time.",
                cfg.closing_scan_s,
            )
        else:
            first = Step(
                CLOSING_SCAN,
                StepKind.SCAN,
                "Scan slowly from your head down to your toes. Let anything still held go.",
                cfg.closing_scan_s,
            )
        word = self.protocol.closing_word.capitalize()
        last = Step(
            CLOSING_BREATH,
            StepKind.BREATH,
            f"One last slow breath in, and a long breath out. {word}.",
            cfg.breath_in_s + cfg.breath_out_s,
            breath_in_s=cfg.breath_in_s,
            breath_out_s=cfg.breath_out_s,
        )
        return [first, last]

    def _fallback_repeats(self) -> bool:
        return (
            self._routine is not None
            and self._routine is not self.protocol
            and self._main_pos < len(self.protocol.steps)
            and not self._overran
        )

    def _upcoming(self) -> Iterator[Step]:
        """The steps planned after the current one, as things stand."""
        yield from map(self._adapt, self._queue)
        if self._phase is _Phase.SETTLE:
            yield from map(self._adapt, self._routine_steps(self._zs.zone)[1])
        if self._phase is _Phase.BODY and self._fallback_repeats():
            assert self._routine is not None
            yield from map(self._adapt, self._ordered(self._routine))
        if self._phase in (_Phase.SETTLE, _Phase.BODY):
            yield from self._closing_steps()

    def _take_next(self, now_s: float) -> tuple[Step | None, list[SessionEvent]]:
        events: list[SessionEvent] = []
        while True:
            if self._phase is _Phase.BODY and not self._overran and self._over_budget(now_s):
                self._overran = True
                events.append(Advice(now_s, _OVERRUN_ADVICE))
                self._phase, self._queue = _Phase.CLOSING, self._closing_steps()
            if self._queue:
                return self._queue.pop(0), events
            if self._phase is _Phase.SETTLE:
                self._phase = _Phase.BODY
                self._routine, self._queue = self._take_routine(self._zs.zone)
            elif self._phase is _Phase.BODY and self._fallback_repeats():
                assert self._routine is not None
                self._queue = self._ordered(self._routine)
            elif self._phase is _Phase.BODY:
                self._phase, self._queue = _Phase.CLOSING, self._closing_steps()
            else:
                self._phase = _Phase.DONE
                return None, events

    def _advance(self, now_s: float, reason: str) -> list[SessionEvent]:
        events = self._end_step(now_s, reason)
        source, more = self._take_next(now_s)
        events += more
        if source is None:
            self._finish("completed")
            return events
        main_index = None
        if self._phase is _Phase.BODY and self._routine is self.protocol:
            # The protocol's queue is always protocol.steps[_main_pos:].
            main_index = self._main_pos
            self._main_pos += 1
        step = self._adapt(source)
        # The settle and closing frame belong to the protocol the person chose.
        routine = self._routine if self._phase is _Phase.BODY and self._routine else self.protocol
        self._run = _Running(step, source, now_s, now_s + step.planned_s, main_index)
        upcoming = self.next_step
        events.append(
            StepStarted(
                now_s,
                step.id,
                step.kind,
                step.region,
                step.cue,
                step.planned_s,
                step.breath_in_s,
                step.breath_out_s,
                next_kind=upcoming.kind if upcoming else None,
                next_cue=upcoming.cue if upcoming else None,
                steps_left=sum(1 for _ in self._upcoming()),
                session_left_s=self.session_remaining_s(now_s),
                routine=routine.title,
                routine_zone=routine.zone,
            )
        )
        return events

    def _end_step(self, now_s: float, reason: str) -> list[SessionEvent]:
        run = self._run
        if run is None:
            return []
        self._run = None
        if run.step.kind is StepKind.TENSE:
            self._last_tense_end_s = now_s
        return [StepEnded(now_s, run.step.id, now_s - run.started_s, reason)]

    def _end_or_extend(self, now_s: float, est: ArousalEstimate) -> list[SessionEvent]:
        cfg = self.config
        run = self._run
        assert run is not None
        by_s = 0.0
        reason = ""
        if run.step.id == SETTLE and est.baseline_hr_bpm is None and self._signal.ok:
            by_s = min(cfg.extend_by_s, cfg.settle_max_s - run.source.planned_s - run.extended_s)
            reason = "no baseline yet: a little longer to learn your resting heart"
        elif (
            self._phase is _Phase.BODY
            and run.step.kind in cfg.extend_kinds
            and self._signal.ok
            and est.arousal is not None
            and est.arousal > cfg.extend_above
            and not self._over_budget(now_s)
        ):
            by_s = min(cfg.extend_by_s, cfg.extend_cap_s - run.extended_s)
            reason = (
                f"not settled yet: arousal {est.arousal:.1f} above {cfg.extend_above:.1f}"
                f" ({_measured(est)})"
            )
        if by_s > 0:
            run.extended_s += by_s
            run.end_s += by_s
            return [StepExtended(now_s, run.step.id, by_s, reason)]
        return self._advance(now_s, "done")

    def _over_budget(self, now_s: float) -> bool:
        active_s = now_s - self._started_s - self._pause.total_s
        return active_s > self.planned_s + self.config.max_overrun_s

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
        if region is not None and region not in self._imagery:
            self._imagery.add(region)
            events.append(
                Advice(
                    now_s,
                    f"From now on your {_words(region)} are done by imagery only:"
                    " no need to move them.",
                )
            )
        events += self._advance(now_s, "it hurts")
        return events

    def _adapt(self, step: Step) -> Step:
        if step.region not in self._imagery:
            return step
        words = _words(step.region)
        if step.kind is StepKind.TENSE:
            cue = f"No need to move. Picture your {words} tightening a little, then letting go."
        elif step.kind is StepKind.MASSAGE:
            cue = f"Leave your {words} untouched. Just picture warmth there, easing."
        else:
            return step
        return replace(step, id=f"{step.id}-imagery", kind=StepKind.IMAGERY, cue=cue)

    def _finish(self, reason: str) -> None:
        self._run = None
        self._phase = _Phase.DONE
        self._finished = True
        self._end_reason = reason


def _reached(held_s: float, needed_s: float) -> bool:
    # Timers add fractions of a second (hr_only_calm_rate): allow for rounding.
    return held_s >= needed_s - 1e-6


def _measured(est: ArousalEstimate) -> str:
    parts = []
    if est.hr_delta_bpm is not None:
        parts.append(f"hr {est.hr_delta_bpm:+.0f} bpm")
    if est.ln_rmssd_delta is not None:
        parts.append(f"ln rmssd {est.ln_rmssd_delta:+.2f}")
    text = ", ".join(parts) + " vs baseline" if parts else "no baseline detail"
    if est.quality is Quality.HR_ONLY:
        text += "; heart rate only"
    return text


def _words(region: str | None) -> str:
    return (region or "body").replace("-", " ")


_COUNTS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(seconds: float) -> str:
    if seconds == int(seconds) and 0 <= seconds < len(_COUNTS):
        return _COUNTS[int(seconds)]
    return f"{seconds:g}"
