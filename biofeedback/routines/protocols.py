"""Guided routines as data: load and validate ``protocols/*.toml``.

A protocol file has a header (``name``, ``title``, ``zone``, ``description``,
optional ``setup``, ``closing_word``, ``effort``), optional ``[defaults]`` and a
list of ``[[steps]]``. A step entry is either one explicit step (``id``,
``kind``, ``cue``, ``s``, ``region``, ``breath_in_s``/``breath_out_s``) or a
tense/release *group* on one body region (``region``, ``tense``, ``release``,
optional ``tense_s``, ``release_s``, a settling ``pause`` after the release and,
with ``sides = true``, ``tense_side``/``release_side`` cue templates holding
``{side}`` so the group can be done one side at a time).

Validation happens on load, and a bad file gives one line naming the file, the
step and the fault. Besides shape and types it enforces the zone safety rules
of docs/domain.md sections 1-2, so a protocol file cannot ask a person in Yellow to
tense, or one in Red to do anything but rest.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from biofeedback import BiofeedbackError
from biofeedback.inputs import (
    InputFileError,
    InputMissingError,
    parse_shipped_toml,
    parse_toml,
    read_text,
)
from biofeedback.models import Step, StepKind, Zone
from biofeedback.models.record import record


class ProtocolError(BiofeedbackError):
    """A protocol file is missing or wrong; the message names file, step and fault."""


# Body regions from the feet upward (docs/domain.md section 1 plus the back-care and
# massage regions). A protocol may only name these: it catches typos, and the
# controller uses the order to continue "where the body had got to" when it
# switches to another routine.
BODY_ORDER: tuple[str, ...] = (
    "feet",
    "calves",
    "thighs",
    "inner-thighs",
    "glutes",
    "hips",
    "hip-crease",
    "lower-belly",
    "lower-back",
    "hands",
    "upper-arms",
    "stomach",
    "chest",
    "upper-back",
    "shoulders",
    "neck",
    "forehead",
    "eyes",
    "jaw",
    "face",
)

# What each zone allows (docs/domain.md section 2): Yellow no contractions at all,
# Red passive rest only (no tensing, no touch routines, no deep inward focus).
ZONE_KINDS: Mapping[Zone, frozenset[StepKind]] = {
    Zone.GREEN: frozenset(StepKind),
    Zone.YELLOW: frozenset(StepKind) - {StepKind.TENSE},
    Zone.RED: frozenset({StepKind.REST, StepKind.BREATH, StepKind.RELEASE}),
}

# Longest tense hold per effort level: mild PMR holds about 5 s, never long;
# back-care micro-contractions last 1-2 s (docs/domain.md section 1).
MAX_TENSE_S: Mapping[str, float] = {"mild": 10.0, "micro": 2.0}
MIN_RELEASE_S = 10.0
# No single step (nor a breath) lasts longer than this.
MAX_STEP_S = 3600.0
# A breath phase a person can follow: no quicker than a second (30,000 breaths
# a minute is a typo), no slower than half a minute.
MIN_BREATH_PHASE_S = 1.0
MAX_BREATH_PHASE_S = 30.0
# A routine is one sitting: bounded in steps and in time (two days is far beyond
# any practice, and still lets a day-long test routine through).
MAX_STEPS = 100_000
MAX_ROUTINE_S = 2 * 24 * 3600.0

_NEEDS_REGION = frozenset({StepKind.TENSE, StepKind.MASSAGE, StepKind.IMAGERY})


@record(frozen=True, slots=True)
class Routine:
    """A guided routine as loaded and checked: its header and its steps in order."""

    name: str
    title: str
    zone: Zone
    description: str
    steps: tuple[Step, ...]
    setup: str = ""
    closing_word: str = "Soften"
    effort: str = "mild"
    # True when some groups can be done one side at a time (load with sides=True).
    has_sides: bool = False
    sides: bool = False
    # Taken once: the controller asks for both at every step and every budget check,
    # and walking the steps each time made a long routine cost its square.
    _duration_s: float = field(init=False, repr=False, compare=False)
    _regions: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_duration_s", sum(step.planned_s for step in self.steps))
        seen: dict[str, None] = {}
        for step in self.steps:
            if step.region:
                seen.setdefault(step.region, None)
        object.__setattr__(self, "_regions", tuple(seen))

    @property
    def duration_s(self) -> float:
        """Planned length of the protocol's own steps (no session frame)."""
        return self._duration_s

    @property
    def regions(self) -> tuple[str, ...]:
        """Body regions in the order the protocol visits them."""
        return self._regions

    def safe_in(self, zone: Zone) -> bool:
        """True when every step of this protocol is allowed in ``zone``."""
        return self.zone.rank >= zone.rank


