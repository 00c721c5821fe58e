"""What a running session tells the outside world, and how a watcher reads it.

Pure and library-free, so both the MQTT publisher and the monitor view (two
siblings that must not import each other) share one schema:

- ``RunnerTracker`` folds a session's events into the ~1 Hz state payload;
- ``Board`` folds what a watcher hears (status, state, events of many
  runners) into one row per runner.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from biofeedback.models import (
    Action,
    Estimate,
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
    ZoneChanged,
)

TOPIC_ROOT = "biofeedback"
ONLINE = "online"
OFFLINE = "offline"
UNKNOWN = "unknown"


def runner_topic(runner: str, kind: str) -> str:
    """``biofeedback/<runner>/<kind>`` with kind status, state or events."""
    return f"{TOPIC_ROOT}/{runner}/{kind}"


# --------------------------------------------------------------------------
# The publisher's side: events in, state payload out


@dataclass(frozen=True, slots=True)
class RunnerState:
    """The state payload (``biofeedback/<runner>/state``), one JSON object.

    ``step_left_s`` is the time left in the current step as the events tell it
    (planned, plus extensions and pauses); ``decision`` is the reason of the
    controller's latest decision, so a watcher joining late still sees it.
    """

    t: float = 0.0
    session_id: str | None = None
    protocol: str | None = None
    hr_bpm: float | None = None
    rmssd_ms: float | None = None
    arousal: float | None = None
    quality: str | None = None
    zone: str | None = None
    step: str | None = None
    step_kind: str | None = None
    step_left_s: float | None = None
    paused: bool = False
    decision: str | None = None
    ended: bool = False
    # The live resonance indicator (an estimate over its window, see
    # pacing/resonance_live.py) and the rate of an assessment in this session.
    resonance_coherence: float | None = None
    resonance_peak_bpm: float | None = None
    resonance_swing_bpm: float | None = None
    resonance_rate_bpm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, float):
                value = None if math.isnan(value) else round(value, 3)
            out[name] = value
        return out

    def without_measurements(self) -> RunnerState:
        """The state to leave on the broker after the session: how it ended,
        without the person's measurements (heart data is private)."""
        return replace(
            self,
            hr_bpm=None,
            rmssd_ms=None,
            arousal=None,
            quality=None,
            resonance_coherence=None,
            resonance_peak_bpm=None,
            resonance_swing_bpm=None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunnerState:
        """Lenient: unknown keys are ignored, wrong types become None."""
        kwargs: dict[str, Any] = {}
        for name in cls.__slots__:
            if name not in data:
                continue
            value = data[name]
            if name in _FLAGS:
                kwargs[name] = value is True
            elif name in _NUMBERS:
                kwargs[name] = finite_number(value)
            else:
                kwargs[name] = value if isinstance(value, str) else None
        if kwargs.get("t") is None:
            kwargs["t"] = 0.0
        return cls(**kwargs)


_FLAGS = {"paused", "ended"}
_NUMBERS = {
    "t",
    "hr_bpm",
    "rmssd_ms",
    "arousal",
    "step_left_s",
    "resonance_coherence",
    "resonance_peak_bpm",
    "resonance_swing_bpm",
    "resonance_rate_bpm",
}


def finite_number(value: object) -> float | None:
    """A JSON value as a float, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class RunnerTracker:
    """Folds one session's events, in order, into its current ``RunnerState``."""

    def __init__(self) -> None:
        self.state = RunnerState()
        self._step_end_s: float | None = None
        self._paused_at_s: float | None = None

    def apply(self, event: SessionEvent) -> RunnerState:
        s = self.state
        if isinstance(event, SessionStarted):
            s = replace(
                s,
                session_id=event.session_id,
                protocol=event.protocol,
                zone=str(event.zone),
                ended=False,
            )
        elif isinstance(event, Estimate):
            s = replace(
                s,
                hr_bpm=event.hr_bpm,
                rmssd_ms=event.rmssd_ms,
                arousal=event.arousal,
                quality=str(event.quality),
            )
        elif isinstance(event, StepStarted):
            s = replace(s, step=event.step, step_kind=str(event.kind))
            self._step_end_s = event.t + event.planned_s
            self._paused_at_s = None
        elif isinstance(event, StepExtended):
            if self._step_end_s is not None:
                self._step_end_s += event.by_s
            s = replace(s, decision=f"{event.step} extended {event.by_s:g} s: {event.reason}")
        elif isinstance(event, StepEnded):
            if event.step == s.step:
                s = replace(s, step=None, step_kind=None)
                self._step_end_s = None
        elif isinstance(event, ZoneChanged):
            s = replace(
                s,
                zone=str(event.to_zone),
                decision=f"{event.from_zone} to {event.to_zone}: {event.reason}",
            )
        elif isinstance(event, ResonanceUpdate):
            s = replace(
                s,
                resonance_coherence=event.coherence,
                resonance_peak_bpm=event.peak_bpm,
                resonance_swing_bpm=event.swing_bpm,
            )
        elif isinstance(event, ResonanceAssessed):
            s = replace(s, resonance_rate_bpm=event.best_rate_bpm)
        elif isinstance(event, SignalLost | SignalRestored):
            s = replace(s, decision=event.reason)
        elif isinstance(event, UserActed):
            s = self._user_acted(s, event)
        elif isinstance(event, SessionEnded):
            s = replace(s, ended=True, step=None, step_kind=None, decision=event.reason)
            self._step_end_s = None
        self.state = replace(s, t=event.t, step_left_s=self._left_s(event.t))
        return self.state

    def _user_acted(self, s: RunnerState, event: UserActed) -> RunnerState:
        if event.action is Action.PAUSE and self._paused_at_s is None:
            self._paused_at_s = event.t
            return replace(s, paused=True)
        if event.action is Action.RESUME and self._paused_at_s is not None:
            if self._step_end_s is not None:
                self._step_end_s += event.t - self._paused_at_s
            self._paused_at_s = None
            return replace(s, paused=False)
        if event.action is Action.SKIP:
            self._paused_at_s = None
            return replace(s, paused=False)
        return s

    def _left_s(self, now_s: float) -> float | None:
        if self._step_end_s is None:
            return None
        ref = self._paused_at_s if self._paused_at_s is not None else now_s
        return max(self._step_end_s - ref, 0.0)


# --------------------------------------------------------------------------
# Home Assistant discovery (the publisher announces these when asked to)


_HA_SENSORS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "hr",
        "Heart rate",
        {
            "value_template": "{{ value_json.hr_bpm }}",
            "unit_of_measurement": "bpm",
            "state_class": "measurement",
            "icon": "mdi:heart-pulse",
        },
    ),
    (
        "rmssd",
        "RMSSD",
        {
            "value_template": "{{ value_json.rmssd_ms }}",
            "unit_of_measurement": "ms",
            "state_class": "measurement",
            "icon": "mdi:heart-flash",
        },
    ),
    (
        "arousal",
        "Arousal",
        {
            "value_template": "{{ value_json.arousal }}",
            "state_class": "measurement",
            "icon": "mdi:gauge",
        },
    ),
    ("zone", "Zone", {"value_template": "{{ value_json.zone }}", "icon": "mdi:traffic-light"}),
    ("step", "Step", {"value_template": "{{ value_json.step }}", "icon": "mdi:format-list-checks"}),
)


