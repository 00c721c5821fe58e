"""History reads its outcomes with one query per table for every session (issue
28), and they are what each session's own record says."""

from __future__ import annotations

import asyncio
import statistics
import struct
from pathlib import Path

from biofeedback.models import ZoneChanged
from biofeedback.practice.ratings import Ratings
from biofeedback.store import Store, outcomes, save_ratings
from biofeedback.store.practice import (
    _final_heart_rates,
    _final_window_numpy,
    _final_window_plain,
)
from biofeedback.store.rows import EstimateRows
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
    # sessions, their column blocks (estimates, for a session without a whole one),
    # events, ratings: not per session
    assert len(selects) == 4
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


def test_final_heart_rates_from_column_blocks_are_those_of_the_rows(tmp_path: Path) -> None:
    # A session's final two minutes are read from its column block while the block
    # holds all its estimates; the same outcomes as from its rows, for every session:
    # one unfinished (no block), one whose block is behind its rows (an estimate
    # appended after it), one whose block is cut short, one with no heart rate over
    # its final window, and ended ones.
    db = tmp_path / "week.db"
    asyncio.run(recorded_week(db))
    with Store(db) as store:
        keys = {s.session_id: store.find(s.session_id)[0] for s in store.sessions()}
        with store.writing() as tx:
            tx.execute(
                "INSERT INTO sessions (session_id, started_at_unix_s, protocol, source,"
                " software_version, virtual, last_t_s)"
                " VALUES ('open', 1.8e9, 'full', 'x', '0', 1, 200.0)"
            )
            open_key = tx.execute("SELECT id FROM sessions WHERE session_id = 'open'").fetchone()[0]
            tx.executemany(
                "INSERT INTO estimates (session, seq, t_s, hr_bpm, rmssd_ms, arousal, quality,"
                " artifact_rate) VALUES (?, ?, ?, ?, NULL, NULL, 'good', 0.0)",
                [(open_key, n, float(n), None if n % 3 else 60.0 + n % 7) for n in range(201)],
            )
            behind, short, quiet = keys["day1-anxious"], keys["day2-calm"], keys["day3-calm"]
            seq, t_s = tx.execute(
                "SELECT max(seq) + 1, max(t_s) FROM estimates WHERE session = ?", (behind,)
            ).fetchone()
            tx.execute(
                "INSERT INTO estimates (session, seq, t_s, hr_bpm, rmssd_ms, arousal, quality,"
                " artifact_rate) VALUES (?, ?, ?, 150.0, NULL, NULL, 'good', 0.0)",
                (behind, seq, t_s + 0.5),
            )
            tx.execute(
                "UPDATE column_blocks SET estimate_block = substr(estimate_block, 1, 64)"
                " WHERE session = ?",
                (short,),
            )
            tx.execute(
                "UPDATE estimates SET hr_bpm = NULL WHERE session = ? AND t_s > ("
                "SELECT duration_s - 130 FROM sessions WHERE id = ?)",
                (quiet, quiet),
            )
            # Its block as the rows now say (the recorder would have written it so).
            rows = tx.execute(
                "SELECT t_s, hr_bpm, rmssd_ms, arousal, 0, artifact_rate, breath_per_min, NULL"
                " FROM estimates WHERE session = ? ORDER BY seq",
                (quiet,),
            ).fetchall()
            tx.execute(
                "UPDATE column_blocks SET estimate_block = ? WHERE session = ?",
                (EstimateRows(rows).pack(), quiet),
            )
        queries: list[str] = []
        store._db.set_trace_callback(queries.append)  # noqa: SLF001
        from_blocks = outcomes(store, 50)
        store._db.set_trace_callback(None)  # noqa: SLF001
        with store.writing() as tx:
            tx.execute("DELETE FROM column_blocks")
        from_rows = outcomes(store, 50)
    assert from_blocks == from_rows
    assert len(from_blocks) == 5
    by_id = {o.session_id: o for o in from_blocks}
    assert by_id["day3-calm"].final_hr_bpm is None
    assert by_id["day1-anxious"].final_hr_bpm is not None
    assert by_id["open"].final_hr_bpm is not None
    # Only the three without a whole block were read row by row.
    (rows_read,) = [q for q in queries if "FROM estimates e JOIN" in q]
    assert {int(k) for k in rows_read.split(" IN (")[1].split(")")[0].split(",")} == {
        open_key,
        behind,
        short,
    }


