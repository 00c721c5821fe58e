"""The parser built for one command line (only the command it names) answers exactly as
the whole parser does: the same help, the same errors and exit codes, the same
arguments, abbreviations included (issue 28: building every command's options was ~3 ms
of each start)."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import io
import itertools
import os
import pty
import struct
import sys
import termios

import pytest

from biofeedback.cli.parser import (
    COMMANDS,
    build_parser,
    command_parser,
    print_overview,
    terminal_columns,
)

# A full command line for each command, every option given, some abbreviated.
FULL_LINES = {
    "scan": ["scan", "--time", "3", "--json"],
    "pair": ["pair", "AA:BB:CC:DD:EE:FF", "--timeout", "2"],
    "run": [
        "run",
        "--sim",
        "anxious",
        "--headless",
        "--json",
        "--speed",
        "max",
        "--dur",
        "900",
        "--seed",
        "3",
        "--no-gentle",
        "--rate-before=-1,,",
        "--imag",
        "neck",
        "--zone",
        "red",
        "--sides",
        "--no-r",
    ],
    "resonance": ["resonance", "--replay", "x.txt", "--rates", "6,5", "--step", "90"],
    "review": ["review", "abc", "--png", "a.png", "--rr-c", "x.txt", "--db", "s.db"],
    "history": ["history", "--last", "3", "--json", "--runner", "ann"],
    "delete": ["delete", "abc", "--yes"],
    "setup": ["setup", "--position", "lying", "--no-back-pain", "--gentle-j", "--eyes", "open"],
    "protocols": ["protocols", "--json"],
    "today": ["today", "--at", "2026-03-02 22:30", "--json"],
    "plan": ["plan", "--ics", "w.ics", "--save"],
    "phrases": ["phrases", "--prot", "back-care", "--sides"],
    "monitor": ["monitor", "mqtt://h"],
    "sync": ["sync", "--mqtt", "mqtt://h", "--again", "s1"],
    "collect": ["collect", "--broker", "mqtt://h", "--db", "postgresql://u@h/d", "--max-w", "9"],
}

# Help, mistakes and what is unusual before a command, at the top level.
TOP_LEVEL_LINES = [
    [],
    ["--help"],
    ["-h", "run"],
    ["--debug", "--help", "run"],
    ["--debug"],
    ["--deb", "run", "--sim"],
    ["--version"],
    ["bogus"],
    ["ru"],
    ["--", "run"],
    ["--bogus", "run"],
    ["--debug=1", "run"],
    ["-1"],
    [""],
    ["run", "--sim", "--device", "x"],
    ["run", "--zone", "purple"],
    ["run", "--speed", "nan"],
    ["run", "--sim", "--rate-before"],
    ["setup", "--pos"],
    ["history", "--last", "0"],
    ["collect", "--max-waiting", "x", "--broker", "a", "--db", "b"],
]


def _answer(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[object, ...]:
    """What parsing ``argv`` gives, as the program parses (``cli.main``): the arguments
    and what was left over, or the exit code; what it printed; and the help of the
    parser a leftover's error names."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit as exit:
            return exit.code, out.getvalue(), err.getvalue()
        if args.command is None:
            print_overview(parser)
        named = command_parser(parser, args)
        answer = (vars(args), extra, named.prog, named.format_help())
    return answer, out.getvalue(), err.getvalue()


def test_each_command_line_gets_the_answers_of_the_whole_parser() -> None:
    assert sorted(FULL_LINES) == sorted(name for name, _, _ in COMMANDS)
    lines = list(TOP_LEVEL_LINES)
    for name, full in FULL_LINES.items():
        lines += [full, [name], [name, "--help"], [name, "-h"], [name, "--bogus", "x"]]
        lines += [["--debug", *full], [*full, "--bogus"], full[:-1]]
    for argv in lines:
        whole, lazy = _answer(build_parser(), argv), _answer(build_parser(argv), argv)
        assert lazy == whole, argv
    # What is compared is what a person sees: help, errors (exit code 2), arguments.
    helped, mistaken, parsed = (
        _answer(build_parser(argv), argv) for argv in (["--help"], ["bogus"], ["run"])
    )
    assert helped[0] == 0
    assert "remember a strap as the default source" in str(helped[1])
    assert mistaken[0] == 2
    assert "invalid choice: 'bogus'" in str(mistaken[2])
    assert isinstance(parsed[0], tuple)
    assert parsed[0][0]["speed"] == 1.0


def test_the_help_is_as_wide_as_shutil_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parser finds the width argparse asks shutil for without loading shutil: the
    # same answer for every $COLUMNS (and $LINES, which makes shutil look at the
    # terminal) with stdout a terminal of several widths, a pipe, or gone.
    import shutil

    leader, follower = pty.openpty()
    pipe_read, pipe_write = os.pipe()
    try:
        terminal = os.fdopen(follower, "w")
        piped = os.fdopen(pipe_write, "w")
        outputs: list[object] = [terminal, piped, None]
        checked = 0
        for out, width in itertools.product(outputs, (97, 0, 143)):
            if out is terminal:
                fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, width, 0, 0))
            monkeypatch.setattr(sys, "__stdout__", out)
            for columns, lines in itertools.product(
                (None, "", "abc", "0", "-5", " 61 ", "8_0", "+70", "200"), (None, "x", "40")
            ):
                for name, value in (("COLUMNS", columns), ("LINES", lines)):
                    if value is None:
                        monkeypatch.delenv(name, raising=False)
                    else:
                        monkeypatch.setenv(name, value)
                assert terminal_columns() == shutil.get_terminal_size().columns, (
                    out, width, columns, lines,
                )  # fmt: skip
                checked += 1
        assert checked == 3 * 3 * 27
    finally:
        for fd in (leader, pipe_read):
            os.close(fd)
        terminal.close()
        piped.close()
    # And the help is laid out to it (a narrow terminal wraps the help to its width).
    monkeypatch.setenv("COLUMNS", "50")
    narrow = build_parser(["run", "--help"]).format_help()
    monkeypatch.setenv("COLUMNS", "200")
    wide = build_parser(["run", "--help"]).format_help()
    assert max(map(len, narrow.splitlines())) <= 50 < max(map(len, wide.splitlines()))
