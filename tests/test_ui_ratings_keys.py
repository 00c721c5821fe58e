"""Keys typed fast on the ratings form land in the right boxes: the real form on a
real pseudo-terminal, the keys written in one burst as a quick typist's arrive."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.support.cli import ROOT

FORM = (
    "from biofeedback.ui.ratings import RatingsApp\n"
    "app = RatingsApp('before')\n"
    "app.run()\n"
    "print('RESULT', app.ratings)\n"
)


def _type_into_form(keys: bytes, timeout_s: float = 15.0) -> str:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", FORM],
        cwd=ROOT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, TERM="xterm-256color"),
        start_new_session=True,
    )
    seen = b""
    typed = False
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 65536)
            if not typed and b"Tension" in seen:
                os.write(master, keys)  # all at once: no key waits for the one before
                typed = True
            if proc.poll() is not None and not ready:
                break  # exited, and all it wrote has been read
        assert proc.wait(timeout=5) == 0, seen[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(slave)
        os.close(master)
    text = seen.decode("utf-8", "replace")
    assert "RESULT" in text, text[-2000:]
    return text[text.index("RESULT") :].splitlines()[0]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (b"7\t2\t5\r", "Ratings(tension=7, pain=2, anxiety=5)"),
        # Back with shift+tab, and on to the save button with tab.
        (b"7\t\t4\x1b[Z3\t\t\r", "Ratings(tension=7, pain=3, anxiety=4)"),
    ],
)
def test_keys_typed_in_one_burst_land_in_their_boxes(keys: bytes, expected: str) -> None:
    assert _type_into_form(keys) == f"RESULT {expected}"
