"""The session sink that feeds the dashboard: every item becomes a message.

Posting never waits (Textual's queue takes it at once), so the sink drains its
own bounded queue as fast as the loop fills it and the UI never delays pacing.
"""

from __future__ import annotations

from textual.message_pump import MessagePump

from biofeedback.loop.progress import Snapshot
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
        else:
            await self.handle_progress(item, None)

    async def handle_progress(self, event: SessionEvent, snapshot: Snapshot | None) -> None:
        """An event with where the session stood after it (the loop's fold): the
        screen stands there even when items before it were dropped."""
        self.trend.add(event)
        if isinstance(event, Estimate):
            self.target.post_message(EstimatePosted(event, self.trend.points(), snapshot))
        else:
            self.target.post_message(SessionEventPosted(event, snapshot))

    async def handle_status(self, status: SourceStatus) -> None:
        self.target.post_message(SourceStatusPosted(status))

    def sink_trouble(self, text: str | None) -> None:
        """Another sink's trouble (see ``session.TroubleReporting``), shown as a banner."""
        self.target.post_message(SinkTroublePosted(text))

    async def stop(self) -> None:
        return None
