"""Every message the dashboard passes around, as small dataclasses.

The session's sink posts these to the session screen. The high-rate ones
(estimates with their trend, raw samples) override ``can_replace``: when the UI
falls behind, a burst collapses to the latest, which carries everything the
screen needs. Discrete events are never collapsed.
"""

from __future__ import annotations

from textual.message import Message

from biofeedback.loop.progress import Snapshot
from biofeedback.models import Estimate, HeartSample, SessionEvent, SourceStatus
from biofeedback.models.record import record
from biofeedback.ui.state import StrapLike, TrendPoint


@record
class SessionEventPosted(Message):
    """A discrete session event (step, zone, signal, action, advice, end), with
    where the session stood after it (``snapshot``, from the loop's one fold)."""

    event: SessionEvent
    snapshot: Snapshot | None = None


@record
class EstimatePosted(Message):
    """The 1 Hz estimate, with the trend of the last minutes up to it."""

    estimate: Estimate
    trend: tuple[TrendPoint, ...]
    snapshot: Snapshot | None = None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EstimatePosted)


@record
class SamplePosted(Message):
    """A raw notification from the strap (contact, time)."""

    sample: HeartSample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SamplePosted)


@record
class SourceStatusPosted(Message):
    """The source's connection changed or reported its battery."""

    status: SourceStatus


@record
class StrapsFound(Message):
    """One scan's worth of straps heard nearby."""

    straps: tuple[StrapLike, ...]


@record
class StrapChosen(Message):
    """The person chose the strap to remember."""

    address: str
    name: str | None


@record
class WorkFailed(Message):
    """Background work (a scan, a session) failed; the app ends with this error."""

    error: BaseException


@record
class LeaveWhenDone(Message):
    """The person wants to leave: the app exits once the session has finished."""


@record
class ReviewRequested(Message):
    """The person asked to review one past session (from the history)."""

    session_id: str


@record
class SinkTroublePosted(Message):
    """A sink (the recorder) stopped doing its job, or is back (``text`` None)."""

    text: str | None
