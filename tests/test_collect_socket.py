"""The collector's buffered socket: paho's small reads served from one large one."""

from __future__ import annotations

import socket

import pytest

from biofeedback.mqtt.collector import _BufferedSocket


def test_small_reads_come_from_one_read_and_pending_counts_what_waits() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        held = _BufferedSocket(ours)
        theirs.sendall(b"\x32\x05hello\x40\x02")
        assert held.recv(1) == b"\x32"
        # The rest was read with it: the reader must drain it, the socket will not say so.
        assert held.pending() == 8
        assert held.recv(1) == b"\x05"
        assert held.recv(5) == b"hello"
        assert held.recv(10) == b"\x40\x02"
        assert held.pending() == 0
        with pytest.raises(BlockingIOError):
            held.recv(1)
        theirs.sendall(b"ab")
        assert held.recv(5) == b"ab"  # what fits is handed over as it came
        assert held.fileno() == ours.fileno()
