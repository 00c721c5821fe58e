"""Heart-rate payloads as a broker carries them: JSON, or raw 0x2A37 bytes.

Pure: bytes and an arrival time in, a ``HeartSample`` (or None) out.
"""

from __future__ import annotations

import json

from biofeedback.models import Contact, HeartSample
from biofeedback.sensors import hrm
from biofeedback.sensors.limits import PAYLOAD_MAX_BYTES, RR_PER_SAMPLE_MAX
from biofeedback.telemetry import finite_number


def decode_heart_payload(payload: bytes, t_s: float) -> HeartSample | None:
    """A sample from ``{"hr": 62, "rr_ms": [967, 951]}`` or raw 0x2A37 bytes.

    None when the payload is neither, or too big to be one. The last RR
    interval is taken to end at arrival; earlier beats are placed back from it.
    """
    if len(payload) > PAYLOAD_MAX_BYTES:
        return None
    if payload[:1] == b"{":
        return _decode_json(payload, t_s)
    return _decode_hrm(payload, t_s)


def _decode_json(payload: bytes, t_s: float) -> HeartSample | None:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's stack.
        return None
    if not isinstance(data, dict):
        return None
    hr = finite_number(data.get("hr", data.get("hr_bpm")))
    rr_raw = data.get("rr_ms", [])
    if not isinstance(rr_raw, list) or len(rr_raw) > RR_PER_SAMPLE_MAX:
        return None
    rr = [finite_number(v) for v in rr_raw]
    rr_ms = tuple(v for v in rr if v is not None and v > 0)
    if len(rr_ms) != len(rr_raw):
        return None
    hr_bpm = hr if hr is not None and hr > 0 else None
    if hr_bpm is None and not rr_ms:
        return None
    contact = data.get("contact")
    if isinstance(contact, bool):
        touch = Contact.DETECTED if contact else Contact.NOT_DETECTED
    else:
        touch = Contact.UNSUPPORTED
    return _sample(t_s, hr_bpm, rr_ms, touch, None)


def _decode_hrm(payload: bytes, t_s: float) -> HeartSample | None:
    # Reserved flag bits set mean these bytes were never a Heart Rate Measurement
    # (text, say), even when they happen to parse as one.
    if payload[:1] and payload[0] & _RESERVED_FLAGS:
        return None
    try:
        m = hrm.decode(payload)
    except hrm.MalformedMeasurementError:
        return None
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