def discovery_configs(
    runner: str, *, prefix: str = "homeassistant", expire_after_s: int = 30
) -> dict[str, dict[str, Any]]:
    """Home Assistant MQTT discovery: config topic -> retained config payload."""
    object_id = re.sub(r"[^A-Za-z0-9_-]", "_", runner)
    device = {
        "identifiers": [f"biofeedback_{object_id}"],
        "name": f"Biofeedback {runner}",
        "manufacturer": "biofeedback",
        "model": "PMR session runner",
    }
    out: dict[str, dict[str, Any]] = {}
    for key, name, extra in _HA_SENSORS:
        topic = f"{prefix}/sensor/biofeedback_{object_id}/{key}/config"
        out[topic] = {
            "name": name,
            "unique_id": f"biofeedback_{object_id}_{key}",
            "state_topic": runner_topic(runner, "state"),
            "availability_topic": runner_topic(runner, "status"),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "expire_after": expire_after_s,
            "device": device,
            **extra,
        }
    return out


# --------------------------------------------------------------------------
# The watcher's side: many runners' messages in, one row per runner out


@dataclass(frozen=True, slots=True)
class StatusHeard:
    runner: str
    online: bool


@dataclass(frozen=True, slots=True)
class StateHeard:
    runner: str
    state: RunnerState


