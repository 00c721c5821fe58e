"""Polar Measurement Data (PMD): control-point commands and answers, data frames, sensor time.

Pure: no I/O, no clock. Both ends use it: the live strap client decodes what a
Polar H10 sends, and the virtual strap encodes the same bytes. Layout (DOMAIN.md
section 7), all little-endian:

- reading the control point gives ``0x0F`` and a bitmask of the streams it has
  (bit 0 ECG, bit 2 ACC, ...);
- commands: ``[0x01, type]`` asks a stream's settings, ``[0x02, type, (id, 1,
  value)...]`` starts it (values uint16, channels one byte), ``[0x03, type]``
  stops it;
- each answer is indicated: ``0xF0, op, type, error`` then, for the settings,
  a "more frames" byte and ``(id, count, values...)`` blocks;
- a data frame: stream type, uint64 sensor time in ns of the last sample, a
  frame type, then samples. Plain frames hold whole samples; a frame type with
  the top bit set is delta-compressed: one reference sample, then blocks of
  ``(bit width, count, packed deltas)``, the deltas packed low bit first and
  each one added to the sample before it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from enum import IntEnum

from biofeedback.models import ChestMotion
from biofeedback.models.record import record
from biofeedback.sensors import SourceError

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

FEATURES = 0x0F
RESPONSE = 0xF0
HEADER_BYTES = 10
COMPRESSED = 0x80
# A frame's sample count is bounded by the ATT MTU (at most 512 bytes): a delta
# block claiming more samples than that could only come from junk.
FRAME_MAX_BYTES = 1024
MAX_SAMPLES = 4096

ECG_RATE_HZ = 130.0
ACC_RATES_HZ = (25, 50, 100, 200)
ACC_RANGES_G = (2, 4, 8)


class MeasurementType(IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6


class Op(IntEnum):
    GET_SETTINGS = 0x01
    START = 0x02
    STOP = 0x03


class Setting(IntEnum):
    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    CHANNELS = 4


# One line each, in plain words: what the strap's error code means for the person.
ERROR_MEANINGS: dict[int, str] = {
    0: "done",
    1: "the strap does not know that command",
    2: "the strap has no such stream",
    3: "the strap does not support that",
    4: "the command had the wrong length",
    5: "a setting the strap does not accept",
    6: "the stream was already in that state",
    7: "a resolution the strap does not offer",
    8: "a sample rate the strap does not offer",
    9: "a range the strap does not offer",
    10: "the Bluetooth packet size (MTU) is too small for that stream",
    11: "a number of channels the strap does not offer",
    12: "the strap is busy in another state (e.g. recording); try again",
    13: "the strap is on its charger; take it off and wear it",
}


def error_meaning(code: int) -> str:
    """What a PMD error code means, in one line."""
    return ERROR_MEANINGS.get(code, f"unknown error {code}")


class PmdError(SourceError):
    """Something about Polar Measurement Data went wrong; heart rate goes on without it."""


class MalformedFrameError(PmdError):
    """A data frame that does not follow the layout; the frame is skipped."""


class MalformedResponseError(PmdError):
    """A control-point answer or feature read that does not follow the layout."""


class MalformedCommandError(PmdError):
    """A control-point write that does not follow the layout (the strap's side)."""


class PmdValueError(PmdError, ValueError):
    """A value that cannot be put into a PMD command or frame."""


class PmdCommandError(PmdError):
    """The strap answered a command with an error code; the message is its meaning."""

    def __init__(self, op: int, stream: int, code: int) -> None:
        name = _name(stream)
        verbs: dict[int, str] = {Op.GET_SETTINGS: "settings", Op.START: "start", Op.STOP: "stop"}
        verb = verbs.get(op, "command")
        super().__init__(f"chest {name} {verb} refused (PMD error {code}): {error_meaning(code)}")
        self.op = op
        self.stream = stream
        self.code = code


def _name(stream: int) -> str:
    try:
        return MeasurementType(stream).name
    except ValueError:
        return f"stream {stream}"


# --------------------------------------------------------------------------
# The feature read


def decode_features(data: bytes | bytearray | memoryview) -> frozenset[int]:
    """The stream types a strap offers, from a control-point read."""
    raw = bytes(data)
    if len(raw) < 2 or raw[0] != FEATURES:
        raise MalformedResponseError(f"PMD feature read is not one ({raw[:4].hex()})")
    mask = int.from_bytes(raw[1:], "little")
    return frozenset(bit for bit in range(8 * (len(raw) - 1)) if mask >> bit & 1)


def encode_features(types: Iterable[int]) -> bytes:
    mask = 0
    for t in types:
        if not 0 <= t < 16:
            raise PmdValueError(f"stream type {t} does not fit the feature mask")
        mask |= 1 << t
    return bytes([FEATURES]) + mask.to_bytes(2, "little")


# --------------------------------------------------------------------------
# Commands (central to strap) and answers (strap to central)


@record(frozen=True, slots=True)
class Command:
    """A PMD control-point command: the operation, the stream and its settings."""

    op: int
    stream: int
    settings: Mapping[int, int] = field(default_factory=dict)


def settings_request(stream: int) -> bytes:
    return bytes([Op.GET_SETTINGS, _byte(stream)])


def start_request(stream: int, settings: Mapping[int, int]) -> bytes:
    """Start ``stream`` with one value per setting id (channels one byte, others uint16)."""
    body = bytearray([Op.START, _byte(stream)])
    for sid, value in settings.items():
        size = _setting_size(sid)
        if not 0 <= value < 1 << (8 * size):
            raise PmdValueError(f"setting {sid} value {value} does not fit {size} byte(s)")
        body += bytes([_byte(sid), 1]) + value.to_bytes(size, "little")
    return bytes(body)


def stop_request(stream: int) -> bytes:
    return bytes([Op.STOP, _byte(stream)])


def decode_command(data: bytes | bytearray | memoryview) -> Command:
    """A control-point write, as the strap reads it."""
    raw = bytes(data)
    if len(raw) < 2 or raw[0] not in (Op.GET_SETTINGS, Op.START, Op.STOP):
        raise MalformedCommandError(f"not a PMD command ({raw[:4].hex()})")
    if raw[0] != Op.START:
        if len(raw) != 2:
            raise MalformedCommandError(f"PMD command of {len(raw)} bytes, expected 2")
        return Command(raw[0], raw[1])
    try:
        values = _setting_blocks(raw, 2, single=True)
    except MalformedResponseError as exc:
        raise MalformedCommandError(str(exc)) from None
    return Command(raw[0], raw[1], {sid: v[0] for sid, v in values.items()})


@record(frozen=True, slots=True)
class ControlResponse:
    """One indication from the control point. ``settings`` maps id to the values offered."""

    op: int
    stream: int
    error: int
    settings: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error == 0

    @property
    def meaning(self) -> str:
        return error_meaning(self.error)

    def check(self) -> ControlResponse:
        """This answer, or PmdCommandError with its meaning when it is an error."""
        if self.error:
            raise PmdCommandError(self.op, self.stream, self.error)
        return self


def decode_response(data: bytes | bytearray | memoryview) -> ControlResponse:
    raw = bytes(data)
    if len(raw) < 4 or raw[0] != RESPONSE:
        raise MalformedResponseError(f"not a PMD control-point answer ({raw[:4].hex()})")
    op, stream, error = raw[1], raw[2], raw[3]
    settings: dict[int, tuple[int, ...]] = {}
    if op == Op.GET_SETTINGS and error == 0 and len(raw) > 4:
        # raw[4] says more frames follow; an H10 always fits in one.
        settings = _setting_blocks(raw, 5, single=False)
    return ControlResponse(op, stream, error, settings)


def encode_response(
    op: int, stream: int, error: int = 0, settings: Mapping[int, Sequence[int]] | None = None
) -> bytes:
    body = bytearray([RESPONSE, _byte(op), _byte(stream), _byte(error)])
    if op == Op.GET_SETTINGS and error == 0:
        body.append(0)  # no more frames
        for sid, values in (settings or {}).items():
            size = _setting_size(sid)
            body += bytes([_byte(sid), _byte(len(values))])
            for value in values:
                if not 0 <= value < 1 << (8 * size):
                    raise PmdValueError(f"setting {sid} value {value} does not fit")
                body += value.to_bytes(size, "little")
    return bytes(body)


def _setting_size(sid: int) -> int:
    return 1 if sid == Setting.CHANNELS else 2


def _byte(value: int) -> int:
    if not 0 <= value <= 0xFF:
        raise PmdValueError(f"{value} does not fit in one byte")
    return value


def _setting_blocks(raw: bytes, offset: int, *, single: bool) -> dict[int, tuple[int, ...]]:
    blocks: dict[int, tuple[int, ...]] = {}
    while offset < len(raw):
        if offset + 2 > len(raw):
            raise MalformedResponseError("PMD settings end inside a setting header")
        sid, count = raw[offset], raw[offset + 1]
        size = _setting_size(sid)
        offset += 2
        if single and count != 1:
            raise MalformedResponseError(f"PMD start gives {count} values for setting {sid}")
        end = offset + count * size
        if end > len(raw):
            raise MalformedResponseError(f"PMD setting {sid} runs past the end")
        blocks[sid] = tuple(
            int.from_bytes(raw[i : i + size], "little") for i in range(offset, end, size)
        )
        offset = end
    return blocks


# --------------------------------------------------------------------------
# Data frames


@record(frozen=True, slots=True)
class DataFrame:
    """One decoded data notification.

    ``samples`` holds one tuple per sample: ``(x, y, z)`` milli-g for ACC,
    ``(uv,)`` for ECG, in the order taken; ``sensor_ns`` is the strap's time of
    the last one.
    """

    stream: int
    sensor_ns: int
    frame_type: int
    samples: tuple[tuple[int, ...], ...]

    @property
    def compressed(self) -> bool:
        return bool(self.frame_type & COMPRESSED)


# Plain frame types: (channels, bytes per value) for each stream the H10 sends.
_PLAIN: dict[tuple[int, int], tuple[int, int]] = {
    (MeasurementType.ECG, 0): (1, 3),
    (MeasurementType.ACC, 0): (3, 1),
    (MeasurementType.ACC, 1): (3, 2),
    (MeasurementType.ACC, 2): (3, 3),
}
_CHANNELS: dict[int, int] = {MeasurementType.ECG: 1, MeasurementType.ACC: 3}
_STRUCT = {1: "b", 2: "h"}


def decode_frame(data: bytes | bytearray | memoryview, *, resolution_bits: int = 16) -> DataFrame:
    """Decode one data notification; MalformedFrameError when it is not one we can read.

    ``resolution_bits`` (the stream's RESOLUTION setting) sizes the reference
    sample of compressed frames.
    """
    raw = bytes(data)
    if len(raw) < HEADER_BYTES:
        raise MalformedFrameError(f"PMD frame of {len(raw)} bytes has no header")
    if len(raw) > FRAME_MAX_BYTES:
        raise MalformedFrameError(f"PMD frame of {len(raw)} bytes is longer than any MTU")
    stream, frame_type = raw[0], raw[9]
    sensor_ns = int.from_bytes(raw[1:9], "little")
    channels = _CHANNELS.get(stream)
    if channels is None:
        raise MalformedFrameError(f"PMD stream type {stream} is not read here")
    body = raw[HEADER_BYTES:]
    if frame_type & COMPRESSED:
        if not 1 <= resolution_bits <= 32:
            raise MalformedFrameError(f"PMD resolution {resolution_bits} bits is not usable")
        samples = _decode_delta(body, channels, (resolution_bits + 7) // 8)
    else:
        layout = _PLAIN.get((stream, frame_type))
        if layout is None:
            raise MalformedFrameError(f"PMD {_name(stream)} frame type {frame_type} is unknown")
        samples = _decode_plain(body, *layout)
    if not samples:
        raise MalformedFrameError(f"PMD {_name(stream)} frame holds no samples")
    return DataFrame(stream, sensor_ns, frame_type, samples)


def _decode_plain(body: bytes, channels: int, size: int) -> tuple[tuple[int, ...], ...]:
    step = channels * size
    if len(body) % step:
        raise MalformedFrameError(f"PMD frame ends inside a sample ({len(body)} bytes)")
    n = len(body) // size
    code = _STRUCT.get(size)
    if code is not None:
        values: Sequence[int] = struct.unpack(f"<{n}{code}", body)
    else:
        # Three bytes: the low two unsigned and the top one signed, in one unpack.
        parts = struct.unpack("<" + "Hb" * n, body)
        values = [lo + (hi << 16) for lo, hi in zip(parts[0::2], parts[1::2], strict=True)]
    return tuple(zip(*(values[c::channels] for c in range(channels)), strict=True))


def _decode_delta(body: bytes, channels: int, ref_size: int) -> tuple[tuple[int, ...], ...]:
    ref_bytes = channels * ref_size
    if len(body) < ref_bytes:
        raise MalformedFrameError("compressed PMD frame lacks its reference sample")
    current = [
        int.from_bytes(body[i : i + ref_size], "little", signed=True)
        for i in range(0, ref_bytes, ref_size)
    ]
    samples = [tuple(current)]
    offset = ref_bytes
    while offset < len(body):
        if offset + 2 > len(body):
            raise MalformedFrameError("compressed PMD frame ends inside a block header")
        width, count = body[offset], body[offset + 1]
        offset += 2
        if not 1 <= width <= 32:
            raise MalformedFrameError(f"compressed PMD frame has deltas of {width} bits")
        n_bits = width * count * channels
        end = offset + (n_bits + 7) // 8
        if end > len(body):
            raise MalformedFrameError("compressed PMD frame ends inside a delta block")
        if len(samples) + count > MAX_SAMPLES:
            raise MalformedFrameError("compressed PMD frame claims too many samples")
        bits = int.from_bytes(body[offset:end], "little")
        mask = (1 << width) - 1
        sign = 1 << (width - 1)
        shift = 0
        for _ in range(count):
            for c in range(channels):
                delta = bits >> shift & mask
                shift += width
                current[c] += delta - (delta & sign) * 2
            samples.append(tuple(current))
        offset = end
    return tuple(samples)


def encode_frame(
    stream: int,
    sensor_ns: int,
    samples: Sequence[Sequence[int]],
    *,
    compressed: bool = False,
    frame_type: int | None = None,
    resolution_bits: int = 16,
) -> bytes:
    """The notification a strap sends for ``samples`` (the virtual strap's side).

    Plain: ACC as int16 (frame type 1), ECG as 3-byte values (type 0).
    Compressed: frame type 0x80, the first sample whole, then one delta block
    per 255 samples with the narrowest width that holds them.
    """
    channels = _CHANNELS.get(stream)
    if channels is None:
        raise PmdValueError(f"stream type {stream} is not encoded here")
    if not samples:
        raise PmdValueError("a PMD frame needs at least one sample")
    if any(len(s) != channels for s in samples):
        raise PmdValueError(f"each {_name(stream)} sample has {channels} value(s)")
    if not 0 <= sensor_ns < 1 << 64:
        raise PmdValueError(f"sensor time {sensor_ns} ns does not fit 64 bits")
    if compressed:
        ftype = COMPRESSED if frame_type is None else frame_type | COMPRESSED
        body = _encode_delta(samples, (resolution_bits + 7) // 8)
    else:
        ftype = (1 if stream == MeasurementType.ACC else 0) if frame_type is None else frame_type
        layout = _PLAIN.get((stream, ftype))
        if layout is None:
            raise PmdValueError(f"{_name(stream)} frame type {ftype} is unknown")
        _, size = layout
        body = b"".join(_signed(v, size) for s in samples for v in s)
    return bytes([stream]) + sensor_ns.to_bytes(8, "little") + bytes([ftype]) + body


def _signed(value: int, size: int) -> bytes:
    try:
        return int(value).to_bytes(size, "little", signed=True)
    except OverflowError:
        raise PmdValueError(f"{value} does not fit {size} byte(s)") from None


def _encode_delta(samples: Sequence[Sequence[int]], ref_size: int) -> bytes:
    out = bytearray(b"".join(_signed(v, ref_size) for v in samples[0]))
    rest = list(samples[1:])
    previous = list(samples[0])
    for start in range(0, len(rest), 255):
        block = rest[start : start + 255]
        deltas: list[int] = []
        for sample in block:
            deltas.extend(int(v) - p for v, p in zip(sample, previous, strict=True))
            previous = list(sample)
        width = max(max(d.bit_length() + 1 for d in deltas), 1)
        if width > 32:
            raise PmdValueError("a delta does not fit 32 bits")
        packed = 0
        mask = (1 << width) - 1
        for i, d in enumerate(deltas):
            packed |= (d & mask) << (i * width)
        n_bytes = (len(deltas) * width + 7) // 8
        out += bytes([width, len(block)]) + packed.to_bytes(n_bytes, "little")
    return bytes(out)


# --------------------------------------------------------------------------
# Sensor time onto session time


class SensorClock:
    """Maps a stream's sensor time (ns of each frame's last sample) onto session time.

    The first frame anchors the mapping at its arrival. After that, a frame that
    arrives sooner than the mapping expects pulls it earlier at once (less radio
    delay than the first one had); later arrivals move it later only at
    ``max_drift`` seconds per second (clock drift, not radio delay). A sensor
    time that goes back, or a mapping that falls ``resync_s`` behind the
    arrivals, anchors afresh. Mapped times never go back, unless the session clock itself
    did: a live session restarts its clock at the first heart data, and the
    chest motion heard before that is not part of the session.
    """

    def __init__(self, *, max_drift: float = 1e-3, resync_s: float = 2.0) -> None:
        self.max_drift = max_drift
        self.resync_s = resync_s
        self._offset_s: float | None = None
        self._last_sensor_s = 0.0
        self._last_t_s = float("-inf")
        self._last_arrival_s = float("-inf")

    def map(self, sensor_ns: int, arrival_s: float) -> float:
        """The session time of the sample stamped ``sensor_ns``, heard at ``arrival_s``."""
        sensor_s = sensor_ns / 1e9
        candidate = arrival_s - sensor_s
        offset = self._offset_s
        if arrival_s < self._last_arrival_s:
            # The arrivals' clock itself went back (restarted): nothing before counts.
            offset = None
            self._last_t_s = float("-inf")
        self._last_arrival_s = arrival_s
        if offset is None or sensor_s < self._last_sensor_s or candidate - offset > self.resync_s:
            offset = candidate
        else:
            allowed = offset + self.max_drift * (sensor_s - self._last_sensor_s)
            offset = min(candidate, allowed)
        self._offset_s = offset
        self._last_sensor_s = sensor_s
        t_s = max(sensor_s + offset, self._last_t_s)
        self._last_t_s = t_s
        return t_s


def chest_motion(frame: DataFrame, t_s: float, rate_hz: float) -> ChestMotion:
    """An ACC frame as chest motion whose last sample is at session time ``t_s``."""
    if frame.stream != MeasurementType.ACC:
        raise PmdValueError(f"a {_name(frame.stream)} frame is not chest motion")
    x, y, z = (tuple(float(v) for v in axis) for axis in zip(*frame.samples, strict=True))
    return ChestMotion(t_s=t_s, rate_hz=rate_hz, x_mg=x, y_mg=y, z_mg=z)
