"""Where a session stands, folded from its events: the one reading of the stream.

The controller decides; everything that watches a session (the dashboard, the
MQTT state payload, a review) only hears its events. ``Progress`` turns those
events, in order, into the facts they all show: the current step and the time
left in it, whether the session is paused, the zone, the latest estimate, the
signal, the latest decision and the end. Each view projects from it instead of
keeping its own copy of the rules.

The rules follow the controller (``pacing/controller.py``), which is the truth:

- a pause freezes the step's countdown; resuming moves the step's end by the
  time held;
- "skip" and "it hurts" resume first and then move on, so they end a pause
  even though no resume event is sent;
- a step's countdown stops when it ends (``remaining_s`` is 0 until the next
  step starts), and nothing runs once the session has ended.

``DECISION_TYPES`` is the one list of events that count as the controller's
decisions (the MQTT state shows the latest); ``CHANGE_TYPES`` adds what the
person did and was told, which a review lists and the monitor shows.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable

from biofeedback.models import (
    Action,
    Advice,
    Baseline,
    BreathHeld,
    BreathReminder,
    Estimate,
    PaceChanged,
    ResonanceAssessed,
    ResonanceUpdate,
    SessionEnded,
    SessionEvent,
    SessionStarted,
    SignalLost,
    SignalRestored,
    StepEnded,
    StepExtended,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.models.record import record

# What the controller decided on its own, each with its reason: the latest is
# "the last decision" a watcher sees.
DECISION_TYPES = frozenset(
    {
        StepExtended.type,
        ZoneChanged.type,
        SignalLost.type,
        SignalRestored.type,
        BreathReminder.type,
        PaceChanged.type,
    }
)
# What a reader of the record wants listed: the decisions, what the person did
# that changed the course, and what they were told.
CHANGE_TYPES = DECISION_TYPES | {UserActed.type, Advice.type}


def said_then_figures(plain: object, reason: object) -> str:
    """A decision as every text view says it: the plain sentence first, the
    measured figures after it in brackets (either alone when the other is empty)."""
    plain = plain if isinstance(plain, str) else ""
    reason = reason if isinstance(reason, str) else ""
    if plain and reason:
        return f"{plain} ({reason})"
    return plain or reason


def is_decision(event: SessionEvent) -> bool:
    """True for the events ``DECISION_TYPES`` names."""
    return event.type in DECISION_TYPES


class Progress:
    """One session's standing; ``apply`` every event in order, ``at`` as time passes."""

    def __init__(self) -> None:
        self.t_s = 0.0
        self.started: SessionStarted | None = None
        self.zone: Zone | None = None
        # The latest step started; kept after it ends so a view can still name it.
        self.step: StepStarted | None = None
        # The step before it, and the breath pace (in, out seconds) of the latest
        # step that named one (a step led by the breath without its own goes on at it).
        self.previous_step: StepStarted | None = None
        self.last_step_pace: tuple[float, float] | None = None
        self.step_running = False
        self.steps_started = 0
        self.step_end_s = 0.0
        # Seconds the latest step was extended by so far, and how many times.
        self.step_extended_s = 0.0
        self.step_extensions = 0
        self.paused_at_s: float | None = None
        self.step_paused_s = 0.0
        self.estimate: Estimate | None = None
        self.baseline: Baseline | None = None
        self.signal_lost: SignalLost | None = None
        self.decision: SessionEvent | None = None
        self.ended: SessionEnded | None = None
        # The live resonance indicator (an estimate over its window) and an
        # assessment's result.
        self.resonance: ResonanceUpdate | None = None
        self.assessed: ResonanceAssessed | None = None
        # The pacer of the running step when it was changed from the step's own
        # (met a fast breather and gliding down), the latest breath held (said
        # once let go), and the latest reminder to breathe (said while it is held).
        self.pace: PaceChanged | None = None
        self.held: BreathHeld | None = None
        self.reminder: BreathReminder | None = None
        # The session's course so far, for a reader of the whole record (the
        # review folds the stored events here): each step that ran with when it
        # started and really ended, each zone left with its span (from the
        # session's start at 0 s), the extensions in order and their seconds in
        # all, and the seconds without signal (a loss until its restore). Off the
        # snapshot (a view needs where the session stands, not its course), and
        # each touched only by the rare event it follows, so an estimate costs
        # the live loop nothing more.
        self.step_spans: list[tuple[StepStarted, float, float]] = []
        self.zone_spans: list[tuple[Zone, float, float]] = []
        self._zone_since_s = 0.0
        self.extensions: list[StepExtended] = []
        self.extended_s = 0.0
        self.signal_lost_s = 0.0
        self._span_open = False
        self._lost_since_s: float | None = None

    # -- what views read

    @property
    def paused(self) -> bool:
        return self.paused_at_s is not None

    @property
    def signal_ok(self) -> bool:
        return self.signal_lost is None

    @property
    def remaining_s(self) -> float:
        """Seconds left in the running step, frozen while paused; 0 between steps."""
        if not self.step_running:
            return 0.0
        return max(self.step_end_s - self._now_s(), 0.0)

    @property
    def step_elapsed_s(self) -> float:
        """Seconds of the latest step done so far, pauses left out."""
        if self.step is None:
            return 0.0
        return max(self._now_s() - self.step.t - self.step_paused_s, 0.0)

    def steps_until(self, end_s: float) -> list[tuple[StepStarted, float, float]]:
        """Each step that ran, (step, from, to), the one still open closed at ``end_s``."""
        if self._span_open and self.step is not None:
            return [*self.step_spans, (self.step, self.step.t, max(end_s, self.step.t))]
        return list(self.step_spans)

    def zones_until(self, end_s: float) -> list[tuple[Zone, float, float]]:
        """Each zone the session was in, (zone, from, to), the current one to
        ``end_s``; spans of no time are left out unless nothing else is left."""
        if self.zone is None:
            return []
        since_s = self._zone_since_s
        spans = [*self.zone_spans, (self.zone, since_s, max(end_s, since_s))]
        return [span for span in spans if span[2] > span[1]] or spans[-1:]

    def no_signal_until(self, end_s: float) -> float:
        """Seconds between each loss and the restore after it, a loss still open
        counted to ``end_s``."""
        if self._lost_since_s is None:
            return self.signal_lost_s
        return self.signal_lost_s + max(end_s - self._lost_since_s, 0.0)

    def _now_s(self) -> float:
        return self.paused_at_s if self.paused_at_s is not None else self.t_s

    def snapshot(self) -> Snapshot:
        """Where the session stands now, as an immutable value to hand a view."""
        return Snapshot(*_read_fields(self))

    # -- input

    def restore(self, snapshot: Snapshot) -> None:
        """Stand where ``snapshot`` says (the loop's fold, whatever this one missed);
        time only moves forward."""
        t_s = self.t_s
        for name, value in zip(_FIELDS, _read_fields(snapshot), strict=True):
            setattr(self, name, value)
        self.t_s = max(t_s, snapshot.t_s)

    def at(self, t_s: float) -> None:
        """Time has reached ``t_s`` (a heart sample or a status arrived)."""
        self.t_s = max(self.t_s, t_s)

    def apply(self, event: SessionEvent) -> None:
        # ``at`` and ``is_decision`` written out: this runs for every event of
        # the live loop and of each review.
        if event.t > self.t_s:
            self.t_s = event.t
        if event.type in DECISION_TYPES:
            self.decision = event
        # The two kinds that come every few seconds first (the resonance
        # indicator is most of a stored session's events).
        if isinstance(event, Estimate):
            self.estimate = event
        elif isinstance(event, ResonanceUpdate):
            self.resonance = event
        elif isinstance(event, StepStarted):
            if self._span_open and self.step is not None:
                self.step_spans.append((self.step, self.step.t, event.t))
            self._span_open = True
            self.previous_step = self.step
            self.step = event
            if event.breath_in_s and event.breath_out_s:
                self.last_step_pace = (event.breath_in_s, event.breath_out_s)
            self.step_running = True
            self.steps_started += 1
            self.step_end_s = event.t + event.planned_s
            self.step_extended_s = 0.0
            self.step_extensions = 0
            self.step_paused_s = 0.0
            self.paused_at_s = None
            self.pace = None
        elif isinstance(event, PaceChanged):
            self.pace = event
        elif isinstance(event, BreathHeld):
            self.held = event
        elif isinstance(event, BreathReminder):
            self.reminder = event
        elif isinstance(event, StepExtended):
            self.step_end_s += event.by_s
            self.step_extended_s += event.by_s
            self.step_extensions += 1
            self.extensions.append(event)
            self.extended_s += event.by_s
        elif isinstance(event, StepEnded):
            if self.step is not None and event.step == self.step.step:
                self.step_running = False
                if self._span_open:
                    self.step_spans.append((self.step, self.step.t, event.t))
                    self._span_open = False
        elif isinstance(event, UserActed):
            self._on_action(event)
        elif isinstance(event, SessionStarted):
            self.started = event
            self.zone = event.zone
        elif isinstance(event, ZoneChanged):
            if self.zone is not None:
                self.zone_spans.append((self.zone, self._zone_since_s, event.t))
            self._zone_since_s = event.t
            self.zone = event.to_zone
        elif isinstance(event, SignalLost):
            self.signal_lost = event
            if self._lost_since_s is None:
                self._lost_since_s = event.t
        elif isinstance(event, SignalRestored):
            self.signal_lost = None
            if self._lost_since_s is not None:
                self.signal_lost_s += event.t - self._lost_since_s
                self._lost_since_s = None
        elif isinstance(event, Baseline):
            self.baseline = event
        elif isinstance(event, ResonanceAssessed):
            self.assessed = event
        elif isinstance(event, SessionEnded):
            self.ended = event
            self.step_running = False
            self.paused_at_s = None

    def _on_action(self, event: UserActed) -> None:
        if event.action is Action.PAUSE:
            if self.paused_at_s is None:
                self.paused_at_s = event.t
        elif event.action in (Action.RESUME, Action.SKIP, Action.HURTS):
            self._resume(event.t)

    def _resume(self, t_s: float) -> None:
        if self.paused_at_s is None:
            return
        held_s = t_s - self.paused_at_s
        self.step_end_s += held_s
        self.step_paused_s += held_s
        self.paused_at_s = None


