"""``python -m simulators``: help, the rr file command, and one-line errors."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulators.__main__ import main
from simulators.source import SimulatedSource
from tests.support.simulator import drive


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulators", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_names_the_subcommands() -> None:
    proc = run_module("--help")
    assert proc.returncode == 0
    assert "rr" in proc.stdout
    assert "scenarios" in proc.stdout
    bare = run_module()
    assert bare.returncode == 2
    assert "COMMAND" in bare.stdout


def test_rr_file_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "rr.txt"
    proc = run_module(
        "rr", "--scenario", "artifacts", "--minutes", "3", "--seed", "4", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stderr
    assert proc.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    values = [int(line) for line in out.read_text().splitlines()]
    # The same person in-process: the file holds exactly what the strap reported.
    expected = drive(SimulatedSource("artifacts", seed=4), 180.0).rr_ms
    assert values == [round(rr) for rr in expected]
    assert sum(values) / 1000.0 == pytest.approx(180.0, abs=3.0)


def test_rr_csv_keeps_the_gaps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rr.csv"
    assert (
        main(
            ["rr", "--scenario", "dropouts", "--minutes", "5", "--out", str(out), "--format", "csv"]
        )
        == 0
    )
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    assert out.read_text().startswith("arrival_s,rr_ms\n")
    arrival = rows[:, 0]
    gaps = np.diff(arrival)
    source = SimulatedSource("dropouts")
    for gap in source.scenario.dropouts:
        assert not np.any((arrival >= gap.start_s) & (arrival < gap.end_s))
    assert gaps.max() >= max(g.duration_s for g in source.scenario.dropouts)
    assert "wrote" in capsys.readouterr().err


def test_rr_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rr", "--minutes", "0.5", "--out", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert 25 <= len(lines) <= 45
    assert all(400 < int(v) < 1600 for v in lines)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["rr", "--scenario", "nosuch", "--out", "x.txt"], ["nosuch", "calm"]),
        (["rr", "--minutes", "0", "--out", "x.txt"], ["--minutes"]),
        (["rr", "--minutes", "lots", "--out", "x.txt"], ["lots"]),
        (["rr", "--seed", "-3", "--out", "x.txt"], ["seed"]),
        (["rr", "--out", "/nonexistent/dir/x.txt"], ["cannot write", "/nonexistent/dir/x.txt"]),
        (["rr", "--scenario", "/nonexistent/me.toml", "--out", "x.txt"], ["cannot read"]),
        (["rr"], ["--out"]),
        (["fly"], ["fly"]),
        (["mqtt", "mqtt://127.0.0.1/hr", "--speed", "inf"], ["--speed", "finite"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    words: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        sys.exit(main(argv))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err
    assert not (tmp_path / "x.txt").exists()


def test_a_bad_scenario_file_through_the_real_entry_point(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[person]\nheart = 3\n')
    proc = run_module("rr", "--scenario", str(bad), "--out", str(tmp_path / "x.txt"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "heart" in proc.stderr


def test_scenarios_lists_ground_truth(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "--json"]) == 0
    rows = {row["name"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["anxious"]["onsets_s"] == [120.0, 250.0]
    assert rows["ectopy"]["hrv_usable"] is False
    assert 0.02 <= rows["artifacts"]["artifact_share"] <= 0.05
    assert rows["dropouts"]["dropouts"] == 3