_HEADER_KEYS = {
    "name",
    "title",
    "zone",
    "description",
    "setup",
    "closing_word",
    "effort",
    "defaults",
    "steps",
}
_DEFAULT_KEYS = {"tense_s", "release_s", "pause", "pause_s", "breath_in_s", "breath_out_s"}
_STEP_KEYS = {"id", "kind", "cue", "s", "region", "breath_in_s", "breath_out_s"}
_GROUP_KEYS = {
    "id",
    "region",
    "tense",
    "release",
    "tense_s",
    "release_s",
    "pause",
    "pause_s",
    "sides",
    "tense_side",
    "release_side",
}
SIDES = ("left", "right")
_KINDS: Mapping[object, StepKind] = {k.value: k for k in StepKind}

Fail = Callable[[str, str], ProtocolError]


@record(frozen=True, slots=True)
class _Defaults:
    """A protocol file's [defaults]: what its steps and groups leave out."""

    tense_s: float
    release_s: float
    pause: str | None
    pause_s: float
    breath_in_s: float
    breath_out_s: float


def load_protocol_file(path: Path, *, sides: bool = False, shipped: bool = False) -> Routine:
    """The routine of a protocol file; ``shipped``: one of the package's own (its parse
    may come from the cache of those, see ``inputs.parse_shipped_toml``)."""
    try:
        text = read_text(path)
        data = parse_shipped_toml(text, f"protocol-{path.stem}") if shipped else parse_toml(text)
    except InputMissingError:
        raise ProtocolError(f"{path}: no such protocol file") from None
    except InputFileError as exc:
        raise ProtocolError(f"{path}: {exc}") from None
    return parse_protocol(data, origin=str(path), sides=sides)


