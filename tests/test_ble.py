"""BleSource and scanning, through bleak's real BlueZ backend and the virtual strap.

Each test gets its own private system bus; the strap runs in the test's event
loop, so the test can drop the link or inject bytes when it chooses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from biofeedback.models import Contact, HeartSample, SourceStatus
from biofeedback.sensors import HeartRateSource, SourceItem
from biofeedback.sensors.ble import (
    BleSource,
    BluetoothUnavailableError,
    NotAHeartRateStrapError,
    StrapNotFoundError,
    find_device,
    resolve,
    scan,
)
from simulators.bus import ADDRESS_ENV, PrivateSystemBus
from simulators.strap import HR_MEASUREMENT, StrapOptions, Window
from tests.support.strap import DECOY_ADDRESS, STRAP_ADDRESS, STRAP_NAME, strap_in_loop

WAIT_S = 20.0


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateSystemBus]:
    # Set before bleak first touches D-Bus in this test's event loop.
    with PrivateSystemBus() as private:
        monkeypatch.setenv(ADDRESS_ENV, private.address)
        yield private


def fast_source(
    device: str = STRAP_ADDRESS, *, watchdog_s: float = 5.0, stale_s: float | None = None
) -> BleSource:
    return BleSource(
        device, backoff_s=(0.05, 0.2), find_timeout_s=5.0, watchdog_s=watchdog_s, stale_s=stale_s
    )


async def take_until(
    items: AsyncIterator[SourceItem], done: Callable[[list[SourceItem]], bool]
) -> list[SourceItem]:
    """Items until ``done`` says enough, failing after WAIT_S."""
    import asyncio

    got: list[SourceItem] = []
    async with asyncio.timeout(WAIT_S):
        while not done(got):
            got.append(await anext(items))
    return got


def samples(items: list[SourceItem]) -> list[HeartSample]:
    return [i for i in items if isinstance(i, HeartSample)]


def statuses(items: list[SourceItem]) -> list[SourceStatus]:
    return [i for i in items if isinstance(i, SourceStatus)]


async def test_streams_samples_with_rr_beat_times_contact_and_energy(
    bus: PrivateSystemBus,
) -> None:
    options = StrapOptions(speed=8.0, uint16=True, energy=True, rr_per_notification=3)
    async with strap_in_loop(options), fast_source() as source:
        assert isinstance(source, HeartRateSource)
        assert not source.virtual
        assert source.description == f"ble:{STRAP_NAME}"
        got = await take_until(aiter(source), lambda got: len(samples(got)) >= 3)
    assert statuses(got) == []
    times = [s.t_s for s in samples(got)]
    assert times == sorted(times)
    for sample in samples(got):
        assert sample.hr_bpm is not None
        assert 40 <= sample.hr_bpm <= 120
        assert len(sample.rr_ms) == 3
        assert all(300 < rr < 2000 for rr in sample.rr_ms)
        assert sample.beat_t_s[-1] == sample.t_s
        assert sample.beat_t_s[0] == pytest.approx(
            sample.t_s - (sample.rr_ms[1] + sample.rr_ms[2]) / 1000
        )
        assert sample.contact is Contact.DETECTED
        assert sample.usable
        assert sample.energy_kj is not None
    assert source.body_sensor_location == "chest"
    assert source.battery_pct == 87


async def test_drop_reports_lost_then_reconnects_and_resubscribes(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(StrapOptions(speed=4.0)) as running, fast_source() as source:
        items = aiter(source)
        await take_until(items, lambda got: len(samples(got)) >= 1)
        assert running.strap is not None
        running.strap.drop(out_of_range_s=0.5)
        got = await take_until(items, lambda got: len(samples(got)) >= 2)
        assert running.strap.device.connections == 2
    lost, restored = statuses(got)
    assert (lost.connected, lost.reason) == (False, "strap disconnected")
    assert restored.connected
    assert restored.reason == "strap reconnected"
    assert lost.battery_pct == 87
    assert got.index(lost) < got.index(restored) < got.index(samples(got)[0])
    assert source.reconnects == 1


async def test_watchdog_reports_a_silent_link_and_its_return(bus: PrivateSystemBus) -> None:
    options = StrapOptions(rate_hz=8.0, silence=(Window(0.5, 1.0),))
    source = fast_source(watchdog_s=0.3, stale_s=10.0)
    async with strap_in_loop(options) as running, source:
        got = await take_until(aiter(source), lambda got: len(statuses(got)) >= 2)
        assert running.strap is not None
        assert running.strap.device.connections == 1
    lost, back = statuses(got)
    assert (lost.connected, lost.reason) == (False, "no data for 0.3 s")
    assert (back.connected, back.reason) == (True, "heart data is back")
    assert back.t_s - lost.t_s >= 0.4
    assert source.reconnects == 0


async def test_a_link_silent_for_long_is_dropped_and_made_again(bus: PrivateSystemBus) -> None:
    options = StrapOptions(rate_hz=8.0, silence=(Window(0.3, 1.0),))
    source = fast_source(watchdog_s=0.3, stale_s=0.6)
    async with strap_in_loop(options) as running, source:
        got = await take_until(aiter(source), lambda got: len(statuses(got)) >= 2)
        assert running.strap is not None
        assert running.strap.device.connections >= 2
    assert [s.connected for s in statuses(got)] == [False, True]
    assert source.reconnects >= 1


async def test_contact_loss_keeps_samples_flowing_but_unusable(bus: PrivateSystemBus) -> None:
    options = StrapOptions(speed=8.0, contact_loss=(Window(3.0, 4.0),))
    async with strap_in_loop(options), fast_source() as source:
        got = await take_until(
            aiter(source),
            lambda got: any(not s.usable for s in samples(got)) and samples(got)[-1].usable,
        )
    contacts = [s.contact for s in samples(got)]
    assert Contact.NOT_DETECTED in contacts
    assert contacts[0] is Contact.DETECTED
    assert contacts[-1] is Contact.DETECTED
    for sample in samples(got):
        if sample.contact is Contact.NOT_DETECTED:
            assert sample.rr_ms == ()
            assert sample.hr_bpm is not None
    assert statuses(got) == []


async def test_malformed_notification_is_counted_and_skipped(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(StrapOptions(speed=4.0)) as running, fast_source() as source:
        items = aiter(source)
        await take_until(items, lambda got: len(samples(got)) >= 1)
        assert running.strap is not None
        # RR flag set, then half an RR interval.
        assert running.strap.device.notify(HR_MEASUREMENT, bytes([0x10, 64, 0x01]))
        got = await take_until(items, lambda got: len(samples(got)) >= 2)
    assert source.malformed == 1
    assert statuses(got) == []


async def test_the_users_stop_disconnects_and_never_reconnects(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(StrapOptions(speed=4.0)) as running:
        assert running.strap is not None
        device = running.strap.device
        source = fast_source()
        async with source:
            await take_until(aiter(source), lambda got: len(samples(got)) >= 1)
            assert device.connected
        assert not device.connected
        assert device.connections == 1
        assert source.reconnects == 0


async def test_scan_lists_straps_by_service_not_by_name(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(decoy=True):
        found = await scan(1.0)
    assert [(s.address, s.name, s.battery_pct) for s in found] == [(STRAP_ADDRESS, STRAP_NAME, 87)]
    assert found[0].rssi_dbm is not None
    assert -70 < found[0].rssi_dbm < -40


async def test_scan_leaves_a_strap_in_use_alone(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(StrapOptions(speed=4.0)) as running, fast_source() as source:
        items = aiter(source)
        await take_until(items, lambda got: len(samples(got)) >= 1)
        found = await scan(0.5)
        assert running.strap is not None
        assert running.strap.device.connected
        got = await take_until(items, lambda got: len(samples(got)) >= 1)
        assert running.strap.device.connections == 1
    assert [(s.address, s.battery_pct) for s in found] == [(STRAP_ADDRESS, None)]
    assert statuses(got) == []


async def test_scan_finds_nothing_when_the_strap_is_away(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(decoy=True) as running:
        assert running.strap is not None
        running.strap.drop(out_of_range_s=60)
        assert await scan(0.5) == []


async def test_find_by_name_or_address(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(decoy=True):
        by_name, _ = await find_device(STRAP_NAME.upper(), 5.0)
        by_address, _ = await find_device(STRAP_ADDRESS.lower(), 5.0)
        assert by_name.address == by_address.address == STRAP_ADDRESS
        with pytest.raises(NotAHeartRateStrapError, match="Heart Scale"):
            await resolve("Heart Scale", 5.0)
        with pytest.raises(NotAHeartRateStrapError):
            await resolve(DECOY_ADDRESS, 5.0)
        with pytest.raises(StrapNotFoundError, match="biofeedback scan"):
            await resolve("AA:BB:CC:DD:EE:FF", 0.5)


@pytest.mark.parametrize("adapter", ["none", "off"])
async def test_no_usable_adapter_is_a_typed_error(bus: PrivateSystemBus, adapter: str) -> None:
    async with strap_in_loop(adapter=adapter):
        with pytest.raises(BluetoothUnavailableError, match="--sim"):
            await scan(0.5)


async def test_no_bluez_on_the_bus_is_a_typed_error(bus: PrivateSystemBus) -> None:
    with pytest.raises(BluetoothUnavailableError, match="bluetoothd"):
        await scan(0.5)


def test_description_names_the_strap_never_its_address() -> None:
    assert BleSource(STRAP_NAME).description == f"ble:{STRAP_NAME}"
    assert BleSource(STRAP_ADDRESS, name="H10").description == "ble:H10"
    assert STRAP_ADDRESS not in BleSource(STRAP_ADDRESS).description
