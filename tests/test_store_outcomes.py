"""History reads its outcomes with one query per table for every session (issue
28), and they are what each session's own record says."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

from biofeedback.models import ZoneChanged
from biofeedback.practice.ratings import Ratings
from biofeedback.store import Store, outcomes, save_ratings
from tests.support.records import recorded_week


def test_outcomes_match_each_sessions_record(tmp_path: Path) -> None:
    db = tmp_path / "week.db"
    asyncio.run(recorded_week(db))
    with Store(db) as store:
        sessions = store.sessions()
        save_ratings(store, sessions[0].session_id, "before", Ratings(6, 3, 5))
        save_ratings(store, sessions[0].session_id, "after", Ratings(3, 2, 4))
        save_ratings(store, sessions[2].session_id, "after", Ratings(2, 1, 1))
        queries: list[str] = []
        # The test counts the store's own queries on its connection.
        store._db.set_trace_callback(queries.append)  # noqa: SLF001
        found = outcomes(store, 10)
        store._db.set_trace_callback(None)  # noqa: SLF001
        records = [store.load(s.session_id) for s in sessions]
    selects = [q for q in queries if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4  # sessions, estimates, events, ratings: not per session
    assert [o.session_id for o in found] == [s.session_id for s in sessions]
    assert found[0].before == Ratings(6, 3, 5)
    assert found[0].after == Ratings(3, 2, 4)
    assert (found[2].before, found[2].after) == (None, Ratings(2, 1, 1))
    assert found[1].before is None
    for outcome, rec in zip(found, records, strict=True):
        end_s = rec.session.length_s
        tail = [e.hr_bpm for e in rec.estimates if e.t > end_s - 120.0 and e.hr_bpm is not None]
        assert outcome.final_hr_bpm == (statistics.median(tail) if tail else None)
        zones = [rec.session.start_zone] + [
            e.to_zone for e in rec.events if isinstance(e, ZoneChanged)
        ]
        assert outcome.lowest_zone == max(zones, key=lambda z: z.rank if z else -1)
    # The week holds anxious days: some session went below its start zone.
    assert any(o.lowest_zone != r.session.start_zone for o, r in zip(found, records, strict=True))
