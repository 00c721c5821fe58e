"""Finding straps: scanning for the Heart Rate service, and Bluetooth's errors as one line.

Straps are recognised by the Heart Rate service (0x180D) they advertise,
never by their name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

from biofeedback.models.record import record
from biofeedback.sensors import SourceError

log = logging.getLogger(__name__)


def _uuid16(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


HR_SERVICE = _uuid16(0x180D)
HR_MEASUREMENT = _uuid16(0x2A37)
BODY_SENSOR_LOCATION = _uuid16(0x2A38)
BATTERY_LEVEL = _uuid16(0x2A19)

BODY_SENSOR_LOCATIONS = ("other", "chest", "wrist", "finger", "hand", "ear lobe", "foot")

CONNECT_TIMEOUT_S = 15.0
FIND_TIMEOUT_S = 10.0
BATTERY_READ_TIMEOUT_S = 5.0


class BleError(SourceError):
    """A Bluetooth problem the user can act on."""


class BluetoothUnavailableError(BleError):
    """No adapter, Bluetooth off, or no BlueZ / D-Bus to talk to."""


class StrapNotFoundError(BleError):
    """No device with the given address or name answered a scan."""


class NotAHeartRateStrapError(BleError):
    """The device exists but serves no Heart Rate service."""


class StrapConnectionError(BleError):
    """The strap was found but the connection could not be made."""


@record(frozen=True, slots=True)
class FoundStrap:
    """A device seen by a scan (``address`` goes to debug logs only)."""

    address: str
    name: str | None
    rssi_dbm: int | None
    battery_pct: int | None = None
    heart_rate: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------
# Errors from bleak and D-Bus, as one line a user can act on


_NO_BLUEZ_ERRORS = (
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
)


@contextlib.contextmanager
def bluetooth_errors() -> Iterator[None]:
    """Turn "no Bluetooth here" failures into BluetoothUnavailableError."""
    try:
        yield
    except BleakBluetoothNotAvailableError as exc:
        raise BluetoothUnavailableError(_unavailable_text(exc)) from None
    except BleakDBusError as exc:
        if exc.dbus_error in _NO_BLUEZ_ERRORS:
            raise BluetoothUnavailableError(
                "the Bluetooth service (bluetoothd) is not running; start it,"
                " or try the simulator: biofeedback run --sim"
            ) from None
        raise
    except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
        raise BluetoothUnavailableError(
            f"cannot reach the system D-Bus to talk to Bluetooth ({exc.strerror or exc});"
            " or try the simulator: biofeedback run --sim"
        ) from None


def _unavailable_text(exc: BleakBluetoothNotAvailableError) -> str:
    # "Turn it on" only helps when there is something to turn on.
    detail = exc.args[0] if exc.args else exc
    reason = exc.args[1] if len(exc.args) > 1 else None
    if reason is BleakBluetoothNotAvailableReason.NO_BLUETOOTH:
        what = "this computer has no Bluetooth adapter (a USB Bluetooth dongle adds one)"
    elif reason is BleakBluetoothNotAvailableReason.POWERED_OFF:
        what = "Bluetooth is off; turn it on"
    elif reason in (
        BleakBluetoothNotAvailableReason.DENIED_BY_USER,
        BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM,
    ):
        what = f"this program may not use Bluetooth ({detail}); allow it"
    else:
        what = f"Bluetooth is not available ({detail}); check it is on"
    return f"{what}, or try the simulator: biofeedback run --sim"


# --------------------------------------------------------------------------
# Scanning and finding


def is_address(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )


def _advertises_hr(adv: AdvertisementData) -> bool:
    return HR_SERVICE in {u.lower() for u in adv.service_uuids}


async def scan(timeout_s: float = 5.0, *, read_battery: bool = True) -> list[FoundStrap]:
    """Straps advertising the Heart Rate service, strongest signal first."""
    seen: dict[str, tuple[BLEDevice, AdvertisementData]] = {}

    def found(device: BLEDevice, adv: AdvertisementData) -> None:
        if _advertises_hr(adv):
            seen[device.address] = (device, adv)

    with bluetooth_errors():
        async with BleakScanner(found, service_uuids=[HR_SERVICE]):
            await asyncio.sleep(timeout_s)
        straps = [
            FoundStrap(device.address, device.name, adv.rssi) for device, adv in seen.values()
        ]
        if read_battery and straps:
            levels = await asyncio.gather(*(_read_battery(device) for device, _ in seen.values()))
            straps = [
                FoundStrap(s.address, s.name, s.rssi_dbm, level)
                for s, level in zip(straps, levels, strict=True)
            ]
    return sorted(straps, key=lambda s: -(s.rssi_dbm if s.rssi_dbm is not None else -999))


async def _read_battery(device: BLEDevice) -> int | None:
    """The battery level, if the strap lets us connect and read it quickly."""
    if _connected_elsewhere(device):
        # BlueZ shares one link per device: our disconnect would cut the
        # session that holds it.
        return None
    try:
        async with asyncio.timeout(BATTERY_READ_TIMEOUT_S):
            async with BleakClient(device, timeout=BATTERY_READ_TIMEOUT_S) as client:
                char = client.services.get_characteristic(BATTERY_LEVEL)
                if char is None:
                    return None
                data = await client.read_gatt_char(char)
                return int(data[0]) if data else None
    except (BleakError, TimeoutError, EOFError, OSError) as exc:
        log.debug("battery of %s not readable: %s", device.address, exc)
        return None


def _connected_elsewhere(device: BLEDevice) -> bool:
    details = device.details if isinstance(device.details, dict) else {}
    props = details.get("props") or {}
    return bool(props.get("Connected"))


async def find_device(
    device: str, timeout_s: float = FIND_TIMEOUT_S
) -> tuple[BLEDevice, AdvertisementData]:
    """Scan until a device whose address or name is ``device`` shows up."""
    by_address = is_address(device)
    wanted = device.upper() if by_address else device.casefold()
    hit: asyncio.Future[tuple[BLEDevice, AdvertisementData]] = (
        asyncio.get_running_loop().create_future()
    )

    def seen(found: BLEDevice, adv: AdvertisementData) -> None:
        key = found.address.upper() if by_address else (found.name or "").casefold()
        if key == wanted and not hit.done():
            hit.set_result((found, adv))

    with bluetooth_errors():
        async with BleakScanner(seen):
            try:
                return await asyncio.wait_for(hit, timeout_s)
            except TimeoutError:
                raise StrapNotFoundError(
                    f"no strap {device!r} answered within {timeout_s:g} s; is it on and worn"
                    " (straps sleep without skin contact)? List straps with: biofeedback scan"
                ) from None


async def resolve(device: str, timeout_s: float = FIND_TIMEOUT_S) -> FoundStrap:
    """Find ``device`` and make sure it is a heart-rate strap."""
    found, adv = await find_device(device, timeout_s)
    if not _advertises_hr(adv):
        with bluetooth_errors():
            await _check_serves_hr(found, device)
    return FoundStrap(found.address, found.name, adv.rssi)


async def _check_serves_hr(found: BLEDevice, label: str) -> None:
    if _connected_elsewhere(found):
        raise StrapConnectionError(
            f"{label!r} is in use by another program; end that session and try again"
        )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            async with BleakClient(found, timeout=CONNECT_TIMEOUT_S) as client:
                has_hr = client.services.get_service(HR_SERVICE) is not None
    except (BleakError, TimeoutError, EOFError, OSError) as exc:
        raise StrapConnectionError(
            f"found {label!r} but could not connect to it ({exc}); move it closer and try again"
        ) from None
    if not has_hr:
        raise NotAHeartRateStrapError(not_hr_message(label))


def not_hr_message(label: str) -> str:
    return (
        f"{label!r} is no heart-rate strap (it serves no Heart Rate service 0x180D);"
        " list straps with: biofeedback scan"
    )
