"""The data that flows through a session: samples in, estimates, steps and events out.

Everything here is a frozen dataclass or an enum with no behaviour beyond
conversion, so every layer can import it without pulling anything else in.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class Zone(StrEnum):
    """What practice is safe at the current arousal (DOMAIN.md section 2)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 for green, 2 for red: higher means more aroused."""
        return _ZONE_ORDER.index(self)

    def lower(self) -> Zone:
        """One zone down (towards red); red stays red."""
        return _ZONE_ORDER[min(self.rank + 1, len(_ZONE_ORDER) - 1)]

    def higher(self) -> Zone:
        """One zone up (towards green); green stays green."""
        return _ZONE_ORDER[max(self.rank - 1, 0)]


_ZONE_ORDER = (Zone.GREEN, Zone.YELLOW, Zone.RED)


class Quality(StrEnum):
    """How far the current estimate can be trusted."""

    OK = "ok"
    HR_ONLY = "hr_only"
    NO_SIGNAL = "no_signal"


class BaselineHow(StrEnum):
    """Where a session's baseline came from."""

    GIVEN = "given"  # handed to the estimator (earlier sessions)
    OPENING = "opening"  # the opening minute, steady
    LONGER = "opening-longer"  # the opening rose a little: retaken once steady
    RISING = "rising"  # the opening kept rising: its lowest stretch, and a gentle start
    STORED = "stored"  # the opening was implausibly high: earlier sessions' values


class StepKind(StrEnum):
    TENSE = "tense"
    RELEASE = "release"
    BREATH = "breath"
    REST = "rest"
    SCAN = "scan"
    MASSAGE = "massage"
    IMAGERY = "imagery"


class Action(StrEnum):
    """What a user can ask for during a session."""

    PAUSE = "pause"
    RESUME = "resume"
    SKIP = "skip"
    HURTS = "hurts"
    STOP = "stop"


class Contact(StrEnum):
    """Sensor contact as the strap reports it (flags bits 1-2 of 0x2A37)."""

    UNSUPPORTED = "unsupported"
    DETECTED = "detected"
    NOT_DETECTED = "not_detected"


@dataclass(frozen=True, slots=True)
class HeartSample:
    """One notification from a heart-rate source.

    ``t_s`` is the arrival time on the session clock. ``beat_t_s`` holds an
    estimated time for each RR interval (the end of the beat), same order as
    ``rr_ms``.
    """

    t_s: float
    hr_bpm: float | None
    rr_ms: tuple[float, ...] = ()
    beat_t_s: tuple[float, ...] = ()
    contact: Contact = Contact.UNSUPPORTED
    energy_kj: int | None = None

    @property
    def usable(self) -> bool:
        """False when the strap says it has no skin contact: shown, not judged."""
        return self.contact is not Contact.NOT_DETECTED


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A change in a source's connection, yielded between samples."""

    t_s: float
    connected: bool
    reason: str
    battery_pct: int | None = None


@dataclass(frozen=True, slots=True)
class ArousalEstimate:
    """The estimator's view at ``t_s``.

    ``arousal`` is in units of the person's natural variation around their
    baseline (0 = at baseline, positive = more aroused); None until a baseline
    exists or when there is no signal.
    """

    t_s: float
    hr_bpm: float | None
    rmssd_ms: float | None
    arousal: float | None
    quality: Quality
    artifact_rate: float
    hr_delta_bpm: float | None = None
    ln_rmssd_delta: float | None = None
    baseline_hr_bpm: float | None = None
    baseline_rmssd_ms: float | None = None
    # The two parts of ``arousal``, each in natural-variation units: HR above
    # baseline, and RMSSD below its reference (negative when RMSSD is up, e.g.
    # during slow breathing). See biofeedback/pacing/arousal.py for their use.
    hr_z: float | None = None
    rmssd_drop_z: float | None = None
    rmssd_60s_ms: float | None = None
    # For the step-down detector: HR over the last 5 and 10 seconds, the person's
    # resting noise of it (bpm, measured over the opening), and how the
    # baseline was taken (see biofeedback/pacing/baseline.py).
    hr_fast_bpm: float | None = None
    hr_10s_bpm: float | None = None
    hr_noise_bpm: float | None = None
    baseline_how: BaselineHow | None = None
    baseline_rise_bpm: float | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a guided protocol."""

    id: str
    kind: StepKind
    cue: str
    planned_s: float
    region: str | None = None
    breath_in_s: float | None = None
    breath_out_s: float | None = None


# --------------------------------------------------------------------------
# Session events (DESIGN.md section 4): one flat JSON object each.


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Base of every event; ``t`` is seconds since session start."""

    type: ClassVar[str] = "event"
    t: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": round(self.t, 3), "type": self.type}
        for f in dataclasses.fields(self):
            if f.name == "t":
                continue
            value = getattr(self, f.name)
            if isinstance(value, float):
                value = None if math.isnan(value) else round(value, 3)
            out[_FIELD_ALIASES.get(f.name, f.name)] = value
        return out