def parse_protocol(data: Mapping[str, Any], origin: str, *, sides: bool = False) -> Routine:
    """Build and validate a protocol from parsed TOML; ``origin`` names it in errors."""

    def fail(where: str, what: str) -> ProtocolError:
        return ProtocolError(f"{origin}: {where}: {what}")

    unknown = set(data) - _HEADER_KEYS
    if unknown:
        raise fail("header", f"unknown keys {sorted(unknown)}")
    for key in ("name", "title", "zone"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise fail("header", f"'{key}' must be a non-empty string")
    try:
        zone = Zone(data["zone"])
    except ValueError:
        raise fail("header", f"zone must be green, yellow or red, not {data['zone']!r}") from None
    effort = data.get("effort", "mild")
    if effort not in MAX_TENSE_S:
        raise fail("header", f"effort must be one of {', '.join(MAX_TENSE_S)}, not {effort!r}")
    texts = {key: data.get(key, "") for key in ("description", "setup")}
    texts["closing_word"] = data.get("closing_word", "Soften")
    for key, value in texts.items():
        if not isinstance(value, str):
            raise fail("header", f"'{key}' must be a string")
    if not texts["closing_word"].strip() or len(texts["closing_word"].split()) != 1:
        raise fail("header", "'closing_word' must be one word")
    defaults = _parse_defaults(data.get("defaults", {}), fail)
    entries = data.get("steps")
    if not isinstance(entries, list) or not entries:
        raise fail("steps", "a protocol needs at least one [[steps]] entry")
    steps: list[Step] = []
    has_sides = False
    for index, entry in enumerate(entries, start=1):
        where = f"step {index}"
        if not isinstance(entry, dict):
            raise fail(where, "must be a table")
        if "tense" in entry or "release" in entry:
            has_sides = has_sides or entry.get("sides") is True
            steps.extend(_parse_group(entry, where, defaults, sides, fail))
        else:
            steps.append(_parse_step(entry, where, defaults, fail))
    if len(steps) > MAX_STEPS:
        raise fail("steps", f"at most {MAX_STEPS:,} steps, not {len(steps):,}")
    total_s = sum(step.planned_s for step in steps)
    if total_s > MAX_ROUTINE_S:
        raise fail(
            "steps",
            f"the steps add up to {total_s / 3600:,.1f} h; a routine lasts at most"
            f" {MAX_ROUTINE_S / 3600:g} h",
        )
    ids = [s.id for s in steps]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise fail("steps", f"step ids must be unique; repeated: {', '.join(duplicates)}")
    _check_safety(steps, zone, effort, fail)
    return Routine(
        name=data["name"],
        title=data["title"],
        zone=zone,
        description=texts["description"].strip(),
        steps=tuple(steps),
        setup=texts["setup"].strip(),
        closing_word=texts["closing_word"].strip(),
        effort=effort,
        has_sides=has_sides,
        sides=sides and has_sides,
    )


def _check_safety(steps: list[Step], zone: Zone, effort: str, fail: Fail) -> None:
    allowed = ZONE_KINDS[zone]
    known_regions = frozenset(BODY_ORDER)
    for index, step in enumerate(steps):
        if step.kind not in allowed:
            raise fail(
                _at(step),
                f"a {zone}-zone protocol must not contain {step.kind} steps"
                f" (allowed: {', '.join(sorted(allowed))})",
            )
        if step.region is not None and step.region not in known_regions:
            raise fail(_at(step), f"unknown region {step.region!r}; known: {', '.join(BODY_ORDER)}")
        if step.kind in _NEEDS_REGION and step.region is None:
            raise fail(_at(step), f"a {step.kind} step needs a 'region'")
        breath_in, breath_out = step.breath_in_s, step.breath_out_s
        for key, phase_s in (("breath_in_s", breath_in), ("breath_out_s", breath_out)):
            if phase_s is not None and not MIN_BREATH_PHASE_S <= phase_s <= MAX_BREATH_PHASE_S:
                raise fail(
                    _at(step),
                    f"'{key}' must be {MIN_BREATH_PHASE_S:g} to {MAX_BREATH_PHASE_S:g} s"
                    f" (a breath a person can follow), not {_exact(phase_s)} s",
                )
        if breath_in is not None and breath_out is not None and breath_out < breath_in:
            raise fail(
                _at(step), "breathe out at least as long as in (breath_out_s >= breath_in_s)"
            )
        if step.kind is not StepKind.TENSE:
            continue
        limit = MAX_TENSE_S[effort]
        if step.planned_s > limit:
            raise fail(
                _at(step),
                f"a {effort} tense lasts at most {limit:g} s, not {_exact(step.planned_s)} s",
            )
        after = steps[index + 1] if index + 1 < len(steps) else None
        if after is None or after.kind is not StepKind.RELEASE or after.region != step.region:
            raise fail(
                _at(step), "a tense step must be followed at once by a release of its region"
            )
        if after.planned_s < MIN_RELEASE_S:
            raise fail(
                f"step {after.id!r}",
                f"a release after tensing needs at least {MIN_RELEASE_S:g} s,"
                f" not {_exact(after.planned_s)} s",
            )


def _exact(seconds: float) -> str:
    """A figure as given: 10.000001 stays that, not "10" beside "at most 10"."""
    short = f"{seconds:g}"
    return short if float(short) == seconds else repr(seconds)


def _at(step: Step) -> str:
    # Built only for a message: 100,000 steps need not pay for it.
    return f"step {step.id!r}"


def _parse_defaults(raw: Any, fail: Fail) -> _Defaults:
    if not isinstance(raw, dict):
        raise fail("defaults", "must be a table")
    unknown = set(raw) - _DEFAULT_KEYS
    if unknown:
        raise fail("defaults", f"unknown keys {sorted(unknown)}")
    pause = raw.get("pause")
    if pause is not None and (not isinstance(pause, str) or not pause.strip()):
        raise fail("defaults", "'pause' must be a non-empty cue")

    def seconds(key: str, default: float) -> float:
        return _seconds(raw.get(key, default), "defaults", key, fail)

    return _Defaults(
        tense_s=seconds("tense_s", 5.0),
        release_s=seconds("release_s", 15.0),
        pause=None if pause is None else pause.strip(),
        pause_s=seconds("pause_s", 10.0),
        breath_in_s=seconds("breath_in_s", 4.0),
        breath_out_s=seconds("breath_out_s", 6.0),
    )


def _parse_step(entry: dict[str, Any], where: str, defaults: _Defaults, fail: Fail) -> Step:
    if not _STEP_KEYS.issuperset(entry):
        raise fail(where, f"unknown keys {sorted(set(entry) - _STEP_KEYS)}")
    step_id = entry.get("id")
    if not isinstance(step_id, str) or not step_id:
        raise fail(where, "'id' must be a non-empty string")
    where = f"step {step_id!r}"
    try:
        kind = _KINDS[entry.get("kind")]
    except (KeyError, TypeError):
        kinds = ", ".join(k.value for k in StepKind)
        raise fail(where, f"'kind' must be one of {kinds}") from None
    cue = _cue(entry.get("cue"), where, "cue", fail)
    planned_s = _seconds(entry.get("s"), where, "s", fail)
    breath_in = entry.get("breath_in_s")
    breath_out = entry.get("breath_out_s")
    if (breath_in is None) != (breath_out is None):
        raise fail(where, "give both breath_in_s and breath_out_s, or neither")
    if breath_in is None and kind is StepKind.BREATH:
        breath_in, breath_out = defaults.breath_in_s, defaults.breath_out_s
    region = entry.get("region")
    if region is not None and not isinstance(region, str):
        raise fail(where, "'region' must be a string")
    return Step(
        id=step_id,
        kind=kind,
        cue=cue,
        planned_s=planned_s,
        region=region,
        breath_in_s=None if breath_in is None else _seconds(breath_in, where, "breath_in_s", fail),
        breath_out_s=(
            None if breath_out is None else _seconds(breath_out, where, "breath_out_s", fail)
        ),
    )


def _parse_group(
    entry: dict[str, Any], where: str, defaults: _Defaults, sides: bool, fail: Fail
) -> list[Step]:
    if not _GROUP_KEYS.issuperset(entry):
        raise fail(where, f"unknown keys {sorted(set(entry) - _GROUP_KEYS)}")
    region = entry.get("region")
    if not isinstance(region, str) or not region:
        raise fail(where, "a tense/release group needs a 'region'")
    base = entry.get("id", region)
    if not isinstance(base, str) or not base:
        raise fail(where, "'id' must be a non-empty string")
    where = f"step {base!r}"
    tense_s = _seconds(entry.get("tense_s", defaults.tense_s), where, "tense_s", fail)
    release_s = _seconds(entry.get("release_s", defaults.release_s), where, "release_s", fail)
    tense = _cue(entry.get("tense"), where, "tense", fail)
    release = _cue(entry.get("release"), where, "release", fail)
    pause = entry.get("pause", defaults.pause)
    pause_s = _seconds(entry.get("pause_s", defaults.pause_s), where, "pause_s", fail)
    if pause is not None:
        pause = _cue(pause, where, "pause", fail)
    sided = entry.get("sides", False)
    if not isinstance(sided, bool):
        raise fail(where, "'sides' must be true or false")
    rounds: list[tuple[str, str, str]] = [(base, tense, release)]
    if sided:
        tense_side = _side_template(entry.get("tense_side"), where, "tense_side", fail)
        release_side = _side_template(entry.get("release_side"), where, "release_side", fail)
        if sides:
            rounds = [
                (f"{base}-{s}", tense_side.replace("{side}", s), release_side.replace("{side}", s))
                for s in SIDES
            ]
    elif "tense_side" in entry or "release_side" in entry:
        raise fail(where, "'tense_side' and 'release_side' need 'sides = true'")
    out: list[Step] = []
    for step_id, tense_cue, release_cue in rounds:
        out.append(Step(f"{step_id}-tense", StepKind.TENSE, tense_cue, tense_s, region))
        out.append(Step(f"{step_id}-release", StepKind.RELEASE, release_cue, release_s, region))
    if pause is not None:
        out.append(
            Step(
                f"{base}-pause",
                StepKind.BREATH,
                pause,
                pause_s,
                breath_in_s=defaults.breath_in_s,
                breath_out_s=defaults.breath_out_s,
            )
        )
    return out


def _cue(value: Any, where: str, key: str, fail: Fail) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(where, f"'{key}' cue must be a non-empty string")
    return value.strip()


def _side_template(value: Any, where: str, key: str, fail: Fail) -> str:
    template = _cue(value, where, key, fail)
    if "{side}" not in template:
        raise fail(where, f"'{key}' must contain {{side}}")
    return template


def _seconds(value: Any, where: str, key: str, fail: Fail) -> float:
    # NaN compares false with every limit: a hold that is never too long, a
    # step that never ends. Finite and positive, then, and at most an hour.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_STEP_S
    ):
        raise fail(where, f"'{key}' must be a positive number of seconds, at most {MAX_STEP_S:g}")
    return float(value)


