"""What of the record a broker has not yet acknowledged, as record messages.

The local record is the source of the central copy: a runner publishes its
rows from here (`run --mqtt-record`), and `sync` sends whatever did not get
through. The ``shipped`` table remembers, per session and broker, how many rows
of each table (the chest's breaths and kept motion too) and whether the end
message (with how many ratings) the broker acknowledged; sending again is
harmless (the far end keeps one row per sequence number), so a crash between
the broker's acknowledgement and ours costs a repeat, never a hole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from biofeedback.models.record import record
from biofeedback.store.database import Store
from biofeedback.store.locks import is_recording
from biofeedback.store.rows import SESSION_COLUMNS
from biofeedback.wire import TABLES, RatingRow, RowBatch, SessionEnd, SessionHead

ROWS_PER_MESSAGE = 500
# Kept chest motion is bulky (a 200 Hz strap's second is ~1 kB compressed): a
# message carries at most this many bytes of it (at least one batch), so it is
# no bigger than one of 500 heart samples and estimates.
MOTION_BYTES_PER_MESSAGE = 48_000

_COLUMNS = {
    "samples": "seq, t_s, hr_bpm, contact, energy_kj, beats",
    "estimates": (
        "seq, t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate, breath_per_min, breath_source"
    ),
    "events": "seq, t_s, type, data",
    "breaths": "seq, onset_t_s, inhale_s, exhale_s, depth_mg",
    "motion": "seq, t_s, rate_hz, xyz",
}


@record(frozen=True, slots=True)
class Mark:
    """What the broker holds once it acknowledged a message: rows below each count."""

    counts: Mapping[str, int]
    ended: bool = False
    ratings: int = 0


@record(frozen=True, slots=True)
class Outgoing:
    """A message for the broker, and the mark the record keeps once it is acknowledged."""

    message: RowBatch | SessionEnd
    mark: Mark


class RecordOutbox:
    """One store's record, seen from one broker (``where``: its host and port)."""

    def __init__(self, store: Store, where: str) -> None:
        self.store = store
        self.where = where

    def unsent_sessions(self, ref: str = "all") -> list[str]:
        """Session ids with something the broker has not acknowledged, oldest first."""
        if ref != "all":
            return [self.store.session(ref).session_id]
        with self.store.reading() as db:
            rows = db.execute(
                "SELECT s.session_id, s.id, coalesce(h.ended, 0) FROM sessions s"
                " LEFT JOIN shipped h ON h.session = s.id AND h.broker = ?"
                " ORDER BY s.started_at_unix_s, s.id",
                (self.where,),
            ).fetchall()
        return [session_id for session_id, _key, ended in rows if not ended] + [
            session_id for session_id, key, ended in rows if ended and self._has_more(key)
        ]

    def _has_more(self, key: int) -> bool:
        with self.store.reading() as db:
            mark = self._mark(db, key)
            ratings = db.execute("SELECT count(*) FROM ratings WHERE session = ?", (key,))
            return bool(ratings.fetchone()[0] > mark.ratings)

    def _mark(self, db: sqlite3.Connection, key: int) -> Mark:
        row = db.execute(
            f"SELECT {', '.join(TABLES)}, ended, ratings FROM shipped"
            " WHERE session = ? AND broker = ?",
            (key, self.where),
        ).fetchone()
        if row is None:
            return Mark(dict.fromkeys(TABLES, 0))
        n = len(TABLES)
        return Mark(dict(zip(TABLES, row[:n], strict=True)), bool(row[n]), int(row[n + 1]))

    def pending(self, session_ref: str, *, limit: int = 16) -> list[Outgoing]:
        """Up to ``limit`` messages, in order, from what the broker acknowledged on.

        The end message comes once every row is in a message and the session is
        over (it ended, or nothing records it any more: a crashed session's
        record is whole as it is).
        """
        key, _ = self.store.find(session_ref)
        out: list[Outgoing] = []
        with self.store.reading() as db:
            head = _head(
                db.execute(
                    f"SELECT {SESSION_COLUMNS}, extra FROM sessions WHERE id = ?", (key,)
                ).fetchone()
            )
            mark = self._mark(db, key)
            counts = dict(mark.counts)
            while len(out) < limit:
                most = {t: ROWS_PER_MESSAGE for t in TABLES}
                most["motion"] = _motion_that_fits(db, key, counts["motion"])
                rows = {
                    table: tuple(
                        tuple(r)
                        for r in db.execute(
                            f"SELECT {_COLUMNS[table]} FROM {table} WHERE session = ?"
                            f" AND seq >= ? ORDER BY seq LIMIT {most[table]}",
                            (key, counts[table]),
                        )
                    )
                    for table in TABLES
                }
                if not any(rows.values()):
                    break
                batch = RowBatch(
                    head,
                    rows["samples"],
                    rows["estimates"],
                    rows["events"],
                    rows["breaths"],
                    rows["motion"],
                )
                for table, last in batch.last_seqs().items():
                    if last >= 0:
                        counts[table] = last + 1
                out.append(Outgoing(batch, Mark(dict(counts), mark.ended, mark.ratings)))
            if len(out) >= limit:
                return out
            ratings: tuple[RatingRow, ...] = tuple(
                tuple(r)
                for r in db.execute(
                    "SELECT phase, tension, pain, anxiety, rated_at_unix_s FROM ratings"
                    " WHERE session = ? ORDER BY phase",
                    (key,),
                )
            )
        over = head.ended_at_unix_s is not None or not is_recording(
            self.store.path, head.session_id
        )
        if over and (not mark.ended or len(ratings) > mark.ratings):
            end = SessionEnd(head, counts, ratings)
            out.append(Outgoing(end, Mark(counts, True, len(ratings))))
        return out

    def forget(self, ref: str = "all") -> None:
        """Count nothing as acknowledged by this broker (to send everything again)."""
        with self.store.writing() as db:
            if ref == "all":
                db.execute("DELETE FROM shipped WHERE broker = ?", (self.where,))
            else:
                key, _ = self.store.find(ref)
                db.execute(
                    "DELETE FROM shipped WHERE broker = ? AND session = ?", (self.where, key)
                )

    def acknowledged(self, session_ref: str, mark: Mark) -> None:
        """The broker holds everything up to ``mark``: remember it."""
        key, _ = self.store.find(session_ref)
        c = mark.counts
        raised = "".join(f" {t} = max({t}, excluded.{t})," for t in TABLES)
        with self.store.writing() as db:
            db.execute(
                f"INSERT INTO shipped (session, broker, {', '.join(TABLES)}, ended, ratings)"
                f" VALUES (?, ?, {'?, ' * len(TABLES)}?, ?) ON CONFLICT (session, broker)"
                f" DO UPDATE SET{raised}"
                " ended = max(ended, excluded.ended), ratings = max(ratings, excluded.ratings)",
                (key, self.where, *(c[t] for t in TABLES), int(mark.ended), mark.ratings),
            )


