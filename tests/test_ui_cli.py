"""`biofeedback run` opens the dashboard on a terminal and prints when piped."""

from __future__ import annotations

from tests.support.cli import run_cli, run_on_terminal


def test_run_on_a_terminal_opens_the_dashboard_and_closes_with_q() -> None:
    # Ten times real time, not max: at max the opening step can pass between two
    # frames of the screen, and the test is about what is drawn.
    out = run_on_terminal(
        ["run", "--sim", "--speed", "10", "--duration", "30", "--no-ratings"],
        until=b"Press q to close",
        then=b"q",
    )
    assert "Settle in" in out  # the first cue was drawn
    assert "GREEN" in out
    assert "duration reached after 0:30." in out, out[-300:]  # the line left behind


def test_run_piped_prints_events_instead_of_the_dashboard() -> None:
    proc = run_cli("run", "--sim", "--speed", "max", "--duration", "20")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "session_started" in lines[0]
    assert "session_ended" in lines[-1]
