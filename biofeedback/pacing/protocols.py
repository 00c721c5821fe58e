"""Guided routines as data: load and validate ``protocols/*.toml``.

A protocol file names its zone and lists its steps. A ``[[groups]]`` entry is
shorthand for a tense step followed by a release step on one body region.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from biofeedback import BiofeedbackError
from biofeedback.models import Step, StepKind, Zone


class ProtocolError(BiofeedbackError):
    """A protocol file is missing or wrong; the message names file, step and fault."""


@dataclass(frozen=True, slots=True)
class Protocol:
    name: str
    title: str
    zone: Zone
    description: str
    steps: tuple[Step, ...]

    @property
    def duration_s(self) -> float:
        return sum(step.planned_s for step in self.steps)

    @property
    def regions(self) -> tuple[str, ...]:
        """Body regions in the order the protocol visits them."""
        seen: dict[str, None] = {}
        for step in self.steps:
            if step.region:
                seen.setdefault(step.region, None)
        return tuple(seen)


_STEP_KEYS = {"id", "kind", "cue", "s", "region", "breath_in_s", "breath_out_s"}
_GROUP_KEYS = {"region", "tense", "release", "tense_s", "release_s", "id"}


def load_protocol_file(path: Path) -> Protocol:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProtocolError(f"{path}: no such protocol file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{path}: cannot read protocol file ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{path}: not valid TOML ({exc})") from exc
    return parse_protocol(data, origin=str(path))


def parse_protocol(data: Mapping[str, Any], origin: str) -> Protocol:
    def fail(where: str, what: str) -> ProtocolError:
        return ProtocolError(f"{origin}: {where}: {what}")

    for key in ("name", "title", "zone"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise fail("header", f"'{key}' must be a non-empty string")
    try:
        zone = Zone(data["zone"])
    except ValueError:
        raise fail("header", f"zone must be green, yellow or red, not {data['zone']!r}") from None
    defaults = data.get("defaults", {})
    tense_s = float(defaults.get("tense_s", 5.0))
    release_s = float(defaults.get("release_s", 15.0))
    entries = data.get("steps")
    if not isinstance(entries, list) or not entries:
        raise fail("steps", "a protocol needs at least one [[steps]] entry")
    steps: list[Step] = []
    for index, entry in enumerate(entries, start=1):
        where = f"step {index}"
        if not isinstance(entry, dict):
            raise fail(where, "must be a table")
        if "tense" in entry or "release" in entry:
            steps.extend(_parse_group(entry, where, tense_s, release_s, fail))
        else:
            steps.append(_parse_step(entry, where, fail))
    ids = [s.id for s in steps]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise fail("steps", f"step ids must be unique; repeated: {', '.join(duplicates)}")
    if zone is Zone.RED and any(s.kind is StepKind.TENSE for s in steps):
        raise fail("steps", "a red-zone protocol must not contain tense steps")
    return Protocol(
        name=data["name"],
        title=data["title"],
        zone=zone,
        description=str(data.get("description", "")),
        steps=tuple(steps),
    )


def _parse_step(entry: dict[str, Any], where: str, fail: Any) -> Step:
    unknown = set(entry) - _STEP_KEYS
    if unknown:
        raise fail(where, f"unknown keys {sorted(unknown)}")
    step_id = entry.get("id")
    if not isinstance(step_id, str) or not step_id:
        raise fail(where, "'id' must be a non-empty string")
    where = f"step {step_id!r}"
    try:
        kind = StepKind(str(entry.get("kind")))
    except ValueError:
        kinds = ", ".join(k.value for k in StepKind)
        raise fail(where, f"'kind' must be one of {kinds}") from None
    cue = entry.get("cue")
    if not isinstance(cue, str) or not cue.strip():
        raise fail(where, "'cue' must be a non-empty string")
    planned_s = _seconds(entry.get("s"), where, "s", fail)
    breath_in = entry.get("breath_in_s")
    breath_out = entry.get("breath_out_s")
    if (breath_in is None) != (breath_out is None):
        raise fail(where, "give both breath_in_s and breath_out_s, or neither")
    region = entry.get("region")
    if region is not None and not isinstance(region, str):
        raise fail(where, "'region' must be a string")
    return Step(
        id=step_id,
        kind=kind,
        cue=cue.strip(),
        planned_s=planned_s,
        region=region,
        breath_in_s=None if breath_in is None else _seconds(breath_in, where, "breath_in_s", fail),
        breath_out_s=(
            None if breath_out is None else _seconds(breath_out, where, "breath_out_s", fail)
        ),
    )


def _parse_group(
    entry: dict[str, Any], where: str, tense_s: float, release_s: float, fail: Any
) -> list[Step]:
    unknown = set(entry) - _GROUP_KEYS
    if unknown:
        raise fail(where, f"unknown keys {sorted(unknown)}")
    region = entry.get("region")
    if not isinstance(region, str) or not region:
        raise fail(where, "a tense/release group needs a 'region'")
    base = str(entry.get("id", region))
    out = []
    for kind, key, default in (
        (StepKind.TENSE, "tense", tense_s),
        (StepKind.RELEASE, "release", release_s),
    ):
        cue = entry.get(key)
        if not isinstance(cue, str) or not cue.strip():
            raise fail(f"step {base!r}", f"'{key}' cue must be a non-empty string")
        planned = _seconds(entry.get(f"{key}_s", default), f"step {base!r}", f"{key}_s", fail)
        out.append(Step(f"{base}-{key}", kind, cue.strip(), planned, region))
    return out


def _seconds(value: Any, where: str, key: str, fail: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise fail(where, f"'{key}' must be a positive number of seconds")
    return float(value)


def builtin_names() -> list[str]:
    folder = resources.files("biofeedback.pacing") / "protocols"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_protocol(name_or_path: str) -> Protocol:
    """A built-in protocol by name, or a protocol file by path."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return load_protocol_file(Path(name_or_path))
    folder = resources.files("biofeedback.pacing") / "protocols"
    entry = folder / f"{name_or_path}.toml"
    if not entry.is_file():
        names = ", ".join(builtin_names())
        raise ProtocolError(f"unknown protocol {name_or_path!r}; choose one of: {names}")
    with resources.as_file(entry) as path:
        return load_protocol_file(path)


def load_all() -> list[Protocol]:
    return [load_protocol(name) for name in builtin_names()]