# Python names that cannot be field names map to their JSON names.
_FIELD_ALIASES = {"from_zone": "from", "to_zone": "to"}


@dataclass(frozen=True, slots=True)
class SessionStarted(SessionEvent):
    type: ClassVar[str] = "session_started"
    session_id: str
    protocol: str
    source: str
    zone: Zone


@dataclass(frozen=True, slots=True)
class Baseline(SessionEvent):
    type: ClassVar[str] = "baseline"
    hr_bpm: float | None
    rmssd_ms: float | None
    quality: Quality
    # How it was taken and what pacing does about it (BaselineHow), the
    # opening's rise (last third minus first third, bpm), the resting noise the
    # step-down evidence is counted in, and one sentence for the person.
    how: BaselineHow | None = None
    rise_bpm: float | None = None
    noise_bpm: float | None = None
    reason: str = ""
    plain: str = ""


@dataclass(frozen=True, slots=True)
class StepStarted(SessionEvent):
    type: ClassVar[str] = "step_started"
    step: str
    kind: StepKind
    region: str | None
    cue: str
    planned_s: float
    breath_in_s: float | None = None
    breath_out_s: float | None = None
    # What comes after this step as planned now (None: the last step), so a
    # live view can say what is next.
    next_kind: StepKind | None = None
    next_cue: str | None = None
    # Where the session stands, for "step X of N" and the time left: the steps
    # planned after this one and the planned seconds left (this step included),
    # as things stand now; and the routine this step belongs to, with its zone
    # (a session can run a rest-only routine while the person is in Green).
    steps_left: int | None = None
    session_left_s: float | None = None
    routine: str = ""
    routine_zone: Zone | None = None


@dataclass(frozen=True, slots=True)
class StepExtended(SessionEvent):
    type: ClassVar[str] = "step_extended"
    step: str
    by_s: float
    reason: str
    plain: str = ""  # one sentence for the person; ``reason`` keeps the figures


@dataclass(frozen=True, slots=True)
class StepEnded(SessionEvent):
    type: ClassVar[str] = "step_ended"
    step: str
    actual_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class ZoneChanged(SessionEvent):
    type: ClassVar[str] = "zone_changed"
    from_zone: Zone
    to_zone: Zone
    reason: str
    plain: str = ""  # one sentence for the person; ``reason`` keeps the figures
    # The figures that crossed (None where they do not apply): fast HR over the
    # baseline, the step-down evidence and its threshold (resting-noise seconds).
    hr_delta_bpm: float | None = None
    evidence: float | None = None
    evidence_needed: float | None = None


@dataclass(frozen=True, slots=True)
class SignalLost(SessionEvent):
    type: ClassVar[str] = "signal_lost"
    reason: str
    plain: str = ""  # one sentence for the person


@dataclass(frozen=True, slots=True)
class SignalRestored(SessionEvent):
    type: ClassVar[str] = "signal_restored"
    reason: str


@dataclass(frozen=True, slots=True)
class UserActed(SessionEvent):
    type: ClassVar[str] = "user_action"
    action: Action


@dataclass(frozen=True, slots=True)
class Advice(SessionEvent):
    """Something the person should know that is not a pacing decision."""

    type: ClassVar[str] = "advice"
    text: str


@dataclass(frozen=True, slots=True)
class PlanChosen(SessionEvent):
    """What shaped this session's plan before it began (the practice profile and
    one session's flags): one short note per change, and the settings behind them."""

    type: ClassVar[str] = "plan"
    routine: str
    notes: tuple[str, ...] = ()
    imagery: tuple[str, ...] = ()
    start_region: str | None = None
    gentle: bool = False
    back_pain: bool = False
    position: str | None = None
    eyes: str | None = None


@dataclass(frozen=True, slots=True)
class Estimate(SessionEvent):
    type: ClassVar[str] = "estimate"
    hr_bpm: float | None
    rmssd_ms: float | None
    arousal: float | None
    quality: Quality
    artifact_rate: float


@dataclass(frozen=True, slots=True)
class ResonanceUpdate(SessionEvent):
    """The live resonance indicator: an estimate over the last ``window_s`` of
    beats (see pacing/resonance_live.py). ``coherence`` is 0-1: the share of
    heart-rate variation in one slow wave; ``peak_bpm`` that wave's rate in
    breaths a minute; ``swing_bpm`` heart rate's peak-to-trough swing."""

    type: ClassVar[str] = "resonance"
    window_s: float
    coherence: float | None
    peak_hz: float | None
    peak_bpm: float | None
    swing_bpm: float | None
    estimate: bool = True


