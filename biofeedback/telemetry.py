"""What a running session tells the outside world, and how a watcher reads it.

Pure and library-free, so both the MQTT publisher and the monitor view (two
siblings that must not import each other) share one schema:

- ``RunnerTracker`` projects a session's standing (``progress.Progress``) onto the
  ~1 Hz state payload;
- ``Board`` folds what a watcher hears (status, state, events of many
  runners) into one row per runner.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

from biofeedback.loop.progress import CHANGE_TYPES, Progress, Snapshot, said_then_figures
from biofeedback.models import (
    BreathReminder,
    PaceChanged,
    SessionEnded,
    SessionEvent,
    SignalLost,
    SignalRestored,
    StepExtended,
    ZoneChanged,
)
from biofeedback.models.record import record

TOPIC_ROOT = "biofeedback"
ONLINE = "online"
OFFLINE = "offline"
UNKNOWN = "unknown"


def runner_topic(runner: str, kind: str) -> str:
    """``biofeedback/<runner>/<kind>`` with kind status, state or events."""
    return f"{TOPIC_ROOT}/{runner}/{kind}"


# --------------------------------------------------------------------------
# The publisher's side: events in, state payload out


@record(frozen=True, slots=True)
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
    # How the baseline heart rate was taken (models.BaselineHow: opening,
    # opening-longer, rising, stored, given): whether the zones are judged
    # against this morning's opening or earlier sessions.
    baseline_how: str | None = None
    # Breaths a minute as last estimated (chest motion or the heart's rhythm);
    # raw chest motion is never published.
    breath_per_min: float | None = None

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
            breath_per_min=None,
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
    "breath_per_min",
}


def finite_number(value: object) -> float | None:
    """A JSON value as a float, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer of hundreds of digits
        return None
    return number if math.isfinite(number) else None


class RunnerTracker:
    """Projects one session's events, in order, onto its current ``RunnerState``.

    The standing itself (step, countdown, pause, zone, latest decision) is
    ``progress.Progress``, the fold the dashboard reads too, so the two agree.
    """

    def __init__(self) -> None:
        self.progress = Progress()
        self.state = RunnerState()

    def apply(self, event: SessionEvent, snapshot: Snapshot | None = None) -> RunnerState:
        """Take one event; ``snapshot``: where the session stood just after it (the
        loop's fold), so a publisher that missed events still says where it stands."""
        if snapshot is None:
            self.progress.apply(event)
        else:
            self.progress.restore(snapshot)
        self.state = runner_state(self.progress)
        return self.state


def runner_state(progress: Progress) -> RunnerState:
    """The state payload for a session standing as ``progress`` says."""
    started = progress.started
    estimate = progress.estimate
    step = progress.step if progress.step_running else None
    resonance = progress.resonance
    if progress.ended is not None:
        decision: str | None = progress.ended.reason
    else:
        decision = None if progress.decision is None else decision_text(progress.decision)
    return RunnerState(
        t=progress.t_s,
        session_id=None if started is None else started.session_id,
        protocol=None if started is None else started.protocol,
        hr_bpm=None if estimate is None else estimate.hr_bpm,
        rmssd_ms=None if estimate is None else estimate.rmssd_ms,
        arousal=None if estimate is None else estimate.arousal,
        quality=None if estimate is None else str(estimate.quality),
        zone=None if progress.zone is None else str(progress.zone),
        step=None if step is None else step.step,
        step_kind=None if step is None else str(step.kind),
        step_left_s=None if step is None else progress.remaining_s,
        paused=progress.paused,
        decision=decision,
        ended=progress.ended is not None,
        resonance_coherence=None if resonance is None else resonance.coherence,
        resonance_peak_bpm=None if resonance is None else resonance.peak_bpm,
        resonance_swing_bpm=None if resonance is None else resonance.swing_bpm,
        resonance_rate_bpm=None if progress.assessed is None else progress.assessed.best_rate_bpm,
        baseline_how=_baseline_how(progress),
        breath_per_min=None if estimate is None else estimate.breath_per_min,
    )


def _baseline_how(progress: Progress) -> str | None:
    baseline = progress.baseline
    return None if baseline is None or baseline.how is None else str(baseline.how)


def decision_text(event: SessionEvent) -> str:
    """One line for a supervisor about a decision (``progress.DECISION_TYPES``)."""
    if isinstance(event, StepExtended):
        why = said_then_figures(event.plain, event.reason)
        return f"{event.step} extended {event.by_s:g} s: {why}"
    if isinstance(event, ZoneChanged):
        return (
            f"{event.from_zone} to {event.to_zone}: {said_then_figures(event.plain, event.reason)}"
        )
    if isinstance(event, SignalLost):
        return said_then_figures(event.plain, event.reason)
    if isinstance(event, SignalRestored):
        return event.reason
    if isinstance(event, BreathReminder):
        return f"{event.step}: reminded to breathe: {event.reason}"
    if isinstance(event, PaceChanged):
        pace = f"{event.breath_in_s:g} s in, {event.breath_out_s:g} s out"
        return f"{event.step} paced {pace}: {event.reason}"
    return event.type


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


@record(frozen=True, slots=True)
class StatusHeard:
    """A runner came online or went offline."""

    runner: str
    online: bool


@record(frozen=True, slots=True)
class StateHeard:
    """A runner's state, as it last published it."""

    runner: str
    state: RunnerState


@record(frozen=True, slots=True)
class EventHeard:
    """An event a runner published."""

    runner: str
    event: dict[str, Any]


@record(frozen=True, slots=True)
class BrokerLink:
    """The watcher's own connection to the broker changed."""

    connected: bool
    reason: str


RunnerUpdate = StatusHeard | StateHeard | EventHeard | BrokerLink

# Worth showing a supervisor: what changed the course, and how the session ended.
_SHOWN = CHANGE_TYPES | {SessionEnded.type}


@record(frozen=True, slots=True)
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
    if kind in _SHOWN:
        reason: str | None = said_then_figures(event.get("plain"), event.get("reason"))
        reason = reason or _text(event.get("action"))
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
