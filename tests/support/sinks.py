"""Sinks a test reads back."""

from __future__ import annotations

from biofeedback.models import HeartSample, SessionEvent, SessionInfo


class ListSink:
    name = "list"
    queue_size = 100_000

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self.samples: list[HeartSample] = []

    async def start(self, info: SessionInfo) -> None:
        self.info = info

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, HeartSample):
            self.samples.append(item)
        else:
            self.events.append(item)

    async def stop(self) -> None:
        pass
