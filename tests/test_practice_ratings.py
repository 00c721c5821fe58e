"""Ratings before and after a session: flags, the terminal prompt, the store, review, history."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from biofeedback.practice.ratings import Ratings
from biofeedback.store import SCHEMA_VERSION, Store, load_ratings, save_ratings
from biofeedback.store.schema import APPLICATION_ID, MIGRATIONS
from tests.support.cli import assert_one_line_error, live_run, run_cli, wait_for_event

RUN = ("run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "240")


def test_ratings_are_recorded_and_shown_in_review_and_history(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    for before, after in (("6,4,5", "3,4,2"), ("5,,5", "6,,3"), (",3,", ",1,")):
        proc = run_cli(*RUN, "--db", db, "--rate-before", before, "--rate-after", after)
        assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout.splitlines()[-1])
    assert line["before"] == {"tension": None, "pain": 3, "anxiety": None}

    review = run_cli("review", "--json", "--db", db)
    assert review.returncode == 0, review.stderr
    ratings = json.loads(review.stdout)["ratings"]
    assert ratings["change"] == {"tension": None, "pain": -2, "anxiety": None}
    assert set(ratings["body_change"]) == {"hr_bpm", "rmssd_ms", "window_s"}
    assert ratings["body_change"]["window_s"] == 120.0
    text = run_cli("review", "--db", db).stdout
    assert "how you felt (0-10): pain 3 -> 1 (-2)" in text
    assert "your body: HR" in text

    history = run_cli("history", "--json", "--db", db, "--last", "5")
    assert history.returncode == 0, history.stderr
    practice = json.loads(history.stdout)["practice"]
    assert practice["rated_sessions"] == 3
    # Tension -3 and +1 (the third did not rate it); pain 0 and -2; anxiety -3 and -2.
    assert practice["median_change"] == {"tension": -1.0, "pain": -1.0, "anxiety": -2.5}
    assert practice["tension_fell"]["sessions"] == 2
    assert practice["tension_fell"]["fell"] == 1
    low, high = practice["tension_fell"]["interval_95"]
    assert 0 < low < 0.5 < high < 1
    assert practice["streak_days"] == 1
    assert practice["days_last_7"] == 1
    brace = practice["where_you_brace"]
    assert brace["sessions"] == 3
    assert brace["from_simulated"] is True
    assert {"feet", "calves"} <= {r["region"] for r in brace["regions"]}
    text = run_cli("history", "--db", db).stdout
    assert "Tension fell in 1 of 2 session(s)" in text
    assert "streak 1 day(s)" in text


def test_bad_ratings_stop_the_run_before_it_starts(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    for flag, value in (
        ("--rate-before", "11"),
        ("--rate-after", "4,x"),
        ("--rate-after", "1,2,3,4"),
    ):
        proc = run_cli(*RUN, "--db", str(db), flag, value)
        assert_one_line_error(proc, flag)
    assert not db.exists()


def _read_until(fd: int, needle: bytes, timeout_s: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout_s
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_headless_on_a_terminal_asks_before_and_after(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    main, tty = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", *RUN, "--db", str(db)],
        stdin=tty,
        stderr=tty,
        stdout=subprocess.PIPE,
        text=True,
    )
    os.close(tty)
    try:
        _read_until(main, b"Before you start")
        os.write(main, b"12\n")  # out of range: asked again, nothing lost
        _read_until(main, b"try again")
        os.write(main, b"7,,6\n")
        _read_until(main, b"How do you feel now")
        os.write(main, b"\n")  # enter skips
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    line = json.loads(out.splitlines()[-1])
    assert line["type"] == "ratings"
    assert line["before"] == {"tension": 7, "pain": None, "anxiety": 6}
    assert line["after"] is None
    with Store(db) as store:
        assert load_ratings(store, "latest") == (Ratings(7, None, 6), None)


def test_no_prompt_when_stdin_is_not_a_terminal(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "biofeedback", *RUN, "--db", str(tmp_path / "s.db")],
        input="5,5,5\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Before you start" not in proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["type"] == "session_ended"


def test_a_store_of_version_one_gains_the_ratings_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        MIGRATIONS[0](db)
        db.execute(
            "INSERT INTO sessions (session_id, started_at_unix_s, protocol, source,"
            " software_version) VALUES ('old1', 1.0, 'full', 'strap', '0.0.1')"
        )
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("PRAGMA user_version = 1")
    with Store(path) as store:
        assert store.session("old1").protocol == "full"
        assert load_ratings(store, "old1") == (None, None)
        save_ratings(store, "old1", "after", Ratings(2, 2, 2))
        save_ratings(store, "old1", "before", Ratings())  # nothing given: nothing stored
        assert load_ratings(store, "old1") == (None, Ratings(2, 2, 2))
        store.delete("old1")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT count(*) FROM ratings").fetchone()[0] == 0


def converse(args: list[str], steps: list[tuple[bytes, bytes]], timeout_s: float = 90) -> str:
    """Run the CLI on an 80x24 pseudo-terminal; type each answer once its prompt is drawn."""
    main, tty = os.openpty()
    fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", *args],
        stdin=tty,
        stdout=tty,
        stderr=tty,
        env=dict(os.environ, TERM="xterm-256color"),
        start_new_session=True,
    )
    seen = b""
    todo = list(steps)
    mark = 0
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            exited = proc.poll() is not None
            ready, _, _ = select.select([main], [], [], 0.1 if exited else 0.5)
            if not ready:
                if exited:
                    break
                continue
            seen += os.read(main, 65536)
            if todo and todo[0][0] in seen[mark:]:
                mark = len(seen)
                os.write(main, todo.pop(0)[1])
        assert proc.wait(timeout=10) == 0, seen[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(tty)
        os.close(main)
    assert not todo, f"never saw {todo[0][0]!r}"
    return seen.decode("utf-8", "replace")


def test_the_dashboard_asks_in_a_form_before_and_after(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    out = converse(
        ["run", "--sim", "--speed", "max", "--duration", "10", "--db", str(db)],
        [
            (b"Before you start", b"4"),
            # Enter moves on, pain and anxiety stay empty; enter on the last saves.
            (b"To save: tension 4", b"\r\r\r"),
            (b"Press q to close", b"q"),
            (b"How are you now", b"\x1b"),  # escape skips
        ],
    )
    assert "duration reached after 0:10." in out
    with Store(db) as store:
        assert load_ratings(store, "latest") == (Ratings(4, None, None), None)


def test_ratings_given_before_are_kept_even_if_the_session_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    proc = live_run("--sim", "--duration", "600", "--db", str(db), "--rate-before", "6,,4")
    try:
        # Running in real time: the first heart estimate means the record is open.
        wait_for_event(proc, "estimate")
        proc.kill()  # no chance to save anything at the end
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Store(db) as store:
        assert load_ratings(store, "latest") == (Ratings(6, None, 4), None)
