"""Named simulated people as data: who they are, what happens to them, how the strap fails.

A scenario file (``scenarios/NAME.toml``, or any path ending in ``.toml``) is the
ground truth a test or benchmark checks the estimator and controller against:
the arousal episodes' onsets and sizes, the signal gaps, the artifact rates.
Everything has a default, so a file states only what makes its person different.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, TypeVar

from biofeedback.inputs import InputFileError, parse_shipped_toml, parse_toml, read_text
from biofeedback.models import StepKind
from biofeedback.models.record import record
from simulators import SimulatorError

IDLE = "idle"
"""The activity when no step is running: before the session, paused, or open loop."""

ACTIVITIES = (IDLE, *(kind.value for kind in StepKind))


class ScenarioError(SimulatorError, ValueError):
    """An unknown scenario name, or a scenario file that cannot be used as written."""


# A record: with 42 fields, dataclass's compiled methods (its frozen guard, __repr__,
# and, before, __eq__ and __hash__) cost ~1.5 ms at every simulated session's start.
@record(frozen=True, slots=True)
class Person:
    """The simulated body at rest, and how it answers the session.

    RR swing figures are peak-to-trough in milliseconds. Defaults describe a
    healthy adult at rest whose 10-minute figures sit inside those of the real
    recordings in ``tests/data/rr`` (see tests/test_simulator_realism.py).
    """

    rest_hr_bpm: float = 66.0
    # Respiratory sinus arrhythmia at the spontaneous breathing rate; slower
    # breathing swings more, flattening out below ``rsa_corner_hz`` (Hirsch &
    # Bishop 1981 found RSA about flat below ~0.1 Hz and falling above it: most
    # of that rise near 0.1 Hz is the baroreflex resonance below, so the
    # direct part alone flattens out sooner).
    rsa_ms: float = 60.0
    rsa_corner_hz: float = 0.3
    breath_rate_hz: float = 0.25
    breath_jitter: float = 0.12
    # Mayer waves (~0.1 Hz blood-pressure rhythm) and beat-to-beat noise.
    lf_ms: float = 14.0
    lf_hz: float = 0.095
    noise_ms: float = 17.0
    # Baroreflex resonance (Vaschillo et al. 2002, 2011): the blood-pressure loop
    # rings at a personal rate. Breathing and muscle tension drive it, so breaths
    # or contractions paced at ``resonance_bpm`` (per minute) swing heart rate
    # most; this is the ground truth a resonance assessment should find. The
    # loop adds up to ``baro_ms`` of RR swing when driven exactly at its rate,
    # ``baro_damping`` sets how sharp the peak is, and ``baro_tension`` how
    # strongly tensing drives it compared with breathing.
    resonance_bpm: float = 5.5
    baro_ms: float = 150.0
    baro_damping: float = 0.1
    baro_tension: float = 2.0
    # Slow wandering of heart rate and vagal tone (minutes).
    drift_hr_bpm: float = 2.7
    drift_tau_s: float = 45.0
    vagal_sd: float = 0.25
    vagal_tau_s: float = 30.0
    # Over the session a responder settles: HR down, beat-to-beat variation up.
    relax_hr_drop_bpm: float = 4.0
    relax_rmssd_gain: float = 0.25
    relax_tau_s: float = 400.0
    # Muscle pressor response: tensing raises HR within a few beats and costs
    # some vagal tone; both recover over the release.
    pressor_bpm: float = 4.0
    pressor_vagal_drop: float = 0.3
    pressor_rise_tau_s: float = 2.5
    pressor_fall_tau_s: float = 6.0
    # Arousal episodes ramp up with this time constant (sympathetic drive).
    arousal_rise_tau_s: float = 15.0
    # Letting go takes a moment: after tensing ends, recovery from an arousal
    # speeds up over this long to the full rate of the current activity, so a
    # long release calms more than its length alone would suggest.
    recovery_ramp_s: float = 10.0
    # The breath actually taken (simulators/breathing.py). The defaults keep the
    # breathing every scenario always had: a pacer's period from the next
    # breath, in no particular phase, and arousal leaving the breath alone.
    # Share of the way from their own period to the pacer's (1: all the way).
    breath_compliance: float = 1.0
    # How strongly each paced breath is nudged toward the pacer's phase, and
    # how far behind the pacer the person settles (seconds).
    breath_lock: float = 0.0
    breath_lag_s: float = 0.0
    # Arousal: breath rate up by this share at full drive, depth down by this
    # share, and the chance of a sigh per breath.
    breath_arousal_gain: float = 0.0
    breath_shallow: float = 0.0
    sigh_share: float = 0.0
    # A breath-holder: the chance of holding the breath through a tense step.
    hold_share: float = 0.0
    hold_max_s: float = 20.0
    # Talking spells (0: none, the default): about this many an hour, each about
    # ``talk_s`` long; while talking the breath is speech's, whatever the pacer.
    talks_per_h: float = 0.0
    talk_s: float = 20.0
    # The chest as the strap's accelerometer sees it (simulators/chest.py):
    # milli-g of tilt a usual breath makes, posture (tilt back from upright,
    # roll to the side, degrees), how often they fidget or shift, sensor noise.
    breath_mg: float = 12.0
    tilt_deg: float = 20.0
    roll_deg: float = 0.0
    fidgets_per_h: float = 4.0
    posture_shifts_per_h: float = 1.0
    tremor_mg: float = 4.0
    acc_noise_mg: float = 2.0


@record(frozen=True, slots=True)
class Episode:
    """A stretch of sympathetic drive: HR climbs toward ``hr_rise_bpm`` over baseline
    and RMSSD toward ``rmssd_factor`` times its value, from ``onset_s`` for ``hold_s``;
    then it recovers at the speed the person's current activity allows."""

    onset_s: float
    hold_s: float
    hr_rise_bpm: float
    rmssd_factor: float

    @property
    def end_s(self) -> float:
        return self.onset_s + self.hold_s


