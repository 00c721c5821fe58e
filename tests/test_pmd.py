"""Polar Measurement Data: commands, answers, frames (plain and delta) and sensor time."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biofeedback.sensors import SourceError
from biofeedback.sensors.pmd import (
    COMPRESSED,
    MalformedFrameError,
    MalformedResponseError,
    MeasurementType,
    Op,
    PmdCommandError,
    PmdError,
    SensorClock,
    Setting,
    chest_motion,
    decode_command,
    decode_features,
    decode_frame,
    decode_response,
    encode_features,
    encode_frame,
    encode_response,
    error_meaning,
    settings_request,
    start_request,
    stop_request,
)

ACC = MeasurementType.ACC
ECG = MeasurementType.ECG
NS = 1_000_000_000


def test_feature_read_names_ecg_and_acc() -> None:
    assert decode_features(b"\x0f\x05\x00") == {ECG, ACC}
    assert decode_features(encode_features([ACC])) == {ACC}
    with pytest.raises(MalformedResponseError):
        decode_features(b"\xf0\x05")


def test_commands_have_the_documented_layout() -> None:
    assert settings_request(ACC) == b"\x01\x02"
    assert stop_request(ECG) == b"\x03\x00"
    start = start_request(ACC, {Setting.SAMPLE_RATE: 200, Setting.RESOLUTION: 16, Setting.RANGE: 8})
    assert start == bytes.fromhex("02020001c8000101100002010800")
    command = decode_command(start)
    assert (command.op, command.stream) == (Op.START, ACC)
    assert command.settings == {0: 200, 1: 16, 2: 8}
    assert decode_command(stop_request(ACC)).op == Op.STOP


def test_settings_answer_lists_what_the_strap_offers() -> None:
    # An ACC settings answer as an H10 sends it: rates, resolution, ranges.
    raw = bytes.fromhex("f0010200000004190032006400c800010110000203020004000800")
    answer = decode_response(raw)
    assert answer.ok
    assert (answer.op, answer.stream) == (Op.GET_SETTINGS, ACC)
    assert answer.settings == {0: (25, 50, 100, 200), 1: (16,), 2: (2, 4, 8)}
    assert encode_response(Op.GET_SETTINGS, ACC, 0, answer.settings) == raw


def test_an_error_answer_says_what_it_means_in_one_line() -> None:
    answer = decode_response(encode_response(Op.START, ACC, 13))
    assert not answer.ok
    with pytest.raises(PmdCommandError) as caught:
        answer.check()
    message = str(caught.value)
    assert "\n" not in message
    assert "charger" in message
    assert "ACC start" in message
    assert isinstance(caught.value, SourceError)
    assert all(error_meaning(code) for code in range(14))
    assert error_meaning(99) == "unknown error 99"


def test_plain_acc_frame() -> None:
    header = bytes([ACC]) + (5 * NS).to_bytes(8, "little") + b"\x01"
    samples = ((12, -980, 31), (-1, 0, 32767))
    body = b"".join(v.to_bytes(2, "little", signed=True) for s in samples for v in s)
    frame = decode_frame(header + body)
    assert frame.stream == ACC
    assert frame.sensor_ns == 5 * NS
    assert not frame.compressed
    assert frame.samples == samples
    assert encode_frame(ACC, 5 * NS, samples) == header + body


def test_ecg_frame_of_three_byte_microvolts() -> None:
    raw = bytes([ECG]) + (7).to_bytes(8, "little") + b"\x00" + bytes.fromhex("ffffffe80300")
    frame = decode_frame(raw)
    assert frame.samples == ((-1,), (1000,))
    assert encode_frame(ECG, 7, frame.samples) == raw


def test_delta_frame_decodes_low_bits_first() -> None:
    # Reference (100, -200, 1000), then one block of 3-bit deltas (1, -1, 2), (-4, 3, 0),
    # packed from the lowest bit up: 0b000_011_100_010_111_001 = 0x0038b9.
    ref = b"".join(v.to_bytes(2, "little", signed=True) for v in (100, -200, 1000))
    raw = bytes([ACC]) + (9).to_bytes(8, "little") + b"\x80" + ref + b"\x03\x02" + b"\xb9\x38\x00"
    frame = decode_frame(raw)
    assert frame.compressed
    assert frame.samples == ((100, -200, 1000), (101, -201, 1002), (97, -198, 1002))
    assert decode_frame(encode_frame(ACC, 9, frame.samples, compressed=True)) == frame


axis = st.integers(-32768, 32767)


@given(
    st.lists(st.tuples(axis, axis, axis), min_size=1, max_size=300),
    st.booleans(),
    st.integers(0, (1 << 64) - 1),
)
def test_acc_frames_round_trip(samples: list[tuple[int, int, int]], packed: bool, ns: int) -> None:
    frame = decode_frame(encode_frame(ACC, ns, samples, compressed=packed))
    assert frame.samples == tuple(samples)
    assert frame.sensor_ns == ns
    assert frame.frame_type & COMPRESSED == (COMPRESSED if packed else 0)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x02\x00", "no header"),
        (bytes([ACC]) + bytes(8) + b"\x01" + b"\x01\x02\x03", "inside a sample"),
        (bytes([ACC]) + bytes(8) + b"\x07" + bytes(6), "frame type 7"),
        (bytes([9]) + bytes(9), "stream type 9"),
        (bytes([ACC]) + bytes(8) + b"\x01", "no samples"),
        (bytes([ACC]) + bytes(8) + b"\x80" + bytes(4), "reference"),
        (bytes([ACC]) + bytes(8) + b"\x80" + bytes(6) + b"\x08\x05\x00", "delta block"),
        (bytes([ACC]) + bytes(8) + b"\x80" + bytes(6) + b"\x00\x01", "0 bits"),
    ],
)
def test_malformed_frames_are_named(raw: bytes, why: str) -> None:
    with pytest.raises(MalformedFrameError, match=why):
        decode_frame(raw)


def test_fuzzed_frames_raise_only_our_errors() -> None:
    """20k random and mutated frames (benchmarks/pmd_fuzz.py runs 10^6)."""
    rng = random.Random(24)
    seeds = [
        encode_frame(ACC, 123, [(1, 2, 3)] * 10),
        encode_frame(ACC, 123, [(i, -i, 3 * i) for i in range(40)], compressed=True),
        encode_frame(ECG, 5, [(i * 7,) for i in range(73)]),
    ]
    decoded = 0
    for i in range(20_000):
        if i % 2:
            raw = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 80)))
        else:
            buf = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 6)):
                buf[rng.randrange(len(buf))] = rng.getrandbits(8)
            raw = bytes(buf[: rng.randrange(len(buf) + 1)] if rng.random() < 0.3 else buf)
        try:
            decode_frame(raw)
            decoded += 1
        except PmdError:
            pass
    assert decoded > 1000  # the mutations leave many frames whole enough to read


def test_fuzzed_control_point_bytes_raise_only_our_errors() -> None:
    rng = random.Random(13)
    seeds = [
        encode_response(Op.GET_SETTINGS, ACC, 0, {0: (25, 50, 100, 200), 1: (16,), 2: (2, 4, 8)}),
        start_request(ACC, {Setting.SAMPLE_RATE: 50, Setting.RANGE: 4}),
        encode_features([ECG, ACC]),
    ]
    for i in range(10_000):
        if i % 2:
            raw = rng.randbytes(rng.randrange(0, 40))
        else:
            buf = bytearray(rng.choice(seeds))
            buf[rng.randrange(len(buf))] = rng.getrandbits(8)
            raw = bytes(buf[: rng.randrange(len(buf) + 1)])
        for decoder in (decode_response, decode_command, decode_features):
            with contextlib.suppress(PmdError):
                decoder(raw)


def test_chest_motion_from_an_acc_frame() -> None:
    frame = decode_frame(encode_frame(ACC, 1, [(1, 2, 3), (4, 5, 6)]))
    motion = chest_motion(frame, 12.5, 50.0)
    assert motion.t_s == 12.5
    assert motion.rate_hz == 50.0
    assert (motion.x_mg, motion.y_mg, motion.z_mg) == ((1.0, 4.0), (2.0, 5.0), (3.0, 6.0))


def test_sensor_clock_anchors_follows_the_fastest_arrival_and_never_goes_back() -> None:
    clock = SensorClock(max_drift=1e-3)
    assert clock.map(100 * NS, 10.0) == 10.0
    # One second later on the strap, heard 50 ms late: radio delay, not time.
    assert clock.map(101 * NS, 11.05) == pytest.approx(11.0 + 1e-3)
    # Heard sooner than expected: the mapping moves earlier.
    assert clock.map(102 * NS, 11.9) == pytest.approx(11.9)
    # Radio delays that come and go never make time go back.
    rng = random.Random(5)
    clock = SensorClock()
    mapped = [clock.map(k * NS // 5, k / 5 + rng.uniform(0.0, 0.3)) for k in range(2000)]
    assert mapped == sorted(mapped)
    assert max(abs(t - k / 5) for k, t in enumerate(mapped)) < 0.35
    # Drift: a strap clock 500 ppm slow is followed over an hour without falling behind.
    clock = SensorClock(max_drift=1e-3)
    worst = 0.0
    for k in range(3600):
        arrival = k * 1.0005 + 0.02 * (k % 3)
        worst = max(worst, arrival - clock.map(k * NS, arrival))
    assert worst < 0.1


def test_sensor_clock_anchors_afresh_when_sensor_time_goes_back() -> None:
    clock = SensorClock()
    clock.map(1000 * NS, 5.0)
    assert clock.map(1001 * NS, 6.0) == pytest.approx(6.0)
    # The strap restarted its clock: anchor at the arrival.
    assert clock.map(3 * NS, 9.0) == pytest.approx(9.0)
    assert clock.map(4 * NS, 10.0) == pytest.approx(10.0)


def test_sensor_clock_follows_a_session_clock_restarted_at_the_first_heart_data() -> None:
    clock = SensorClock()
    clock.map(100 * NS, 3.5)
    assert clock.map(101 * NS, 4.5) == pytest.approx(4.5)
    # The live session restarts its clock when the first heart data comes (at 4.9).
    assert clock.map(102 * NS, 0.6) == pytest.approx(0.6)
    assert clock.map(103 * NS, 1.6) == pytest.approx(1.6)
