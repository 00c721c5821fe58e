"""`biofeedback monitor`: three runners on a real broker, seen through the real Textual app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.message import Message
from textual.widgets import DataTable

from biofeedback.broker import MqttSettings, parse_url
from biofeedback.models import (
    Action,
    Estimate,
    Quality,
    SessionEnded,
    SessionInfo,
    SessionStarted,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.mqtt import Broker, MqttPublisher, watch_runners
from biofeedback.ui.monitor import MonitorApp, RowsShown
from tests.support.broker import Mosquitto, mosquitto

__all__ = ["mosquitto"]


async def runner(url: str, name: str, hr_bpm: float) -> MqttPublisher:
    publisher = MqttPublisher(parse_url(url), MqttSettings(runner=name))
    await publisher.start(SessionInfo(f"s-{name}", "full", "simulator:calm", 0.0))
    await asyncio.wait_for(publisher.connected.wait(), 10)
    await publisher.handle(SessionStarted(0.0, f"s-{name}", "full", "simulator:calm", Zone.GREEN))
    await publisher.handle(
        StepStarted(1.0, "hands-tense", StepKind.TENSE, "hands", "Make a gentle fist.", 5.0)
    )
    return publisher


async def test_monitor_follows_three_runners(mosquitto: Mosquitto) -> None:
    ana = await runner(mosquitto.url, "ana", 61)
    ben = await runner(mosquitto.url, "ben", 72)
    cy = await runner(mosquitto.url, "cy", 83)
    await ana.handle(Estimate(2.0, 61.0, 45.0, 0.2, Quality.OK, 0.0))
    await ben.handle(ZoneChanged(2.0, Zone.GREEN, Zone.YELLOW, "arousal +2.4 above 2.0 for 10 s"))
    await ben.handle(Estimate(2.5, 72.0, 30.0, 2.4, Quality.OK, 0.0))
    await cy.handle(Estimate(2.0, 83.0, 20.0, 0.1, Quality.HR_ONLY, 0.0))
    await cy.handle(SessionEnded(3.0, "s-cy", "completed", 3.0))
    await cy.stop()

    url = parse_url(mosquitto.url)
    app = MonitorApp(watch_runners(Broker.prepare(url, MqttSettings())), where=url.where)
    shown = asyncio.Event()

    def hook(message: Message) -> None:
        if isinstance(message, RowsShown):
            shown.set()

    async def until(check: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not check():
                shown.clear()
                await shown.wait()

        await asyncio.wait_for(wait(), 10)

    def cells(name: str) -> list[str]:
        table = app.query_one("#runners", DataTable)
        return [str(c) for c in table.get_row(name)] if name in table.rows else []

    async with app.run_test(size=(120, 30), message_hook=hook) as pilot:
        # What the broker kept (status and state) shows every runner at once.
        await until(lambda: all(cells(n) for n in ("ana", "ben", "cy")))
        assert cells("ana")[:6] == ["ana", "online", "61", "green", "hands-tense", "4 s"]
        assert cells("ben")[:4] == ["ben", "online", "72", "yellow"]
        assert "arousal +2.4" in cells("ben")[6]
        # A finished runner's measurements do not stay on the broker.
        assert cells("cy")[:3] == ["cy", "ended", "-"]
        table = app.query_one("#runners", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == [
            "ana",
            "ben",
            "cy",
        ]

        # Live news: a new heart rate, a pause, and a runner that vanishes.
        await ana.handle(Estimate(3.0, 66.0, 44.0, 0.3, Quality.OK, 0.0))
        await ana.handle(UserActed(3.5, Action.PAUSE))
        await until(lambda: cells("ana")[2] == "66" and "pause" in cells("ana")[6])
        await ben.stop()
        await until(lambda: cells("ben")[1] == "offline")
        await pilot.press("q")
    await ana.stop()
