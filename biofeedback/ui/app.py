"""The dashboard app: screens, bindings, command palette, and the session worker.

``create_app`` is the one way to build it (the CLI and the tests both use it).
The session loop runs in a worker on the app's own event loop; it feeds the
session screen through ``DashboardSink`` and hears the person through the
plan's ``ActionInbox``. The app never imports the store, review or MQTT: the
CLI builds those sinks and hands them in with the plan.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any, ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from biofeedback import BiofeedbackError
from biofeedback.loop.session import Clock, SessionPlan, SessionResult, VirtualClock
from biofeedback.models.record import record
from biofeedback.ui.dialogs import ConfirmStop, HelpScreen, help_body
from biofeedback.ui.keys import SHARED, check_keymap
from biofeedback.ui.messages import LeaveWhenDone, ReviewRequested, StrapChosen, WorkFailed
from biofeedback.ui.pairing import PairScreen, ScanFn
from biofeedback.ui.records import HistoryLike, HistoryScreen, OpenReview, ReviewScreen, ReviewView
from biofeedback.ui.screens import SessionScreen
from biofeedback.ui.sink import DashboardSink
from biofeedback.ui.terminal import GuardedLinuxDriver

SESSION_WORKER = "session"


@record(frozen=True)
class DashboardSettings:
    """What the person can choose about the dashboard itself.

    ``keymap`` maps binding ids (e.g. ``session.skip``) to keys (e.g. ``"n"``).
    """

    reduced_motion: bool = False
    keymap: Mapping[str, str] = field(default_factory=dict)


def pacer_rate(clock: Clock) -> float:
    """Session seconds per wall second, for the pacer between updates."""
    if isinstance(clock, VirtualClock):
        # As fast as possible is faster than anyone breathes: hold still.
        return clock.speed or 0.0
    return 1.0


class BiofeedbackApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "biofeedback"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012 (Textual's own type)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
        # Ctrl-C as a terminal program's user expects: stop, through the
        # session's own question (Textual's own binding only says to use ctrl+q).
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("v", "mute", "Sound on/off", show=False, id="audio.mute"),
        Binding("plus", "volume(1)", "Louder", show=False, id="audio.louder"),
        Binding("minus", "volume(-1)", "Softer", show=False, id="audio.softer"),
    ]

    def __init__(
        self,
        plan: SessionPlan | None,
        settings: DashboardSettings,
        *,
        scan: ScanFn | None = None,
        review: ReviewView | None = None,
        history: HistoryLike | None = None,
        open_review: OpenReview | None = None,
    ) -> None:
        # A closed terminal ends the program instead of hanging it (see ui/terminal.py).
        super().__init__(driver_class=None if sys.platform == "win32" else GuardedLinuxDriver)
        self.plan = plan
        self.settings = settings
        self.scan = scan
        self.review = review
        self.history = history
        self.open_review = open_review
        self.session_result: SessionResult | None = None
        self.paired: StrapChosen | None = None
        # Why the app ended on its own (a source or a scan failed), for the CLI to report.
        self.error: BaseException | None = None
        checked = check_keymap(settings.keymap, self.binding_groups())
        self.keymap = checked.keymap
        # Key settings left out, one line each: the CLI prints them, the app shows them.
        self.key_problems = checked.problems
        # Set by end_session(): the session was ended from outside (a signal).
        self.ended_by: str | None = None
        self._session_task: asyncio.Task[SessionResult] | None = None

    def action_mute(self) -> None:
        sound = self.plan.sound if self.plan is not None else None
        if sound is None:
            self.notify("This session has no sound.")
            return
        muted = sound.toggle_mute()
        self.notify("Sound off." if muted else "Sound on.")
        self._sound_word("sound muted (v turns it on)" if muted else None)

    def action_volume(self, steps: int) -> None:
        sound = self.plan.sound if self.plan is not None else None
        if sound is None:
            self.notify("This session has no sound.")
            return
        self.notify(f"Volume {round(sound.change_volume(steps) * 100)} %.")
        self._sound_word(None)

    def _sound_word(self, override: str | None) -> None:
        """The session screen's sound status: muted, or as the session began."""
        for screen in self.screen_stack:
            if isinstance(screen, SessionScreen):
                screen.set_sound(override)

    @classmethod
    def binding_groups(cls) -> list[list[BindingType]]:
        """Each screen's bindings with the app's own: the keys active together."""
        screens: list[type[Screen[Any]]] = [
            SessionScreen,
            HelpScreen,
            ConfirmStop,
            PairScreen,
            ReviewScreen,
            HistoryScreen,
        ]
        return [[*screen.BINDINGS, *cls.BINDINGS] for screen in screens]

    @property
    def reduced_motion(self) -> bool:
        return self.settings.reduced_motion or self.animation_level == "none"

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(dict(self.keymap))
        for problem in self.key_problems:
            self.notify(problem, severity="warning", timeout=15)
        if self.scan is not None:
            await self.push_screen(PairScreen(self.scan))
        if self.history is not None:
            await self.push_screen(HistoryScreen(self.history, self.open_review))
        if self.review is not None:
            await self.push_screen(ReviewScreen(self.review))
        if self.plan is not None:
            screen = SessionScreen(
                self.plan.actions,
                title=self.plan.title or self.plan.info.protocol,
                source=self.plan.info.source,
                rate=pacer_rate(self.plan.clock),
                motion=not self.reduced_motion,
                saved_to=self.plan.saved_to,
                sound=self.plan.sound_status,
            )
            await self.push_screen(screen)
            self.run_worker(
                self._run_session(self.plan, screen),
                name=SESSION_WORKER,
                group=SESSION_WORKER,
                exit_on_error=False,
            )

    async def _run_session(self, plan: SessionPlan, screen: SessionScreen) -> SessionResult:
        self._session_task = asyncio.current_task()
        dashboard = DashboardSink(screen)
        # A recorder that cannot write is shown the moment it happens.
        return await plan.run(first=[dashboard], trouble=dashboard.sink_trouble)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name != SESSION_WORKER:
            return
        if event.state is WorkerState.SUCCESS:
            self.session_result = worker.result
            session = self._session_screen()
            if session is not None and session.stop_requested:
                self.exit()
        elif event.state is WorkerState.ERROR:
            self.error = worker.error
            self.exit()
        elif event.state is WorkerState.CANCELLED and self.ended_by is not None:
            self.exit()

    def end_session(self, reason: str) -> None:
        """End the session now and leave, recording ``reason`` (the terminal closed,
        or the system asked the program to stop): saved as ended, not unfinished."""
        self.ended_by = reason
        task = self._session_task
        if task is not None and not task.done():
            task.cancel(reason)
        else:
            self.exit()

    @on(LeaveWhenDone)
    def _leave(self, message: LeaveWhenDone) -> None:
        if not self.session_running:
            self.exit()
        # Otherwise the session's end (on_worker_state_changed) exits.

    @on(ReviewRequested)
    def _review(self, message: ReviewRequested) -> None:
        if self.open_review is None:
            return
        try:
            view = self.open_review(message.session_id)
        except BiofeedbackError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.push_screen(ReviewScreen(view))

    @on(WorkFailed)
    def _failed(self, message: WorkFailed) -> None:
        self.error = message.error
        self.exit()

    @on(StrapChosen)
    def _chosen(self, message: StrapChosen) -> None:
        self.paired = message
        self.exit()

    def _session_screen(self) -> SessionScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, SessionScreen):
                return screen
        return None

    @property
    def session_running(self) -> bool:
        return any(
            w.name == SESSION_WORKER and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for w in self.workers
        )

    # -- actions

    async def action_quit(self) -> None:
        session = self._session_screen()
        if session is not None and self.session_running:
            # Quitting mid-session goes through the same confirmation as stop,
            # and an ended session is left once the recorder has finished.
            if session.state.ended is None:
                session.action_stop()
            else:
                session.action_close()
            return
        self.exit()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        screen = self.screen
        session = screen if isinstance(screen, SessionScreen) else None
        # Reading help takes a while: the session waits, and goes on when help closes.
        paused_here = session is not None and bool(session.check_action("pause", ()))
        if session is not None and paused_here:
            session.action_pause()
        hurts = self._key_display("session.hurts", "h")
        body = help_body(screen.id or "", hurts)
        if paused_here:
            body += "\n[dim]The session waits while you read this.[/dim]"

        def closed(_: None) -> None:
            if session is not None and paused_here and session.check_action("resume", ()):
                session.action_resume()

        # Warnings shown as toasts (key settings left out) would cover the safety
        # text; they were said once, and the CLI printed them too.
        self.clear_notifications()
        self.push_screen(HelpScreen(self._key_list(), body), closed)

    def _key_list(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        seen: set[str] = set()
        node_bindings = [*self.screen.BINDINGS, *self.BINDINGS]
        for binding in node_bindings:
            if not isinstance(binding, Binding) or binding.id is None or binding.id in seen:
                continue
            seen.add(binding.id)
            if binding.id == "app.quit":
                continue  # ctrl+q works everywhere; help lists what a person needs
            keys = self._key_display(binding.id, binding.key)
            description = binding.description
            for pair in SHARED:
                if binding.id in pair:
                    # One key, two meanings, never both at once: one line.
                    other = next(i for i in pair if i != binding.id)
                    partner = next(
                        b for b in node_bindings if isinstance(b, Binding) and b.id == other
                    )
                    if self._key_display(other, partner.key) == keys:
                        seen.add(other)
                        description = f"{description} / {partner.description.lower()}"
            rows.append((keys, description))
        rows.append(("ctrl+p", "Every action by name"))
        return rows

    def _key_display(self, binding_id: str, default: str) -> str:
        keys = self._keymap.get(binding_id, default)
        return ", ".join(k.strip() for k in keys.split(",")).replace("question_mark", "?")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        session = self._session_screen()
        if session is not None:
            commands = (
                ("pause", "Pause", "Hold the session where it is", session.action_pause),
                ("resume", "Resume", "Go on from where you paused", session.action_resume),
                ("skip", "Skip step", "Go to the next step", session.action_skip),
                (
                    "hurts",
                    "It hurts",
                    "Stop this step; that part moves to imagery only",
                    session.action_hurts,
                ),
                (
                    "stop",
                    "Stop session",
                    "End now (asks first; what you did is saved)",
                    session.action_stop,
                ),
                ("close", "Close", "Leave the dashboard", session.action_close),
            )
            for action, title, help_text, callback in commands:
                if session.check_action(action, ()):
                    yield SystemCommand(title, help_text, callback)
            yield SystemCommand(
                "Reduced motion",
                "Turn the moving breathing bar off or on",
                session.action_toggle_motion,
            )
        yield SystemCommand("Help", "Keys, when to stop, and when to seek help", self.action_help)
        yield from super().get_system_commands(screen)


def create_app(
    plan: SessionPlan | None = None,
    settings: DashboardSettings | None = None,
    *,
    scan: ScanFn | None = None,
    review: ReviewView | None = None,
    history: HistoryLike | None = None,
    open_review: OpenReview | None = None,
) -> BiofeedbackApp:
    """The dashboard, opened on what it is given: a live session (``plan``), the
    pair screen (``scan``), a recorded session (``review``) or the ``history``
    (where enter reviews a session through ``open_review``)."""
    return BiofeedbackApp(
        plan,
        settings or DashboardSettings(),
        scan=scan,
        review=review,
        history=history,
        open_review=open_review,
    )
