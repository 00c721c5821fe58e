"""The plan as an iCalendar file (RFC 5545): one weekly recurring event per practice.

Times are *floating* (no time zone): "12:45" means 12:45 wherever the person
is, which is what a habit reminder wants. UIDs are stable per plan entry, so
importing a changed plan again updates the events instead of adding copies.
Each event is transparent (it does not block the time as busy) and carries a
display alarm at its start.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from biofeedback import __version__
from biofeedback.practice.plan import Plan, PlanItem

_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
CALENDAR_NAME = "Relaxation practice"


def plan_to_ics(plan: Plan, *, now: datetime, first_day: date) -> str:
    """The calendar text (CRLF lines, folded at 75 octets); ``now`` stamps it."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//biofeedback//practice plan {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(CALENDAR_NAME)}",
    ]
    for item in plan.items:
        lines += _event(item, stamp, first_day)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _event(item: PlanItem, stamp: str, first_day: date) -> list[str]:
    start = _first_occurrence(item, first_day)
    # The habit first: the reminder reads as "after X, do Y" (habit stacking).
    summary = item.cue().removesuffix(".")
    description = "\n".join(
        (
            f"{item.title}, {item.minutes} minutes.",
            f"Start it with: biofeedback run --protocol {item.routine}",
            "Tense at about 4 out of 10, never hard; the letting go is the point.",
        )
    )
    return [
        "BEGIN:VEVENT",
        f"UID:{item.name}.plan@biofeedback",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start:%Y%m%d}T{item.hour:02d}{item.minute:02d}00",
        f"DURATION:PT{item.minutes}M",
        f"RRULE:FREQ=WEEKLY;BYDAY={','.join(_BYDAY[d] for d in item.days)}",
        f"SUMMARY:{_text(summary)}",
        f"DESCRIPTION:{_text(description)}",
        "TRANSP:TRANSPARENT",
        "CATEGORIES:Relaxation",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER;RELATED=START:PT0M",
        f"DESCRIPTION:{_text(summary)}",
        "END:VALARM",
        "END:VEVENT",
    ]


def _first_occurrence(item: PlanItem, first_day: date) -> date:
    # DTSTART must itself be an occurrence of the rule (RFC 5545 3.8.5.3).
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        if day.weekday() in item.days:
            return day
    raise ValueError(f"plan entry {item.name!r} has no days")


def _text(value: str) -> str:
    """A TEXT value escaped (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 5545 3.1)."""
    out: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = 75 if not out else 74  # continuation lines start with a space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)
