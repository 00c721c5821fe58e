"""`biofeedback monitor`: every runner on a broker, one row each.

For someone supervising several sessions at once. The feed is any async
iterator of ``telemetry.RunnerUpdate`` (the CLI hands it the MQTT watcher),
so this view knows nothing about MQTT.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from biofeedback.telemetry import Board, RunnerRow, RunnerUpdate

COLUMNS = (
    ("runner", "Runner"),
    ("status", "Status"),
    ("hr", "HR"),
    ("zone", "Zone"),
    ("step", "Step"),
    ("left", "Left"),
    ("decision", "Last decision"),
)

# Room for the longest usual value, so columns do not jump as values change.
_WIDTHS = {"status": 7, "hr": 3, "zone": 6, "left": 5}

# Colour helps at a glance, but the name is always written too.
_ZONE_STYLE = {"green": "bold green", "yellow": "bold yellow", "red": "bold red"}
_STATUS_STYLE = {"online": "green", "offline": "red", "ended": "dim", "unknown": "dim"}


def row_cells(row: RunnerRow) -> tuple[Text, ...]:
    """The table cells for one runner, in ``COLUMNS`` order."""
    hr = "-" if row.hr_bpm is None else f"{row.hr_bpm:.0f}"
    left = "-" if row.step_left_s is None else f"{row.step_left_s:.0f} s"
    return (
        Text(row.runner, style="bold"),
        Text(row.status, style=_STATUS_STYLE.get(row.status, "")),
        Text(hr, justify="right"),
        Text(row.zone or "-", style=_ZONE_STYLE.get(row.zone or "", "")),
        Text(row.step or "-"),
        Text(left, justify="right"),
        Text(row.decision or "", overflow="ellipsis", no_wrap=True),
    )


class RowsShown(Message):
    """The table now shows these runners' latest rows."""

    def __init__(self, runners: tuple[str, ...]) -> None:
        super().__init__()
        self.runners = runners


class MonitorApp(App[None]):
    """A live table of runners fed by ``feed``."""

    TITLE = "biofeedback monitor"
    CSS = """
    #link { height: 1; padding: 0 1; color: $text-muted; }
    #runners { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit", id="monitor.quit")]
    REFRESH_S = 0.25

    def __init__(self, feed: AsyncIterator[RunnerUpdate], *, where: str = "") -> None:
        super().__init__()
        self.feed = feed
        self.where = where
        self.board = Board()
        self._dirty: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"connecting to {self.where}…" if self.where else "connecting…", id="link")
        yield DataTable(id="runners", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runners", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=_WIDTHS.get(key))
        self.sub_title = self.where
        # Many runners talk at once: redraw changed rows a few times a second.
        self.set_interval(self.REFRESH_S, self.refresh_rows)
        self.run_worker(self._follow(), name="feed", exclusive=True)

    async def _follow(self) -> None:
        async for update in self.feed:
            row = self.board.apply(update)
            if row is not None:
                self._dirty.add(row.runner)
            elif self.board.link is not None:
                self.query_one("#link", Static).update(self.board.link.reason)
                self._dirty.update(self.board.rows)

    def refresh_rows(self) -> None:
        if not self._dirty:
            return
        table = self.query_one("#runners", DataTable)
        for runner in sorted(self._dirty):
            cells = row_cells(self.board.rows[runner])
            if runner in table.rows:
                for (key, _), cell in zip(COLUMNS, cells, strict=True):
                    table.update_cell(runner, key, cell, update_width=True)
            else:
                table.add_row(*cells, key=runner)
        self.post_message(RowsShown(tuple(sorted(self._dirty))))
        self._dirty.clear()
