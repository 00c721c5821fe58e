"""The 0x2A37 codec: every flag, several RR values, random bytes, and a peer encoder."""

from __future__ import annotations

import itertools

import pytest
from bumble.profiles.heart_rate_service import HeartRateService
from hypothesis import given
from hypothesis import strategies as st

from biofeedback import BiofeedbackError
from biofeedback.models import Contact
from biofeedback.sensors import SourceError
from biofeedback.sensors.hrm import (
    HeartRateMeasurement,
    MalformedMeasurementError,
    MeasurementValueError,
    beat_times,
    decode,
    encode,
    rr_ms_to_1024,
)

Peer = HeartRateService.HeartRateMeasurement


def test_uint8_heart_rate_alone() -> None:
    m = decode(bytes([0x00, 72]))
    assert m.hr_bpm == 72
    assert m.contact is Contact.UNSUPPORTED
    assert m.energy_kj is None
    assert m.rr_1024 is None
    assert m.rr_ms == ()
    assert not m.uint16


def test_uint16_heart_rate_is_little_endian() -> None:
    m = decode(bytes([0x01, 0x2C, 0x01]))
    assert m.hr_bpm == 300
    assert m.uint16


@pytest.mark.parametrize(
    ("flags", "contact", "supported", "detected"),
    [
        (0b000, Contact.UNSUPPORTED, False, False),
        (0b010, Contact.UNSUPPORTED, False, True),  # 0b01: "not supported" too
        (0b100, Contact.NOT_DETECTED, True, False),
        (0b110, Contact.DETECTED, True, True),
    ],
)
def test_contact_bits_are_kept_apart(
    flags: int, contact: Contact, supported: bool, detected: bool
) -> None:
    m = decode(bytes([flags, 60]))
    assert (m.contact_supported, m.contact_detected) == (supported, detected)
    assert m.contact is contact
    assert encode(m) == bytes([flags, 60])


def test_energy_then_several_rr_values() -> None:
    # flags: energy + RR; HR 64; energy 0x0102 kJ; RR 1024 (1 s), 512, 0xFFFF
    payload = bytes([0x18, 64, 0x02, 0x01, 0x00, 0x04, 0x00, 0x02, 0xFF, 0xFF])
    m = decode(payload)
    assert m.hr_bpm == 64
    assert m.energy_kj == 0x0102
    assert m.rr_1024 == (1024, 512, 0xFFFF)
    assert m.rr_ms == pytest.approx((1000.0, 500.0, 0xFFFF * 1000 / 1024))
    assert encode(m) == payload


def test_rr_flag_with_no_values_is_an_empty_list() -> None:
    m = decode(bytes([0x10, 70]))
    assert m.rr_1024 == ()


def test_rr_conversion_rounds_to_strap_units() -> None:
    assert rr_ms_to_1024(1000.0) == 1024
    assert rr_ms_to_1024(800.0) == 819
    assert decode(encode(HeartRateMeasurement(75, rr_1024=(819,)))).rr_ms[0] == pytest.approx(
        799.8, abs=0.1
    )


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"", "empty"),
        (bytes([0x00]), "heart rate"),
        (bytes([0x01, 70]), "heart rate"),
        (bytes([0x08, 70, 1]), "energy"),
        (bytes([0x10, 70, 0, 4, 1]), "half an RR"),
        (bytes([0x00, 70, 1]), "trailing"),
    ],
)
def test_malformed_payloads_raise_the_one_typed_error(payload: bytes, words: str) -> None:
    with pytest.raises(MalformedMeasurementError, match=words) as info:
        decode(payload)
    assert isinstance(info.value, SourceError)
    assert isinstance(info.value, BiofeedbackError)


@pytest.mark.parametrize(
    "m",
    [
        HeartRateMeasurement(70000),
        HeartRateMeasurement(-1),
        HeartRateMeasurement(60, energy_kj=1 << 16),
        HeartRateMeasurement(60, rr_1024=(1 << 16,)),
    ],
)
def test_encoder_refuses_values_that_do_not_fit(m: HeartRateMeasurement) -> None:
    with pytest.raises(MeasurementValueError):
        encode(m)