def check_regions(regions: Iterable[str]) -> frozenset[str]:
    """Validate region names a user typed (e.g. for imagery); return them as a set."""
    wanted = frozenset(r.strip() for r in regions if r.strip())
    unknown = sorted(wanted - set(BODY_ORDER))
    if unknown:
        raise ProtocolError(
            f"unknown region {', '.join(map(repr, unknown))}; known: {', '.join(BODY_ORDER)}"
        )
    return wanted


# The package's own files, beside this module (importlib.resources would load
# ~4 ms of modules at every start for what is a plain folder in every install).
BUILTIN_FOLDER = Path(__file__).parent / "protocols"


def builtin_names() -> list[str]:
    folder = BUILTIN_FOLDER
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_protocol(name_or_path: str, *, sides: bool = False) -> Routine:
    """A built-in protocol by name, or a protocol file by path.

    ``sides=True`` expands every group marked ``sides = true`` into a left and
    a right round; protocols without such groups load unchanged.
    """
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return load_protocol_file(Path(name_or_path), sides=sides)
    entry = BUILTIN_FOLDER / f"{name_or_path}.toml"
    if not entry.is_file():
        names = ", ".join(builtin_names())
        raise ProtocolError(f"unknown protocol {name_or_path!r}; choose one of: {names}")
    return load_protocol_file(entry, sides=sides, shipped=True)


def load_all() -> list[Routine]:
    return [load_protocol(name) for name in builtin_names()]
