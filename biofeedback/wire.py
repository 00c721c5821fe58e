"""The session record on the wire: what runners publish and collectors read.

Pure and library-free, so the runner's side (the SQLite record, the MQTT
publisher) and the collector's side (the MQTT subscriber, the PostgreSQL
store) share one schema without importing each other.

A record travels as messages on ``biofeedback/<runner>/record/<session_id>``
(QoS 1), each one JSON object:

- ``{"kind": "rows", ...}``: the session's header and a batch of its rows.
  Every row carries its sequence number within the session and its table
  (samples, estimates, events, breaths, motion: the numbering of the SQLite
  record), so a row sent twice is stored once. ``breaths`` and ``motion``
  (chest sessions only) appear only when the batch holds some, so a session
  without breath travels exactly as before they existed.
- ``{"kind": "end", ...}``: the header, how many rows of each table the
  session holds, and its ratings. A session is complete at the far end once
  it holds that many rows, whatever order the messages arrived in.

Rows keep every value exactly (floats round-trip through JSON; an event's
data is the very text of the record), so a review of the central copy equals
a review of the local one.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any, Literal

from biofeedback.models.record import record

WIRE_VERSION = 1
TOPIC_ROOT = "biofeedback"
TABLES = ("samples", "estimates", "events", "breaths", "motion")
Table = Literal["samples", "estimates", "events", "breaths", "motion"]
# The tables every message names; the chest's (breaths, motion) only when it has rows.
_ALWAYS = TABLES[:3]


class WireError(ValueError):
    """A record message that is not one of ours, or not whole."""


def record_topic(runner: str, session_id: str) -> str:
    return f"{TOPIC_ROOT}/{runner}/record/{session_id}"


def record_filter(group: str | None = None) -> str:
    """Every runner's record; shared by the collectors of ``group`` (MQTT 5)."""
    topic = f"{TOPIC_ROOT}/+/record/+"
    return topic if group is None else f"$share/{group}/{topic}"