def test_a_blocks_final_window_is_the_same_with_numpy_or_without(tmp_path: Path) -> None:
    # A block is decoded with numpy where the process has it (a session), else
    # without (`today`): the same floats, bit for bit, for awkward values: -0.0, a
    # subnormal, infinities, NaN heart rates (NULL) and times, NaN with a payload, a
    # time on the window's edge (not in it); a session still open (its last time is
    # its end); a block cut short mid-float (its rows are read instead).
    tiny, inf, nan = 5e-324, float("inf"), float("nan")
    payload_nan = struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0]
    ended = [  # (t_s, hr_bpm) of a session that lasted 300 s
        (100.0, 70.0),
        (180.0, 61.5),
        (180.0000001, -0.0),
        (200.0, tiny),
        (210.0, nan),
        (nan, 64.0),
        (250.0, inf),
        (260.0, payload_nan),
        (299.0, 0.1 + 0.2),
        (300.0, -inf),
    ]
    still_open = [(10.0, 66.0), (150.0, 65.25), (260.0, 64.75), (270.0, nan)]
    db = tmp_path / "blocks.db"
    with Store(db) as store:
        with store.writing() as tx:
            keys = []
            for name, rows, duration_s, cut in (
                ("ended", ended, 300.0, None),
                ("open", still_open, None, None),
                ("cut", still_open, 280.0, 100),
            ):
                key = tx.execute(
                    "INSERT INTO sessions (session_id, started_at_unix_s, protocol, source,"
                    " software_version, virtual, last_t_s, duration_s)"
                    " VALUES (?, 1.8e9, 'full', 'x', '0', 1, ?, ?)",
                    (name, rows[-1][0] if duration_s is None else duration_s, duration_s),
                ).lastrowid
                assert key is not None
                keys.append(key)
                tx.executemany(
                    "INSERT INTO estimates (session, seq, t_s, hr_bpm, rmssd_ms, arousal,"
                    " quality, artifact_rate) VALUES (?, ?, ?, ?, NULL, NULL, 'good', 0.0)",
                    [
                        (key, n, t if t == t else 0.0, None if hr != hr else hr)
                        for n, (t, hr) in enumerate(rows)
                    ],
                )
                block = struct.pack(
                    f"<{8 * len(rows)}d", *(x for t, hr in rows for x in (t, hr, *[nan] * 6))
                )
                tx.execute(
                    "INSERT INTO column_blocks VALUES (?, ?, 0, ?, x'')",
                    (key, len(rows), block[:cut]),
                )
        names = ("ended", "open", "cut")
        sessions = {key: store.find(name)[1] for key, name in zip(keys, names, strict=True)}
        tails = _final_heart_rates(store._db, sessions)  # noqa: SLF001
        blocks = dict(store._db.execute("SELECT session, estimate_block FROM column_blocks"))  # noqa: SLF001

    def bits(values: list[float]) -> list[bytes]:
        return [struct.pack("<d", x) for x in values]

    expected = {
        keys[0]: bits([-0.0, tiny, inf, 0.1 + 0.2, -inf]),
        keys[1]: bits([64.75]),  # 150 s is the window's edge: not in it
    }
    for key, after_t_s in ((keys[0], 180.0), (keys[1], 150.0)):
        assert bits(_final_window_plain(blocks[key], after_t_s)) == expected[key]
        assert bits(_final_window_numpy(blocks[key], after_t_s)) == expected[key]
        assert bits(tails[key]) == expected[key]
    # The block cut mid-float is passed over: the rows give the final window.
    assert tails[keys[2]] == [64.75]
