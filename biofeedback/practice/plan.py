"""The weekly practice plan: when, how long, which routine, and the habit it hangs on.

The default follows the practice guide (docs/domain.md section 6): 5 minutes on
weekdays, 10 minutes two or three evenings a week, a longer bedtime session when
stress is high, and a check-in after long sitting, each attached to something the
person already does. It is edited as ``[plan.NAME]`` tables in config.toml::

    [plan.weekday]
    title = "Weekday reset"
    days = ["mon", "tue", "wed", "thu", "fri"]
    time = "12:45"
    minutes = 5
    routine = "work-reset"
    after = "lunch"            # the habit it follows
    when = ""                  # optional: "stress is high"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from biofeedback.models.record import record
from biofeedback.practice import PracticeError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = DAYS[:5]
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_KEYS = {"title", "days", "time", "minutes", "routine", "after", "when"}


class PlanError(PracticeError):
    """A ``[plan]`` entry that cannot be used; the message names the entry and the fix."""


@record(frozen=True, slots=True)
class PlanItem:
    """One ``[plan]`` entry: the routine, on which weekdays at what time, for how many
    minutes, and the habit it follows."""

    name: str
    title: str
    days: tuple[int, ...]  # 0 = Monday, as datetime.weekday()
    hour: int
    minute: int
    minutes: int
    routine: str
    after: str
    when: str = ""

    @property
    def time(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    @property
    def day_names(self) -> tuple[str, ...]:
        return tuple(DAYS[d] for d in self.days)

    def cue(self) -> str:
        """The habit-stacked line: after the anchor, this practice."""
        first = f"If {self.when}, after {self.after}" if self.when else f"After {self.after}"
        return f"{first}: {self.title.lower()}, {self.minutes} minutes."

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "title": self.title,
            "days": list(self.day_names),
            "time": self.time,
            "minutes": self.minutes,
            "routine": self.routine,
            "after": self.after,
        }
        if self.when:
            table["when"] = self.when
        return table

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.to_table(), "when": self.when, "cue": self.cue()}


@record(frozen=True, slots=True)
class Plan:
    """A person's practice plan: its items, and whether it is the default one."""

    items: tuple[PlanItem, ...]
    default: bool = False

    def on(self, weekday: int) -> tuple[PlanItem, ...]:
        """Items planned for a weekday (0 = Monday), by time of day."""
        return tuple(
            sorted((i for i in self.items if weekday in i.days), key=lambda i: (i.hour, i.minute))
        )

    def to_table(self) -> dict[str, Any]:
        return {item.name: item.to_table() for item in self.items}

    def to_dict(self) -> dict[str, Any]:
        return {"default": self.default, "items": [i.to_dict() for i in self.items]}


DEFAULT_TABLE: Mapping[str, Mapping[str, Any]] = {
    "weekday": {
        "title": "Weekday reset",
        "days": list(WEEKDAYS),
        "time": "12:45",
        "minutes": 5,
        "routine": "work-reset",
        "after": "lunch",
    },
    "sitting": {
        "title": "Check-in after sitting",
        "days": list(WEEKDAYS),
        "time": "15:30",
        "minutes": 6,
        "routine": "back-care",
        "after": "a long stretch of sitting",
    },
    "evening": {
        "title": "Evening practice",
        "days": ["tue", "thu", "sun"],
        "time": "20:00",
        "minutes": 10,
        "routine": "full",
        "after": "dinner",
    },
    "bedtime": {
        "title": "Longer bedtime session",
        "days": list(DAYS),
        "time": "22:15",
        "minutes": 10,
        "routine": "bedtime",
        "after": "brushing your teeth",
        "when": "today was stressful",
    },
}


def default_plan() -> Plan:
    return Plan(tuple(parse_item(n, t) for n, t in DEFAULT_TABLE.items()), default=True)


def parse_plan(table: Mapping[str, Any] | None, *, known_routines: frozenset[str]) -> Plan:
    """The plan from config.toml's ``[plan]`` table; the default when there is none."""
    if not table:
        return default_plan()
    items = []
    for name, entry in table.items():
        if not isinstance(entry, Mapping):
            raise PlanError(
                f"[plan] holds one table per practice, e.g. [plan.weekday]; {name!r} is not one"
            )
        item = parse_item(name, entry)
        if item.routine not in known_routines and not item.routine.endswith(".toml"):
            raise PlanError(
                f"[plan.{name}]: unknown routine {item.routine!r}; choose one of:"
                f" {', '.join(sorted(known_routines))}"
            )
        items.append(item)
    return Plan(tuple(items))


def parse_item(name: str, entry: Mapping[str, Any]) -> PlanItem:
    where = f"[plan.{name}]"
    if not _NAME.match(name):
        raise PlanError(f"{where}: name a practice with lowercase letters, digits and '-'")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise PlanError(f"{where}: unknown keys {unknown}; known: {', '.join(sorted(_KEYS))}")
    days = entry.get("days", list(DAYS))
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, str) and d.lower()[:3] in DAYS for d in days)
    ):
        raise PlanError(f'{where}: days must be a list like ["mon", "wed", "fri"]')
    time_text = entry.get("time")
    match = _TIME.match(time_text) if isinstance(time_text, str) else None
    if match is None:
        raise PlanError(f'{where}: time must be a 24-hour HH:MM, e.g. time = "20:00"')
    minutes = entry.get("minutes", 5)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 90:
        raise PlanError(f"{where}: minutes must be a whole number from 1 to 90")
    texts: dict[str, str] = {}
    for key, fallback in (("title", name), ("routine", ""), ("after", ""), ("when", "")):
        value = entry.get(key, fallback)
        if not isinstance(value, str):
            raise PlanError(f"{where}: {key} must be text")
        texts[key] = value.strip()
    if not texts["routine"]:
        raise PlanError(f'{where}: name its routine, e.g. routine = "work-reset"')
    if not texts["after"]:
        raise PlanError(f'{where}: name the habit it follows, e.g. after = "lunch"')
    return PlanItem(
        name=name,
        title=texts["title"] or name,
        days=tuple(sorted({DAYS.index(d.lower()[:3]) for d in days})),
        hour=int(match.group(1)),
        minute=int(match.group(2)),
        minutes=minutes,
        routine=texts["routine"],
        after=texts["after"],
        when=texts["when"],
    )
