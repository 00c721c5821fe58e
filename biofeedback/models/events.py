"""Session events (DESIGN.md section 4): one flat JSON object each."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, ClassVar

from biofeedback.models.core import Action, BaselineHow, Quality, StepKind, Zone
from biofeedback.models.record import record

# --------------------------------------------------------------------------
# A figure to 3 decimals, as every event's dict holds it

# 1.5 * 2**52: adding it and taking it off again rounds a float of magnitude
# under 2**51 to an integer (the sum's last bit is worth exactly 1).
_TO_INTEGER = 6755399441055744.0


def round3(x: Any) -> Any:
    """``round(x, 3)``, to the bit, at about half its cost for a float.

    round() writes x's exact binary value as a decimal rounded to 3 places and
    reads that back: ~0.2 us, six of them an estimate's dict, ~110,000 dicts a
    day. Here, for a float: ``y = x * 1000`` is off x's exact thousands by at most
    half its last bit (under 0.004 while ``|y| < 1e13``); so where y is more than
    0.49 from a half-way point, those exact thousands round to k, the integer
    nearest y, as round()'s decimal does, and ``k / 1000`` (k exact, one correctly
    rounded division) is the float nearest that decimal, which round() reads back.
    A 0 keeps x's sign (round() gives -0.0 for a small negative x). A float close
    to a half-way point, a huge one, inf or NaN, a float subclass (numpy rounds
    its own way) and anything else go to round() itself. tests/test_models.py
    compares the two on ~400,000 floats, the awkward ones among them."""
    if type(x) is float:
        y = x * 1000.0
        k = (y + _TO_INTEGER) - _TO_INTEGER
        if -0.49 < y - k < 0.49 and -1e13 < y < 1e13:
            return k / 1000.0 if k else math.copysign(0.0, x)
    return round(x, 3)


# --------------------------------------------------------------------------
# Session events (DESIGN.md section 4): one flat JSON object each.


@record(frozen=True, slots=True)
class SessionEvent:
    """Base of every event; ``t`` is seconds since session start."""

    type: ClassVar[str] = "event"
    t: float

    def to_dict(self) -> dict[str, Any]:
        """The event as one flat JSON object: ``t`` and ``type`` first, then the
        fields in order under their JSON names; a float to 3 decimals, NaN as None."""
        out: dict[str, Any] = {"t": round3(self.t), "type": self.type}
        # The fields after ``t`` and their keys, worked out once per class (an event
        # is printed and stored: a day is ~110,000 of them).
        for name, key in _FIELDS.get(type(self)) or _fields_after_t(type(self)):
            value = getattr(self, name)
            if isinstance(value, float):
                value = None if value != value else round3(value)  # NaN: None
            out[key] = value
        return out


# Python names that cannot be field names map to their JSON names.
_FIELD_ALIASES = {"from_zone": "from", "to_zone": "to"}


@record(frozen=True, slots=True)
class SessionStarted(SessionEvent):
    """The session began: its id, routine, heart source and opening zone."""

    type: ClassVar[str] = "session_started"
    session_id: str
    protocol: str
    source: str
    zone: Zone


@record(frozen=True, slots=True)
class Baseline(SessionEvent):
    """The resting baseline the session paces against, and how it was taken."""

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

    @property
    def as_usual(self) -> bool:
        """Taken from a steady opening (or not said): nothing to explain to anyone."""
        return self.how in (None, BaselineHow.OPENING)


@record(frozen=True, slots=True)
class StepStarted(SessionEvent):
    """A step of the routine began: what to do, for how long, and what follows."""

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


@record(frozen=True, slots=True)
class StepExtended(SessionEvent):
    """The running step was made longer by ``by_s`` seconds (``reason`` says why)."""

    type: ClassVar[str] = "step_extended"
    step: str
    by_s: float
    reason: str
    plain: str = ""  # one sentence for the person; ``reason`` keeps the figures


@record(frozen=True, slots=True)
class StepEnded(SessionEvent):
    """A step ended after ``actual_s`` seconds (``reason`` says how)."""

    type: ClassVar[str] = "step_ended"
    step: str
    actual_s: float
    reason: str


@record(frozen=True, slots=True)
class ZoneChanged(SessionEvent):
    """The zone changed (``reason`` keeps the figures, ``plain`` says it)."""

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


@record(frozen=True, slots=True)
class SignalLost(SessionEvent):
    """The heart signal was lost (``reason`` says how, ``plain`` says it to the person)."""

    type: ClassVar[str] = "signal_lost"
    reason: str
    plain: str = ""  # one sentence for the person


@record(frozen=True, slots=True)
class SignalRestored(SessionEvent):
    """The heart signal is back after a loss."""

    type: ClassVar[str] = "signal_restored"
    reason: str


@record(frozen=True, slots=True)
class UserActed(SessionEvent):
    """The person asked for something during the session (pause, resume, skip, stop...)."""

    type: ClassVar[str] = "user_action"
    action: Action


@record(frozen=True, slots=True)
class Advice(SessionEvent):
    """Something the person should know that is not a pacing decision."""

    type: ClassVar[str] = "advice"
    text: str


@record(frozen=True, slots=True)
class PlanChosen(SessionEvent):
    """What shaped this session's plan before it began (the practice profile, one
    session's flags, and a gentler routine after a hard session): one short note per
    change, and the settings behind them."""

    type: ClassVar[str] = "plan"
    routine: str
    notes: tuple[str, ...] = ()
    imagery: tuple[str, ...] = ()
    start_region: str | None = None
    gentle: bool = False
    back_pain: bool = False
    position: str | None = None
    eyes: str | None = None


@record(frozen=True, slots=True)
class Estimate(SessionEvent):
    """The estimators' reading at one tick: heart rate, RMSSD, arousal, breath."""

    type: ClassVar[str] = "estimate"
    hr_bpm: float | None
    rmssd_ms: float | None
    arousal: float | None
    quality: Quality
    artifact_rate: float
    # The breath: breaths a minute, and where the rate came from ("acc": chest
    # motion; "rr": the heart's rhythm, less sure; None: no rate now).
    breath_per_min: float | None = None
    breath_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As ``SessionEvent.to_dict``, field by field: one a second of every session,
        the bulk of what is printed (a test compares the two on every case)."""
        if type(self) is not Estimate:
            return SessionEvent.to_dict(self)
        hr, rmssd, arousal = self.hr_bpm, self.rmssd_ms, self.arousal
        rate, breath = self.artifact_rate, self.breath_per_min
        return {
            "t": round3(self.t),
            "type": "estimate",
            "hr_bpm": (None if hr != hr else round3(hr)) if isinstance(hr, float) else hr,
            "rmssd_ms": (
                (None if rmssd != rmssd else round3(rmssd)) if isinstance(rmssd, float) else rmssd
            ),
            "arousal": (
                (None if arousal != arousal else round3(arousal))
                if isinstance(arousal, float)
                else arousal
            ),
            "quality": self.quality,
            "artifact_rate": (
                (None if rate != rate else round3(rate)) if isinstance(rate, float) else rate
            ),
            "breath_per_min": (
                (None if breath != breath else round3(breath))
                if isinstance(breath, float)
                else breath
            ),
            "breath_source": self.breath_source,
        }


@record(frozen=True, slots=True)
class BreathHeld(SessionEvent):
    """A breath held: from ``started_t`` (session seconds) for ``duration_s``,
    said once it is let go."""

    type: ClassVar[str] = "breath_held"
    started_t: float
    duration_s: float


@record(frozen=True, slots=True)
class BreathReminder(SessionEvent):
    """The controller reminded the person to keep breathing: a breath held
    ``hold_s`` seconds in a tense step. ``reason`` keeps the figures,
    ``plain`` is what was said and shown."""

    type: ClassVar[str] = "breath_reminder"
    step: str
    hold_s: float
    reason: str
    plain: str = ""


@record(frozen=True, slots=True)
class PaceChanged(SessionEvent):
    """The pacer of the running step now breathes ``breath_in_s`` in and
    ``breath_out_s`` out, its first in-breath starting at ``t``: a person
    breathing far faster than the step's pace is met near their own rate, and
    the pace glides down to the step's from there."""

    type: ClassVar[str] = "pace_changed"
    step: str
    breath_in_s: float
    breath_out_s: float
    reason: str
    plain: str = ""


