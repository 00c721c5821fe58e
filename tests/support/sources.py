"""A source the test feeds by hand, as a strap's notifications would arrive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from biofeedback.sensors import SourceItem


class QueueSource:
    """Yields what the test puts in ``queue`` (heart samples, link changes, chest
    motion) until it puts None. Live unless ``virtual``."""

    description = "test:queue"
    virtual = False

    def __init__(self, *, virtual: bool | None = None) -> None:
        if virtual is not None:
            self.virtual = virtual
        self.queue: asyncio.Queue[SourceItem | None] = asyncio.Queue()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._items()

    async def _items(self) -> AsyncIterator[SourceItem]:
        while (item := await self.queue.get()) is not None:
            yield item
