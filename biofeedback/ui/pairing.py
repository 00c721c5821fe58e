"""The pair screen: a live list of straps nearby; choose one to remember.

The screen scans with a function the CLI hands in (the Bluetooth layer's
``scan``), again and again, and keeps one row per strap: it never re-sorts
under the person's cursor. Remembering the choice is the CLI's job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from biofeedback.models.record import record
from biofeedback.ui.messages import StrapChosen, StrapsFound, WorkFailed
from biofeedback.ui.state import StrapLike

SCAN_S = 3.0
# A strap missed by this many scans in a row is shown as out of reach.
MISSED_SCANS = 2


ScanFn = Callable[[float, bool], Awaitable[Sequence[StrapLike]]]
"""``scan(timeout_s, read_battery)``: the straps heard within ``timeout_s``."""


_COLUMNS = ("name", "address", "signal", "battery")


@record
class _Seen:
    """A strap the scan found: its name, signal and battery, and how many scans in a row
    missed it since."""

    name: str | None
    rssi_dbm: int | None
    battery_pct: int | None
    missed: int = 0


_SIGNAL_LEVELS = ((-60, "▂▄▆█", "strong"), (-70, "▂▄▆ ", "good"), (-80, "▂▄  ", "fair"))


def signal_text(rssi_dbm: int | None) -> str:
    """Signal strength in words and bars, with the figure."""
    if rssi_dbm is None:
        return "unknown"
    for floor, bars, word in (
        (-60, "▂▄▆█", "strong"),
        (-70, "▂▄▆ ", "good"),
        (-80, "▂▄  ", "fair"),
    ):
        if rssi_dbm >= floor:
            return f"{bars} {word} ({rssi_dbm} dBm)"
    return f"▂    weak ({rssi_dbm} dBm)"


class PairScreen(Screen[None]):
    """Straps found so far, refreshed by repeated scans; enter remembers one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Pair this strap", priority=True, id="pair.choose"),
        Binding("q,escape", "cancel", "Cancel", id="pair.cancel"),
    ]

    def __init__(self, scan: ScanFn, *, scan_s: float = SCAN_S) -> None:
        super().__init__(id="pair")
        self.scan = scan
        self.scan_s = scan_s
        self.seen: dict[str, _Seen] = {}
        self.scans = 0
        self._battery_tried: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Static("Pair a heart-rate strap", id="pair-title")
        yield Static(id="pair-status")
        table: DataTable[str] = DataTable(id="straps", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(
            "Wear the strap and moisten its electrodes: most straps sleep without skin"
            " contact. Choose yours with the arrow keys and press enter.",
            id="pair-hint",
        )
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Name", key="name", width=24)
        table.add_column("Address", key="address", width=17)
        table.add_column("Signal", key="signal", width=22)
        table.add_column("Battery", key="battery", width=8)
        self._show_status()
        self.run_worker(self._scan_forever(), name="scan", exit_on_error=False)

    async def _scan_forever(self) -> None:
        while True:
            # Reading a battery means a short connection: once per strap is enough.
            read_battery = not self.seen or any(a not in self._battery_tried for a in self.seen)
            found = await self.scan(self.scan_s, read_battery)
            if read_battery:
                self._battery_tried.update(s.address for s in found)
            self.post_message(StrapsFound(tuple(found)))

    @on(StrapsFound)
    def _found(self, message: StrapsFound) -> None:
        self.scans += 1
        table = self.query_one(DataTable)
        heard = {s.address for s in message.straps}
        for strap in message.straps:
            before = self.seen.get(strap.address)
            battery = strap.battery_pct
            if battery is None and before is not None:
                battery = before.battery_pct
            self.seen[strap.address] = _Seen(strap.name, strap.rssi_dbm, battery)
            cells = self._cells(strap.address)
            if before is None:
                table.add_row(*cells, key=strap.address)
            else:
                for column, value in zip(
                    ("name", "address", "signal", "battery"), cells, strict=True
                ):
                    table.update_cell(strap.address, column, value)
        for address, seen in self.seen.items():
            if address not in heard:
                seen.missed += 1
                table.update_cell(address, "signal", self._cells(address)[2])
        self._show_status()

    def _cells(self, address: str) -> tuple[str, str, str, str]:
        seen = self.seen[address]
        signal = "out of reach" if seen.missed >= MISSED_SCANS else signal_text(seen.rssi_dbm)
        battery = "unknown" if seen.battery_pct is None else f"{seen.battery_pct}%"
        return (seen.name or "(no name)", address, signal, battery)

    def _show_status(self) -> None:
        if not self.seen:
            text = "Looking for straps…" if self.scans == 0 else "Still looking: no strap yet."
        else:
            count = len(self.seen)
            text = f"{count} strap{'s' if count != 1 else ''} found; still listening."
        self.query_one("#pair-status", Static).update(text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "scan" and event.state is WorkerState.ERROR:
            assert event.worker.error is not None
            self.post_message(WorkFailed(event.worker.error))

    # -- the person's choice

    def action_choose(self) -> None:
        table = self.query_one(DataTable)
        if not self.seen or table.row_count == 0:
            self.notify("No strap to pair yet. Wear it, and wait for it to show here.")
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        address = str(row_key.value)
        self.post_message(StrapChosen(address, self.seen[address].name))

    @on(DataTable.RowSelected)
    def _clicked(self, event: DataTable.RowSelected) -> None:
        self.action_choose()

    def action_cancel(self) -> None:
        self.app.exit()
