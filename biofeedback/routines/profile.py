"""The person's practice profile: how this body practises (docs/domain.md sections 1 and 6).

Stored as the ``[profile]`` table of config.toml (``config.py`` reads and writes
the file; this module gives the table its meaning and checks it). ``run`` uses
it by default; its flags override single fields for one session
(``Profile.overridden``). What the profile does to a routine is in
``personalise.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from biofeedback import BiofeedbackError
from biofeedback.models.record import record
from biofeedback.routines import EYES as EYES  # the choices, named here too
from biofeedback.routines import POSITIONS as POSITIONS

# The table's keys, in the order they are written.
KEYS = ("position", "eyes", "painful", "tension_starts", "gentle_joints", "back_pain")


class ProfileError(BiofeedbackError):
    """A profile value is not one this program knows; the message says what is."""


@record(frozen=True, slots=True)
class Profile:
    """How this person practises; every field optional (``None``/empty: no preference).

    ``painful`` regions are done by imagery only; ``tension_starts`` is the
    region a routine starts at; ``gentle_joints`` (sensitive or hypermobile
    joints) asks for micro-contractions and softer cues; ``back_pain`` (active
    back pain) chooses the back-care routine and a supported position.
    """

    position: str | None = None
    eyes: str | None = None
    painful: tuple[str, ...] = ()
    tension_starts: str | None = None
    gentle_joints: bool = False
    back_pain: bool = False

    @property
    def empty(self) -> bool:
        return self == Profile()

    def to_table(self) -> dict[str, Any]:
        """The ``[profile]`` table: only what is set (TOML has no null)."""
        table: dict[str, Any] = {}
        if self.position is not None:
            table["position"] = self.position
        if self.eyes is not None:
            table["eyes"] = self.eyes
        if self.painful:
            table["painful"] = list(self.painful)
        if self.tension_starts is not None:
            table["tension_starts"] = self.tension_starts
        if self.gentle_joints:
            table["gentle_joints"] = True
        if self.back_pain:
            table["back_pain"] = True
        return table

    def to_dict(self) -> dict[str, Any]:
        """Every field, for ``--json`` (None and [] where nothing is set)."""
        return {
            "position": self.position,
            "eyes": self.eyes,
            "painful": list(self.painful),
            "tension_starts": self.tension_starts,
            "gentle_joints": self.gentle_joints,
            "back_pain": self.back_pain,
        }

    def overridden(
        self,
        *,
        imagery: Iterable[str] = (),
        start_region: str | None = None,
        gentle: bool | None = None,
    ) -> Profile:
        """This profile with one session's flags laid over it.

        Imagery regions add to the painful ones (a flag never makes a painful
        region be tensed); the others replace the stored value when given.
        """
        painful = check_regions([*self.painful, *imagery], "--imagery")
        return dataclasses.replace(
            self,
            painful=painful,
            tension_starts=(
                self.tension_starts
                if start_region is None
                else check_region(start_region, "--start-region")
            ),
            gentle_joints=self.gentle_joints if gentle is None else gentle,
        )


def profile_from_table(table: Any, where: str) -> Profile:
    """Read a ``[profile]`` table; ``where`` names the file in errors."""
    if not isinstance(table, Mapping):
        raise ProfileError(f"{where}: [profile] must be a table; see `biofeedback setup --help`")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ProfileError(
            f"{where}: [profile] has unknown keys {', '.join(unknown)}; known: {', '.join(KEYS)}"
        )
    try:
        return Profile(
            position=_optional_choice(table.get("position"), POSITIONS, "position"),
            eyes=_optional_choice(table.get("eyes"), EYES, "eyes"),
            painful=_region_list(table.get("painful", [])),
            tension_starts=(
                None
                if table.get("tension_starts") is None
                else check_region(table["tension_starts"], "tension_starts")
            ),
            gentle_joints=_flag(table.get("gentle_joints", False), "gentle_joints"),
            back_pain=_flag(table.get("back_pain", False), "back_pain"),
        )
    except ProfileError as exc:
        raise ProfileError(
            f"{where}: [profile] {exc}; fix it, or start again with `biofeedback setup --reset`"
        ) from None


def check_choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ProfileError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def check_region(value: Any, name: str) -> str:
    # Here, not at the top: every command that reads the profile would pay for
    # loading the routines (and the models).
    from biofeedback.routines.protocols import BODY_ORDER

    if not isinstance(value, str) or value.strip() not in BODY_ORDER:
        raise ProfileError(f"{name}: unknown body region {value!r}; known: {', '.join(BODY_ORDER)}")
    return value.strip()


def check_regions(values: Iterable[Any], name: str) -> tuple[str, ...]:
    """Known region names, without blanks or repeats, in body order."""
    from biofeedback.routines.protocols import BODY_ORDER

    wanted = {check_region(v, name) for v in values if not (isinstance(v, str) and not v.strip())}
    return tuple(r for r in BODY_ORDER if r in wanted)


def split_regions(text: str) -> list[str]:
    """``"neck, lower-back"`` as a list; an empty text is no regions."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _optional_choice(value: Any, choices: tuple[str, ...], name: str) -> str | None:
    return None if value is None else check_choice(value, choices, name)


def _region_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ProfileError(f'painful must be a list of regions, e.g. ["lower-back"], not {value!r}')
    return check_regions(value, "painful")


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ProfileError(f"{name} must be true or false, not {value!r}")
    return value
