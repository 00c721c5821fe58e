"""The virtual H10's Polar Measurement Data side (pure): its control point and its ACC frames.

``PmdState`` answers control-point writes as an H10 does (settings offered,
start, stop, error codes), and ``AccFramer`` turns the simulated person's
``ChestMotion`` into the ACC notifications the strap sends at the rate the
central asked for, plain or delta-compressed. The strap (``simulators.strap``)
puts both on the bus. Bytes come from our own encoder in
``biofeedback.sensors.pmd``, so both ends speak the same layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import field

from biofeedback.models import ChestMotion
from biofeedback.models.record import record
from biofeedback.sensors.pmd import (
    HEADER_BYTES,
    MalformedCommandError,
    MeasurementType,
    Op,
    Setting,
    decode_command,
    encode_features,
    encode_frame,
    encode_response,
)

ACC = MeasurementType.ACC
ECG = MeasurementType.ECG

# What an H10 offers (DOMAIN.md section 7).
OFFERED: dict[int, dict[int, tuple[int, ...]]] = {
    ACC: {
        Setting.SAMPLE_RATE: (25, 50, 100, 200),
        Setting.RESOLUTION: (16,),
        Setting.RANGE: (2, 4, 8),
    },
    ECG: {Setting.SAMPLE_RATE: (130,), Setting.RESOLUTION: (14,)},
}
# Error codes an H10 answers with.
OK = 0
INVALID_OP = 1
INVALID_TYPE = 2
INVALID_LENGTH = 4
INVALID_PARAMETER = 5
ALREADY = 6
INVALID_SAMPLE_RATE = 8
INVALID_RANGE = 9
# A notification at the 232-byte MTU bleak gets from BlueZ holds 36 int16 samples.
MTU_PAYLOAD = 229
# H10 time counts from 2000-01-01; any large start will do for the simulation.
SENSOR_EPOCH_NS = 850_000_000 * 1_000_000_000


def features() -> bytes:
    return encode_features(OFFERED)


@record
class PmdState:
    """The streams a central has started, and the answer to each command.

    ``start_error`` makes every start answer with that code (13: on its charger).
    """

    start_error: int = OK
    running: dict[int, dict[int, int]] = field(default_factory=dict)

    def answer(self, command: bytes) -> bytes:
        try:
            cmd = decode_command(command)
        except MalformedCommandError:
            op = command[0] if command else 0
            stream = command[1] if len(command) > 1 else 0
            code = INVALID_LENGTH if op in (Op.GET_SETTINGS, Op.START, Op.STOP) else INVALID_OP
            return encode_response(op, stream, code)
        offered = OFFERED.get(cmd.stream)
        if offered is None:
            return encode_response(cmd.op, cmd.stream, INVALID_TYPE)
        if cmd.op == Op.GET_SETTINGS:
            return encode_response(cmd.op, cmd.stream, OK, offered)
        if cmd.op == Op.STOP:
            self.running.pop(cmd.stream, None)
            return encode_response(cmd.op, cmd.stream, OK)
        code = self._start_code(cmd.stream, dict(cmd.settings))
        if code == OK:
            self.running[cmd.stream] = dict(cmd.settings)
        return encode_response(cmd.op, cmd.stream, code)

    def _start_code(self, stream: int, settings: dict[int, int]) -> int:
        if self.start_error:
            return self.start_error
        if stream in self.running:
            return ALREADY
        for sid, value in settings.items():
            allowed = OFFERED[stream].get(sid)
            if allowed is None:
                return INVALID_PARAMETER
            if value not in allowed:
                return INVALID_SAMPLE_RATE if sid == Setting.SAMPLE_RATE else INVALID_RANGE
        return OK

    def rate_hz(self, stream: int) -> int | None:
        settings = self.running.get(stream)
        if settings is None:
            return None
        return settings.get(Setting.SAMPLE_RATE, OFFERED[stream][Setting.SAMPLE_RATE][0])

    def disconnected(self) -> None:
        """A real H10 stops its streams when the link goes."""
        self.running.clear()


@record
class AccFramer:
    """ChestMotion (in strap time) in, ACC notifications at ``rate_hz`` out.

    Each output sample takes the input sample nearest its time, so a person
    simulated at one rate can be streamed at any rate the central asks for.
    """

    rate_hz: float
    compressed: bool = False
    next_t_s: float | None = None

    def frames(self, motion: ChestMotion) -> Iterator[tuple[float, bytes]]:
        """(strap time of the last sample, payload) for each notification."""
        n = len(motion.x_mg)
        if n == 0:
            return
        first_s = motion.t_s - (n - 1) / motion.rate_hz
        step_s = 1.0 / self.rate_hz
        if self.next_t_s is None or self.next_t_s < first_s - step_s:
            self.next_t_s = first_s
        per_frame = (MTU_PAYLOAD - HEADER_BYTES) // 6
        samples: list[tuple[int, int, int]] = []
        last_s = self.next_t_s
        while self.next_t_s <= motion.t_s + 1e-9:
            i = min(max(round((self.next_t_s - first_s) * motion.rate_hz), 0), n - 1)
            samples.append((_mg(motion.x_mg[i]), _mg(motion.y_mg[i]), _mg(motion.z_mg[i])))
            last_s = self.next_t_s
            self.next_t_s += step_s
            if len(samples) == per_frame:
                yield last_s, self._payload(last_s, samples)
                samples = []
        if samples:
            yield last_s, self._payload(last_s, samples)

    def _payload(self, last_s: float, samples: list[tuple[int, int, int]]) -> bytes:
        sensor_ns = SENSOR_EPOCH_NS + round(last_s * 1e9)
        return encode_frame(ACC, sensor_ns, samples, compressed=self.compressed)


def _mg(value: float) -> int:
    """An int16 reading: beyond the range the sensor saturates."""
    return max(-32768, min(32767, round(value)))