@record(frozen=True, slots=True)
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


@record(frozen=True, slots=True)
class ResonanceAssessed(SessionEvent):
    """The result of a stepped resonance assessment: the rate this heart
    answered most (breaths a minute), how sure, and every paced rate's scores
    (dicts as ``signals.resonance.RateScore.to_dict`` makes them)."""

    type: ClassVar[str] = "resonance_assessed"
    best_rate_bpm: float | None
    confidence: float
    confidence_label: str
    peak_hz: float | None
    scores: tuple[Mapping[str, Any], ...] = ()


@record(frozen=True, slots=True)
class SessionEnded(SessionEvent):
    """The session ended: why, after how long, and what the source left out."""

    type: ClassVar[str] = "session_ended"
    session_id: str
    reason: str
    duration_s: float
    # Samples the source sent that cannot be heart data (see sensors.limits).
    rejected_samples: int = 0
    # Broker messages the source skipped, by why (e.g. "not heart rate": 12).
    skipped_messages: Mapping[str, int] = dataclasses.field(default_factory=dict)


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
        BreathHeld,
        BreathReminder,
        PaceChanged,
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
    for name, key, to_enum in _keys_of(cls):
        if key in data:
            value = data[key]
            if isinstance(value, list):
                value = tuple(value)  # JSON has lists where the events hold tuples
            elif to_enum is not None and value is not None:
                value = to_enum(value)
            kwargs[name] = value
    return cls(**kwargs)


