"""What a new user reads on the command line: help, the bare command, mistakes, the
history table when piped (issue 18, items 9 and 11)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import assert_one_line_error, run_cli


def test_bare_command_is_a_short_overview_that_succeeds() -> None:
    proc = run_cli()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) < 20
    for command in ("scan", "pair", "run", "review", "history", "delete", "protocols", "monitor"):
        assert any(line.strip().startswith(f"biofeedback {command} ") for line in lines)
    assert "biofeedback run --sim" in proc.stdout


def test_every_command_describes_itself_and_its_json_option() -> None:
    for command in ("history", "protocols", "monitor", "delete"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0, proc.stderr
        # A description paragraph between the usage and the options.
        _usage, _, rest = proc.stdout.partition("\n\n")
        description = rest.split("\n\n")[0]
        assert not description.startswith(("positional", "options")), (command, proc.stdout)
        assert len(description) > 40
    for command in ("history", "protocols", "scan", "review"):
        json_line = next(
            line for line in run_cli(command, "--help").stdout.splitlines() if "--json" in line
        )
        assert json_line.split("--json", 1)[1].strip(), (command, json_line)


def test_run_help_lists_routines_and_scenarios_and_replay_takes_a_store() -> None:
    out = run_cli("run", "--help").stdout
    names = [
        json.loads(line)["name"] for line in run_cli("protocols", "--json").stdout.splitlines()
    ]
    assert names
    assert all(f"  {name} " in out for name in names)
    for scenario in ("calm", "anxious", "dropouts", "panic"):
        assert f"  {scenario} " in out
    assert "STORE#SESSION" in out.replace("\n", " ").replace("  ", " ")


def test_protocols_show_their_descriptions() -> None:
    text = run_cli("protocols").stdout
    for line in run_cli("protocols", "--json").stdout.splitlines():
        first_words = " ".join(json.loads(line)["description"].split()[:4])
        assert first_words in " ".join(text.split())


def test_an_unknown_run_option_names_the_run_help() -> None:
    proc = run_cli("run", "--sim", "--nonsense")
    assert_one_line_error(proc, "--nonsense", "biofeedback run --help")


def test_piped_history_columns_line_up_with_long_protocol_names(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    for protocol in ("anxiety-downshift", "full"):
        proc = run_cli(
            "run", "--sim", "--headless", "--speed", "max", "--duration", "30",
            "--protocol", protocol, "--db", str(db),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    lines = run_cli("history", "--db", str(db)).stdout.splitlines()
    header, rows = lines[0], lines[1:3]
    assert {row.split()[3] for row in rows} == {"anxiety-downshift", "full"}
    # Left-aligned columns start where their header starts; right-aligned ones end there.
    for word in ("session", "protocol", "status"):
        col = header.index(word)
        assert all(row[col - 1] == " " and row[col] != " " for row in rows), (word, lines)
    for word in ("length", "RMSSD"):
        end = header.index(word) + len(word) - 1
        assert all(row[end] != " " and row[end + 1] == " " for row in rows), (word, lines)
    # Sessions of 30 s never reach a resting baseline: the history says why there is no trend.
    assert "No trend yet" in "\n".join(lines)
