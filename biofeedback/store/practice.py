"""Practice records: the 0-10 ratings of a session, and past sessions as outcomes.

Ratings live in their own table (one row per session and phase), written when
the person gives them: the "after" ones come once the session has ended and
its recorder has closed. ``outcomes`` reduces recent sessions to what the
practice decisions read, without loading their beats.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from biofeedback.models import StoredSession, Zone
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.ratings import SCALES, Phase, Ratings
from biofeedback.signals.list_median import median
from biofeedback.store.rows import ESTIMATE_BLOCK_BYTES, SESSION_COLUMNS, session_from_row
from biofeedback.store.schema import COLUMN_BLOCKS_VERSION

if TYPE_CHECKING:
    from biofeedback.store.database import Store

# review measures the end of a session over its final two minutes; so do we.
FINAL_WINDOW_S = 120.0
# A block row's float64 columns.
_BLOCK_COLUMNS = ESTIMATE_BLOCK_BYTES // 8


def save_ratings(store: Store, session_ref: str, phase: Phase, ratings: Ratings) -> None:
    """Record (or replace) one phase's ratings of a session; empty ratings are not stored."""
    if ratings.empty:
        return
    key, _ = store.find(session_ref)
    with store.writing() as db:
        db.execute(
            "INSERT OR REPLACE INTO ratings (session, phase, tension, pain, anxiety,"
            " rated_at_unix_s) VALUES (?, ?, ?, ?, ?, ?)",
            (key, phase, ratings.tension, ratings.pain, ratings.anxiety, time.time()),
        )


def load_ratings(store: Store, session_ref: str) -> tuple[Ratings | None, Ratings | None]:
    """(before, after) of one session; None for a phase not rated."""
    key, _ = store.find(session_ref)
    with store.reading() as db:
        return _ratings_of(db, key)


def _ratings_of(db: sqlite3.Connection, key: int) -> tuple[Ratings | None, Ratings | None]:
    found: dict[str, Ratings] = {}
    for phase, *values in db.execute(
        f"SELECT phase, {', '.join(SCALES)} FROM ratings WHERE session = ?", (key,)
    ):
        found[phase] = Ratings(*values)
    return found.get("before"), found.get("after")


def outcomes(store: Store, limit: int = 30, *, rated: bool = False) -> list[SessionOutcome]:
    """The ``limit`` latest sessions as outcomes, newest first; ``rated``: only
    those rated both before and after, however far back they lie.

    One query per table for all of them (history reads many sessions)."""
    only_rated = (
        " WHERE id IN (SELECT session FROM ratings WHERE phase = 'before')"
        " AND id IN (SELECT session FROM ratings WHERE phase = 'after')"
        if rated
        else ""
    )
    with store.reading() as db:
        rows = db.execute(
            f"SELECT id, {SESSION_COLUMNS} FROM sessions{only_rated}"
            " ORDER BY started_at_unix_s DESC, id DESC LIMIT ?",
            (int(limit),),
        ).fetchall()
        sessions = {row[0]: session_from_row(row[1:]) for row in rows}
        keys = list(sessions)
        chosen = f"({', '.join('?' * len(keys))})"
        tails = _final_heart_rates(db, sessions)
        changes: dict[int, list[str]] = {key: [] for key in keys}
        for key, data in db.execute(
            f"SELECT session, data FROM events WHERE session IN {chosen} AND type = 'zone_changed'",
            keys,
        ):
            changes[key].append(data)
        given: dict[int, dict[str, Ratings]] = {key: {} for key in keys}
        for key, phase, *values in db.execute(
            f"SELECT session, phase, {', '.join(SCALES)} FROM ratings WHERE session IN {chosen}",
            keys,
        ):
            given[key][phase] = Ratings(*values)
    out: list[SessionOutcome] = []
    for key, session in sessions.items():
        ratings = (given[key].get("before"), given[key].get("after"))
        out.append(outcome_of(session, tails[key], changes[key], ratings))
    return out


