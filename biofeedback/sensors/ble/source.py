"""The live strap: connect, stream 0x2A37 notifications, say when the signal goes, reconnect.

``BleSource`` is a live ``HeartRateSource``: it stamps samples with the
session clock, says when the signal is lost (link down, or connected but
silent) and when it is back, and reconnects on its own with backoff until
the session ends. On a strap with Polar Measurement Data (a Polar H10) it also
yields ``ChestMotion`` between the samples (see ``chest``), restarted on
every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Self

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import (
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)
from bleak_retry_connector import (
    BleakClientWithServiceCache,
    BleakNotFoundError,
    establish_connection,
)

from biofeedback.models import HeartSample, SourceStatus
from biofeedback.sensors import SourceItem
from biofeedback.sensors.ble.chest import ACC_RATE_HZ, ChestStreams
from biofeedback.sensors.ble.scan import (
    BATTERY_LEVEL,
    BODY_SENSOR_LOCATION,
    BODY_SENSOR_LOCATIONS,
    CONNECT_TIMEOUT_S,
    FIND_TIMEOUT_S,
    HR_MEASUREMENT,
    HR_SERVICE,
    BleError,
    NotAHeartRateStrapError,
    StrapConnectionError,
    bluetooth_errors,
    find_device,
    is_address,
    not_hr_message,
)
from biofeedback.sensors.hrm import MalformedMeasurementError, beat_times, decode

log = logging.getLogger(__name__)

WATCHDOG_S = 5.0
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


async def _optional_read(client: BleakClient, char: BleakGATTCharacteristic) -> bytearray | None:
    try:
        return await client.read_gatt_char(char)
    except BleakGATTProtocolError as exc:
        log.debug("reading %s refused: %s", char.uuid, exc)
        return None


class _Failed:
    """Queued when the supervisor itself fails: the iterator re-raises it."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class BleSource:
    """Samples from a strap, with signal lost/restored statuses between them.

    ``clock_now`` gives session time; without it, time counts from creation.
    Leaving the context manager is the user's stop: it never reconnects.
    """

    virtual = False

    def __init__(
        self,
        device: str,
        *,
        name: str | None = None,
        clock_now: Callable[[], float] | None = None,
        watchdog_s: float = WATCHDOG_S,
        stale_s: float | None = None,
        backoff_s: Sequence[float] = BACKOFF_S,
        find_timeout_s: float = FIND_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        chest: bool = True,
        acc_rate_hz: int = ACC_RATE_HZ,
        ecg: bool = False,
    ) -> None:
        self.device = device
        name = name or (None if is_address(device) else device)
        self.description = f"ble:{name}" if name else "ble:strap"
        self._start_mono = time.monotonic()
        self._now = clock_now or self._since_start
        self.watchdog_s = watchdog_s
        # Silent for this long on a live link: drop it and connect again.
        self.stale_s = stale_s if stale_s is not None else 3 * watchdog_s
        self.backoff_s = tuple(backoff_s) or (1.0,)
        self.find_timeout_s = find_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.malformed = 0
        self.reconnects = 0
        self.battery_pct: int | None = None
        self.body_sensor_location: str | None = None
        self._queue: asyncio.Queue[SourceItem | _Failed] = asyncio.Queue()
        self._ble_device: BLEDevice | None = None
        self._client: BleakClient | None = None
        self._disconnected = asyncio.Event()
        self._closing = False
        self._signal_ok = True
        self._announced = False
        self._lost_link_mono: float | None = None
        self._last_data_mono = time.monotonic()
        self._supervisor: asyncio.Task[None] | None = None
        # Chest motion when the strap offers it; heart rate never waits for it.
        self.chest = (
            ChestStreams(
                self._now,
                self._queue.put_nowait,
                self._chest_trouble,
                acc_rate_hz=acc_rate_hz,
                ecg=ecg,
            )
            if chest
            else None
        )
        self._chest_task: asyncio.Task[None] | None = None

    def _since_start(self) -> float:
        return time.monotonic() - self._start_mono

    # -- context manager and iterator

    async def __aenter__(self) -> Self:
        with bluetooth_errors():
            self._ble_device, _ = await find_device(self.device, self.find_timeout_s)
            try:
                await self._connect()
            except (BleakError, TimeoutError, EOFError, BrokenPipeError) as exc:
                raise StrapConnectionError(
                    f"found {self.device!r} but could not connect ({exc or type(exc).__name__});"
                    " move it closer, or make sure no other app holds it"
                ) from None
        if self.description == "ble:strap" and self._ble_device.name:
            self.description = f"ble:{self._ble_device.name}"
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(), name="ble:supervisor"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await self._drop_client()
        if self.malformed:
            log.warning("skipped %d malformed heart-rate notifications", self.malformed)
        if self.chest is not None and self.chest.malformed:
            log.warning("skipped %d malformed chest-motion frames", self.chest.malformed)

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._items()

    async def _items(self) -> AsyncIterator[SourceItem]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Failed):
                raise RuntimeError(f"the strap link handler failed: {item.error!r}")
            yield item

    # -- connecting

    async def _connect(self) -> None:
        assert self._ble_device is not None
        self._disconnected.clear()
        async with asyncio.timeout(self.connect_timeout_s):
            client = await establish_connection(
                BleakClientWithServiceCache,
                self._ble_device,
                self._ble_device.name or "strap",
                disconnected_callback=self._on_disconnected,
                max_attempts=2,
            )
            self._client = client
            try:
                await self._subscribe(client)
            except BaseException:
                await self._drop_client()
                raise
        self._last_data_mono = time.monotonic()
        if self.chest is not None and ChestStreams.offered_by(client):
            self._chest_task = asyncio.get_running_loop().create_task(
                self.chest.start(client), name="ble:chest"
            )

    async def _subscribe(self, client: BleakClient) -> None:
        services = client.services
        hrm = services.get_characteristic(HR_MEASUREMENT)
        if services.get_service(HR_SERVICE) is None or hrm is None:
            raise NotAHeartRateStrapError(not_hr_message(self.device))
        # Location and battery are nice to have: a strap that refuses them
        # still streams heart data.
        location = services.get_characteristic(BODY_SENSOR_LOCATION)
        if location is not None and "read" in location.properties:
            data = await _optional_read(client, location)
            if data:
                index = data[0]
                self.body_sensor_location = (
                    BODY_SENSOR_LOCATIONS[index] if index < len(BODY_SENSOR_LOCATIONS) else "other"
                )
                log.debug("body sensor location: %s", self.body_sensor_location)
        battery = services.get_characteristic(BATTERY_LEVEL)
        if battery is not None:
            if "read" in battery.properties:
                data = await _optional_read(client, battery)
                self.battery_pct = int(data[0]) if data else self.battery_pct
            if "notify" in battery.properties:
                try:
                    await client.start_notify(battery, self._on_battery)
                except BleakGATTProtocolError as exc:
                    log.debug("battery notifications refused: %s", exc)
        await client.start_notify(hrm, self._on_measurement)
        if not client.is_connected:
            raise StrapConnectionError("the strap went away while subscribing")

    def _on_disconnected(self, client: BleakClient) -> None:
        if self._closing or client is not self._client:
            return
        log.debug("strap %s disconnected", self._ble_device.address if self._ble_device else "?")
        self._disconnected.set()

    async def _drop_client(self) -> None:
        if self._chest_task is not None:
            self._chest_task.cancel()
            await asyncio.gather(self._chest_task, return_exceptions=True)
            self._chest_task = None
        client, self._client = self._client, None
        if client is None:
            return
        try:
            async with asyncio.timeout(5.0):
                await client.disconnect()
        except (BleakError, TimeoutError, EOFError, OSError) as exc:
            log.debug("disconnect failed: %s", exc)

    # -- notifications

    def _on_measurement(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        t_s = self._now()
        try:
            m = decode(data)
        except MalformedMeasurementError as exc:
            self.malformed += 1
            level = logging.WARNING if self.malformed == 1 else logging.DEBUG
            log.log(
                level,
                "skipped a malformed heart-rate notification (%d so far): %s",
                self.malformed,
                exc,
            )
            return
        self._last_data_mono = time.monotonic()
        if not self._signal_ok:
            self._signal_ok = True
            self._announced = True
            self._queue.put_nowait(SourceStatus(t_s, True, self._restored(), self.battery_pct))
        elif not self._announced:
            # The first heart data says the strap is there, with its battery level
            # (which would otherwise be unknown until a reconnect).
            self._announced = True
            self._queue.put_nowait(SourceStatus(t_s, True, "connected", self.battery_pct))
        rr_ms = m.rr_ms
        self._queue.put_nowait(
            HeartSample(
                t_s=t_s,
                # A strap sends 0 when it has no heart rate to give.
                hr_bpm=float(m.hr_bpm) if m.hr_bpm > 0 else None,
                rr_ms=rr_ms,
                beat_t_s=beat_times(t_s, rr_ms),
                contact=m.contact,
                energy_kj=m.energy_kj,
            )
        )

    def _chest_trouble(self, line: str) -> None:
        # One line, no personal data: the session's status and the log carry it.
        log.warning("%s; heart rate goes on", line)
        if self._signal_ok:
            self._queue.put_nowait(
                SourceStatus(self._now(), True, f"{line}; heart rate goes on", self.battery_pct)
            )

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        if data:
            self.battery_pct = int(data[0])

    def _restored(self) -> str:
        if self._lost_link_mono is None:
            return "heart data is back"
        away_s = time.monotonic() - self._lost_link_mono
        self._lost_link_mono = None
        # The session says how long the signal was gone; the link's own time
        # (shorter by the watchdog) would only contradict it.
        log.debug("strap link back after %.1f s", away_s)
        return "strap reconnected"

    def _lose(self, reason: str) -> None:
        if self._signal_ok:
            self._signal_ok = False
            self._queue.put_nowait(SourceStatus(self._now(), False, reason, self.battery_pct))

    # -- the connection state machine

    async def _supervise(self) -> None:
        try:
            await self._keep_connected()
        except Exception as exc:  # a bug here must end the session, not hang it
            log.exception("strap link handler failed")
            self._queue.put_nowait(_Failed(exc))

    async def _keep_connected(self) -> None:
        while True:
            await self._watch()
            self._lost_link_mono = time.monotonic()
            self._lose("strap disconnected")
            await self._drop_client()
            await self._reconnect()
            self.reconnects += 1

    async def _watch(self) -> None:
        """Return when the link is down; say so when it is up but silent."""
        stale_s = self.stale_s
        while not self._disconnected.is_set():
            silent_s = time.monotonic() - self._last_data_mono
            if silent_s >= stale_s:
                log.info("no data for %.0f s on a live link; reconnecting", silent_s)
                return
            if silent_s >= self.watchdog_s:
                self._lose(f"no data for {self.watchdog_s:g} s")
                wake_s = stale_s - silent_s
            else:
                wake_s = self.watchdog_s - silent_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._disconnected.wait(), wake_s)

    async def _reconnect(self) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(self.backoff_s[min(attempt, len(self.backoff_s) - 1)])
            attempt += 1
            try:
                with bluetooth_errors():
                    if self._ble_device is None:
                        self._ble_device, _ = await find_device(self.device, self.find_timeout_s)
                    await self._connect()
                return
            except (BleakError, BleError, TimeoutError, EOFError, OSError) as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc or type(exc).__name__)
                if isinstance(exc, BleakDeviceNotFoundError | BleakNotFoundError):
                    # BlueZ forgot the device, or it stayed silent: scan for it again
                    # (the scan returns as soon as it advertises).
                    self._ble_device = None