def runner_of(topic: str) -> tuple[str, str]:
    """(runner, session id) from a record topic; the broker's ACL vouches for the runner."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != TOPIC_ROOT or parts[2] != "record" or not all(parts):
        raise WireError(f"not a record topic: {topic!r}")
    return parts[1], parts[3]


@record(frozen=True, slots=True)
class SessionHead:
    """A session's own columns, as the runner's record holds them now."""

    session_id: str
    started_at_unix_s: float
    protocol: str
    source: str
    device: str | None
    software_version: str
    virtual: bool
    extra: str
    start_zone: str | None
    baseline_hr_bpm: float | None
    baseline_rmssd_ms: float | None
    last_t_s: float
    ended_at_unix_s: float | None
    end_reason: str | None
    duration_s: float | None


# Rows as tuples, in the column order of both stores:
# samples (seq, t_s, hr_bpm, contact, energy_kj, beats packed as <d pairs),
# estimates (seq, t_s, hr_bpm, rmssd_ms, arousal, quality, artifact_rate, breath_per_min,
# breath_source),
# events (seq, t_s, type, data), ratings (phase, tension, pain, anxiety, rated_at_unix_s),
# breaths (seq, onset_t_s, inhale_s, exhale_s, depth_mg),
# motion (seq, t_s, rate_hz, xyz: the record's zlib-compressed int16 milli-g, as it is;
# base64 on the wire).
SampleRow = tuple[int, float, float | None, str, int | None, bytes]
EstimateRow = tuple[
    int, float, float | None, float | None, float | None, str, float, float | None, str | None
]
EventRow = tuple[int, float, str, str]
BreathRow = tuple[int, float, float, float, float]
MotionRow = tuple[int, float, float, bytes]
RatingRow = tuple[str, int | None, int | None, int | None, float]


@record(frozen=True, slots=True)
class RowBatch:
    """A batch of a session's rows for the central copy: the session's head and its new
    samples, estimates, events, breaths and motion."""

    head: SessionHead
    samples: tuple[SampleRow, ...] = ()
    estimates: tuple[EstimateRow, ...] = ()
    events: tuple[EventRow, ...] = ()
    breaths: tuple[BreathRow, ...] = ()
    motion: tuple[MotionRow, ...] = ()

    @property
    def rows(self) -> int:
        return sum(len(getattr(self, table)) for table in TABLES)

    def last_seqs(self) -> dict[str, int]:
        """The highest sequence number of each table in this batch (-1: none)."""
        last: dict[str, int] = {}
        for table in TABLES:
            rows = getattr(self, table)
            last[table] = rows[-1][0] if rows else -1
        return last


@record(frozen=True, slots=True)
class SessionEnd:
    """The message that closes a session on the central copy: its head, how many rows
    of each kind it has, and its ratings."""

    head: SessionHead
    counts: Mapping[str, int]
    ratings: tuple[RatingRow, ...] = field(default=())


Message = RowBatch | SessionEnd


def encode(message: Message, *, sent_at_unix_s: float) -> bytes:
    head = _head_dict(message.head)
    out: dict[str, Any]
    if isinstance(message, RowBatch):
        out = {
            "v": WIRE_VERSION,
            "kind": "rows",
            "session": head,
            "samples": [
                [seq, t, hr, contact, energy, list(_unpack(beats))]
                for seq, t, hr, contact, energy, beats in message.samples
            ],
            "estimates": [list(row) for row in message.estimates],
            "events": [list(row) for row in message.events],
        }
        if message.breaths:
            out["breaths"] = [list(row) for row in message.breaths]
        if message.motion:
            out["motion"] = [
                [seq, t, rate, base64.b64encode(xyz).decode("ascii")]
                for seq, t, rate, xyz in message.motion
            ]
    else:
        counts = {t: int(message.counts.get(t, 0)) for t in TABLES}
        out = {
            "v": WIRE_VERSION,
            "kind": "end",
            "session": head,
            "counts": {t: n for t, n in counts.items() if t in _ALWAYS or n},
            "ratings": [list(r) for r in message.ratings],
        }
    out["sent_at_unix_s"] = sent_at_unix_s
    return json.dumps(out, separators=(",", ":")).encode()


def decode(payload: bytes) -> tuple[Message, float]:
    """The message and when the runner sent it; ``WireError`` for anything else."""
    try:
        data = json.loads(payload)
        if not isinstance(data, dict) or data.get("v") != WIRE_VERSION:
            raise WireError("not a record message of this version")
        head = _head(data["session"])
        sent = float(data.get("sent_at_unix_s", 0.0))
        if data["kind"] == "rows":
            return (
                RowBatch(
                    head,
                    tuple(_sample(r) for r in data["samples"]),
                    tuple(_estimate(r) for r in data["estimates"]),
                    tuple(_event(r) for r in data["events"]),
                    tuple(_breath(r) for r in data.get("breaths", ())),
                    tuple(_motion(r) for r in data.get("motion", ())),
                ),
                sent,
            )
        if data["kind"] == "end":
            # A runner from before the chest's tables sends none of them: it has none.
            given = data["counts"]
            counts = {t: int(given[t] if t in _ALWAYS else given.get(t, 0)) for t in TABLES}
            ratings = tuple(_rating(r) for r in data.get("ratings", ()))
            return SessionEnd(head, counts, ratings), sent
        raise WireError(f"unknown record message kind {data['kind']!r}")
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise WireError(f"a record message that cannot be read: {exc}") from None


def _head_dict(head: SessionHead) -> dict[str, Any]:
    return {name: getattr(head, name) for name in SessionHead.__slots__}


def _head(data: Mapping[str, Any]) -> SessionHead:
    head = SessionHead(**{name: data[name] for name in SessionHead.__slots__})
    if not isinstance(head.session_id, str) or not head.session_id:
        raise WireError("a record message without a session id")
    return head


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _unpack(beats: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(beats) // 8}d", beats)


def _sample(r: Sequence[Any]) -> SampleRow:
    pairs = [float(x) for x in r[5]]
    return (
        int(r[0]),
        float(r[1]),
        _opt_float(r[2]),
        str(r[3]),
        _opt_int(r[4]),
        struct.pack(f"<{len(pairs)}d", *pairs),
    )


def _estimate(r: Sequence[Any]) -> EstimateRow:
    return (
        int(r[0]),
        float(r[1]),
        _opt_float(r[2]),
        _opt_float(r[3]),
        _opt_float(r[4]),
        str(r[5]),
        float(r[6]),
        # The breath came later: a message without it has none.
        _opt_float(r[7]) if len(r) > 7 else None,
        None if len(r) <= 8 or r[8] is None else str(r[8]),
    )


def _event(r: Sequence[Any]) -> EventRow:
    return (int(r[0]), float(r[1]), str(r[2]), str(r[3]))


def _breath(r: Sequence[Any]) -> BreathRow:
    return (int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]))


def _motion(r: Sequence[Any]) -> MotionRow:
    if not isinstance(r[3], str):
        raise WireError("chest motion must be base64 text")
    return (int(r[0]), float(r[1]), float(r[2]), base64.b64decode(r[3], validate=True))


def _rating(r: Sequence[Any]) -> RatingRow:
    return (str(r[0]), _opt_int(r[1]), _opt_int(r[2]), _opt_int(r[3]), float(r[4]))