@record(frozen=True, slots=True)
class Gap:
    """A stretch of the session from ``start_s``, ``duration_s`` long (a dropout or a
    loss of skin contact)."""

    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@record(frozen=True, slots=True)
class ArtifactRates:
    """Chances per true beat that the strap misses it, adds a spurious beat before it,
    or that the heart fires an ectopic beat early in its place (a short interval,
    then a compensatory long one)."""

    missed: float = 0.0
    extra: float = 0.0
    ectopic: float = 0.0

    @property
    def expected_share(self) -> float:
        """About what share of reported RR intervals are abnormal: a missed beat
        spoils one interval, an extra or ectopic beat two."""
        return self.missed + 2.0 * self.extra + 2.0 * self.ectopic


def _default_recovery() -> dict[str, float]:
    # Seconds for an arousal to fall to 1/e once its drive has ended. Tensing
    # while aroused keeps the body braced; a long release, slow breathing and
    # passive rest let it settle.
    return {
        IDLE: 40.0,
        "tense": 120.0,
        "release": 25.0,
        "breath": 20.0,
        "rest": 20.0,
        "scan": 30.0,
        "massage": 30.0,
        "imagery": 30.0,
    }


@record(frozen=True, slots=True)
class Scenario:
    """One simulated person and what happens to them: arousal episodes, the strap's
    artifacts and gaps, and its chest motion."""

    name: str
    description: str
    seed: int = 0
    person: Person = Person()
    recovery_tau_s: Mapping[str, float] = field(default_factory=_default_recovery)
    episodes: tuple[Episode, ...] = ()
    artifacts: ArtifactRates = ArtifactRates()
    dropouts: tuple[Gap, ...] = ()
    contact_losses: tuple[Gap, ...] = ()
    # False when the RR series is not fit for HRV at all (frequent ectopy).
    hrv_usable: bool = True
    # The strap's accelerometer (chest motion), samples a second; 0: a plain
    # heart-rate strap. Off unless a scenario is about the breath: reading the
    # chest costs a simulated session several times its heart alone.
    acc_rate_hz: float = 0.0

    @property
    def onsets_s(self) -> tuple[float, ...]:
        return tuple(e.onset_s for e in self.episodes)

    def recovery_tau_for(self, activity: str) -> float:
        return self.recovery_tau_s.get(activity, self.recovery_tau_s[IDLE])

    def in_dropout(self, t_s: float) -> Gap | None:
        return next((g for g in self.dropouts if g.covers(t_s)), None)

    def in_contact_loss(self, t_s: float) -> bool:
        return any(g.covers(t_s) for g in self.contact_losses)


# --------------------------------------------------------------------------
# Loading


# The package's own files, beside this module (importlib.resources would load
# ~4 ms of modules at every start for what is a plain folder in every install).
BUILTIN_FOLDER = Path(__file__).parent / "scenarios"


