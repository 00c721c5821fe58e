"""The program replays its own CSV export: `review --csv F` then `run --replay F`
gives back the same beats, and a recording with a dropout keeps its gap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli


def _review(db: Path, *args: str) -> dict[str, object]:
    proc = run_cli("review", "--json", "--db", str(db), *args)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.parametrize("scenario", ["calm", "dropouts"])
def test_review_csv_then_run_replay_gives_the_same_beats(tmp_path: Path, scenario: str) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    run = run_cli(
        "run", "--sim", scenario, "--headless", "--speed", "max", "--duration", "240",
        "--db", str(first),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    export = tmp_path / "session.csv"
    proc = run_cli("review", "--csv", str(export), "--db", str(first))
    assert proc.returncode == 0, proc.stderr
    replay = run_cli(
        "run", "--replay", str(export), "--headless", "--speed", "max", "--db", str(second)
    )
    assert replay.returncode == 0, replay.stderr
    original, replayed = _review(first), _review(second)
    assert replayed["source"] == "replay:session.csv"
    assert replayed["beats"] == original["beats"]
    # A dropout stays a gap: the replay is as long as the recording, not shorter.
    assert abs(float(replayed["duration_s"]) - float(original["duration_s"])) <= 3.0  # type: ignore[arg-type]
