"""The dialogs over the dashboard's screens: confirming a stop, help, and the
safety notice after "it hurts"."""

from __future__ import annotations

from itertools import zip_longest
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from biofeedback.routines import texts


class ConfirmStop(ModalScreen[bool]):
    """Stopping ends the session: ask once, default to going on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Stop", id="confirm.stop"),
        Binding("n,escape", "answer(False)", "Keep going", id="confirm.keep"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Stop the session now?", id="question")
            yield Label("What you have done so far is saved.")
            with Horizontal(id="buttons"):
                yield Button("Keep going (n)", id="keep", variant="primary")
                yield Button("Stop (y)", id="stop")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "stop")

    def action_answer(self, stop: bool) -> None:
        self.dismiss(stop)


REVIEW_HELP = """\
The plots show the whole session: heart rate, RMSSD (beat-to-beat variation,
higher is calmer) and arousal (0 is your resting level), shaded by zone.
[b]Zone[/b] row: green, yellow or red, as the session judged you.
[b]Steps[/b] row, by word or first letter: [b]T[/b] tense · [b]R[/b] release ·
[b]B[/b] breath · [b]·[/b] rest, body scan or imagery.
The summary below lists every decision with its reason and the figures."""

HISTORY_HELP = """\
Your sessions, newest first. Highlight one and press enter to review it.
The trends compare your resting heart rate and RMSSD (from the first minute
of each session) over the latest sessions with the ones before."""

PAIR_HELP = """\
Put the strap on (it sleeps until it touches damp skin) and wait for it to be
listed. Highlight it and press enter to pair it: `biofeedback run` then uses
it. The signal column shows how close it is; battery is read when it answers."""


def help_body(screen_id: str, hurts_key: str) -> str:
    """What the help says beside the keys, for the screen it was opened on."""
    return {
        "review": REVIEW_HELP,
        "history": HISTORY_HELP,
        "pair": PAIR_HELP,
    }.get(screen_id, texts.help_safety_text(hurts_key))


class HelpScreen(ModalScreen[None]):
    """Keys, and what the screen under it needs explained (for a session: the
    stop rules and the red flags). Fits 80x24 without scrolling."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")
    ]

    def __init__(self, keys: list[tuple[str, str]], body: str) -> None:
        super().__init__()
        self.keys = keys
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Label("[b]Help[/b] · press escape to close", id="help-title")
            cells = [f"[b]{key:<7}[/b] {what}" for key, what in self.keys]
            # Two columns of keys: the safety text must fit below them at 80x24.
            half = (len(cells) + 1) // 2
            rows = [
                _pad(left, 38) + right
                for left, right in zip_longest(cells[:half], cells[half:], fillvalue="")
            ]
            yield Static("\n".join(rows), id="help-keys")
            yield Static(self.body, id="safety")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def _pad(markup: str, width: int) -> str:
    """``markup`` padded to ``width`` visible cells (the [b] tags take none)."""
    visible = len(markup.replace("[b]", "").replace("[/b]", ""))
    return markup + " " * max(width - visible, 0)


class SafetyNotice(ModalScreen[None]):
    """What to do about pain, said once after the first "it hurts" (not in the log)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,space", "dismiss", "Go on", id="safety.close")
    ]

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(id="notice"):
            yield Label("[b]You said it hurts[/b]", id="notice-title")
            yield Static("\n\n".join(self.lines), id="notice-text")
            yield Label("[dim]The session is paused. Press enter to go on gently.[/dim]")

    def show_texts(self, lines: list[str]) -> None:
        self.lines = lines
        if self.is_mounted:
            self.query_one("#notice-text", Static).update("\n\n".join(lines))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
