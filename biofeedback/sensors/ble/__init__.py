"""Heart-rate straps over Bluetooth LE: scan, find, connect, stream, reconnect.

The only package that imports bleak: ``scan`` finds straps (and turns
Bluetooth's failures into one line), ``source`` is the live ``BleSource``.
"""

from biofeedback.sensors.ble.scan import (
    BATTERY_LEVEL,
    BODY_SENSOR_LOCATION,
    HR_MEASUREMENT,
    HR_SERVICE,
    BleError,
    BluetoothUnavailableError,
    FoundStrap,
    NotAHeartRateStrapError,
    StrapConnectionError,
    StrapNotFoundError,
    bluetooth_errors,
    find_device,
    resolve,
    scan,
)
from biofeedback.sensors.ble.source import BACKOFF_S, WATCHDOG_S, BleSource

__all__ = [
    "BACKOFF_S",
    "BATTERY_LEVEL",
    "BODY_SENSOR_LOCATION",
    "HR_MEASUREMENT",
    "HR_SERVICE",
    "WATCHDOG_S",
    "BleError",
    "BleSource",
    "BluetoothUnavailableError",
    "FoundStrap",
    "NotAHeartRateStrapError",
    "StrapConnectionError",
    "StrapNotFoundError",
    "bluetooth_errors",
    "find_device",
    "resolve",
    "scan",
]
