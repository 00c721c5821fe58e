"""A writer on the event loop's thread inserts a statement a row (``executemany``),
one elsewhere many rows a statement: the same rows either way, in every table,
for batches longer than a statement holds and with awkward values (None, NaN,
-0.0, integers, several beats in a sample, no beat times, events of every kind
the writer singles out)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from biofeedback.models import (
    Baseline,
    BreathTaken,
    ChestMotion,
    Contact,
    Estimate,
    HeartSample,
    Quality,
    SessionEnded,
    SessionInfo,
    SessionStarted,
    Zone,
    ZoneChanged,
)
from biofeedback.store import Store
from biofeedback.store.writer import Item

_TABLES = ("sessions", "samples", "estimates", "events", "breaths", "motion", "column_blocks")


def _items() -> list[Item]:
    items: list[Item] = [SessionStarted(0.0, "s", "full", "sim", Zone.GREEN)]
    awkward = [None, math.nan, -0.0, 0.0, 72, 1e-300, 61.25]
    for n in range(260):
        t = float(n)
        figure = awkward[n % len(awkward)]
        items.append(
            Estimate(t, figure, 40.0 + n, figure, Quality.OK, 0.0, figure, "rr" if n % 3 else None)
        )
        beats = tuple(range(n % 4))
        items.append(
            HeartSample(
                t,
                None if n % 5 == 0 else 60.0,
                tuple(900.0 + b for b in beats),
                () if n % 7 == 0 else tuple(t - 0.9 * b for b in beats),
                contact=Contact.DETECTED,
                energy_kj=n if n % 11 == 0 else None,
            )
        )
        if n % 2 == 0:
            items.append(ZoneChanged(t, Zone.GREEN, Zone.YELLOW, f"reason {n}"))
        if n % 9 == 0:
            items.append(BreathTaken(t, t - 4.0, 1.5, 2.5, 3.0))
            items.append(ChestMotion(t, 50.0, (1.0, 2.0), (0.5, -0.5), (1000.0, 999.0)))
    items.insert(40, Baseline(30.0, 64.0, 45.0, "steady"))  # type: ignore[arg-type]
    items.append(SessionEnded(260.0, "s", "completed", 260.0))
    return items


def _rows(path: Path, row_statements: bool) -> list[tuple[object, ...]]:
    store = Store(path)
    try:
        writer = store.begin_session(SessionInfo("s", "full", "sim", 1_700_000_000.0), virtual=True)
        writer.row_statements = row_statements
        items = _items()
        # Two batches, as a recorder would commit them.
        writer.write(items[:300])
        writer.write(items[300:])
    finally:
        store.close()
    con = sqlite3.connect(path)
    try:
        rows: list[tuple[object, ...]] = []
        for table in _TABLES:
            found = list(con.execute(f"SELECT * FROM {table}"))
            assert found, table
            # The end's wall-clock time is the one column that differs between two runs.
            rows += [(table, *row) for row in found if table != "sessions"]
        return rows
    finally:
        con.close()


def test_a_statement_a_row_stores_the_rows_of_many_rows_a_statement(tmp_path: Path) -> None:
    many = _rows(tmp_path / "many.db", row_statements=False)
    each = _rows(tmp_path / "each.db", row_statements=True)
    assert len(many) > 700
    assert [repr(row) for row in each] == [repr(row) for row in many]