@dataclass(frozen=True, slots=True)
class ResonanceAssessed(SessionEvent):
    """The result of a stepped resonance assessment: the rate this heart
    answered most (breaths a minute), how sure, and every paced rate's scores
    (dicts as ``pacing.resonance.RateScore.to_dict`` makes them)."""

    type: ClassVar[str] = "resonance_assessed"
    best_rate_bpm: float | None
    confidence: float
    confidence_label: str
    peak_hz: float | None
    scores: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class SessionEnded(SessionEvent):
    type: ClassVar[str] = "session_ended"
    session_id: str
    reason: str
    duration_s: float
    # Samples the source sent that cannot be heart data (see sensors.limits).
    rejected_samples: int = 0


EVENT_TYPES: Mapping[str, type[SessionEvent]] = {
    cls.type: cls
    for cls in (
        SessionStarted,
        Baseline,
        StepStarted,
        StepExtended,
        StepEnded,
        ZoneChanged,
        SignalLost,
        SignalRestored,
        UserActed,
        Advice,
        PlanChosen,
        Estimate,
        ResonanceUpdate,
        ResonanceAssessed,
        SessionEnded,
    )
}


class UnknownEventError(ValueError):
    """A dict that does not describe one of our events."""


def event_from_dict(data: Mapping[str, Any]) -> SessionEvent:
    """Inverse of ``SessionEvent.to_dict`` (for the store and review)."""
    try:
        cls = EVENT_TYPES[data["type"]]
    except KeyError as exc:
        raise UnknownEventError(f"unknown event type: {data.get('type')!r}") from exc
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = _FIELD_ALIASES.get(f.name, f.name)
        if key in data:
            value = data[key]
            # JSON has lists where the events hold tuples.
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    for name, enum in _ENUM_FIELDS.items():
        if name in kwargs and kwargs[name] is not None:
            kwargs[name] = enum(kwargs[name])
    for name, value in kwargs.items():
        # JSON has arrays only; events hold tuples.
        if isinstance(value, list):
            kwargs[name] = tuple(value)
    return cls(**kwargs)


_ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "zone": Zone,
    "from_zone": Zone,
    "to_zone": Zone,
    "quality": Quality,
    "kind": StepKind,
    "next_kind": StepKind,
    "routine_zone": Zone,
    "action": Action,
    "how": BaselineHow,
}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What sinks learn about a session before its first event."""

    session_id: str
    protocol: str
    source: str
    started_at_unix_s: float
    device: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Recorded sessions, as the store hands them to review and the UI.


@dataclass(frozen=True, slots=True)
class StoredSession:
    """One session as recorded: ``ended_at_unix_s`` is None when it never ended
    cleanly (crash, power loss, or still running); ``last_t_s`` is the latest
    session time that reached the disk."""

    session_id: str
    started_at_unix_s: float
    protocol: str
    source: str
    device: str | None
    software_version: str
    virtual: bool
    start_zone: Zone | None
    last_t_s: float
    ended_at_unix_s: float | None = None
    end_reason: str | None = None
    duration_s: float | None = None
    baseline_hr_bpm: float | None = None
    baseline_rmssd_ms: float | None = None

    @property
    def finished(self) -> bool:
        return self.ended_at_unix_s is not None

    @property
    def length_s(self) -> float:
        """How long the session lasted, or how far the record reaches."""
        return self.duration_s if self.duration_s is not None else self.last_t_s


# Field for field the arguments of Estimate and HeartSample: a day of them is
# kept as plain tuples, and the objects are made only when someone asks.
EstimateRow = tuple[float, float | None, float | None, float | None, Quality, float]
SampleRow = tuple[float, float | None, tuple[float, ...], tuple[float, ...], Contact, int | None]


@dataclass(frozen=True)
class Recording:
    """Everything recorded for one session, each part in time order.

    ``events`` holds every event except the ~1 Hz ``estimate`` ones, which are
    in ``estimates``. ``estimate_rows`` and ``sample_rows`` are the same data
    as tuples, and ``beat_t_s`` / ``rr_ms`` every beat of every sample, flat:
    cheap to turn into columns (the store may decode ``sample_rows`` only
    when they are first used).
    """

    session: StoredSession
    events: tuple[SessionEvent, ...]
    estimate_rows: Sequence[EstimateRow] = field(repr=False)
    sample_rows: Sequence[SampleRow] = field(repr=False)
    beat_t_s: Sequence[float] = field(repr=False, default=())
    rr_ms: Sequence[float] = field(repr=False, default=())

    @functools.cached_property
    def estimates(self) -> tuple[Estimate, ...]:
        return tuple(Estimate(*row) for row in self.estimate_rows)

    @functools.cached_property
    def samples(self) -> tuple[HeartSample, ...]:
        return tuple(HeartSample(*row) for row in self.sample_rows)
