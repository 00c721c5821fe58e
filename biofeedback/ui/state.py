"""What the dashboard shows: a session projected from its stream of items, and straps.

No Textual here: ``SessionState`` takes events, samples and source statuses in
order and keeps the few facts a screen needs (current step and its countdown,
zone, vitals, connection, a log of decisions with their reasons). ``Trend``
keeps the last minutes of estimates, each tagged with the step kind at the
time, for the plots.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from biofeedback.loop.progress import Progress, Snapshot
from biofeedback.models import (
    Action,
    Advice,
    Baseline,
    Contact,
    Estimate,
    HeartSample,
    PlanChosen,
    Quality,
    Recording,
    ResonanceAssessed,
    ResonanceUpdate,
    SessionEnded,
    SessionEvent,
    SessionStarted,
    SignalLost,
    SignalRestored,
    SourceStatus,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.models.record import record
from biofeedback.routines.texts import RED_FLAGS, STOP_RULES

UiItem = SessionEvent | HeartSample | SourceStatus

TREND_WINDOW_S = 300.0
LOG_LINES = 100
# What the controller says after "it hurts" about when to stop and when to seek
# help: read once in a dialog, it would crowd the decision log out if logged.
SAFETY_TEXTS = frozenset({STOP_RULES, RED_FLAGS})


@record(frozen=True, slots=True)
class TrendPoint:
    """One point of the dashboard's trend: when, HR, RMSSD, the step's kind, the zone
    and arousal."""

    t_s: float
    hr_bpm: float | None
    rmssd_ms: float | None
    kind: StepKind | None
    zone: Zone | None = None
    arousal: float | None = None


class Trend:
    """Estimates of the last ``window_s`` seconds (None: all), tagged by step kind and zone."""

    def __init__(self, window_s: float | None = TREND_WINDOW_S) -> None:
        self.window_s = window_s
        self._points: deque[TrendPoint] = deque()
        self._kind: StepKind | None = None
        self._zone: Zone | None = None

    def add(self, item: SessionEvent) -> bool:
        """Take one event; True when it added a point."""
        if isinstance(item, StepStarted):
            self._kind = item.kind
        elif isinstance(item, SessionStarted):
            self._zone = item.zone
        elif isinstance(item, ZoneChanged):
            self._zone = item.to_zone
        elif isinstance(item, Estimate):
            self._points.append(
                TrendPoint(item.t, item.hr_bpm, item.rmssd_ms, self._kind, self._zone, item.arousal)
            )
            if self.window_s is not None:
                while self._points and self._points[0].t_s < item.t - self.window_s:
                    self._points.popleft()
            return True
        return False

    def points(self) -> tuple[TrendPoint, ...]:
        return tuple(self._points)


def recording_trend(recording: Recording) -> tuple[TrendPoint, ...]:
    """Every estimate of a recorded session, tagged as the live view tagged them."""
    trend = Trend(window_s=None)
    events = iter(recording.events)
    pending = next(events, None)
    for estimate in recording.estimates:
        # The loop emits a tick's estimate before the decisions taken on it.
        while pending is not None and pending.t < estimate.t:
            trend.add(pending)
            pending = next(events, None)
        trend.add(estimate)
    return trend.points()


@record(frozen=True, slots=True)
class LogEntry:
    """One line of the decision log: when, what kind of decision, and why."""

    t_s: float
    topic: str
    text: str


_ACTION_TEXT = {
    Action.PAUSE: "You paused.",
    Action.RESUME: "You resumed.",
    Action.SKIP: "You skipped this step.",
    Action.HURTS: "You said it hurts: this part moves to imagery only.",
    Action.STOP: "You stopped the session.",
}


class SessionState:
    """The dashboard's view of one session; feed it every item in order.

    Step, countdown, pause, zone and vitals come from ``progress.Progress``
    (the one fold every view shares); this adds what only a screen wants: the
    strap's link, contact and battery, and a log of decisions in words.
    """

    def __init__(self) -> None:
        self.progress = Progress()
        # None until the source reports its connection (the simulator never does).
        self.connected: bool | None = None
        self.contact: Contact | None = None
        self.battery_pct: int | None = None
        self.log: deque[LogEntry] = deque(maxlen=LOG_LINES)
        # False until the first heart sample: a strap may take seconds to connect.
        self.heard = False
        # The safety texts said after "it hurts", newest last (shown once, not logged).
        self.safety: list[str] = []
        # Counts every note ever made, so a view can tell which are new.
        self.notes_total = 0

    # -- what screens read

    @property
    def t_s(self) -> float:
        return self.progress.t_s

    @property
    def started(self) -> SessionStarted | None:
        return self.progress.started

    @property
    def zone(self) -> Zone | None:
        return self.progress.zone

    @property
    def step(self) -> StepStarted | None:
        return self.progress.step

    @property
    def steps_started(self) -> int:
        return self.progress.steps_started

    @property
    def paused(self) -> bool:
        return self.progress.paused

    @property
    def remaining_s(self) -> float:
        """Seconds left in the current step, frozen while paused; none once ended."""
        return self.progress.remaining_s

    @property
    def steps_total(self) -> int | None:
        """How many steps the session has as things stand (None: not known yet)."""
        if self.step is None or self.step.steps_left is None:
            return None
        return self.steps_started + self.step.steps_left

    @property
    def session_left_s(self) -> float | None:
        """Planned seconds left in the whole session, frozen while paused."""
        if self.step is None or self.step.session_left_s is None:
            return None
        if self.ended is not None:
            return 0.0
        done = self.step_elapsed_s
        return max(self.step.session_left_s + self.step_extended_s - done, 0.0)

    @property
    def step_elapsed_s(self) -> float:
        """Seconds of the step done so far, pauses left out (the pacer goes on from there)."""
        return self.progress.step_elapsed_s

    @property
    def hr_bpm(self) -> float | None:
        estimate = self.progress.estimate
        return None if estimate is None else estimate.hr_bpm

    @property
    def rmssd_ms(self) -> float | None:
        estimate = self.progress.estimate
        return None if estimate is None else estimate.rmssd_ms

    @property
    def arousal(self) -> float | None:
        estimate = self.progress.estimate
        return None if estimate is None else estimate.arousal

    @property
    def quality(self) -> Quality | None:
        estimate = self.progress.estimate
        return None if estimate is None else estimate.quality

    @property
    def baseline(self) -> Baseline | None:
        return self.progress.baseline

    @property
    def signal_lost(self) -> SignalLost | None:
        return self.progress.signal_lost

    @property
    def ended(self) -> SessionEnded | None:
        return self.progress.ended

    @property
    def resonance(self) -> ResonanceUpdate | None:
        """The live resonance indicator: an estimate over its window."""
        return self.progress.resonance

    # -- input

    @property
    def step_extended_s(self) -> float:
        """Seconds the current step was extended by (the session's time left grows too)."""
        return self.progress.step_extended_s

    def apply(self, item: UiItem, snapshot: Snapshot | None = None) -> None:
        """Take the next item; with an event, ``snapshot`` (the loop's fold just
        after it) says where the session stands, whatever was missed before it."""
        if isinstance(item, HeartSample):
            self.progress.at(item.t_s)
            self.contact = item.contact
            self.heard = True
            return
        if isinstance(item, SourceStatus):
            self.progress.at(item.t_s)
            self.connected = item.connected
            if item.battery_pct is not None:
                self.battery_pct = item.battery_pct
            return
        if snapshot is not None:
            self.progress.restore(snapshot)
        else:
            self.progress.apply(item)
        self._note_event(item)

    def _note_event(self, event: SessionEvent) -> None:
        if isinstance(event, StepExtended):
            self._note(
                event.t, "extend", event.plain or f"Longer by {event.by_s:.0f} s: {event.reason}."
            )
        elif isinstance(event, UserActed):
            self._note(event.t, "you", _ACTION_TEXT[event.action])
        elif isinstance(event, ZoneChanged):
            self._note(
                event.t,
                "zone",
                event.plain
                or f"Zone {event.from_zone.value} → {event.to_zone.value}: {event.reason}.",
            )
        elif isinstance(event, SignalLost):
            self._note(event.t, "signal", event.plain or f"Signal lost: {event.reason}.")
        elif isinstance(event, SignalRestored):
            self._note(event.t, "signal", f"Signal back: {event.reason}.")
        elif isinstance(event, Baseline):
            self._note(event.t, "baseline", f"Baseline: {_baseline_text(event)}.")
        elif isinstance(event, Advice) and event.text in SAFETY_TEXTS:
            self.safety.append(event.text)
        elif isinstance(event, Advice):
            self._note(event.t, "advice", event.text)
        elif isinstance(event, ResonanceAssessed):
            self._note(event.t, "resonance", _assessed_text(event))
        elif isinstance(event, PlanChosen) and event.notes:
            self._note(event.t, "plan", f"Adapted for you: {'; '.join(event.notes)}.")
        elif isinstance(event, SessionEnded):
            self._note(event.t, "end", f"Session ended: {event.reason}.")

    def _note(self, t_s: float, topic: str, text: str) -> None:
        self.log.append(LogEntry(t_s, topic, text))
        self.notes_total += 1


def _assessed_text(event: ResonanceAssessed) -> str:
    if event.best_rate_bpm is None:
        return "Resonance: not enough clean data to tell your rate this time."
    return (
        f"Your heart swung most at {event.best_rate_bpm:g} breaths a minute"
        f" (confidence {event.confidence_label})."
    )


def _baseline_text(event: Baseline) -> str:
    hr = "?" if event.hr_bpm is None else f"{event.hr_bpm:.0f} bpm"
    rmssd = "not computable" if event.rmssd_ms is None else f"{event.rmssd_ms:.0f} ms"
    text = f"heart rate {hr}, RMSSD {rmssd}"
    # An opening taken as usual needs no word; any other way says what it means.
    if not event.as_usual and event.plain:
        text += f". {event.plain.rstrip('.')}"
    return text


class StrapLike(Protocol):
    """What a scan reports about one strap (the Bluetooth layer's FoundStrap)."""

    @property
    def address(self) -> str: ...

    @property
    def name(self) -> str | None: ...

    @property
    def rssi_dbm(self) -> int | None: ...

    @property
    def battery_pct(self) -> int | None: ...
