"""Heart-rate sources: anything that yields HeartSample (and SourceStatus) items."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from biofeedback import BiofeedbackError
from biofeedback.models import ChestMotion, HeartSample, SessionEvent, SourceStatus

SourceItem = HeartSample | SourceStatus | ChestMotion


class SourceError(BiofeedbackError):
    """A heart-rate source could not be opened or read."""


@runtime_checkable
class HeartRateSource(Protocol):
    """An async context manager and an async iterator of samples.

    ``description`` names the source in ``session_started`` (no personal data).
    ``virtual`` is True when the item times are simulated time: the session
    then runs on a virtual clock driven by those times.
    """

    description: str
    virtual: bool

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[SourceItem]: ...


@runtime_checkable
class EventAware(Protocol):
    """A source that hears the session's events (the closed-loop simulator)."""

    def observe(self, event: SessionEvent) -> None: ...
