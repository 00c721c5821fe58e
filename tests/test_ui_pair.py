"""The pair screen with the real Bluetooth scan against the virtual strap.

The strap impersonates BlueZ on a private system bus (simulators/strap.py);
bleak's real backend finds it, the screen lists it, enter remembers it.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from textual.message import Message
from textual.widgets import DataTable

from biofeedback.sensors.ble import scan
from biofeedback.ui.app import create_app
from biofeedback.ui.messages import StrapsFound
from biofeedback.ui.pairing import PairScreen, signal_text
from biofeedback.ui.state import StrapLike
from simulators.bus import ADDRESS_ENV, PrivateSystemBus
from simulators.strap import StrapOptions
from tests.support.cli import run_cli, run_on_terminal
from tests.support.strap import (
    STRAP_ADDRESS,
    STRAP_NAME,
    strap_in_loop,
    strap_process,
)

WAIT_S = 30.0


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateSystemBus]:
    # Set before bleak first touches D-Bus in this test's event loop.
    with PrivateSystemBus() as private:
        monkeypatch.setenv(ADDRESS_ENV, private.address)
        yield private


async def quick_scan(timeout_s: float, read_battery: bool) -> Sequence[StrapLike]:
    return await scan(0.5, read_battery=read_battery)


async def test_the_list_shows_the_strap_live_and_enter_chooses_it(bus: PrivateSystemBus) -> None:
    listed = asyncio.Event()

    def hook(message: Message) -> None:
        if isinstance(message, StrapsFound) and any(
            s.battery_pct is not None for s in message.straps
        ):
            listed.set()

    async with strap_in_loop(StrapOptions(battery_pct=64, rssi_dbm=-66), decoy=True):
        app = create_app(scan=quick_scan)
        async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
            await asyncio.wait_for(listed.wait(), WAIT_S)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, PairScreen)
            table = screen.query_one(DataTable)
            assert table.row_count == 1  # the decoy serves no heart rate: not listed
            name, address, signal, battery = (str(c) for c in table.get_row(STRAP_ADDRESS))
            assert (name, address, battery) == (STRAP_NAME, STRAP_ADDRESS, "64%")
            # The virtual adapter reports the strap's -66 dBm give or take 4, as radios do.
            assert signal.startswith("▂▄▆  good (")
            assert -70 <= int(signal.split("(")[1].split()[0]) <= -62
            await pilot.press("enter")
    assert app.paired is not None
    assert (app.paired.address, app.paired.name) == (STRAP_ADDRESS, STRAP_NAME)


async def test_cancel_pairs_nothing(bus: PrivateSystemBus) -> None:
    async with strap_in_loop():
        app = create_app(scan=quick_scan)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("escape")
    assert app.paired is None


def test_signal_is_said_in_words_not_only_bars() -> None:
    assert signal_text(-55) == "▂▄▆█ strong (-55 dBm)"
    assert signal_text(-75).endswith("fair (-75 dBm)")
    assert signal_text(-90).endswith("weak (-90 dBm)")
    assert signal_text(None) == "unknown"


def test_pair_on_a_terminal_lists_straps_and_remembers_the_choice() -> None:
    with PrivateSystemBus() as bus, strap_process(bus, "--decoy"):
        env = {ADDRESS_ENV: bus.address}
        run_on_terminal(["pair"], until=STRAP_NAME.encode(), then=b"\r", env=env)
    saved = tomllib.loads(config_file().read_text())
    assert saved["device"] == {"address": STRAP_ADDRESS, "name": STRAP_NAME}


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "biofeedback" / "config.toml"


def test_pair_without_a_terminal_asks_for_the_device() -> None:
    proc = run_cli("pair")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "pair DEVICE" in proc.stderr