def _motion_that_fits(db: sqlite3.Connection, key: int, first_seq: int) -> int:
    """How many motion batches from ``first_seq`` on fit in one message (one at
    least); their sizes only, so the batches themselves are read once."""
    size = 0
    sizes = db.execute(
        f"SELECT length(xyz) FROM motion WHERE session = ? AND seq >= ? ORDER BY seq"
        f" LIMIT {ROWS_PER_MESSAGE}",
        (key, first_seq),
    ).fetchall()
    for i, (n,) in enumerate(sizes):
        size += n
        if size > MOTION_BYTES_PER_MESSAGE and i:
            return i
    return ROWS_PER_MESSAGE


def _head(row: tuple[object, ...]) -> SessionHead:
    (
        session_id,
        started,
        protocol,
        source,
        device,
        version,
        virtual,
        start_zone,
        last_t_s,
        ended_at,
        end_reason,
        duration_s,
        baseline_hr,
        baseline_rmssd,
        extra,
    ) = row
    return SessionHead(
        session_id=str(session_id),
        started_at_unix_s=float(started),  # type: ignore[arg-type]
        protocol=str(protocol),
        source=str(source),
        device=None if device is None else str(device),
        software_version=str(version),
        virtual=bool(virtual),
        extra=str(extra) if extra is not None else json.dumps({}),
        start_zone=None if start_zone is None else str(start_zone),
        baseline_hr_bpm=baseline_hr,  # type: ignore[arg-type]
        baseline_rmssd_ms=baseline_rmssd,  # type: ignore[arg-type]
        last_t_s=float(last_t_s),  # type: ignore[arg-type]
        ended_at_unix_s=ended_at,  # type: ignore[arg-type]
        end_reason=None if end_reason is None else str(end_reason),
        duration_s=duration_s,  # type: ignore[arg-type]
    )
