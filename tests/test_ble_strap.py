"""The virtual strap itself: what it packs into notifications and what it serves."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from biofeedback.sensors.hrm import decode, encode
from simulators.bus import ADDRESS_ENV, PrivateSystemBus
from simulators.strap import (
    BATTERY_LEVEL,
    HR_CONTROL_POINT,
    HR_MEASUREMENT,
    MAX_PAYLOAD,
    Packer,
    StrapOptions,
    battery_at,
)
from tests.support.strap import STRAP_ADDRESS, strap_in_loop, strap_process


def test_packer_carries_rr_that_do_not_fit_to_the_next_notification() -> None:
    packer = Packer(StrapOptions(uint16=True, energy=True))
    for _ in range(12):
        packer.add_beat(1000.0)
    first = packer.measurement(contact=True)
    second = packer.measurement(contact=True)
    assert len(encode(first)) <= MAX_PAYLOAD
    assert first.rr_1024 == (1024,) * 7
    assert second.rr_1024 == (1024,) * 5
    assert first.hr_bpm == 60
    assert first.uint16
    assert first.contact_supported
    assert first.contact_detected
    assert second.energy_kj is not None
    assert decode(encode(second)) == second


def test_packer_without_contact_sends_heart_rate_but_no_rr() -> None:
    packer = Packer(StrapOptions())
    packer.add_beat(800.0)
    m = packer.measurement(contact=False)
    assert m.rr_1024 == ()
    assert (m.contact_supported, m.contact_detected) == (True, False)
    assert Packer(StrapOptions(contact_sensor=False)).measurement(True).contact_supported is False


def test_battery_drains_by_the_minute() -> None:
    options = StrapOptions(battery_pct=50, battery_drain_pct_per_min=6.0)
    assert [battery_at(options, t) for t in (0, 10, 60, 600)] == [50, 49, 44, 0]


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateSystemBus]:
    with PrivateSystemBus() as private:
        monkeypatch.setenv(ADDRESS_ENV, private.address)
        yield private


async def test_control_point_battery_notify_and_device_information(bus: PrivateSystemBus) -> None:
    options = StrapOptions(speed=60.0, energy=True, battery_pct=80, battery_drain_pct_per_min=1.0)
    async with strap_in_loop(options):
        device = await BleakScanner.find_device_by_address(STRAP_ADDRESS, timeout=5)
        assert device is not None
        levels: asyncio.Queue[int] = asyncio.Queue()
        energies: asyncio.Queue[int | None] = asyncio.Queue()
        async with BleakClient(device) as client:
            assert await client.read_gatt_char("00002a24-0000-1000-8000-00805f9b34fb") == (
                b"Virtual Strap"
            )
            await client.start_notify(BATTERY_LEVEL, lambda _c, d: levels.put_nowait(d[0]))
            await client.start_notify(
                HR_MEASUREMENT, lambda _c, d: energies.put_nowait(decode(d).energy_kj)
            )
            async with asyncio.timeout(10):
                assert await levels.get() == 79  # one strap minute = one second here
                while (await energies.get() or 0) < 2:
                    pass
                await client.write_gatt_char(HR_CONTROL_POINT, b"\x01", response=True)
                while (await energies.get() or 0) >= 2:
                    pass
            with pytest.raises(BleakError, match="0x80"):
                await client.write_gatt_char(HR_CONTROL_POINT, b"\x07", response=True)


def test_a_second_bluez_on_the_bus_is_refused_in_one_line() -> None:
    with PrivateSystemBus() as private, strap_process(private):
        second = subprocess.run(
            [sys.executable, "-m", "simulators", "strap"],
            env=private.env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1
    assert "already taken" in second.stderr
    assert "--private-bus" in second.stderr
