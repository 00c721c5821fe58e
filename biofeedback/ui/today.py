"""The today screen: the routine suggested now, why, and today's plan; enter starts it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from biofeedback.models.record import record


@record(frozen=True)
class TodayView:
    """What the screen shows; the CLI builds it from ``practice.today`` and the plan."""

    routine: str
    title: str
    minutes: int | None
    reason: str
    adaptation: str = ""
    plan_lines: Sequence[str] = ()
    sessions_today: int = 0


class TodayScreen(Screen[str | None]):
    """Dismisses with the routine to start, or None."""

    DEFAULT_CSS = """
    TodayScreen { align: center middle; }
    TodayScreen #today { width: 72; height: auto; border: round $accent; padding: 1 2; }
    TodayScreen #today-title { text-style: bold; }
    TodayScreen #today-adaptation { color: $warning; }
    TodayScreen #today-plan { color: $text-muted; margin-top: 1; }
    TodayScreen #today-buttons { height: 3; margin-top: 1; }
    TodayScreen #today-buttons Button { margin-right: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "start", "Start", id="today.start", priority=True),
        Binding("escape,q", "close", "Close", id="today.close"),
    ]

    def __init__(self, view: TodayView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        v = self.view
        length = f", about {v.minutes} min" if v.minutes else ""
        with Vertical(id="today"):
            yield Static(f"Today: {v.title}{length}", id="today-title")
            yield Static(v.reason, id="today-reason")
            if v.adaptation:
                yield Static(v.adaptation, id="today-adaptation")
            if v.sessions_today:
                yield Static(f"You have practised {v.sessions_today} time(s) today already.")
            plan = "\n".join(v.plan_lines) if v.plan_lines else "Nothing planned today."
            yield Static(f"Your plan today:\n{plan}", id="today-plan")
            with Horizontal(id="today-buttons"):
                yield Button(f"Start {v.title.lower()}", id="start", variant="primary")
                yield Button("Not now", id="close")
        yield Footer()

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        self.dismiss(self.view.routine)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


class TodayApp(App[None]):
    """The screen on its own; ``chosen`` holds the routine to start, if any."""

    TITLE = "biofeedback"

    def __init__(self, view: TodayView) -> None:
        super().__init__()
        self.view = view
        self.chosen: str | None = None

    def on_mount(self) -> None:
        self.push_screen(TodayScreen(self.view), self._done)

    def _done(self, routine: str | None) -> None:
        self.chosen = routine
        self.exit()
