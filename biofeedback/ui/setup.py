"""The setup screen: the practice profile as a short form (`biofeedback setup`).

The screen only edits a ``Profile``: it dismisses with the profile to save, or
None when the person cancels. Storing it is the CLI's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
)

from biofeedback.routines.profile import EYES, POSITIONS, Profile
from biofeedback.routines.protocols import BODY_ORDER
from biofeedback.routines.texts import region_words
from biofeedback.ui.app import BiofeedbackApp, DashboardSettings

_NO_PREFERENCE = "no preference"


class SetupScreen(Screen[Profile | None]):
    """Position, eyes, where tension starts, painful regions, joints and back."""

    DEFAULT_CSS = """
    SetupScreen { layout: vertical; }
    #setup-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    #setup-hint { height: 1; padding: 0 1; color: $text-muted; }
    #setup-body { height: 1fr; }
    #setup-left { width: 36; height: 100%; }
    #setup-right { width: 1fr; height: 100%; }
    #setup RadioSet { width: 100%; height: auto; }
    #position-set { layout: grid; grid-size: 2; grid-gutter: 0 1; }
    #eyes-set { layout: horizontal; }
    #setup Checkbox { width: 100%; }
    #tension-starts { width: 100%; }
    .setup-label { height: 1; padding: 0 1; color: $text-muted; }
    #painful { height: 1fr; border-title-color: $text; }
    #setup-buttons { height: 3; align-horizontal: right; }
    #setup-buttons Button { margin: 0 1; min-width: 10; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True, id="setup.save"),
        Binding("escape", "cancel", "Cancel", id="setup.cancel"),
    ]

    def __init__(self, profile: Profile) -> None:
        super().__init__(id="setup")
        self.profile = profile

    def compose(self) -> ComposeResult:
        p = self.profile
        yield Static("Your practice profile", id="setup-title")
        yield Static("Sessions adapt to this. Tab moves, space chooses.", id="setup-hint")
        with Horizontal(id="setup-body"):
            with Vertical(id="setup-left"):
                position = RadioSet(
                    *(
                        RadioButton(name.replace("-", " "), p.position == name, name=name)
                        for name in POSITIONS
                    ),
                    id="position-set",
                )
                position.border_title = "Position"
                yield position
                eyes = RadioSet(
                    *(RadioButton(name, p.eyes == name, name=name) for name in EYES),
                    id="eyes-set",
                )
                eyes.border_title = "Eyes"
                yield eyes
                yield Checkbox(
                    "Sensitive or bendy joints", p.gentle_joints, id="gentle-joints", compact=True
                )
                yield Checkbox("Back sore right now", p.back_pain, id="back-pain", compact=True)
                with Horizontal(id="setup-buttons"):
                    yield Button("Save", variant="primary", id="save", compact=True)
                    yield Button("Cancel", id="cancel", compact=True)
            with Vertical(id="setup-right"):
                yield Static("Where your tension starts", classes="setup-label")
                starts: Select[str] = Select(
                    [(region_words(r), r) for r in BODY_ORDER],
                    prompt=_NO_PREFERENCE,
                    value=p.tension_starts if p.tension_starts else Select.NULL,
                    id="tension-starts",
                )
                yield starts
                painful: SelectionList[str] = SelectionList(
                    *((region_words(r), r, r in p.painful) for r in BODY_ORDER), id="painful"
                )
                painful.border_title = "Painful: imagery only"
                yield painful
        yield Footer()

    def chosen(self) -> Profile:
        """The profile as the form shows it now."""

        def pressed(set_id: str) -> str | None:
            button = self.query_one(f"#{set_id}", RadioSet).pressed_button
            return None if button is None else button.name

        starts = self.query_one("#tension-starts", Select).value
        painful = self.query_one("#painful", SelectionList).selected
        return Profile(
            position=pressed("position-set"),
            eyes=pressed("eyes-set"),
            painful=tuple(r for r in BODY_ORDER if r in painful),
            tension_starts=starts if isinstance(starts, str) else None,
            gentle_joints=self.query_one("#gentle-joints", Checkbox).value,
            back_pain=self.query_one("#back-pain", Checkbox).value,
        )

    def action_save(self) -> None:
        self.dismiss(self.chosen())

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()


class SetupApp(BiofeedbackApp):
    """The dashboard opened on the setup screen; ``chosen`` is what was saved."""

    def __init__(self, profile: Profile, settings: DashboardSettings) -> None:
        super().__init__(None, settings)
        self.start_profile = profile
        self.chosen: Profile | None = None

    async def on_mount(self) -> None:
        await super().on_mount()
        await self.push_screen(SetupScreen(self.start_profile), self._done)

    def _done(self, profile: Profile | None) -> None:
        self.chosen = profile
        self.exit()


def create_setup_app(
    profile: Profile, *, reduced_motion: bool = False, keymap: Mapping[str, str] | None = None
) -> SetupApp:
    return SetupApp(profile, DashboardSettings(reduced_motion, dict(keymap or {})))
