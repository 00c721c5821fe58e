"""What the dashboard shows: a session folded from its stream of items, and straps.

No Textual here: ``SessionState`` takes events, samples and source statuses in
order and keeps the few facts a screen needs (current step and its countdown,
zone, vitals, connection, a log of decisions with their reasons). ``Trend``
keeps the last minutes of estimates, each tagged with the step kind at the
time, for the plots.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

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

UiItem = SessionEvent | HeartSample | SourceStatus

TREND_WINDOW_S = 300.0
LOG_LINES = 100


@dataclass(frozen=True, slots=True)
class TrendPoint:
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


@dataclass(frozen=True, slots=True)
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
    """The dashboard's view of one session; feed it every item in order."""

    def __init__(self) -> None:
        self.started: SessionStarted | None = None
        self.t_s = 0.0
        self.zone: Zone | None = None
        self.step: StepStarted | None = None
        self.steps_started = 0
        self.step_end_s = 0.0
        self.paused_at_s: float | None = None
        self.step_paused_s = 0.0
        self.hr_bpm: float | None = None
        self.rmssd_ms: float | None = None
        self.arousal: float | None = None
        self.quality: Quality | None = None
        self.baseline: Baseline | None = None
        # None until the source reports its connection (the simulator never does).
        self.connected: bool | None = None
        self.signal_lost: SignalLost | None = None
        self.contact: Contact | None = None
        self.battery_pct: int | None = None
        self.ended: SessionEnded | None = None
        self.log: deque[LogEntry] = deque(maxlen=LOG_LINES)
        # Counts every note ever made, so a view can tell which are new.
        self.notes_total = 0

    # -- what screens read

    @property
    def paused(self) -> bool:
        return self.paused_at_s is not None

    @property
    def remaining_s(self) -> float:
        """Seconds left in the current step, frozen while paused; none once ended."""
        # A session that ends mid-step (duration, stop) leaves no step to count down.
        if self.step is None or self.ended is not None:
            return 0.0
        now = self.paused_at_s if self.paused_at_s is not None else self.t_s
        return max(self.step_end_s - now, 0.0)

    @property
    def step_elapsed_s(self) -> float:
        """Seconds of the step done so far, pauses left out (the pacer goes on from there)."""
        if self.step is None:
            return 0.0
        now = self.paused_at_s if self.paused_at_s is not None else self.t_s
        return max(now - self.step.t - self.step_paused_s, 0.0)

    # -- input

    def apply(self, item: UiItem) -> None:
        if isinstance(item, HeartSample):
            self.t_s = max(self.t_s, item.t_s)
            self.contact = item.contact
            return
        if isinstance(item, SourceStatus):
            self.t_s = max(self.t_s, item.t_s)
            self.connected = item.connected
            if item.battery_pct is not None:
                self.battery_pct = item.battery_pct
            return
        self.t_s = max(self.t_s, item.t)
        self._apply_event(item)

    def _apply_event(self, event: SessionEvent) -> None:
        if isinstance(event, Estimate):
            self.hr_bpm = event.hr_bpm
            self.rmssd_ms = event.rmssd_ms
            self.arousal = event.arousal
            self.quality = event.quality
        elif isinstance(event, StepStarted):
            self.step = event
            self.steps_started += 1
            self.step_end_s = event.t + event.planned_s
            self.step_paused_s = 0.0
            self.paused_at_s = None
        elif isinstance(event, StepExtended):
            self.step_end_s += event.by_s
            self._note(event.t, "extend", f"Longer by {event.by_s:.0f} s: {event.reason}.")
        elif isinstance(event, UserActed):
            self._on_action(event)
        elif isinstance(event, SessionStarted):
            self.started = event
            self.zone = event.zone
        elif isinstance(event, ZoneChanged):
            self.zone = event.to_zone
            self._note(
                event.t,
                "zone",
                f"Zone {event.from_zone.value} → {event.to_zone.value}: {event.reason}.",
            )
        else:
            self._apply_notice(event)

    def _apply_notice(self, event: SessionEvent) -> None:
        if isinstance(event, SignalLost):
            self.signal_lost = event
            self._note(event.t, "signal", f"Signal lost: {event.reason}.")
        elif isinstance(event, SignalRestored):
            self.signal_lost = None
            self._note(event.t, "signal", f"Signal back: {event.reason}.")
        elif isinstance(event, Baseline):
            self.baseline = event
            self._note(event.t, "baseline", f"Baseline: {_baseline_text(event)}.")
        elif isinstance(event, Advice):
            self._note(event.t, "advice", event.text)
        elif isinstance(event, PlanChosen) and event.notes:
            self._note(event.t, "plan", f"Adapted for you: {'; '.join(event.notes)}.")
        elif isinstance(event, SessionEnded):
            self.ended = event
            self.paused_at_s = None
            self._note(event.t, "end", f"Session ended: {event.reason}.")

    def _on_action(self, event: UserActed) -> None:
        if event.action is Action.PAUSE and self.paused_at_s is None:
            self.paused_at_s = event.t
        elif event.action is Action.RESUME and self.paused_at_s is not None:
            self.step_end_s += event.t - self.paused_at_s
            self.step_paused_s += event.t - self.paused_at_s
            self.paused_at_s = None
        self._note(event.t, "you", _ACTION_TEXT[event.action])

    def _note(self, t_s: float, topic: str, text: str) -> None:
        self.log.append(LogEntry(t_s, topic, text))
        self.notes_total += 1


def _baseline_text(event: Baseline) -> str:
    hr = "?" if event.hr_bpm is None else f"{event.hr_bpm:.0f} bpm"
    rmssd = "not computable" if event.rmssd_ms is None else f"{event.rmssd_ms:.0f} ms"
    return f"heart rate {hr}, RMSSD {rmssd}"


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
