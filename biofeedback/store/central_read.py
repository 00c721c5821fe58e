"""Reading the central copy: the same answers the SQLite store gives.

Readers get the same ``Recording``, sessions and outcomes as from the local
record, so review code is shared and a review of the central copy equals one
of the local record. psycopg's errors become one clear ``CentralError``.
"""

from __future__ import annotations

import contextlib
import json
import struct
from types import TracebackType
from typing import Any

import psycopg

from biofeedback.models import (
    BreathTaken,
    ChestMotion,
    Quality,
    Recording,
    StoredSession,
    event_from_dict,
)
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.ratings import SCALES, Ratings
from biofeedback.store.errors import CentralError, SessionNotFoundError, one_line
from biofeedback.store.practice import FINAL_WINDOW_S, outcome_of
from biofeedback.store.rows import SESSION_COLUMNS, SampleRows, session_from_row, unpack_motion


class Reader:
    """Reads on one connection; ``where`` names the database in messages."""

    def __init__(self, db: psycopg.Connection[Any], where: str) -> None:
        self._db = db
        self.where = where

    def _reading(self) -> contextlib.AbstractContextManager[psycopg.Transaction]:
        return self._db.transaction()

    def sessions(
        self, limit: int | None = None, *, runner: str | None = None
    ) -> list[StoredSession]:
        """Sessions, newest first (one runner's with ``runner``)."""
        sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE (%s::text IS NULL OR runner = %s)"
        sql += " ORDER BY started_at_unix_s DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._guard(), self._reading():
            return [session_from_row(r) for r in self._db.execute(sql, (runner, runner))]

    def session(self, ref: str = "latest", *, runner: str | None = None) -> StoredSession:
        return self._find(ref, runner)[1]

    def _find(self, ref: str, runner: str | None) -> tuple[int, StoredSession]:
        who = "" if runner is None else f" of runner {runner!r}"
        with self._guard(), self._reading():
            if ref == "latest":
                rows = self._db.execute(
                    f"SELECT id, runner, {SESSION_COLUMNS} FROM sessions"
                    " WHERE (%s::text IS NULL OR runner = %s)"
                    " ORDER BY started_at_unix_s DESC, id DESC LIMIT 1",
                    (runner, runner),
                ).fetchall()
                if not rows:
                    raise SessionNotFoundError(f"no sessions{who} in {self.where} yet")
            else:
                escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                rows = self._db.execute(
                    f"SELECT id, runner, {SESSION_COLUMNS} FROM sessions"
                    " WHERE session_id LIKE %s AND (%s::text IS NULL OR runner = %s) LIMIT 3",
                    (escaped + "%", runner, runner),
                ).fetchall()
                exact = [r for r in rows if r[2] == ref]
                rows = exact or rows
                if not rows:
                    raise SessionNotFoundError(
                        f"no session {ref!r}{who} in {self.where}; see `biofeedback history`"
                    )
                if len(rows) > 1:
                    if len({r[2] for r in rows}) == 1:
                        raise SessionNotFoundError(
                            f"session {ref!r} was recorded by more than one runner; choose"
                            " one with --runner NAME"
                        )
                    raise SessionNotFoundError(
                        f"{ref!r} matches more than one session; give more of its id"
                    )
        return rows[0][0], session_from_row(rows[0][2:])

    def load(self, ref: str = "latest", *, runner: str | None = None) -> Recording:
        """Everything recorded for one session: the same Recording the SQLite store gives."""
        key, session = self._find(ref, runner)
        quality = {q.value: q for q in Quality}
        with self._guard(), self._reading():
            events = tuple(
                event_from_dict(json.loads(data))
                for (data,) in self._db.execute(
                    "SELECT data FROM events WHERE session = %s ORDER BY seq", (key,)
                )
            )
            estimates = tuple(
                (t, hr, rmssd, arousal, quality[q], artifacts, breath, source)
                for t, hr, rmssd, arousal, q, artifacts, breath, source in self._db.execute(
                    "SELECT t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate,"
                    " breath_per_min, breath_source FROM estimates WHERE session = %s ORDER BY seq",
                    (key,),
                )
            )
            # As the local store reads them: a breath is seen whole at its end.
            breaths = tuple(
                BreathTaken(onset + inhale + exhale, onset, inhale, exhale, depth)
                for onset, inhale, exhale, depth in self._chest_rows(
                    "SELECT onset_t_s, inhale_s, exhale_s, depth_mg FROM breaths"
                    " WHERE session = %s ORDER BY seq",
                    key,
                )
            )
            rows = [
                (t, hr, contact, energy, bytes(beats))
                for t, hr, contact, energy, beats in self._db.execute(
                    "SELECT t_s, hr_bpm, contact, energy_kj, beats FROM samples"
                    " WHERE session = %s ORDER BY seq",
                    (key,),
                )
            ]
        everything = b"".join(row[4] for row in rows)
        pairs = struct.unpack(f"<{len(everything) // 8}d", everything)
        return Recording(
            session, events, estimates, SampleRows(rows), pairs[0::2], pairs[1::2], breaths
        )

    def motion(self, ref: str = "latest", *, runner: str | None = None) -> list[ChestMotion]:
        """The chest motion a runner kept raw (``run --keep-raw``), in time order; empty
        when it was not kept (as the local store's)."""
        key, _ = self._find(ref, runner)
        with self._guard(), self._reading():
            return [
                unpack_motion(t_s, rate_hz, bytes(xyz))
                for t_s, rate_hz, xyz in self._chest_rows(
                    "SELECT t_s, rate_hz, xyz FROM motion WHERE session = %s ORDER BY seq", key
                )
            ]

    def _chest_rows(self, sql: str, key: int) -> list[tuple[Any, ...]]:
        """The rows of a chest table; none from a store no collector has brought to
        schema 2 yet (it holds none: a reviewer may be upgraded first)."""
        found = self._db.execute("SELECT to_regclass('motion')").fetchone()
        if found is None or found[0] is None:
            return []
        return self._db.execute(sql, (key,)).fetchall()

    def ratings(
        self, ref: str, *, runner: str | None = None
    ) -> tuple[Ratings | None, Ratings | None]:
        key, _ = self._find(ref, runner)
        found: dict[str, Ratings] = {}
        with self._guard(), self._reading():
            for phase, *values in self._db.execute(
                f"SELECT phase, {', '.join(SCALES)} FROM ratings WHERE session = %s", (key,)
            ):
                found[phase] = Ratings(*values)
        return found.get("before"), found.get("after")

    def outcomes(self, limit: int = 30, *, runner: str | None = None) -> list[SessionOutcome]:
        """The ``limit`` latest sessions as outcomes, newest first (as the local store's)."""
        out: list[SessionOutcome] = []
        with self._guard(), self._reading():
            rows = self._db.execute(
                f"SELECT id, {SESSION_COLUMNS} FROM sessions"
                " WHERE (%s::text IS NULL OR runner = %s)"
                " ORDER BY started_at_unix_s DESC, id DESC LIMIT %s",
                (runner, runner, int(limit)),
            ).fetchall()
            for key, *row in rows:
                s = session_from_row(row)
                tail = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT hr_bpm FROM estimates WHERE session = %s AND t_s > %s"
                        " AND hr_bpm IS NOT NULL ORDER BY seq",
                        (key, s.length_s - FINAL_WINDOW_S),
                    )
                ]
                changes = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT data FROM events WHERE session = %s AND type = 'zone_changed'"
                        " ORDER BY seq",
                        (key,),
                    )
                ]
                found: dict[str, Ratings] = {}
                for phase, *values in self._db.execute(
                    f"SELECT phase, {', '.join(SCALES)} FROM ratings WHERE session = %s", (key,)
                ):
                    found[phase] = Ratings(*values)
                ratings = (found.get("before"), found.get("after"))
                out.append(outcome_of(s, tail, changes, ratings))
        return out

    def _guard(self) -> _Guard:
        return _Guard(self.where)


class _Guard:
    """psycopg errors while reading become one clear CentralError."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            raise CentralError(
                f"the central database {self.where} refused this account: {one_line(exc)}"
            ) from None
        if isinstance(exc, psycopg.errors.UndefinedTable):
            raise CentralError(
                f"the central database {self.where} holds no sessions yet"
                " (no collector has prepared it)"
            ) from None
        if isinstance(exc, psycopg.Error):
            raise CentralError(
                f"cannot read the central database {self.where}: {one_line(exc)}"
            ) from None
