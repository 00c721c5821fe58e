"""Synthetic record traffic: runners' messages as the wire carries them, made cheaply.

Each session sends one message a second (one notification's sample with its
beats, one estimate, now and then an event), then an end message with the
counts, as `run --mqtt-record` does. Used by the collector tests and
benchmarks/collect.py.
"""

from __future__ import annotations

import json
import struct
import time

from biofeedback.wire import EventRow, RowBatch, SessionEnd, SessionHead

EVENT_EVERY_S = 10


def head(session_id: str, started_at_unix_s: float, last_t_s: float = 0.0) -> SessionHead:
    return SessionHead(
        session_id=session_id,
        started_at_unix_s=started_at_unix_s,
        protocol="full",
        source="sim:calm",
        device=None,
        software_version="0.1.0",
        virtual=True,
        extra="{}",
        start_zone="green",
        baseline_hr_bpm=62.0,
        baseline_rmssd_ms=45.0,
        last_t_s=last_t_s,
        ended_at_unix_s=None,
        end_reason=None,
        duration_s=None,
    )


def second(session_id: str, started_at_unix_s: float, t: int) -> RowBatch:
    """The rows of second ``t`` of a session (sequence numbers follow from ``t``)."""
    beats = (t + 0.1, 950.0 + t % 7, t + 1.05, 940.0 + t % 5)
    sample = (t, float(t + 1), 63.0, "in_contact", None, struct.pack("<4d", *beats))
    estimate = (t, float(t + 1), 63.0, 44.0, 0.2, "good", 0.0, None, None)
    events: tuple[EventRow, ...] = ()
    if t % EVENT_EVERY_S == 0:
        data = {"t": float(t), "type": "step_started", "step": f"s{t}", "kind": "tense"}
        events = ((t // EVENT_EVERY_S, float(t), "step_started", json.dumps(data)),)
    return RowBatch(
        head(session_id, started_at_unix_s, float(t + 1)), (sample,), (estimate,), events
    )


def end(session_id: str, started_at_unix_s: float, seconds: int) -> SessionEnd:
    counts = {
        "samples": seconds,
        "estimates": seconds,
        "events": (seconds - 1) // EVENT_EVERY_S + 1 if seconds else 0,
    }
    h = head(session_id, started_at_unix_s, float(seconds))
    ended = SessionHead(
        **{
            **{name: getattr(h, name) for name in SessionHead.__slots__},
            "ended_at_unix_s": time.time(),
            "end_reason": "completed",
            "duration_s": float(seconds),
        }
    )
    return SessionEnd(ended, counts)


def rows_of(seconds: int) -> int:
    return 2 * seconds + (seconds - 1) // EVENT_EVERY_S + 1
