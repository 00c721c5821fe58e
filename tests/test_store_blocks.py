"""An ended session's columns kept as one block (issue 28: a review reads a few BLOBs,
not ~86,000 rows a day): derived, never the source of truth. A read gives the same
recording from the block as from the rows (the recorder keeps it when the session
ends); a block that no longer holds every row is not used and is rebuilt; an older
store without blocks, read-only, still reviews."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

from biofeedback.models import Recording
from biofeedback.review import summarize, summary_json
from biofeedback.store import Store
from biofeedback.store.rows import EstimateRows
from tests.support.cli import run_cli
from tests.support.store import record_sim

ROOT = Path(__file__).resolve().parent.parent


def _columns(rec: Recording) -> bytes:
    rows = rec.estimate_rows
    assert isinstance(rows, EstimateRows)
    return rows.columns().tobytes()


def _assert_same(a: Recording, b: Recording) -> None:
    assert a.session == b.session
    assert a.events == b.events
    assert _columns(a) == _columns(b)
    assert np.array(a.beat_t_s).tobytes() == np.array(b.beat_t_s).tobytes()
    assert np.array(a.rr_ms).tobytes() == np.array(b.rr_ms).tobytes()
    assert type(a.beat_t_s) is type(b.beat_t_s) is tuple
    assert len(a.sample_rows) == len(b.sample_rows)
    assert a.breaths == b.breaths
    assert summary_json(summarize(a)) == summary_json(summarize(b))


def _blocks(db: Path) -> list[tuple[int, int]]:
    raw = sqlite3.connect(db)
    try:
        return raw.execute("SELECT estimates, samples FROM column_blocks").fetchall()
    finally:
        raw.close()


def _kept(db: Path) -> tuple[int, int, bytes, bytes]:
    raw = sqlite3.connect(db)
    try:
        estimates, samples, block, beats = raw.execute(
            "SELECT estimates, samples, estimate_block, beats FROM column_blocks"
        ).fetchone()
        return estimates, samples, block, beats
    finally:
        raw.close()


async def test_a_read_keeps_a_block_that_gives_the_same_recording(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    await record_sim(db, "s", duration_s=120)
    # The recorder kept the block when the session ended (so the first review
    # reads it too), byte for byte the one a read of the rows keeps.
    by_recorder = _kept(db)
    raw = sqlite3.connect(db)
    raw.execute("DELETE FROM column_blocks")
    raw.commit()
    raw.close()
    with Store(db) as store:
        from_rows = store.load("s", sample_rows=False)
    n_estimates, n_samples = len(from_rows.estimate_rows), len(from_rows.sample_rows)
    assert n_estimates > 100
    assert _blocks(db) == [(n_estimates, n_samples)]
    assert _kept(db) == by_recorder
    with Store(db) as store:
        from_block = store.load("s", sample_rows=False)
        with_rows = store.load("s")  # the samples' other columns come from their rows
    _assert_same(from_rows, from_block)
    _assert_same(from_rows, with_rows)

    # The block is what is read while it holds every row (shown by spoiling it) ...
    raw = sqlite3.connect(db)
    raw.execute("UPDATE column_blocks SET beats = zeroblob(length(beats))")
    raw.commit()
    with Store(db) as store:
        assert set(store.load("s", sample_rows=False).beat_t_s) == {0.0}
    # ... and not once a row has been added after it (a late row): rebuilt from the rows.
    raw.execute(
        "INSERT INTO estimates SELECT session, seq + 1, t_s + 1, hr_bpm, rmssd_ms, arousal,"
        " quality, artifact_rate, breath_per_min, breath_source FROM estimates"
        " WHERE seq = (SELECT max(seq) FROM estimates)"
    )
    raw.commit()
    raw.close()
    with Store(db) as store:
        again = store.load("s", sample_rows=False)
    assert again.beat_t_s == from_rows.beat_t_s
    assert len(again.estimate_rows) == n_estimates + 1
    assert _blocks(db) == [(n_estimates + 1, n_samples)]


def test_an_older_read_only_store_without_blocks_still_reviews(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    asyncio.run(record_sim(db, "s", duration_s=60))
    review = run_cli("review", "s", "--json", "--db", str(db))
    assert review.returncode == 0, review.stderr
    assert _blocks(db)  # the recorder kept one
    # The same session in a store of the version before blocks, in a read-only folder.
    folder = tmp_path / "archive"
    folder.mkdir()
    old = folder / "old.db"
    shutil.copyfile(db, old)
    raw = sqlite3.connect(old)
    raw.execute("DROP TABLE column_blocks")
    raw.execute("PRAGMA user_version = 5")
    raw.commit()
    raw.close()
    folder.chmod(0o500)
    try:
        # As root without the powers that ignore file modes, as a user would be.
        setpriv = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
        review_old = ["-m", "biofeedback", "review", "s", "--json", "--db", str(old)]
        proc = subprocess.run(
            [*(setpriv if os.geteuid() == 0 else []), sys.executable, *review_old],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        folder.chmod(0o700)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(review.stdout)
    assert proc.stdout == review.stdout
    raw = sqlite3.connect(old)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 5  # left as it was
    raw.close()


def test_the_recorders_block_holds_what_sqlite_gives_back(tmp_path: Path) -> None:
    """Edge values as the rows read them back: NULL and NaN as NaN, -0.0 as 0.0
    (SQLite keeps an integral REAL as an integer), whole numbers as floats, each
    quality and breath source as its code; a late row replaces the block."""
    from biofeedback.models import Contact, Estimate, HeartSample, Quality, SessionEnded
    from tests.support.store import info

    db = tmp_path / "e.db"
    nan = float("nan")
    edges = [
        Estimate(0, -0.0, None, nan, Quality.OK, 0),
        Estimate(1.0, 61.5, 42.25, -0.0, Quality.NO_SIGNAL, 0.5, 6.0, "rr"),
        Estimate(2.5, None, 1e-300, -3.75, Quality.HR_ONLY, 1, 9.5, "acc"),
        Estimate(3.0, float("inf"), 40.0, 0.0, Quality.OK, 0.25, None, "unknown"),
    ]
    beats = HeartSample(1.0, 60.0, (1000.0, 990.5), (0.5, 1.0), Contact.DETECTED)
    with Store(db) as store:
        writer = store.begin_session(info("e"))
        writer.write([*edges[:2], beats])
        writer.write([edges[2], SessionEnded(3.0, "e", "done", 3.0)])
        first = _kept(db)
        writer.write([edges[3]])  # after the end: the block follows
    kept = _kept(db)
    assert first[:2] == (3, 1)
    assert kept[:2] == (4, 1)
    raw = sqlite3.connect(db)
    raw.execute("DELETE FROM column_blocks")
    raw.commit()
    raw.close()
    with Store(db) as store:
        store.load("e", sample_rows=False)
    assert _kept(db) == kept


def test_a_one_beat_sample_is_stored_as_pack_beats_packs_it(tmp_path: Path) -> None:
    """The writer packs a notification of one beat by a struct of its own (most
    are): the same bytes as ``pack_beats``, in the row and in the block."""
    from biofeedback.models import Contact, HeartSample, SessionEnded
    from biofeedback.store.rows import pack_beats
    from tests.support.store import info

    samples = [
        HeartSample(1.0, 60.0, (1000.0,), (0.25,), Contact.DETECTED),
        HeartSample(2.0, 61.0, (987,), (-0.0,), Contact.DETECTED),  # an int, a -0.0
        HeartSample(3.0, 62.0, (990.5, 1001.25), (2.5, 3.0), Contact.DETECTED),
        HeartSample(4.0, 63.0, (), (), Contact.NOT_DETECTED),
        HeartSample(5.0, 64.0, (1e-300,), (), Contact.DETECTED),  # no beat times: t_s
    ]
    db = tmp_path / "b.db"
    with Store(db) as store:
        writer = store.begin_session(info("b"))
        writer.write([*samples, SessionEnded(5.0, "b", "done", 5.0)])
    raw = sqlite3.connect(db)
    stored = [blob for (blob,) in raw.execute("SELECT beats FROM samples ORDER BY seq")]
    (block,) = raw.execute("SELECT beats FROM column_blocks").fetchone()
    raw.close()
    expected = [
        pack_beats(s.beat_t_s if s.beat_t_s else (s.t_s,) * len(s.rr_ms), s.rr_ms) for s in samples
    ]
    assert stored == expected
    assert block == b"".join(expected)
