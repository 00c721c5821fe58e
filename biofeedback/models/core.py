"""Samples, estimates, zones and steps: the values a session is made of."""

from __future__ import annotations

from enum import StrEnum

from biofeedback.models.record import record


class Zone(StrEnum):
    """What practice is safe at the current arousal (docs/domain.md section 2)."""

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


# Looked up once: asked of every sample, and reading a member off its enum class
# costs ~0.25 us on Python 3.11.
_NOT_DETECTED = Contact.NOT_DETECTED


@record(frozen=True, slots=True)
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
        return self.contact is not _NOT_DETECTED


@record(frozen=True, slots=True)
class ChestMotion:
    """A batch of chest acceleration from the strap (e.g. Polar PMD ACC).

    ``t_s`` is the session time of the last sample; sample ``i`` of ``n`` was
    taken at ``t_s - (n - 1 - i) / rate_hz``. Axes in milli-g, equal lengths.
    Sources that can see the chest yield these between heart samples.
    """

    t_s: float
    rate_hz: float
    x_mg: tuple[float, ...]
    y_mg: tuple[float, ...]
    z_mg: tuple[float, ...]


@record(frozen=True, slots=True)
class BreathTaken:
    """One whole breath seen on the chest, for the record (not an event).

    ``onset_t_s`` is when its in-breath began (session seconds), then the
    in-breath and out-breath lengths and its depth (milli-g, trough to peak).
    ``t_s`` is when the estimate saw it whole.
    """

    t_s: float
    onset_t_s: float
    inhale_s: float
    exhale_s: float
    depth_mg: float

    @property
    def per_min(self) -> float:
        """The rate this one breath stands for (breaths a minute)."""
        return 60.0 / (self.inhale_s + self.exhale_s)


@record(frozen=True, slots=True)
class SourceStatus:
    """A change in a source's connection, yielded between samples."""

    t_s: float
    connected: bool
    reason: str
    battery_pct: int | None = None


@record(frozen=True, slots=True)
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
    # during slow breathing). See biofeedback/signals/arousal.py for their use.
    hr_z: float | None = None
    rmssd_drop_z: float | None = None
    rmssd_60s_ms: float | None = None
    # For the step-down detector: HR over the last 5 and 10 seconds, the person's
    # resting noise of it (bpm, measured over the opening), and how the
    # baseline was taken (see biofeedback/signals/baseline.py).
    hr_fast_bpm: float | None = None
    hr_10s_bpm: float | None = None
    hr_noise_bpm: float | None = None
    baseline_how: BaselineHow | None = None
    baseline_rise_bpm: float | None = None


@record(frozen=True, slots=True)
class Step:
    """One step of a guided protocol."""

    id: str
    kind: StepKind
    cue: str
    planned_s: float
    region: str | None = None
    breath_in_s: float | None = None
    breath_out_s: float | None = None
