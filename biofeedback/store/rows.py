"""Rows in and out: sessions from their columns, beats packed into BLOBs."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from biofeedback.models import Contact, SampleRow, StoredSession, Zone


@dataclass(frozen=True, slots=True)
class RestingBaseline:
    """A person's usual resting values, from the baselines of recent sessions."""

    hr_bpm: float
    rmssd_ms: float | None
    sessions: int


SESSION_COLUMNS = (
    "session_id, started_at_unix_s, protocol, source, device, software_version, virtual,"
    " start_zone, last_t_s, ended_at_unix_s, end_reason, duration_s,"
    " baseline_hr_bpm, baseline_rmssd_ms"
)


def session_from_row(row: Sequence[Any]) -> StoredSession:
    return StoredSession(
        session_id=row[0],
        started_at_unix_s=row[1],
        protocol=row[2],
        source=row[3],
        device=row[4],
        software_version=row[5],
        virtual=bool(row[6]),
        start_zone=Zone(row[7]) if row[7] else None,
        last_t_s=row[8],
        ended_at_unix_s=row[9],
        end_reason=row[10],
        duration_s=row[11],
        baseline_hr_bpm=row[12],
        baseline_rmssd_ms=row[13],
    )


def pack_beats(beat_t_s: Sequence[float], rr_ms: Sequence[float]) -> bytes:
    pairs = [x for pair in zip(beat_t_s, rr_ms, strict=True) for x in pair]
    return struct.pack(f"<{len(pairs)}d", *pairs)


class SampleRows(Sequence[SampleRow]):
    """Sample rows decoded from the database rows on first use."""

    def __init__(self, rows: list[Any]) -> None:
        self._raw = rows
        self._rows: tuple[SampleRow, ...] | None = None

    def _decoded(self) -> tuple[SampleRow, ...]:
        if self._rows is None:
            contact = {c.value: c for c in Contact}
            unpack = beats_unpacker()
            self._rows = tuple(
                (t_s, hr, (pairs := unpack(blob))[1::2], pairs[0::2], contact[c], energy)
                for t_s, hr, c, energy, blob in self._raw
            )
            self._raw = []
        return self._rows

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._raw)

    @overload
    def __getitem__(self, index: int) -> SampleRow: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[SampleRow, ...]: ...

    def __getitem__(self, index: int | slice) -> SampleRow | tuple[SampleRow, ...]:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[SampleRow]:
        return iter(self._decoded())


def beats_unpacker() -> Callable[[bytes], tuple[float, ...]]:
    """Unpack a beats BLOB, with one compiled struct per length seen."""
    formats: dict[int, Callable[[bytes], tuple[float, ...]]] = {}

    def unpack(blob: bytes) -> tuple[float, ...]:
        size = len(blob)
        fn = formats.get(size)
        if fn is None:
            fn = formats[size] = struct.Struct(f"<{size // 8}d").unpack
        return fn(blob)

    return unpack


def finite_or_none(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value
