"""Appending one session's items to the store, one short transaction per batch."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from biofeedback.models import (
    Baseline,
    BreathTaken,
    ChestMotion,
    Estimate,
    HeartSample,
    SessionEnded,
    SessionEvent,
    SessionStarted,
)
from biofeedback.store.rows import finite_or_none, pack_beats, pack_motion

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

    def write(self, items: Sequence[Item]) -> None:
        seqs = (
            self._sample_seq,
            self._estimate_seq,
            self._event_seq,
            self._breath_seq,
            self._motion_seq,
        )
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
            raise

    def _write(self, items: Sequence[Item]) -> None:
        key = self.key
        samples: list[tuple[Any, ...]] = []
        estimates: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        breaths: list[tuple[Any, ...]] = []
        motion: list[tuple[Any, ...]] = []
        updates: list[tuple[str, tuple[Any, ...]]] = []
        last_t_s = 0.0
        for item in items:
            if isinstance(item, BreathTaken):
                breaths.append(
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
                motion.append((key, self._motion_seq, item.t_s, item.rate_hz, pack_motion(item)))
                self._motion_seq += 1
                continue
            if isinstance(item, HeartSample):
                times = item.beat_t_s
                if len(times) != len(item.rr_ms):
                    # A source without beat times: the arrival time is the best guess.
                    times = (item.t_s,) * len(item.rr_ms)
                samples.append(
                    (
                        key,
                        self._sample_seq,
                        item.t_s,
                        item.hr_bpm,
                        item.contact.value,
                        item.energy_kj,
                        pack_beats(times, item.rr_ms),
                    )
                )
                self._sample_seq += 1
                last_t_s = max(last_t_s, item.t_s)
                continue
            last_t_s = max(last_t_s, item.t)
            if isinstance(item, Estimate):
                estimates.append(
                    (
                        key,
                        self._estimate_seq,
                        item.t,
                        finite_or_none(item.hr_bpm),
                        finite_or_none(item.rmssd_ms),
                        finite_or_none(item.arousal),
                        item.quality.value,
                        item.artifact_rate,
                        finite_or_none(item.breath_per_min),
                        item.breath_source,
                    )
                )
                self._estimate_seq += 1
                continue
            data = item.to_dict()
            events.append((key, self._event_seq, item.t, item.type, json.dumps(data)))
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
                updates.append(
                    (
                        "ended_at_unix_s = ?, end_reason = ?, duration_s = ?",
                        (time.time(), item.reason, item.duration_s),
                    )
                )
        with self.store.writing() as db:
            if samples:
                db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)", samples)
            if estimates:
                db.executemany(
                    "INSERT INTO estimates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", estimates
                )
            if events:
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
            if breaths:
                db.executemany("INSERT INTO breaths VALUES (?, ?, ?, ?, ?, ?)", breaths)
            if motion:
                db.executemany("INSERT INTO motion VALUES (?, ?, ?, ?, ?)", motion)
            for assignment, values in updates:
                db.execute(f"UPDATE sessions SET {assignment} WHERE id = ?", (*values, key))
            db.execute(
                "UPDATE sessions SET last_t_s = max(last_t_s, ?) WHERE id = ?", (last_t_s, key)
            )
