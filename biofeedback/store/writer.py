"""Appending one session's items to the store, one short transaction per batch."""

from __future__ import annotations

import json
import sqlite3
import struct
import sys
import time
from array import array
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from biofeedback.models import (
    Baseline,
    BreathTaken,
    ChestMotion,
    Contact,
    Estimate,
    HeartSample,
    Quality,
    SessionEnded,
    SessionEvent,
    SessionStarted,
)
from biofeedback.store.rows import (
    BREATH_SOURCES,
    QUALITY_CODES,
    finite_or_none,
    pack_beats,
    pack_motion,
)

# What a writer takes: a session's events and samples, and (from a recorder
# that keeps them) its breaths and raw chest motion.
Item = SessionEvent | HeartSample | BreathTaken | ChestMotion


class Transactions(Protocol):
    """What a writer needs of its store (``Store`` fits): one write transaction."""

    def writing(self) -> AbstractContextManager[sqlite3.Connection]: ...


class SessionWriter:
    """Appends one session's items; each ``write`` is one short transaction."""

    def __init__(self, store: Transactions, key: int) -> None:
        self.store = store
        self.key = key
        self._sample_seq = 0
        self._estimate_seq = 0
        self._event_seq = 0
        self._breath_seq = 0
        self._motion_seq = 0
        # The session's columns as the store's block holds them (``column_blocks``),
        # gathered as they are written and kept with every write from the end on:
        # the first review of a session then reads its block, as every later one does.
        self._estimate_block = array("d")
        self._beats = bytearray()
        self._ended = False
        # Rows inserted a statement a row (``executemany``), not many a statement:
        # for a writer on the event loop's own thread (a recorder's ``on_loop``),
        # where no other thread waits for the interpreter between two steps, and a
        # statement of many rows costs SQLite its parse (~0.25 ms for 99 rows), once
        # for each number of rows. The same rows either way.
        self.row_statements = False

    def write(self, items: Sequence[Item]) -> None:
        seqs = (
            self._sample_seq,
            self._estimate_seq,
            self._event_seq,
            self._breath_seq,
            self._motion_seq,
        )
        sizes = (len(self._estimate_block), len(self._beats), self._ended)
        try:
            self._write(items)
        except BaseException:
            # Nothing was stored: the same items are written again later.
            (
                self._sample_seq,
                self._estimate_seq,
                self._event_seq,
                self._breath_seq,
                self._motion_seq,
            ) = seqs
            del self._estimate_block[sizes[0] :], self._beats[sizes[1] :]
            self._ended = sizes[2]
            raise

    def _write(self, items: Sequence[Item]) -> None:
        key = self.key
        # Each table's rows one after the other in one flat list (``_insert`` cuts
        # them): no tuple a row is kept until the statement, so the batch leaves
        # nothing for the garbage collector to scan (a day is ~200,000 rows).
        samples: list[Any] = []
        estimates: list[Any] = []
        events: list[Any] = []
        breaths: list[Any] = []
        motion: list[Any] = []
        updates: list[tuple[str, tuple[Any, ...]]] = []
        last_t_s = 0.0
        block = self._estimate_block
        # The sequence numbers counted here and kept at the end (``write`` puts
        # them back if the batch fails).
        estimate_seq, sample_seq = self._estimate_seq, self._sample_seq
        for item in items:
            # The two kinds each second brings (an estimate, a notification) first,
            # inline: a day is ~200,000 of them.
            if isinstance(item, Estimate):
                t = item.t
                hr, rmssd, arousal = item.hr_bpm, item.rmssd_ms, item.arousal
                breath, source = item.breath_per_min, item.breath_source
                # NULL for NaN (``finite_or_none``, inline: a call a field adds up).
                hr = None if hr is None or hr != hr else hr
                rmssd = None if rmssd is None or rmssd != rmssd else rmssd
                arousal = None if arousal is None or arousal != arousal else arousal
                breath = None if breath is None or breath != breath else breath
                quality = _QUALITY_VALUES[item.quality]
                estimates.extend(
                    (
                        key,
                        estimate_seq,
                        t,
                        hr,
                        rmssd,
                        arousal,
                        quality,
                        item.artifact_rate,
                        breath,
                        source,
                    )
                )
                # The block's row as SQLite gives the row back (NULL as NaN, an
                # integral float stored as an integer, so -0.0 comes back as 0.0:
                # ``+ 0.0``), the quality and the breath's source as codes.
                block.extend(
                    (
                        t + 0.0,
                        _NAN if hr is None else hr + 0.0,
                        _NAN if rmssd is None else rmssd + 0.0,
                        _NAN if arousal is None else arousal + 0.0,
                        _QUALITY_CODES[quality],
                        item.artifact_rate + 0.0,
                        _NAN if breath is None else breath + 0.0,
                        _SOURCE_CODES.get(source, _NAN),
                    )
                )
                estimate_seq += 1
                if t > last_t_s:
                    last_t_s = t
                continue
            if isinstance(item, HeartSample):
                times = item.beat_t_s
                if len(times) != len(item.rr_ms):
                    # A source without beat times: the arrival time is the best guess.
                    times = (item.t_s,) * len(item.rr_ms)
                # Most notifications hold one beat: its pair packed by a struct made once.
                beats = (
                    _ONE_BEAT(times[0], item.rr_ms[0])
                    if len(times) == 1
                    else pack_beats(times, item.rr_ms)
                )
                samples.extend(
                    (
                        key,
                        sample_seq,
                        item.t_s,
                        item.hr_bpm,
                        _CONTACT_VALUES[item.contact],
                        item.energy_kj,
                        beats,
                    )
                )
                self._beats += beats
                sample_seq += 1
                if item.t_s > last_t_s:
                    last_t_s = item.t_s
                continue
            if isinstance(item, BreathTaken):
                breaths.extend(
                    (
                        key,
                        self._breath_seq,
                        item.onset_t_s,
                        item.inhale_s,
                        item.exhale_s,
                        item.depth_mg,
                    )
                )
                self._breath_seq += 1
                continue
            if isinstance(item, ChestMotion):
                motion.extend((key, self._motion_seq, item.t_s, item.rate_hz, pack_motion(item)))
                self._motion_seq += 1
                continue
            last_t_s = max(last_t_s, item.t)
            events.extend((key, self._event_seq, item.t, item.type, _JSON(item.to_dict())))
            self._event_seq += 1
            if isinstance(item, SessionStarted):
                updates.append(("start_zone = ?", (item.zone.value,)))
            elif isinstance(item, Baseline):
                updates.append(
                    (
                        "baseline_hr_bpm = ?, baseline_rmssd_ms = ?",
                        (finite_or_none(item.hr_bpm), finite_or_none(item.rmssd_ms)),
                    )
                )
            elif isinstance(item, SessionEnded):
                self._ended = True
                updates.append(
                    (
                        "ended_at_unix_s = ?, end_reason = ?, duration_s = ?",
                        (time.time(), item.reason, item.duration_s),
                    )
                )
        self._estimate_seq, self._sample_seq = estimate_seq, sample_seq
        insert = _insert_rows if self.row_statements else _insert
        with self.store.writing() as db:
            insert(db, "samples", samples, 7)
            insert(db, "estimates", estimates, 10)
            insert(db, "events", events, 5)
            insert(db, "breaths", breaths, 6)
            insert(db, "motion", motion, 5)
            for assignment, values in updates:
                db.execute(f"UPDATE sessions SET {assignment} WHERE id = ?", (*values, key))
            db.execute(
                "UPDATE sessions SET last_t_s = max(last_t_s, ?) WHERE id = ?", (last_t_s, key)
            )
            if self._ended:
                # The block of an ended session, replaced by any later write (a
                # late item), in the same transaction as the rows it holds.
                db.execute(
                    "INSERT OR REPLACE INTO column_blocks VALUES (?, ?, ?, ?, ?)",
                    (
                        key,
                        self._estimate_seq,
                        self._sample_seq,
                        _little_endian(self._estimate_block),
                        bytes(self._beats),
                    ),
                )