_ToEnum = Callable[[Any], StrEnum]


def _keys_of(cls: type[SessionEvent]) -> tuple[tuple[str, str, _ToEnum | None], ...]:
    """(field, key in the dict, its enum's converter) of an event class; a store holds
    thousands of each, so this is worked out once per class."""
    keys = _KEYS.get(cls)
    if keys is None:
        keys = _KEYS[cls] = tuple(
            (f.name, _FIELD_ALIASES.get(f.name, f.name), _to_enum(_ENUM_FIELDS.get(f.name)))
            for f in dataclasses.fields(cls)
        )
    return keys


def _to_enum(enum: type[StrEnum] | None) -> _ToEnum | None:
    """The member of ``enum`` a stored value names, by a dict lookup (calling the enum
    class costs a microsecond a value); anything else goes to the class, which raises."""
    if enum is None:
        return None
    members: dict[Any, StrEnum] = {m.value: m for m in enum}

    def convert(value: Any) -> StrEnum:
        try:
            return members[value]
        except (KeyError, TypeError):
            return enum(value)

    return convert


_KEYS: dict[type[SessionEvent], tuple[tuple[str, str, _ToEnum | None], ...]] = {}


def _fields_after_t(cls: type[SessionEvent]) -> tuple[tuple[str, str], ...]:
    """(field, key in the dict) of an event class's fields after ``t``, for ``to_dict``."""
    fields = _FIELDS[cls] = tuple((name, key) for name, key, _ in _keys_of(cls) if name != "t")
    return fields


_FIELDS: dict[type[SessionEvent], tuple[tuple[str, str], ...]] = {}


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


# --------------------------------------------------------------------------
# An estimate's JSON line, written straight from its fields


def _figure_json(x: Any) -> str | None:
    """The JSON text of a figure field's value in ``to_dict`` (NaN as null, a float
    to 3 decimals: json writes a float by float.__repr__); None for what json
    spells its own way (inf) or what is not plainly a float or None (an int goes
    by the dict too: one too long for str() must fail where json fails)."""
    if type(x) is float:
        if x != x:
            return "null"
        x = round3(x)
        return _FLOAT_REPR(x) if x - x == 0.0 else None
    return "null" if x is None else None


_FLOAT_REPR = float.__repr__
_QUALITY_JSON = {member: f'"{member.value}"' for member in Quality}
_SOURCE_JSON = {None: "null", "acc": '"acc"', "rr": '"rr"'}


def estimate_json(event: SessionEvent) -> str | None:
    """``event.to_dict()`` as JSON with separators ``,`` and ``:``, to the byte, for
    a plain Estimate (one a second of every session, most of the printed lines)
    written from its fields without the dict; None for anything else (a subclass,
    a field not plainly a finite float or None, a known quality or breath
    source): the caller writes that one from its dict. tests/test_models.py
    compares the two on random and awkward estimates."""
    if type(event) is not Estimate:
        return None
    t = event.t
    if type(t) is not float:
        return None
    t = round3(t)  # to_dict writes NaN of ``t`` as json's NaN: not plain
    quality = _QUALITY_JSON.get(event.quality) if type(event.quality) is Quality else None
    source = event.breath_source
    source_json = _SOURCE_JSON.get(source) if source is None or type(source) is str else None
    hr = _figure_json(event.hr_bpm)
    rmssd = _figure_json(event.rmssd_ms)
    arousal = _figure_json(event.arousal)
    rate = _figure_json(event.artifact_rate)
    breath = _figure_json(event.breath_per_min)
    if (
        t - t != 0.0
        or quality is None
        or source_json is None
        or hr is None
        or rmssd is None
        or arousal is None
        or rate is None
        or breath is None
    ):
        return None
    return (
        f'{{"t":{_FLOAT_REPR(t)},"type":"estimate","hr_bpm":{hr},"rmssd_ms":{rmssd},'
        f'"arousal":{arousal},"quality":{quality},"artifact_rate":{rate},'
        f'"breath_per_min":{breath},"breath_source":{source_json}}}'
    )
