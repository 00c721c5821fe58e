"""Patterns over sessions, not one session: rating changes, a share with its
interval, practice days and the streak."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from biofeedback.models.record import record
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.ratings import SCALES, change

RECENT_SESSIONS = 10
Z_95 = 1.959964
# A session stopped within its first minute is not counted as a practice day.
MIN_PRACTICE_S = 60.0


@record(frozen=True, slots=True)
class Share:
    """``hits`` of ``n`` with a 95 % Wilson score interval (sound for small n)."""

    hits: int
    n: int
    low: float
    high: float

    @property
    def share(self) -> float | None:
        return self.hits / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "sessions": self.n,
            "fell": self.hits,
            "share": None if share is None else round(share, 3),
            "interval_95": [round(self.low, 3), round(self.high, 3)] if self.n else None,
        }


def wilson(hits: int, n: int, z: float = Z_95) -> Share:
    if n <= 0:
        return Share(0, 0, 0.0, 1.0)
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Share(hits, n, max(0.0, centre - half), min(1.0, centre + half))


@record(frozen=True, slots=True)
class RatingPattern:
    """Over the latest ``window`` sessions with ratings before and after."""

    window: int
    rated_sessions: int
    median_change: dict[str, float | None]
    tension_fell: Share

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_sessions": self.window,
            "rated_sessions": self.rated_sessions,
            "median_change": self.median_change,
            "tension_fell": self.tension_fell.to_dict(),
        }


def rating_pattern(
    history: Sequence[SessionOutcome], window: int = RECENT_SESSIONS
) -> RatingPattern:
    """Median after-minus-before per scale, and how often tension fell (newest first)."""
    rated = [o for o in history if o.before is not None and o.after is not None][:window]
    changes = [change(o.before, o.after) for o in rated]
    medians: dict[str, float | None] = {}
    for scale in SCALES:
        values = [v for c in changes if (v := c[scale]) is not None]
        medians[scale] = float(statistics.median(values)) if values else None
    tension = [c["tension"] for c in changes if c["tension"] is not None]
    return RatingPattern(
        window, len(rated), medians, wilson(sum(1 for d in tension if d < 0), len(tension))
    )


@record(frozen=True, slots=True)
class PracticeDays:
    """On how many days the person practised in the last 7 and 28, the streak and the
    last day."""

    days_last_7: int
    days_last_28: int
    streak_days: int
    last_day: date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "days_last_7": self.days_last_7,
            "days_last_28": self.days_last_28,
            "streak_days": self.streak_days,
            "last_day": None if self.last_day is None else self.last_day.isoformat(),
        }


def practice_days(history: Iterable[SessionOutcome], today: date) -> PracticeDays:
    """Days with a practice (local dates) and the run of days up to today.

    A streak still counts on a day not yet practised: it is broken only by a
    whole day missed.
    """
    days = {
        datetime.fromtimestamp(o.started_at_unix_s).date()
        for o in history
        if o.finished and o.length_s >= MIN_PRACTICE_S
    }
    streak = 0
    day = today if today in days else today - timedelta(days=1)
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return PracticeDays(
        sum(1 for d in days if 0 <= (today - d).days < 7),
        sum(1 for d in days if 0 <= (today - d).days < 28),
        streak,
        max(days) if days else None,
    )
