"""Rows in and out: sessions from their columns, beats packed into BLOBs."""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from biofeedback.models import (
    BREATH_SOURCE_ORDER,
    QUALITY_ORDER,
    ChestMotion,
    Contact,
    EstimateRow,
    SampleRow,
    StoredSession,
    Zone,
)
from biofeedback.store.errors import StoreError

if TYPE_CHECKING:
    import numpy as np


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


# Raw chest motion (``run --keep-raw``): x, y, z triples of whole milli-g as
# little-endian int16 (the range a strap reports; the H10's widest is 16 g),
# zlib-compressed (level 1: about half the bytes of a still chest's motion, for
# some microseconds a batch).
MOTION_MG_MAX = 32767


def pack_motion(motion: ChestMotion) -> bytes:
    import numpy as np

    xyz = np.column_stack((motion.x_mg, motion.y_mg, motion.z_mg))
    whole = np.clip(np.rint(xyz), -MOTION_MG_MAX, MOTION_MG_MAX).astype("<i2")
    return zlib.compress(whole.tobytes(), 1)


def unpack_motion(t_s: float, rate_hz: float, blob: bytes) -> ChestMotion:
    import numpy as np

    xyz = np.frombuffer(zlib.decompress(blob), "<i2").reshape(-1, 3).astype(float)
    return ChestMotion(
        t_s,
        rate_hz,
        tuple(xyz[:, 0].tolist()),
        tuple(xyz[:, 1].tolist()),
        tuple(xyz[:, 2].tolist()),
    )


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


# The quality as its index in QUALITY_ORDER, so an estimate row is numbers only.
QUALITY_CODE_SQL = (
    "CASE quality "
    + " ".join(f"WHEN '{q.value}' THEN {i}" for i, q in enumerate(QUALITY_ORDER))
    + " END"
)

QUALITY_CODES = {q.value: i for i, q in enumerate(QUALITY_ORDER)}

# Where the breath came from (``Estimate.breath_source``), as numbers in the block.
BREATH_SOURCES = BREATH_SOURCE_ORDER
BREATH_SOURCE_CODE_SQL = (
    "CASE breath_source "
    + " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(BREATH_SOURCES))
    + " END"
)


# A row of an estimate block: 8 little-endian float64 (EstimateRows' columns).
ESTIMATE_BLOCK_BYTES = 8 * 8


class EstimateRows(Sequence[EstimateRow]):
    """Estimate rows held as one float block (``ColumnRows``): review takes the
    columns at once; tuples are made only if someone reads rows."""

    def __init__(self, raw: list[Any]) -> None:
        import numpy as np

        # SQLite keeps NaN as NULL, so NaN here always was None.
        self._block = np.array(raw, float).reshape(-1, 8)
        self._rows: tuple[EstimateRow, ...] | None = None

    @classmethod
    def from_block(cls, blob: bytes) -> EstimateRows:
        """The rows of a stored block (``pack_estimate_block``), as they were read."""
        import numpy as np

        rows = cls([])
        rows._block = np.frombuffer(blob, "<f8").reshape(-1, 8)
        return rows

    def pack(self) -> bytes:
        """The block as the store keeps it (``column_blocks.estimate_block``)."""
        return self._block.astype("<f8").tobytes()

    def columns(self) -> np.ndarray:
        return self._block

    def _decoded(self) -> tuple[EstimateRow, ...]:
        if self._rows is None:
            self._rows = tuple(
                (
                    t,
                    _none(hr),
                    _none(rmssd),
                    _none(arousal),
                    QUALITY_ORDER[int(q)],
                    artifacts,
                    _none(breath),
                    None if source != source else BREATH_SOURCES[int(source)],
                )
                for t, hr, rmssd, arousal, q, artifacts, breath, source in self._block.tolist()
            )
        return self._rows

    def __len__(self) -> int:
        return int(self._block.shape[0])

    @overload
    def __getitem__(self, index: int) -> EstimateRow: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[EstimateRow, ...]: ...

    def __getitem__(self, index: int | slice) -> EstimateRow | tuple[EstimateRow, ...]:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[EstimateRow]:
        return iter(self._decoded())


class UnreadRows(Sequence[SampleRow]):
    """As many rows as were recorded, not read (``Store.load(sample_rows=False)``)."""

    def __init__(self, count: int) -> None:
        self._count = count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> SampleRow: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[SampleRow, ...]: ...

    def __getitem__(self, index: int | slice) -> SampleRow | tuple[SampleRow, ...]:
        raise StoreError("the sample rows were not read: load the session with sample_rows=True")

    def __iter__(self) -> Iterator[SampleRow]:
        raise StoreError("the sample rows were not read: load the session with sample_rows=True")


def _none(value: float) -> float | None:
    return None if value != value else value


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
