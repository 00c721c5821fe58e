"""Resonance assessments looking back: one session's result, and their trend.

A session that ran the stepped assessment holds a ``resonance_assessed`` event
with the best rate, its confidence and every paced rate's scores; this module
reads it for review and lists repeated assessments for history. No store
access: the CLI hands in recordings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from biofeedback.models import ResonanceAssessed, SessionEvent, StoredSession
from biofeedback.models.record import record

if TYPE_CHECKING:
    from biofeedback.pacing.resonance_plan import NAME as ASSESSMENT_PROTOCOL

__all__ = [
    "ASSESSMENT_PROTOCOL",
    "AssessmentEntry",
    "assessment_in",
    "assessment_json",
    "counts",
    "format_assessment",
    "format_trend",
    "trend_json",
]


def __getattr__(name: str) -> object:
    # The assessment's routine name, loaded when asked for (PEP 562): a review
    # reads an assessment's result without loading the assessment's plan.
    if name == "ASSESSMENT_PROTOCOL":
        from biofeedback.pacing.resonance_plan import NAME

        return NAME
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def assessment_in(events: Iterable[SessionEvent]) -> ResonanceAssessed | None:
    """The assessment's result among a session's events (the last one, if several)."""
    found = None
    for event in events:
        if isinstance(event, ResonanceAssessed):
            found = event
    return found


def assessment_json(event: ResonanceAssessed) -> dict[str, Any]:
    data = event.to_dict()
    data.pop("type", None)
    data["scores"] = [dict(score) for score in event.scores]
    return data


def format_assessment(event: ResonanceAssessed) -> str:
    """The result and a row per paced rate, for a person to read."""
    if event.best_rate_bpm is None:
        head = "Resonance: not enough clean data to tell your rate; try again sitting still."
    else:
        head = (
            f"Resonance: your heart swung most at {event.best_rate_bpm:g} breaths a minute"
            f" (confidence {event.confidence_label}, {event.confidence:.2f})."
        )
    if event.peak_hz is not None:
        head += f" Its spectral peak was {event.peak_hz:.3f} Hz."
    lines = [head, "  rate/min  score  swing bpm  wave bpm  LF ms²  peak Hz  phase  smooth"]
    for score in event.scores:
        if not score.get("usable"):
            lines.append(f"  {score['rate_bpm']:>8g}  (not scored: too few clean beats)")
            continue
        lines.append(
            f"  {score['rate_bpm']:>8g}  {score['score']:>5.2f}  {_num(score['swing_bpm']):>9}"
            f"  {_num(score.get('paced_swing_bpm')):>8}  {_num(score['lf_power_ms2'], 0):>6}"
            f"  {_num(score['peak_hz'], 3):>7}  {_num(score['phase_agreement']):>5}"
            f"  {_num(score['smoothness']):>6}"
        )
    return "\n".join(lines)


def _num(value: object, digits: int = 2) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def counts(result: ResonanceAssessed, end_reason: str | None) -> bool:
    """Whether an assessment says what the person's rate is: it ran all its rates
    (a stopped one scored only some) and found one with more than low confidence.
    Only such a one enters the trend or paces later sessions."""
    return (
        end_reason == "completed"
        and result.best_rate_bpm is not None
        and result.confidence_label != "low"
    )


@record(frozen=True, slots=True)
class AssessmentEntry:
    """One stored resonance assessment: its session, when, whether simulated, the
    result and how the session ended."""

    session_id: str
    started_at_unix_s: float
    virtual: bool
    result: ResonanceAssessed
    end_reason: str | None = "completed"

    @property
    def counts(self) -> bool:
        return counts(self.result, self.end_reason)

    @property
    def why_not_counted(self) -> str:
        if self.end_reason != "completed":
            return "stopped before its last rate"
        if self.result.best_rate_bpm is None:
            return "no rate found"
        return f"{self.result.confidence_label} confidence"


def trend_json(entries: Sequence[AssessmentEntry]) -> list[dict[str, Any]]:
    """Newest first, each with its per-rate scores."""
    return [
        {
            "session_id": e.session_id,
            "started_at_unix_s": round(e.started_at_unix_s, 3),
            "virtual": e.virtual,
            "counts_in_trend": e.counts,
            **assessment_json(e.result),
        }
        for e in entries
    ]


def format_trend(entries: Sequence[AssessmentEntry]) -> str:
    """Repeated assessments, newest first, and how the rate has moved."""
    if not entries:
        return ""
    import time

    lines = ["Resonance assessments (newest first):"]
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.started_at_unix_s))
        rate = "-" if e.result.best_rate_bpm is None else f"{e.result.best_rate_bpm:g}/min"
        sim = "  (simulated)" if e.virtual else ""
        left_out = "" if e.counts else f"  (not counted: {e.why_not_counted})"
        lines.append(
            f"  {when}  {e.session_id}  {rate:>8}  confidence {e.result.confidence_label}"
            f"{sim}{left_out}"
        )
    rates = [e.result.best_rate_bpm for e in entries if e.counts and e.result.best_rate_bpm]
    if len(rates) >= 2:
        change = rates[0] - rates[-1]
        lines.append(
            f"  Your rate moved {change:+.2f} breaths a minute over {len(rates)} assessments."
        )
    return "\n".join(lines)


def entry(session: StoredSession, events: Iterable[SessionEvent]) -> AssessmentEntry | None:
    result = assessment_in(events)
    if result is None:
        return None
    return AssessmentEntry(
        session.session_id, session.started_at_unix_s, session.virtual, result, session.end_reason
    )
