"""The command line as a user meets it: exit codes, one-line errors, JSON Lines."""

from __future__ import annotations

import json
import signal

import pytest

from biofeedback.store import default_db_path
from tests.support.cli import assert_one_line_error, live_run, run_cli, wait_for_event


def test_headless_json_session_from_start_to_end() -> None:
    proc = run_cli("run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "900")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["type"] == "session_started"
    assert events[-1]["type"] == "session_ended"
    assert all(isinstance(e["t"], float | int) for e in events)
    assert {"step_started", "estimate", "baseline"} <= {e["type"] for e in events}


def test_headless_text_prints_one_line_per_event() -> None:
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--duration", "30")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "session_started" in lines[0]
    assert "session_ended" in lines[-1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", "--bogus"), ["--bogus", "--help"]),
        (("run", "--sim", "nosuch", "--headless"), ["nosuch", "calm"]),
        (("run", "--sim", "--protocol", "nosuch", "--headless"), ["nosuch", "full"]),
        (
            ("run", "--sim", "--protocol", "/nonexistent/p.toml", "--headless"),
            ["/nonexistent/p.toml"],
        ),
        (("run", "--sim", "--json"), ["--headless"]),
        (("run", "--sim", "--speed", "fast"), ["speed"]),
        (("run", "--replay", "rr.txt", "--seed", "3", "--headless"), ["--seed", "--sim"]),
        (("run", "--sim", "--headless", "--speed", "nan", "--duration", "1"), ["speed", "nan"]),
        (("run", "--sim", "--headless", "--speed", "max", "--duration", "nan"), ["duration"]),
        (("run", "--headless"), ["--sim"]),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args: tuple[str, ...], words: list[str]) -> None:
    assert_one_line_error(run_cli(*args), *words)


def test_bad_protocol_file_names_file_and_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\ntitle = "X"\nzone = "green"\n'
        '[[steps]]\nid = "one"\nkind = "dance"\ncue = "go"\ns = 5\n'
    )
    proc = run_cli("run", "--sim", "--headless", "--protocol", str(bad))
    assert_one_line_error(proc, str(bad), "'one'", "kind")


@pytest.mark.parametrize(
    "command", ["", "scan", "pair", "run", "review", "history", "protocols", "monitor", "delete"]
)
def test_every_help_answers(command: str) -> None:
    proc = run_cli(*([command] if command else []), "--help")
    assert proc.returncode == 0
    assert "usage: biofeedback" in proc.stdout


def test_protocols_json_lists_builtins() -> None:
    proc = run_cli("protocols", "--json")
    assert proc.returncode == 0
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    names = {r["name"] for r in rows}
    assert {"full", "breath-partial", "passive-rest"} <= names
    assert all(r["zone"] in {"green", "yellow", "red"} and r["duration_s"] > 0 for r in rows)


@pytest.mark.parametrize(
    ("sig", "code", "reason"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
        # The terminal was closed: the session ends cleanly, not UNFINISHED.
        (signal.SIGHUP, 129, "terminal closed"),
    ],
)
def test_a_signalled_headless_run_is_saved_as_ended_without_a_traceback(
    sig: signal.Signals, code: int, reason: str
) -> None:
    proc = live_run("--sim")
    try:
        # The session is under way once its first step has been printed.
        wait_for_event(proc, "step_started")
        proc.send_signal(sig)
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    last = json.loads(rest.splitlines()[-1])
    assert (last["type"], last["reason"]) == ("session_ended", reason)
    # One line on stderr, saying where it went (issue 26 item 10), and no traceback.
    assert err.splitlines() == [
        f"biofeedback: session {last['session_id']} ({reason}) saved in {default_db_path()}"
        f" (see `biofeedback review {last['session_id']}`)"
    ]
    saved = json.loads(run_cli("history", "--json").stdout)["sessions"][0]
    assert (saved["session_id"], saved["finished"]) == (last["session_id"], True)


def test_a_store_path_that_cannot_be_made_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a-file").write_text("")
    db = tmp_path / "a-file" / "sub" / "s.db"
    proc = run_cli(
        "run", "--sim", "--headless", "--speed", "max", "--duration", "1", "--db", str(db)
    )
    assert_one_line_error(proc, str(db))
