"""Heart-rate payloads as a broker carries them: JSON, or raw 0x2A37 bytes.

Pure: bytes and an arrival time in, a ``HeartSample`` (or None) out.
"""

from __future__ import annotations

import json

from biofeedback.models import Contact, HeartSample
from biofeedback.sensors import hrm
from biofeedback.sensors.limits import PAYLOAD_MAX_BYTES, RR_PER_SAMPLE_MAX
from biofeedback.telemetry import finite_number

# Why a broker message was skipped: stable names, counted per session and shown by review.
SKIP_TOO_BIG = "too big"
SKIP_NOT_HEART_RATE = "not heart rate"
SKIP_BAD_HR = "bad hr"
SKIP_BAD_RR = "bad rr_ms"
SKIP_NO_HEART_DATA = "neither hr nor rr_ms"


def decode_heart_payload(payload: bytes, t_s: float) -> HeartSample | None:
    """A sample from ``{"hr": 62, "rr_ms": [967, 951]}`` or raw 0x2A37 bytes.

    None when the payload is neither, or too big to be one. The last RR
    interval is taken to end at arrival; earlier beats are placed back from it.
    """
    decoded = decode_heart_message(payload, t_s)
    return decoded if isinstance(decoded, HeartSample) else None


def decode_heart_message(payload: bytes, t_s: float) -> HeartSample | str:
    """As ``decode_heart_payload``, but a skipped message says why (a ``SKIP_`` name).

    One rule for every field: a message whose ``hr`` or ``rr_ms`` is there but
    not a heart's is skipped whole (never half-used), and one with neither
    carries no heart data at all.
    """
    if len(payload) > PAYLOAD_MAX_BYTES:
        return SKIP_TOO_BIG
    if payload[:1] == b"{":
        return _decode_json(payload, t_s)
    return _decode_hrm(payload, t_s)


def _decode_json(payload: bytes, t_s: float) -> HeartSample | str:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's stack.
        return SKIP_NOT_HEART_RATE
    if not isinstance(data, dict):
        return SKIP_NOT_HEART_RATE
    hr_raw = data.get("hr", data.get("hr_bpm"))
    hr = finite_number(hr_raw)
    if hr_raw is not None and (hr is None or hr <= 0):
        return SKIP_BAD_HR
    rr_raw = data.get("rr_ms", [])
    if not isinstance(rr_raw, list) or len(rr_raw) > RR_PER_SAMPLE_MAX:
        return SKIP_BAD_RR
    rr = [finite_number(v) for v in rr_raw]
    rr_ms = tuple(v for v in rr if v is not None and v > 0)
    if len(rr_ms) != len(rr_raw):
        return SKIP_BAD_RR
    if hr is None and not rr_ms:
        return SKIP_NO_HEART_DATA
    contact = data.get("contact")
    if isinstance(contact, bool):
        touch = Contact.DETECTED if contact else Contact.NOT_DETECTED
    else:
        touch = Contact.UNSUPPORTED
    return _sample(t_s, hr, rr_ms, touch, None)


def _decode_hrm(payload: bytes, t_s: float) -> HeartSample | str:
    # Reserved flag bits set mean these bytes were never a Heart Rate Measurement
    # (text, say), even when they happen to parse as one.
    if payload[:1] and payload[0] & _RESERVED_FLAGS:
        return SKIP_NOT_HEART_RATE
    try:
        m = hrm.decode(payload)
    except hrm.MalformedMeasurementError:
        return SKIP_NOT_HEART_RATE
    if m.hr_bpm <= 0 and not m.rr_ms:
        # A strap's "no reading yet": nothing to start a session on.
        return SKIP_NO_HEART_DATA
    return _sample(t_s, float(m.hr_bpm) if m.hr_bpm > 0 else None, m.rr_ms, m.contact, m.energy_kj)


_RESERVED_FLAGS = 0xE0


def _sample(
    t_s: float,
    hr_bpm: float | None,
    rr_ms: tuple[float, ...],
    contact: Contact,
    energy_kj: int | None,
) -> HeartSample:
    return HeartSample(t_s, hr_bpm, rr_ms, hrm.beat_times(t_s, rr_ms), contact, energy_kj)