def _final_heart_rates(
    db: sqlite3.Connection, sessions: dict[int, StoredSession]
) -> dict[int, list[float]]:
    """Each session's heart rates (in recorded order) over its final window, however
    long it ran: from its column block (``column_blocks``: every estimate as one BLOB)
    while that holds all its estimates, else from its rows. The rows have no index on
    time, so all of a session's are read (~0.1 ms a 15-minute session; the block
    ~0.04 ms): the gentler routine reads the last 30 at every start."""
    tails: dict[int, list[float]] = {key: [] for key in sessions}
    from_blocks: set[int] = set()
    if sessions and db.execute("PRAGMA user_version").fetchone()[0] >= COLUMN_BLOCKS_VERSION:
        # Rows are appended with gapless seq numbers from 0: the last + 1 is the count.
        for key, count, block in db.execute(
            "SELECT c.session, c.estimates, c.estimate_block FROM column_blocks c"
            f" WHERE c.session IN ({', '.join('?' * len(sessions))}) AND c.estimates ="
            " (SELECT coalesce(max(e.seq) + 1, 0) FROM estimates e WHERE e.session = c.session)",
            list(sessions),
        ):
            if len(block) != count * ESTIMATE_BLOCK_BYTES:
                continue
            session = sessions[key]
            end_s = session.duration_s if session.duration_s is not None else session.last_t_s
            tails[key] = _final_window(block, end_s - FINAL_WINDOW_S)
            from_blocks.add(key)
    unread = [key for key in sessions if key not in from_blocks]
    if unread:
        for key, hr in db.execute(
            "SELECT e.session, e.hr_bpm FROM estimates e JOIN sessions s ON s.id = e.session"
            f" WHERE e.session IN ({', '.join('?' * len(unread))}) AND e.hr_bpm IS NOT NULL"
            " AND e.t_s > COALESCE(s.duration_s, s.last_t_s) - ?",
            (*unread, FINAL_WINDOW_S),
        ):
            tails[key].append(hr)
    return tails


def _final_window(block: bytes, after_t_s: float) -> list[float]:
    """The heart rates of a column block's rows timed after ``after_t_s``, in
    recorded order; NaN (NULL) left out.

    With numpy when the process has it (a session: ~4x faster, ~0.45 ms less at
    a start with 20 past sessions), else without: `today` has no other use for numpy
    (~25 ms to load, without the one BLAS thread a session sets)."""
    if "numpy" in sys.modules:
        return _final_window_numpy(block, after_t_s)
    return _final_window_plain(block, after_t_s)


def _final_window_plain(block: bytes, after_t_s: float) -> list[float]:
    # The block is little-endian float64 rows (writer's ``_little_endian``); t_s and
    # hr_bpm are their first two columns (rows.EstimateRows). NaN != NaN.
    values = array("d", block)
    if sys.byteorder != "little":
        values.byteswap()
    t_s, hr_bpm = values[0::_BLOCK_COLUMNS], values[1::_BLOCK_COLUMNS]
    return [hr for t, hr in zip(t_s, hr_bpm, strict=True) if t > after_t_s and hr == hr]


def _final_window_numpy(block: bytes, after_t_s: float) -> list[float]:
    import numpy as np

    columns = np.frombuffer(block, "<f8").reshape(-1, _BLOCK_COLUMNS)
    t_s, hr_bpm = columns[:, 0], columns[:, 1]
    return list(hr_bpm[(t_s > after_t_s) & ~np.isnan(hr_bpm)].tolist())


def outcome_of(
    s: StoredSession,
    tail_hr_bpm: Sequence[float],
    zone_changes: Iterable[str],
    ratings: tuple[Ratings | None, Ratings | None],
) -> SessionOutcome:
    """A session as an outcome: its heart rate over the final window (``tail_hr_bpm``),
    the lowest zone its ``zone_changed`` events (their recorded JSON) reached."""
    lowest = s.start_zone
    for data in zone_changes:
        zone = Zone(json.loads(data)["to"])
        if lowest is None or zone.rank > lowest.rank:
            lowest = zone
    before, after = ratings
    return SessionOutcome(
        session_id=s.session_id,
        protocol=s.protocol,
        started_at_unix_s=s.started_at_unix_s,
        virtual=s.virtual,
        finished=s.finished,
        length_s=s.length_s,
        baseline_hr_bpm=s.baseline_hr_bpm,
        final_hr_bpm=median(tail_hr_bpm) if tail_hr_bpm else None,
        lowest_zone=lowest,
        before=before,
        after=after,
    )