def scenario_names() -> list[str]:
    folder = BUILTIN_FOLDER
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(name: str | Path) -> Scenario:
    """A built-in scenario by name, or a scenario file by path (``*.toml``)."""
    text, where, builtin = _read(name)
    try:
        # A built-in one's parse may come from the cache of the package's own TOML.
        data = parse_shipped_toml(text, f"scenario-{name}") if builtin else parse_toml(text)
    except InputFileError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    return _parse(data, where)


def _read(name: str | Path) -> tuple[str, str, bool]:
    """The scenario's text, where it is (for messages), and whether it is a built-in one."""
    if isinstance(name, Path) or name.endswith(".toml") or "/" in name:
        path = Path(name)
        try:
            return read_text(path), str(path), False
        except InputFileError as exc:
            raise ScenarioError(f"scenario file {path}: {exc}") from None
    entry = BUILTIN_FOLDER / f"{name}.toml"
    if not name or not entry.is_file():
        raise ScenarioError(
            f"unknown scenario {name!r}; choose one of: {', '.join(scenario_names())}"
            " (or give a path to a .toml file)"
        )
    return entry.read_text(encoding="utf-8"), f"scenario {name!r}", True


_R = TypeVar("_R", Person, Episode, Gap, ArtifactRates)

_TOP_KEYS = {
    "name",
    "description",
    "seed",
    "hrv_usable",
    "person",
    "recovery_tau_s",
    "artifacts",
    "episodes",
    "dropouts",
    "contact_losses",
    "acc_rate_hz",
}


def _parse(data: dict[str, Any], where: str) -> Scenario:
    _no_unknown(data, _TOP_KEYS, where)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: needs a name")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{where}: description must be text")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ScenarioError(f"{where}: seed must be a whole number >= 0")
    hrv_usable = data.get("hrv_usable", True)
    if not isinstance(hrv_usable, bool):
        raise ScenarioError(f"{where}: hrv_usable must be true or false")
    acc_rate_hz = _number(data.get("acc_rate_hz", 0.0), f"{where} acc_rate_hz")
    if acc_rate_hz != 0.0 and not 25.0 <= acc_rate_hz <= 200.0:
        raise ScenarioError(f"{where}: acc_rate_hz must be 0 (none) or 25 to 200")

    person = _record(Person, _table(data, "person", where), f"{where} [person]")
    recovery = _default_recovery()
    for key, value in _table(data, "recovery_tau_s", where).items():
        if key not in ACTIVITIES:
            raise ScenarioError(
                f"{where} [recovery_tau_s]: unknown activity {key!r}; use {', '.join(ACTIVITIES)}"
            )
        recovery[key] = _positive(value, f"{where} [recovery_tau_s] {key}")
    artifacts = _record(ArtifactRates, _table(data, "artifacts", where), f"{where} [artifacts]")
    for f in dataclasses.fields(ArtifactRates):
        rate = getattr(artifacts, f.name)
        if not 0.0 <= rate <= 0.3:
            raise ScenarioError(f"{where} [artifacts] {f.name}: expected 0 to 0.3, got {rate}")
    episodes = tuple(
        _record(Episode, entry, f"{where} [[episodes]] #{i + 1}")
        for i, entry in enumerate(_array(data, "episodes", where))
    )
    for i, ep in enumerate(episodes):
        if not 0.0 < ep.rmssd_factor <= 1.5:
            raise ScenarioError(f"{where} [[episodes]] #{i + 1}: rmssd_factor must be in (0, 1.5]")
    dropouts = tuple(
        _record(Gap, entry, f"{where} [[dropouts]] #{i + 1}")
        for i, entry in enumerate(_array(data, "dropouts", where))
    )
    contact_losses = tuple(
        _record(Gap, entry, f"{where} [[contact_losses]] #{i + 1}")
        for i, entry in enumerate(_array(data, "contact_losses", where))
    )
    _check_gaps(dropouts + contact_losses, where)
    return Scenario(
        name=name,
        description=description,
        seed=seed,
        person=person,
        recovery_tau_s=recovery,
        episodes=tuple(sorted(episodes, key=lambda e: e.onset_s)),
        artifacts=artifacts,
        dropouts=tuple(sorted(dropouts, key=lambda g: g.start_s)),
        contact_losses=tuple(sorted(contact_losses, key=lambda g: g.start_s)),
        hrv_usable=hrv_usable,
        acc_rate_hz=acc_rate_hz,
    )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: [{key}] must be a table")
    return value


def _array(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(f"{where}: {key} must be written as [[{key}]] tables")
    return value


def _no_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}"
        )


