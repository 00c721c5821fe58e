"""The Heart Rate Measurement characteristic (0x2A37): bytes to values and back.

Pure: no I/O, no clock. Layout (Bluetooth Heart Rate Service, docs/domain.md section 4),
all little-endian: a flags byte, the heart rate (uint8, or uint16 when bit 0 is
set), energy expended in kJ (uint16, when bit 3 is set), then RR intervals in
1/1024 s (uint16 each, when bit 4 is set) up to the end of the payload. Bits 1-2
carry sensor contact: bit 2 says the strap can detect contact, bit 1 that it does.
"""

from __future__ import annotations

import struct

from biofeedback.models import Contact
from biofeedback.models.record import record
from biofeedback.sensors import SourceError

_HR_UINT16 = 0x01
_CONTACT_DETECTED = 0x02
_CONTACT_SUPPORTED = 0x04
_ENERGY_PRESENT = 0x08
_RR_PRESENT = 0x10

UINT16_MAX = 0xFFFF
RR_UNITS_PER_S = 1024


class MalformedMeasurementError(SourceError):
    """A 0x2A37 payload that does not follow the layout; the sample is skipped."""


class MeasurementValueError(SourceError, ValueError):
    """A value that cannot be encoded in a 0x2A37 payload."""


@record(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded notification, in the strap's own units.

    ``rr_1024`` keeps the raw RR values (1/1024 s) so that encoding a decoded
    payload gives the same bytes; ``rr_ms`` converts. ``uint16`` records whether
    the heart rate was (or is to be) sent as 16 bits.
    """

    hr_bpm: int
    contact_supported: bool = False
    contact_detected: bool = False
    energy_kj: int | None = None
    rr_1024: tuple[int, ...] | None = None
    uint16: bool = False

    @property
    def contact(self) -> Contact:
        if not self.contact_supported:
            return Contact.UNSUPPORTED
        return Contact.DETECTED if self.contact_detected else Contact.NOT_DETECTED

    @property
    def rr_ms(self) -> tuple[float, ...]:
        return tuple(rr * 1000.0 / RR_UNITS_PER_S for rr in self.rr_1024 or ())


def rr_ms_to_1024(rr_ms: float) -> int:
    """The nearest value a strap would send for an interval of ``rr_ms``."""
    return round(rr_ms * RR_UNITS_PER_S / 1000.0)


def decode(payload: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode one 0x2A37 payload; raise MalformedMeasurementError if it is not one."""
    data = bytes(payload)
    if not data:
        raise MalformedMeasurementError("empty heart rate measurement")
    flags = data[0]
    offset = 1
    uint16 = bool(flags & _HR_UINT16)
    hr_size = 2 if uint16 else 1
    if len(data) < offset + hr_size:
        raise MalformedMeasurementError(
            f"heart rate measurement of {len(data)} bytes lacks its heart rate"
        )
    hr = int.from_bytes(data[offset : offset + hr_size], "little")
    offset += hr_size
    energy: int | None = None
    if flags & _ENERGY_PRESENT:
        if len(data) < offset + 2:
            raise MalformedMeasurementError(
                f"heart rate measurement of {len(data)} bytes lacks its energy expended"
            )
        energy = int.from_bytes(data[offset : offset + 2], "little")
        offset += 2
    rest = data[offset:]
    rr: tuple[int, ...] | None = None
    if flags & _RR_PRESENT:
        if len(rest) % 2:
            raise MalformedMeasurementError(
                f"heart rate measurement ends in half an RR interval ({len(data)} bytes)"
            )
        rr = struct.unpack(f"<{len(rest) // 2}H", rest)
    elif rest:
        raise MalformedMeasurementError(
            f"heart rate measurement has {len(rest)} unexpected trailing bytes"
        )
    return HeartRateMeasurement(
        hr_bpm=hr,
        contact_supported=bool(flags & _CONTACT_SUPPORTED),
        contact_detected=bool(flags & _CONTACT_DETECTED),
        energy_kj=energy,
        rr_1024=rr,
        uint16=uint16,
    )


def encode(m: HeartRateMeasurement) -> bytes:
    """The payload a strap sends for ``m`` (uint16 when asked or when HR > 255)."""
    _check_uint16("heart rate", m.hr_bpm)
    uint16 = m.uint16 or m.hr_bpm > 0xFF
    flags = _HR_UINT16 if uint16 else 0
    body = m.hr_bpm.to_bytes(2 if uint16 else 1, "little")
    if m.contact_supported:
        flags |= _CONTACT_SUPPORTED
    if m.contact_detected:
        flags |= _CONTACT_DETECTED
    if m.energy_kj is not None:
        _check_uint16("energy expended", m.energy_kj)
        flags |= _ENERGY_PRESENT
        body += m.energy_kj.to_bytes(2, "little")
    if m.rr_1024 is not None:
        for rr in m.rr_1024:
            _check_uint16("RR interval", rr)
        flags |= _RR_PRESENT
        body += struct.pack(f"<{len(m.rr_1024)}H", *m.rr_1024)
    return bytes([flags]) + body


def _check_uint16(what: str, value: int) -> None:
    if not 0 <= value <= UINT16_MAX:
        raise MeasurementValueError(f"{what} {value} does not fit in 16 bits")


def beat_times(arrival_s: float, rr_ms: tuple[float, ...]) -> tuple[float, ...]:
    """Estimated times of the beats that end each RR interval of one notification.

    The strap sends a notification soon after the last beat it reports, so the
    last beat is put at the arrival time and each earlier one at the arrival
    time minus the intervals that came after it.
    """
    times: list[float] = []
    later_s = 0.0
    for rr in reversed(rr_ms):
        times.append(arrival_s - later_s)
        later_s += rr / 1000.0
    return tuple(reversed(times))
