"""Ratings and patterns in review and history: how you felt against what the heart did.

A session's review sets the change the person rated (after minus before)
beside the body's own change (final two minutes against the baseline).
History adds the patterns over the latest sessions (``practice.stats``) and
"where you brace": per body region, the heart's median response to tensing it
and to letting it go, across sessions.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date
from typing import Any

from biofeedback.models.record import record
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.ratings import SCALES, Ratings, change, ratings_dict
from biofeedback.practice.stats import (
    RECENT_SESSIONS,
    PracticeDays,
    RatingPattern,
    practice_days,
    rating_pattern,
)
from biofeedback.review.summary import SessionSummary
from biofeedback.review.text import num, rounded


def session_ratings(
    summary: SessionSummary, before: Ratings | None, after: Ratings | None
) -> dict[str, Any]:
    """The ``ratings`` object of ``review --json``: felt change and the body's change."""
    body = {
        "hr_bpm": rounded(_minus(summary.final.hr_bpm, summary.baseline.hr_bpm)),
        "rmssd_ms": rounded(_minus(summary.final.rmssd_ms, summary.baseline.rmssd_ms)),
        "window_s": summary.final_window_s,
    }
    return {**ratings_dict(before, after), "body_change": body}


def format_session_ratings(
    summary: SessionSummary, before: Ratings | None, after: Ratings | None
) -> str:
    if before is None and after is None:
        return "  how you felt: not rated"
    delta = change(before, after)
    parts = []
    for scale in SCALES:
        b = None if before is None else getattr(before, scale)
        a = None if after is None else getattr(after, scale)
        if a is None and b is None:
            continue
        d = delta[scale]
        shift = f" ({d:+d})" if d is not None else ""
        parts.append(f"{scale} {'-' if b is None else b} -> {'-' if a is None else a}{shift}")
    hr = _minus(summary.final.hr_bpm, summary.baseline.hr_bpm)
    rmssd = _minus(summary.final.rmssd_ms, summary.baseline.rmssd_ms)
    return (
        f"  how you felt (0-10): {', '.join(parts)}\n"
        f"  your body: HR {num(hr, 'bpm', sign=True)}, RMSSD {num(rmssd, 'ms', sign=True)}"
        f" (final {summary.final_window_s / 60:g} minutes against the baseline)"
    )


@record(frozen=True, slots=True)
class BraceRegion:
    """A body region's median heart response across sessions."""

    region: str
    sessions: int
    rise_bpm: float | None
    settle_bpm: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "sessions": self.sessions,
            "rise_bpm": rounded(self.rise_bpm),
            "settle_bpm": rounded(self.settle_bpm),
        }


def where_you_brace(summaries: Sequence[SessionSummary]) -> tuple[BraceRegion, ...]:
    """Regions by how much the heart rises when tensing them (largest first).

    A region whose release settles above where it began (``settle_bpm`` > 0)
    is one the body keeps guarding after letting go.
    """
    rises: dict[str, list[float]] = {}
    settles: dict[str, list[float]] = {}
    seen: dict[str, int] = {}
    for summary in summaries:
        for r in summary.regions:
            seen[r.region] = seen.get(r.region, 0) + 1
            if r.rise_bpm is not None:
                rises.setdefault(r.region, []).append(r.rise_bpm)
            if r.settle_bpm is not None:
                settles.setdefault(r.region, []).append(r.settle_bpm)
    out = [
        BraceRegion(
            region,
            count,
            statistics.median(rises[region]) if region in rises else None,
            statistics.median(settles[region]) if region in settles else None,
        )
        for region, count in seen.items()
    ]
    out.sort(key=lambda b: -(b.rise_bpm if b.rise_bpm is not None else -1e9))
    return tuple(out)


@record(frozen=True, slots=True)
class PracticeHistory:
    """The practice side of the history: the ratings' pattern, the practice days and
    the regions braced."""

    ratings: RatingPattern
    days: PracticeDays
    brace: tuple[BraceRegion, ...]
    brace_sessions: int
    brace_simulated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.ratings.to_dict(),
            **self.days.to_dict(),
            "where_you_brace": {
                "sessions": self.brace_sessions,
                "from_simulated": self.brace_simulated,
                "regions": [b.to_dict() for b in self.brace],
            },
        }


def build_practice_history(
    outcomes: Sequence[SessionOutcome],
    summaries: Sequence[SessionSummary],
    today: date,
    window: int = RECENT_SESSIONS,
    *,
    brace_simulated: bool = False,
    rated: Sequence[SessionOutcome] | None = None,
) -> PracticeHistory:
    """``outcomes`` newest first; ``summaries`` of the sessions to read the body from;
    ``rated``: the latest rated sessions, however old (None: those in ``outcomes``)."""
    return PracticeHistory(
        rating_pattern(outcomes if rated is None else rated, window),
        practice_days(outcomes, today),
        where_you_brace(summaries),
        len(summaries),
        brace_simulated,
    )


def format_practice_history(p: PracticeHistory) -> str:
    lines = [
        f"Practice: {p.days.days_last_7} day(s) in the last 7, {p.days.days_last_28} in the"
        f" last 28; streak {p.days.streak_days} day(s)"
    ]
    r = p.ratings
    if r.rated_sessions:
        medians = ", ".join(
            f"{scale} {v:+g}" for scale, v in r.median_change.items() if v is not None
        )
        lines.append(
            f"Ratings over the latest {r.rated_sessions} rated session(s): median change {medians}"
        )
        share = r.tension_fell
        if share.n:
            lines.append(
                f"Tension fell in {share.hits} of {share.n} session(s)"
                f" ({100 * share.hits / share.n:.0f} %, likely range"
                f" {100 * share.low:.0f}-{100 * share.high:.0f} %)"
            )
    else:
        lines.append("Ratings: none yet (rate a session with --rate-before and --rate-after)")
    braced = [b for b in p.brace if (b.rise_bpm or 0.0) > 0][:3]
    if braced:
        lines.append(
            f"Where you brace (heart rise when tensing, over {p.brace_sessions} session(s)): "
            + ", ".join(
                f"{b.region} {num(b.rise_bpm, 'bpm', sign=True)}"
                + (" (stays up after letting go)" if (b.settle_bpm or 0) > 0 else "")
                for b in braced
            )
            + (" (from simulated sessions)" if p.brace_simulated else "")
        )
    return "\n".join(lines)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