@dataclass(frozen=True, slots=True)
class EventHeard:
    runner: str
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BrokerLink:
    """The watcher's own connection to the broker changed."""

    connected: bool
    reason: str


RunnerUpdate = StatusHeard | StateHeard | EventHeard | BrokerLink

# Events whose reason is a decision worth showing a supervisor.
_DECISIONS = {
    "zone_changed",
    "step_extended",
    "signal_lost",
    "signal_restored",
    "user_action",
    "advice",
    "session_ended",
}


@dataclass(frozen=True, slots=True)
class RunnerRow:
    """What the monitor shows for one runner."""

    runner: str
    status: str = UNKNOWN
    hr_bpm: float | None = None
    zone: str | None = None
    step: str | None = None
    step_left_s: float | None = None
    decision: str | None = None
    quality: str | None = None


class Board:
    """Every runner heard so far, in the order they were first heard."""

    def __init__(self) -> None:
        self.rows: dict[str, RunnerRow] = {}
        self.link: BrokerLink | None = None

    def apply(self, update: RunnerUpdate) -> RunnerRow | None:
        """Fold one update in; return the runner's new row (None for link news)."""
        if isinstance(update, BrokerLink):
            self.link = update
            if not update.connected:
                # Without the broker nobody's status is known; the retained
                # status tells again on reconnecting.
                for name, row in self.rows.items():
                    if row.status != "ended":
                        self.rows[name] = replace(row, status=UNKNOWN)
            return None
        row = self.rows.get(update.runner) or RunnerRow(update.runner)
        if isinstance(update, StatusHeard):
            ended = row.status == "ended"
            row = replace(row, status=_status(update.online, ended))
        elif isinstance(update, StateHeard):
            st = update.state
            row = replace(
                row,
                hr_bpm=st.hr_bpm,
                zone=st.zone,
                step=st.step,
                step_left_s=st.step_left_s,
                quality=st.quality,
                decision=st.decision or row.decision,
                status="ended" if st.ended else row.status,
            )
        else:
            row = _fold_event(row, update.event)
        self.rows[update.runner] = row
        return row


def _status(online: bool, ended: bool) -> str:
    if online:
        return ONLINE
    return "ended" if ended else OFFLINE


def _fold_event(row: RunnerRow, event: dict[str, Any]) -> RunnerRow:
    kind = event.get("type")
    if kind == "session_started":
        return replace(row, status=ONLINE, zone=_text(event.get("zone")) or row.zone)
    if kind == "zone_changed":
        row = replace(row, zone=_text(event.get("to")) or row.zone)
    elif kind == "step_started":
        row = replace(row, step=_text(event.get("step")))
    elif kind == "session_ended":
        row = replace(row, status="ended", step=None)
    if kind in _DECISIONS:
        reason = _text(event.get("reason")) or _text(event.get("action"))
        reason = reason or _text(event.get("text"))
        if reason:
            row = replace(row, decision=f"{kind}: {reason}")
    return row


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_update(topic: str, payload: object) -> RunnerUpdate | None:
    """What one message on ``biofeedback/<runner>/<kind>`` says, or None."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != TOPIC_ROOT or not isinstance(payload, bytes | bytearray):
        return None
    runner, kind = parts[1], parts[2]
    if kind == "status":
        text = bytes(payload).decode(errors="replace")
        return StatusHeard(runner, text == ONLINE) if text in (ONLINE, OFFLINE) else None
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if kind == "state":
        return StateHeard(runner, RunnerState.from_dict(data))
    if kind == "events" and isinstance(data.get("type"), str):
        return EventHeard(runner, data)
    return None
