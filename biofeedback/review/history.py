"""Sessions over time: the list, newest first, and trends of the resting values."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from biofeedback.models import StoredSession
from biofeedback.models.record import record
from biofeedback.review.text import clock, iso, local, num, rounded


@record(frozen=True, slots=True)
class Trend:
    """Median of the latest sessions against the median of the ones before."""

    recent: float
    earlier: float
    change: float
    recent_sessions: int
    earlier_sessions: int


@record(frozen=True, slots=True)
class HistoryEntry:
    """One past session: when, which routine and source, how it ended, and its resting
    figures."""

    session_id: str
    started_at_unix_s: float
    protocol: str
    source: str
    virtual: bool
    finished: bool
    end_reason: str | None
    duration_s: float
    resting_hr_bpm: float | None
    resting_rmssd_ms: float | None


@record(frozen=True, slots=True)
class History:
    """Past sessions, the resting HR and RMSSD trends, and whether the trends include
    simulated sessions."""

    entries: tuple[HistoryEntry, ...]
    hr_trend: Trend | None
    rmssd_trend: Trend | None
    trend_includes_virtual: bool

    def to_dict(self) -> dict[str, Any]:
        def trend(t: Trend | None) -> dict[str, Any] | None:
            if t is None:
                return None
            return {k: rounded(v) if isinstance(v, float) else v for k, v in asdict(t).items()}

        return {
            "sessions": [
                {
                    **{k: rounded(v) if isinstance(v, float) else v for k, v in asdict(e).items()},
                    "started_at": iso(e.started_at_unix_s),
                }
                for e in self.entries
            ],
            "trend": {
                "resting_hr_bpm": trend(self.hr_trend),
                "resting_rmssd_ms": trend(self.rmssd_trend),
                "includes_simulated": self.trend_includes_virtual,
            },
        }


TREND_SESSIONS = 5


def build_history(sessions: Sequence[StoredSession]) -> History:
    """Sessions newest first, with trends of the resting values (the baselines)."""
    entries = tuple(
        HistoryEntry(
            session_id=s.session_id,
            started_at_unix_s=s.started_at_unix_s,
            protocol=s.protocol,
            source=s.source,
            virtual=s.virtual,
            finished=s.finished,
            end_reason=s.end_reason,
            duration_s=s.length_s,
            resting_hr_bpm=s.baseline_hr_bpm,
            resting_rmssd_ms=s.baseline_rmssd_ms,
        )
        for s in sessions
    )
    live = [e for e in entries if not e.virtual]
    pool, includes_virtual = (live, False) if len(live) >= 2 else (list(entries), bool(entries))
    includes_virtual = includes_virtual and any(e.virtual for e in pool)
    return History(
        entries,
        _trend([e.resting_hr_bpm for e in pool]),
        _trend([e.resting_rmssd_ms for e in pool]),
        includes_virtual,
    )


def _trend(newest_first: Sequence[float | None]) -> Trend | None:
    known = [v for v in newest_first if v is not None]
    if len(known) < 2:
        return None
    recent = known[: min(TREND_SESSIONS, len(known) // 2 or 1)]
    earlier = known[len(recent) : len(recent) + TREND_SESSIONS]
    r, e = statistics.median(recent), statistics.median(earlier)
    return Trend(r, e, r - e, len(recent), len(earlier))


def format_history(history: History) -> str:
    if not history.entries:
        return "No sessions recorded yet. Try one with: biofeedback run --sim"
    rows = [("when", "session", "protocol", "length", "rest HR", "RMSSD", "status / source")]
    for e in history.entries:
        status = (e.end_reason or "finished") if e.finished else "UNFINISHED"
        rows.append(
            (
                local(e.started_at_unix_s),
                e.session_id,
                e.protocol,
                clock(e.duration_s),
                num(e.resting_hr_bpm, "bpm"),
                num(e.resting_rmssd_ms, "ms"),
                f"{status} / {e.source}",
            )
        )
    # Columns as wide as their widest cell: protocol names and ids vary in length.
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    right = {3, 4, 5}
    lines = [
        "  ".join(
            [
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(row[:-1])
            ]
            + [row[-1]]
        )
        for row in rows
    ]
    for label, trend, unit in (
        ("resting HR", history.hr_trend, "bpm"),
        ("resting RMSSD", history.rmssd_trend, "ms"),
    ):
        if trend is None:
            continue
        lines.append(
            f"Trend of {label}: {trend.recent:.1f} {unit} over the latest"
            f" {trend.recent_sessions} session(s), {trend.change:+.1f} {unit} against the"
            f" {trend.earlier_sessions} before"
        )
    if history.hr_trend is None:
        lines.append(
            "No trend yet: it needs two sessions that reached their resting baseline"
            " (the first minute); simulated or replayed ones count only while you have"
            " fewer than two with your own strap."
        )
    if history.trend_includes_virtual:
        lines.append("(the trends include simulated or replayed sessions)")
    return "\n".join(lines)
