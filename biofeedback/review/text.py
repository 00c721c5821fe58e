"""How review prints numbers and times: rounding for JSON, clocks and units for people."""

from __future__ import annotations

import math
from datetime import datetime


def rounded(value: float | None, digits: int = 3) -> float | None:
    """A float for JSON: rounded, with NaN as None."""
    return None if value is None or math.isnan(value) else round(value, digits)


def iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).astimezone().isoformat(timespec="seconds")


def local(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).strftime("%Y-%m-%d %H:%M")


def clock(t_s: float) -> str:
    """mm:ss, or h:mm:ss from an hour on."""
    total = round(t_s)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def num(value: float | None, unit: str, fmt: str = ".1f", sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:{'+' if sign else ''}{fmt}} {unit}"
