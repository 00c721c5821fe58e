"""Heart-rate payloads as a broker carries them: JSON, or raw 0x2A37 bytes.

Pure: bytes and an arrival time in, a ``HeartSample`` (or None) out.
"""

from __future__ import annotations

import json

from biofeedback.models import Contact, HeartSample
from biofeedback.telemetry import finite_number


def decode_heart_payload(payload: bytes, t_s: float) -> HeartSample | None:
    """A sample from ``{"hr": 62, "rr_ms": [967, 951]}`` or raw 0x2A37 bytes.

    None when the payload is neither. The last RR interval is taken to end at
    arrival; earlier beats are placed back from it.
    """
    if payload[:1] == b"{":
        return _decode_json(payload, t_s)
    return _decode_hrm(payload, t_s)


def _decode_json(payload: bytes, t_s: float) -> HeartSample | None:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    hr = finite_number(data.get("hr", data.get("hr_bpm")))
    rr_raw = data.get("rr_ms", [])
    if not isinstance(rr_raw, list):
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
    # Heart Rate Measurement (0x2A37), little-endian: flags, HR (u8 or u16),
    # energy (u16) if flagged, then RR intervals in 1/1024 s.
    # Reserved flag bits set, or bytes left over, mean this is not 0x2A37.
    if len(payload) < 2 or payload[0] & 0xE0:
        return None
    flags = payload[0]
    i = 1
    if flags & 0x01:
        if len(payload) < 3:
            return None
        hr = int.from_bytes(payload[1:3], "little")
        i = 3
    else:
        hr = payload[1]
        i = 2
    contact = Contact.UNSUPPORTED
    if flags & 0x04:
        contact = Contact.DETECTED if flags & 0x02 else Contact.NOT_DETECTED
    energy = None
    if flags & 0x08:
        if len(payload) < i + 2:
            return None
        energy = int.from_bytes(payload[i : i + 2], "little")
        i += 2
    rr: list[float] = []
    if not flags & 0x10 and len(payload) != i:
        return None
    if flags & 0x10:
        if (len(payload) - i) % 2:
            return None
        for j in range(i, len(payload), 2):
            rr.append(int.from_bytes(payload[j : j + 2], "little") * 1000.0 / 1024.0)
    return _sample(t_s, float(hr) if hr > 0 else None, tuple(rr), contact, energy)


def _sample(
    t_s: float,
    hr_bpm: float | None,
    rr_ms: tuple[float, ...],
    contact: Contact,
    energy_kj: int | None,
) -> HeartSample:
    beats: list[float] = []
    end = t_s
    for rr in reversed(rr_ms):
        beats.append(end)
        end -= rr / 1000.0
    return HeartSample(t_s, hr_bpm, rr_ms, tuple(reversed(beats)), contact, energy_kj)
