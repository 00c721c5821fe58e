"""The session sink that feeds the dashboard: every item becomes a message.

Posting never waits (Textual's queue takes it at once), so the sink drains its
own bounded queue as fast as the loop fills it and the UI never delays pacing.
"""

from __future__ import annotations

from textual.message_pump import MessagePump

from biofeedback.models import Estimate, HeartSample, SessionEvent, SessionInfo, SourceStatus
from biofeedback.ui.messages import (
    EstimatePosted,
    SamplePosted,
    SessionEventPosted,
    SinkTroublePosted,
    SourceStatusPosted,
)
from biofeedback.ui.state import Trend


class DashboardSink:
    """Posts session items to a screen; keeps the trend the plots draw."""

    name = "dashboard"
    # Handling is instant, so this only fills if the event loop itself stalls.
    queue_size = 10_000

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self.trend = Trend()

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, HeartSample):
            self.target.post_message(SamplePosted(item))
        elif isinstance(item, Estimate):
            self.trend.add(item)
            self.target.post_message(EstimatePosted(item, self.trend.points()))
        else:
            self.trend.add(item)
            self.target.post_message(SessionEventPosted(item))

    async def handle_status(self, status: SourceStatus) -> None:
        self.target.post_message(SourceStatusPosted(status))

    def sink_trouble(self, text: str | None) -> None:
        """Another sink's trouble (see ``session.TroubleReporting``), shown as a banner."""
        self.target.post_message(SinkTroublePosted(text))

    async def stop(self) -> None:
        return None
