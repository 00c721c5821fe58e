"""What sinks learn before a session, and recorded sessions as the store hands them out."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any, Protocol, runtime_checkable

from biofeedback.models.core import BreathTaken, Contact, HeartSample, Quality, Zone
from biofeedback.models.events import Estimate, SessionEvent
from biofeedback.models.record import record


@record(frozen=True, slots=True)
class SessionInfo:
    """What sinks learn about a session before its first event."""

    session_id: str
    protocol: str
    source: str
    started_at_unix_s: float
    device: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Recorded sessions, as the store hands them to review and the UI.


@record(frozen=True, slots=True)
class StoredSession:
    """One session as recorded: ``ended_at_unix_s`` is None when it never ended
    cleanly (crash, power loss, or still running); ``last_t_s`` is the latest
    session time that reached the disk."""

    session_id: str
    started_at_unix_s: float
    protocol: str
    source: str
    device: str | None
    software_version: str
    virtual: bool
    start_zone: Zone | None
    last_t_s: float
    ended_at_unix_s: float | None = None
    end_reason: str | None = None
    duration_s: float | None = None
    baseline_hr_bpm: float | None = None
    baseline_rmssd_ms: float | None = None

    @property
    def finished(self) -> bool:
        return self.ended_at_unix_s is not None

    @property
    def length_s(self) -> float:
        """How long the session lasted, or how far the record reaches."""
        return self.duration_s if self.duration_s is not None else self.last_t_s


# Field for field the arguments of Estimate and HeartSample: a day of them is
# kept as plain tuples, and the objects are made only when someone asks.
EstimateRow = tuple[
    float, float | None, float | None, float | None, Quality, float, float | None, str | None
]
SampleRow = tuple[float, float | None, tuple[float, ...], tuple[float, ...], Contact, int | None]
# The order of ``Quality`` values when rows are held as numbers (``ColumnRows``).
QUALITY_ORDER: tuple[Quality, ...] = tuple(Quality)
# And of ``Estimate.breath_source`` (NaN: no rate).
BREATH_SOURCE_ORDER: tuple[str, ...] = ("acc", "rr")


@runtime_checkable
class ColumnRows(Protocol):
    """Rows a reader already holds as columns (the store's estimates), so review
    takes them at once instead of a tuple per row."""

    def columns(self) -> Any:
        """A 2-D float array, one column per tuple field: NaN for None, the
        quality as its index in ``QUALITY_ORDER``."""


@record(frozen=True)
class Recording:
    """Everything recorded for one session, each part in time order.

    ``events`` holds every event except the ~1 Hz ``estimate`` ones, which are
    in ``estimates``. ``estimate_rows`` and ``sample_rows`` are the same data
    as tuples, and ``beat_t_s`` / ``rr_ms`` every beat of every sample, flat:
    cheap to turn into columns (the store may decode ``sample_rows`` only
    when they are first used).
    """

    session: StoredSession
    events: tuple[SessionEvent, ...]
    estimate_rows: Sequence[EstimateRow] = field(repr=False)
    sample_rows: Sequence[SampleRow] = field(repr=False)
    beat_t_s: Sequence[float] = field(repr=False, default=())
    rr_ms: Sequence[float] = field(repr=False, default=())
    # Each breath seen on the chest (sessions with chest motion only).
    breaths: Sequence[BreathTaken] = field(repr=False, default=())

    @functools.cached_property
    def estimates(self) -> tuple[Estimate, ...]:
        return tuple(Estimate(*row) for row in self.estimate_rows)

    @functools.cached_property
    def samples(self) -> tuple[HeartSample, ...]:
        return tuple(HeartSample(*row) for row in self.sample_rows)
