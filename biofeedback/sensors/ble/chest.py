"""The strap's chest streams (Polar Measurement Data) beside its heart rate.

``ChestStreams`` starts acceleration (and ECG when asked) on a strap that has
the PMD service, on every connection the live source makes, and turns each ACC
frame into a ``ChestMotion`` on the session clock. Whatever goes wrong here is
one line, and heart rate goes on without it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError

from biofeedback.models import ChestMotion
from biofeedback.sensors.pmd import (
    PMD_CONTROL,
    PMD_DATA,
    PMD_SERVICE,
    ControlResponse,
    MalformedFrameError,
    MalformedResponseError,
    MeasurementType,
    PmdError,
    SensorClock,
    Setting,
    chest_motion,
    decode_features,
    decode_frame,
    decode_response,
    settings_request,
    start_request,
    stop_request,
)

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 5.0
ACC_RATE_HZ = 50
ACC_RANGE_G = 4
ECG_RATE_HZ = 130
ECG_RESOLUTION_BITS = 14
ALREADY_STREAMING = 6


class PmdAnswerTimeoutError(PmdError):
    """The strap did not answer a control-point command in time."""


def _pick(offered: tuple[int, ...], wanted: int) -> int:
    """``wanted`` when offered, else the offered value nearest to it."""
    if not offered or wanted in offered:
        return wanted
    return min(offered, key=lambda v: (abs(v - wanted), v))


class ChestStreams:
    """PMD on one strap, across its connections.

    ``emit`` gets each ChestMotion; ``trouble`` gets one line when a stream
    cannot be had (a PMD error's meaning, a timeout), once per connection.
    """

    def __init__(
        self,
        now: Callable[[], float],
        emit: Callable[[ChestMotion], None],
        trouble: Callable[[str], None],
        *,
        acc_rate_hz: int = ACC_RATE_HZ,
        ecg: bool = False,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
    ) -> None:
        self._now = now
        self._emit = emit
        self._trouble = trouble
        self.acc_rate_hz = acc_rate_hz
        self.ecg = ecg
        self.answer_timeout_s = answer_timeout_s
        self.rate_hz: float = float(acc_rate_hz)
        self.acc_resolution_bits = 16
        self.ecg_resolution_bits = ECG_RESOLUTION_BITS
        self.acc_frames = 0
        self.ecg_frames = 0
        self.malformed = 0
        self.streaming = False
        self._clock = SensorClock()
        self._answers: asyncio.Queue[ControlResponse] = asyncio.Queue()

    @staticmethod
    def offered_by(client: BleakClient) -> bool:
        services = client.services
        return (
            services.get_service(PMD_SERVICE) is not None
            and services.get_characteristic(PMD_CONTROL) is not None
            and services.get_characteristic(PMD_DATA) is not None
        )

    async def start(self, client: BleakClient) -> None:
        """Start the streams on this connection; never raises for a PMD or link problem."""
        self.streaming = False
        try:
            await self._start(client)
        except PmdError as exc:
            self._trouble(str(exc))
        except (BleakError, TimeoutError, EOFError, OSError) as exc:
            if not client.is_connected:
                # The link went while starting: the reconnect starts it again.
                log.debug("chest motion start cut short by the link: %s", exc)
                return
            self._trouble(f"chest motion could not be started ({exc or type(exc).__name__})")

    async def _start(self, client: BleakClient) -> None:
        features = decode_features(await client.read_gatt_char(PMD_CONTROL))
        if MeasurementType.ACC not in features:
            self._trouble("this strap offers no chest acceleration")
            return
        while not self._answers.empty():
            self._answers.get_nowait()
        await client.start_notify(PMD_CONTROL, self._on_control)
        await client.start_notify(PMD_DATA, self._on_data)
        acc = MeasurementType.ACC
        offered = (await self._ask(client, settings_request(acc), acc)).check().settings
        rate = _pick(offered.get(Setting.SAMPLE_RATE, ()), self.acc_rate_hz)
        resolution = _pick(offered.get(Setting.RESOLUTION, ()), 16)
        range_g = _pick(offered.get(Setting.RANGE, ()), ACC_RANGE_G)
        settings: dict[int, int] = {Setting.SAMPLE_RATE: rate, Setting.RESOLUTION: resolution}
        if Setting.RANGE in offered or not offered:
            settings[Setting.RANGE] = range_g
        answer = await self._ask(client, start_request(acc, settings), acc)
        if answer.error == ALREADY_STREAMING:
            # Left running from a link the strap did not see go: start it afresh,
            # so the settings are ours.
            (await self._ask(client, stop_request(acc), acc)).check()
            answer = await self._ask(client, start_request(acc, settings), acc)
        answer.check()
        self.rate_hz = float(rate)
        self.acc_resolution_bits = resolution
        self.streaming = True
        log.debug("chest acceleration at %d Hz, %d bits, %d g", rate, resolution, range_g)
        if self.ecg and MeasurementType.ECG in features:
            ecg = MeasurementType.ECG
            ecg_settings: dict[int, int] = {
                Setting.SAMPLE_RATE: ECG_RATE_HZ,
                Setting.RESOLUTION: ECG_RESOLUTION_BITS,
            }
            (await self._ask(client, start_request(ecg, ecg_settings), ecg)).check()

    async def _ask(self, client: BleakClient, command: bytes, stream: int) -> ControlResponse:
        await client.write_gatt_char(PMD_CONTROL, command, response=True)
        try:
            async with asyncio.timeout(self.answer_timeout_s):
                while True:
                    answer = await self._answers.get()
                    if answer.op == command[0] and answer.stream == stream:
                        return answer
        except TimeoutError:
            raise PmdAnswerTimeoutError(
                f"the strap did not answer a chest-motion command in {self.answer_timeout_s:g} s"
            ) from None

    def _on_control(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self._answers.put_nowait(decode_response(data))
        except MalformedResponseError as exc:
            log.debug("skipped a PMD control-point answer: %s", exc)

    def _on_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        arrival_s = self._now()
        stream = data[0] if data else -1
        bits = (
            self.ecg_resolution_bits if stream == MeasurementType.ECG else self.acc_resolution_bits
        )
        try:
            frame = decode_frame(data, resolution_bits=bits)
        except MalformedFrameError as exc:
            self.malformed += 1
            level = logging.WARNING if self.malformed == 1 else logging.DEBUG
            log.log(level, "skipped a malformed chest frame (%d so far): %s", self.malformed, exc)
            return
        if frame.stream == MeasurementType.ECG:
            # No ECG consumer yet: counted, so a test can see it streams.
            self.ecg_frames += 1
            return
        self.acc_frames += 1
        t_s = self._clock.map(frame.sensor_ns, arrival_s)
        self._emit(chest_motion(frame, t_s, self.rate_hz))