# Rows a statement inserts at most: SQLite binds at most 999 values a statement in
# builds before 3.32, and the widest table (estimates) has 10 columns.
ROWS_PER_INSERT = 999 // 10


def _insert(db: sqlite3.Connection, table: str, values: list[Any], width: int) -> None:
    """Rows of ``width`` values each, one after the other in ``values``, appended to
    ``table`` many rows a statement: SQLite's module lets the other threads run at
    each step of a statement, so ``executemany``'s step per row hands the
    interpreter back and forth with the session loop hundreds of times a batch
    (most of the recorder's cost); a statement of many rows is one step."""
    if not values:
        return
    one = f"({', '.join('?' * width)})"
    step = ROWS_PER_INSERT * width
    for start in range(0, len(values), step):
        chunk = values[start : start + step]
        rows = ", ".join([one] * (len(chunk) // width))
        db.execute(f"INSERT INTO {table} VALUES {rows}", chunk)


def _insert_rows(db: sqlite3.Connection, table: str, values: list[Any], width: int) -> None:
    """``_insert``'s rows by one statement of one row, stepped once a row."""
    if not values:
        return
    row = iter(values)
    # ``zip`` of one iterator ``width`` times: the values cut into rows, in order.
    db.executemany(
        f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", zip(*[row] * width, strict=True)
    )


_NAN = float("nan")
# ``json.dumps``'s text of an event's dict, by one encoder made once; an event is
# a fresh flat dict, never a cycle, so nothing is checked for one.
_JSON = json.JSONEncoder(check_circular=False).encode
# ``pack_beats`` of one beat: its time and RR interval as two little-endian doubles.
_ONE_BEAT = struct.Struct("<2d").pack
# An enum member's value by a dict lookup: ``.value`` is a Python-level property
# (~0.3 us), asked twice a second of a session.
_QUALITY_VALUES = {member: member.value for member in Quality}
_CONTACT_VALUES = {member: member.value for member in Contact}
_QUALITY_CODES = {name: float(code) for name, code in QUALITY_CODES.items()}
_SOURCE_CODES: dict[str | None, float] = {
    name: float(code) for code, name in enumerate(BREATH_SOURCES)
}


def _little_endian(values: array[float]) -> bytes:
    """The block's bytes (little-endian float64, whatever this machine's order)."""
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array("d", values)
    swapped.byteswap()
    return swapped.tobytes()