def _record(cls: type[_R], entry: dict[str, Any], where: str) -> _R:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _no_unknown(entry, set(fields), where)
    values: dict[str, float] = {}
    for key, value in entry.items():
        values[key] = _number(value, f"{where} {key}")
        if not _in_range(key, values[key]):
            low, high, _ = _range(key)
            raise ScenarioError(
                f"{where} {key}: out of range ({values[key]:g}; expected {low:g} to {high:g})"
            )
    missing = [
        n
        for n, f in fields.items()
        if n not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ScenarioError(f"{where}: missing {', '.join(missing)}")
    return cls(**values)


# A week: no time in a scenario (an onset, a hold, a time constant) is longer.
_MAX_S = 7 * 86400.0
# (low, high, low is allowed) for the keys whose sane range is not 0 to a bound
# set by their unit below. A zero time constant or resting rate would divide
# by zero; a NaN anywhere would give a person without heartbeats.
_RANGES: Mapping[str, tuple[float, float, bool]] = {
    "rest_hr_bpm": (30.0, 200.0, True),
    # A non-responder may drift the wrong way.
    "relax_hr_drop_bpm": (-60.0, 60.0, True),
    "relax_rmssd_gain": (-1.0, 5.0, False),
    "breath_rate_hz": (0.0, 1.0, False),
    "rsa_corner_hz": (0.0, 1.0, False),
    "lf_hz": (0.0, 1.0, False),
    "breath_jitter": (0.0, 1.0, True),
    "vagal_sd": (0.0, 2.0, True),
    "pressor_vagal_drop": (0.0, 1.0, True),
    "rmssd_factor": (0.0, 1.5, False),
    "missed": (0.0, 0.3, True),
    "extra": (0.0, 0.3, True),
    "ectopic": (0.0, 0.3, True),
    # The planted resonance (breaths a minute) and how sharp its peak is.
    "resonance_bpm": (2.0, 12.0, True),
    "baro_damping": (0.02, 0.9, True),
    "baro_tension": (0.0, 10.0, True),
    "breath_compliance": (0.0, 1.0, True),
    "breath_lock": (0.0, 1.0, True),
    "breath_lag_s": (-5.0, 5.0, True),
    "breath_arousal_gain": (0.0, 3.0, True),
    "breath_shallow": (0.0, 0.9, True),
    "sigh_share": (0.0, 1.0, True),
    "hold_share": (0.0, 1.0, True),
    "hold_max_s": (1.0, 120.0, True),
    "talks_per_h": (0.0, 60.0, True),
    "talk_s": (2.0, 300.0, True),
    "breath_mg": (0.0, 200.0, True),
    "tilt_deg": (0.0, 90.0, True),
    "roll_deg": (-90.0, 90.0, True),
    "fidgets_per_h": (0.0, 600.0, True),
    "posture_shifts_per_h": (0.0, 120.0, True),
    "tremor_mg": (0.0, 100.0, True),
    "acc_noise_mg": (0.0, 100.0, True),
}


def _range(key: str) -> tuple[float, float, bool]:
    if key in _RANGES:
        return _RANGES[key]
    if key.endswith("tau_s"):
        return (0.0, _MAX_S, False)
    if key.endswith("_bpm"):
        return (0.0, 150.0, True)
    if key.endswith("_ms"):
        return (0.0, 1000.0, True)
    return (0.0, _MAX_S, True)


def _in_range(key: str, value: float) -> bool:
    low, high, low_allowed = _range(key)
    return (low <= value if low_allowed else low < value) and value <= high


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ScenarioError(f"{where}: expected a finite number, got {value!r}")
    return number


def _positive(value: object, where: str) -> float:
    number = _number(value, where)
    if not 0 < number <= _MAX_S:
        raise ScenarioError(f"{where}: must be positive and at most {_MAX_S:g}")
    return number


def _check_gaps(gaps: tuple[Gap, ...], where: str) -> None:
    ordered = sorted(gaps, key=lambda g: g.start_s)
    for gap in ordered:
        if gap.duration_s <= 0:
            raise ScenarioError(f"{where}: a gap at {gap.start_s:g} s needs a positive duration")
    for a, b in itertools.pairwise(ordered):
        if b.start_s < a.end_s + 2.0:
            raise ScenarioError(
                f"{where}: gaps at {a.start_s:g} s and {b.start_s:g} s overlap or touch"
                " (leave at least 2 s between them)"
            )