@record(frozen=True, slots=True)
class Snapshot:
    """A ``Progress`` as it stood just after one event. The loop folds every event
    once and hands a view the snapshot with the event, so a view that missed items
    (its queue dropped the oldest) still stands where the session does."""

    t_s: float
    started: SessionStarted | None
    zone: Zone | None
    step: StepStarted | None
    previous_step: StepStarted | None
    last_step_pace: tuple[float, float] | None
    step_running: bool
    steps_started: int
    step_end_s: float
    step_extended_s: float
    step_extensions: int
    paused_at_s: float | None
    step_paused_s: float
    estimate: Estimate | None
    baseline: Baseline | None
    signal_lost: SignalLost | None
    decision: SessionEvent | None
    ended: SessionEnded | None
    resonance: ResonanceUpdate | None
    assessed: ResonanceAssessed | None
    pace: PaceChanged | None = None
    held: BreathHeld | None = None
    reminder: BreathReminder | None = None


# A snapshot's fields, read in one call (the loop takes one per event for each
# view that asks, and each view restores it).
_FIELDS = tuple(f.name for f in dataclasses.fields(Snapshot))
_read_fields = operator.attrgetter(*_FIELDS)


def fold(events: Iterable[SessionEvent]) -> Progress:
    """The standing after ``events``."""
    progress = Progress()
    for event in events:
        progress.apply(event)
    return progress
