"""Review reads the store's columns, not a tuple per row (issue 28): the summary
and `review --json` are byte for byte what the row-by-row reading gave."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from biofeedback.models import Quality, Recording
from biofeedback.review import summarize, summary_json
from biofeedback.store import Store, StoreError
from tests.support.cli import run_cli


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated session whose strap drops out (None values, no-signal rows)."""
    path = tmp_path_factory.mktemp("columns") / "c.db"
    proc = run_cli(
        "run", "--sim", "dropouts", "--headless", "--speed", "max", "--duration", "300",
        "--no-ratings", "--db", str(path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return path


def as_plain_rows(rec: Recording) -> Recording:
    """The same recording as plain tuples: how review read it before the columns."""
    return Recording(
        rec.session,
        rec.events,
        tuple(tuple(row) for row in rec.estimate_rows),  # type: ignore[misc]
        tuple(rec.sample_rows),
        tuple(rec.beat_t_s),
        tuple(rec.rr_ms),
    )


def test_estimate_rows_keep_none_and_quality(db: Path) -> None:
    with Store(db) as store:
        rec = store.load("latest")
    rows = list(rec.estimate_rows)
    qualities = {row[4] for row in rows}
    assert Quality.NO_SIGNAL in qualities
    assert all(isinstance(row[4], Quality) for row in rows)
    silent = [row for row in rows if row[4] is Quality.NO_SIGNAL]
    assert all(row[1] is None and row[3] is None for row in silent)
    assert not any(isinstance(v, float) and math.isnan(v) for row in rows for v in row)
    assert rec.estimates[0].t == rows[0][0]


def test_summary_from_columns_is_byte_identical(db: Path) -> None:
    with Store(db) as store:
        full = store.load("latest")
        light = store.load("latest", sample_rows=False)
    expected = summary_json(summarize(as_plain_rows(full)))
    assert summary_json(summarize(light)) == expected
    assert summary_json(summarize(full)) == expected
    assert len(light.sample_rows) == len(full.sample_rows)
    with pytest.raises(StoreError, match="sample_rows=True"):
        light.sample_rows[0]
    proc = run_cli("review", "latest", "--json", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    printed.pop("ratings")
    assert json.dumps(printed, indent=2) == expected
