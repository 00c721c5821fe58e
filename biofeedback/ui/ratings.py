"""The ratings form: tension, pain and anxiety, 0-10 each, before and after a session.

Every field may stay empty, and the whole form can be skipped (escape). It is a
screen so the dashboard can push it; ``RatingsApp`` shows it on its own, as the
CLI does before the session starts and after it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from biofeedback.practice.ratings import SCALES, Phase, Ratings

QUESTIONS: dict[Phase, str] = {
    "before": "Before you start, how are you right now?",
    "after": "How are you now, after the session?",
}
LABELS = {
    "tension": "Tension",
    "pain": "Pain",
    "anxiety": "Anxiety",
}
HINT = "0 none, 10 the most you can imagine; any may stay empty."
NOTHING_YET = "Nothing rated yet."


class RatingsScreen(Screen[Ratings | None]):
    """Dismisses with the ratings given, or None when skipped or left empty."""

    DEFAULT_CSS = """
    RatingsScreen { align: center middle; }
    RatingsScreen #form { width: 66; height: auto; border: round $accent; padding: 0 2; }
    RatingsScreen .row { height: 3; }
    RatingsScreen .row Label { width: 12; padding: 1 0; }
    RatingsScreen .row Input { width: 12; }
    RatingsScreen #question { margin-top: 1; }
    RatingsScreen #hint { color: $text-muted; margin-bottom: 1; }
    RatingsScreen #summary { color: $text-muted; margin-top: 1; }
    RatingsScreen #summary.error { color: $error; }
    RatingsScreen #buttons { height: 3; margin: 1 0; }
    RatingsScreen #buttons Button { margin-right: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "skip", "Skip", id="ratings.skip"),
        Binding("ctrl+s", "save", "Save", id="ratings.save"),
        # A binding, not Input.Submitted: keys typed ahead (4, enter, enter)
        # must each land in the field that has focus by then.
        Binding("enter", "enter", "Next", id="ratings.next", priority=True, show=False),
        # Tab too: left to the screen, it moves focus only once the keys queued
        # for the field behind it are handled ("7 Tab 2" typed fast gave 72).
        Binding("tab", "move(1)", "Next field", priority=True, show=False),
        Binding("shift+tab", "move(-1)", "Previous field", priority=True, show=False),
    ]

    def __init__(self, phase: Phase) -> None:
        super().__init__()
        self.phase = phase

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(QUESTIONS[self.phase], id="question")
            yield Static(HINT, id="hint")
            for scale in SCALES:
                with Horizontal(classes="row"):
                    yield Label(LABELS[scale])
                    yield Input(
                        placeholder="0-10",
                        restrict=r"\d{0,2}",
                        max_length=2,
                        id=scale,
                        tooltip=f"{LABELS[scale]}, 0-10, or empty to skip",
                    )
            # What will be saved, or what to fix.
            yield Static(NOTHING_YET, id="summary")
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Skip", id="skip")
        yield Footer()

    def read(self) -> Ratings | None:
        """The form's ratings; shows what to fix and returns None when a value is off."""
        values: dict[str, int | None] = {}
        for scale in SCALES:
            text = self.query_one(f"#{scale}", Input).value.strip()
            if text and int(text) > 10:
                summary = self.query_one("#summary", Static)
                summary.update(f"{LABELS[scale]} goes up to 10; change it or leave it empty.")
                summary.add_class("error")
                self.query_one(f"#{scale}", Input).focus()
                return None
            values[scale] = int(text) if text else None
        return Ratings(**values)

    @on(Input.Changed)
    def _show_what_will_be_saved(self) -> None:
        given = []
        for scale in SCALES:
            text = self.query_one(f"#{scale}", Input).value.strip()
            if text:
                given.append(f"{scale} {text}")
        summary = self.query_one("#summary", Static)
        summary.update(f"To save: {', '.join(given)}." if given else NOTHING_YET)
        summary.remove_class("error")

    def action_move(self, step: int) -> None:
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def action_enter(self) -> None:
        """Enter moves down the form; on the last field it saves; on a button, presses it."""
        focused = self.focused
        if isinstance(focused, Button):
            focused.press()
        elif isinstance(focused, Input) and focused.id != SCALES[-1]:
            self.focus_next(Input)
        else:
            self.action_save()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        # Keys typed ahead of this one may still wait in a field's own queue
        # (bindings run first): read the form once every field has taken them.
        self._after_typed(self._save)

    def _save(self) -> None:
        ratings = self.read()
        if ratings is not None:
            self.dismiss(None if ratings.empty else ratings)

    def _after_typed(self, then: Callable[[], object]) -> None:
        fields = list(self.query(Input))

        def chain(i: int) -> None:
            if i == len(fields):
                then()
            else:
                fields[i].call_later(chain, i + 1)

        chain(0)

    @on(Button.Pressed, "#skip")
    def action_skip(self) -> None:
        self.dismiss(None)


class RatingsApp(App[None]):
    """The form on its own; ``ratings`` holds the answer once it exits."""

    TITLE = "biofeedback"

    def __init__(self, phase: Phase) -> None:
        super().__init__()
        self.phase = phase
        self.ratings: Ratings | None = None

    def on_mount(self) -> None:
        self.push_screen(RatingsScreen(self.phase), self._done)

    def _done(self, ratings: Ratings | None) -> None:
        self.ratings = ratings
        self.exit()