u16 = st.integers(0, 0xFFFF)
measurements = st.builds(
    HeartRateMeasurement,
    hr_bpm=u16,
    contact_supported=st.booleans(),
    contact_detected=st.booleans(),
    energy_kj=st.none() | u16,
    rr_1024=st.none() | st.lists(u16, max_size=9).map(tuple),
    uint16=st.booleans(),
).map(lambda m: m if m.hr_bpm <= 0xFF else _with_uint16(m))


def _with_uint16(m: HeartRateMeasurement) -> HeartRateMeasurement:
    return HeartRateMeasurement(
        m.hr_bpm, m.contact_supported, m.contact_detected, m.energy_kj, m.rr_1024, True
    )


@given(measurements)
def test_encode_decode_round_trip(m: HeartRateMeasurement) -> None:
    assert decode(encode(m)) == m


@given(st.binary(max_size=40))
def test_arbitrary_bytes_decode_or_raise_only_the_typed_error(payload: bytes) -> None:
    try:
        m = decode(payload)
    except MalformedMeasurementError:
        return
    # Whatever decodes re-encodes to the same bytes, reserved flag bits aside.
    assert encode(m)[1:] == payload[1:]
    assert encode(m)[0] == payload[0] & 0x1F


# Agreement with an independent implementation (Bumble's heart-rate profile)
# over every combination of a matrix of values.
MATRIX = list(
    itertools.product(
        [0, 1, 72, 255, 256, 300, 0xFFFF],  # heart rate
        [None, False, True],  # contact detected (None: not supported)
        [None, 0, 1234, 0xFFFF],  # energy
        [None, (), (1024,), (800, 823, 1000), (0xFFFF,) * 4],  # RR in 1/1024 s
    )
)


@pytest.mark.parametrize(("hr", "contact", "energy", "rr"), MATRIX)
def test_agrees_with_bumble(
    hr: int, contact: bool | None, energy: int | None, rr: tuple[int, ...] | None
) -> None:
    peer = Peer(
        heart_rate=hr,
        sensor_contact_detected=contact,
        energy_expended=energy,
        rr_intervals=None if rr is None else [v / 1024 for v in rr],
    )
    ours = HeartRateMeasurement(
        hr_bpm=hr,
        contact_supported=contact is not None,
        contact_detected=bool(contact),
        energy_kj=energy,
        rr_1024=rr,
    )
    assert encode(ours) == bytes(peer)
    decoded = decode(bytes(peer))
    assert decoded.hr_bpm == hr
    assert decoded.energy_kj == energy
    assert decoded.rr_1024 == rr
    expected_contact = {
        None: Contact.UNSUPPORTED,
        False: Contact.NOT_DETECTED,
        True: Contact.DETECTED,
    }[contact]
    assert decoded.contact is expected_contact
    back = Peer.from_bytes(encode(ours))
    assert back.heart_rate == hr
    assert back.sensor_contact_detected == contact
    assert back.energy_expended == energy
    assert (None if back.rr_intervals is None else tuple(back.rr_intervals)) == (
        None if rr is None else tuple(v / 1024 for v in rr)
    )


def test_beat_times_count_back_from_the_arrival() -> None:
    assert beat_times(10.0, ()) == ()
    assert beat_times(10.0, (800.0,)) == (10.0,)
    assert beat_times(10.0, (800.0, 1000.0, 500.0)) == pytest.approx((8.5, 9.5, 10.0))


@given(st.floats(0, 1e5), st.lists(st.floats(1, 3000), max_size=9).map(tuple))
def test_beat_times_are_ordered_and_spaced_by_the_intervals(
    arrival_s: float, rr_ms: tuple[float, ...]
) -> None:
    times = beat_times(arrival_s, rr_ms)
    assert len(times) == len(rr_ms)
    for earlier, later, rr in zip(times, times[1:], rr_ms[1:], strict=False):
        assert later - earlier == pytest.approx(rr / 1000.0)
