"""The dashboard's live session screen (its dialogs are in ``dialogs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from biofeedback.loop.progress import Snapshot
from biofeedback.loop.session import ActionInbox
from biofeedback.models import (
    Action,
    Contact,
    Estimate,
    Quality,
    SessionEvent,
    StepKind,
    StepStarted,
)
from biofeedback.routines import texts
from biofeedback.ui.breath_view import breath_taken_text, gliding, paced_breath
from biofeedback.ui.dialogs import ConfirmStop, SafetyNotice
from biofeedback.ui.messages import (
    EstimatePosted,
    LeaveWhenDone,
    SamplePosted,
    SessionEventPosted,
    SinkTroublePosted,
    SourceStatusPosted,
)
from biofeedback.ui.state import TREND_WINDOW_S, SessionState, TrendPoint, UiItem
from biofeedback.ui.trend_widgets import KindStrip, TrendPlot, time_window
from biofeedback.ui.widgets import Countdown, Pacer, ZoneBadge, whole_seconds_left

KIND_WORD = {
    StepKind.TENSE: "Tense",
    StepKind.RELEASE: "Release",
    StepKind.BREATH: "Breathe",
    StepKind.REST: "Rest",
    StepKind.SCAN: "Body scan",
    StepKind.MASSAGE: "Massage",
    StepKind.IMAGERY: "Imagine",
}

QUALITY_TEXT = {
    Quality.OK: "signal good",
    Quality.HR_ONLY: "heart rate only",
    Quality.NO_SIGNAL: "no heart data",
}
# The status line's room at 80 columns (its padding aside), before it is laid out.
STATUS_WIDTH = 78
QUALITY_SHORT = {Quality.OK: "signal ok", Quality.HR_ONLY: "HR only", Quality.NO_SIGNAL: "no data"}


def clock_text(t_s: float) -> str:
    minutes, seconds = divmod(int(t_s), 60)
    return f"{minutes:02d}:{seconds:02d}"


class SessionScreen(Screen[None]):
    """The live session: cue, countdown, pacer, vitals, zone, strap, decisions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause", "Pause", id="session.pause"),
        Binding("space", "resume", "Resume", id="session.resume"),
        Binding("s", "skip", "Skip", id="session.skip"),
        Binding("h", "hurts", "It hurts", id="session.hurts"),
        Binding("q", "stop", "Stop", id="session.stop"),
        Binding("q", "close", "Close", id="session.close"),
        Binding("m", "toggle_motion", "Motion", show=False, id="session.motion"),
    ]

    def __init__(
        self,
        inbox: ActionInbox,
        *,
        title: str,
        source: str,
        rate: float,
        motion: bool,
        saved_to: str = "",
        sound: str = "",
    ) -> None:
        super().__init__(id="session")
        self.saved_to = saved_to
        # The session's sound in words, kept on the status line (a note printed
        # before the dashboard opened would be covered at once).
        self.sound_text = sound
        self._sound_shown = sound
        self._safety_shown = 0
        self._notice: SafetyNotice | None = None
        self.inbox = inbox
        self.title_text = title
        self.source_text = source
        self.rate = rate
        self.motion = motion
        self.state = SessionState()
        self.trend: tuple[TrendPoint, ...] = ()
        self.stop_requested = False
        self._logged = 0
        self._shown: dict[str, str] = {}
        # A sink's trouble (the recorder cannot write), shown in the alert banner.
        self.sink_trouble: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(self.title_text, id="title")
            yield ZoneBadge(id="zone")
        yield Static(id="alert")
        with Horizontal(id="guide"):
            with Vertical(id="cuebox"):
                yield Static("Connecting… the session starts with your first heartbeats.", id="cue")
                yield Static(id="next")
            with Vertical(id="clockbox"):
                yield Countdown("0:00", id="countdown")
        yield Pacer(id="pacer")
        with Horizontal(id="vitals"):
            with Vertical(id="numbers"):
                yield Static(id="hr-value")
                yield Static(id="rmssd-value")
                yield Static(id="window")
            with Vertical(id="plots"):
                yield TrendPlot("hr_bpm", 8.0, id="hr-plot")
                yield TrendPlot("rmssd_ms", 10.0, id="rmssd-plot")
                yield KindStrip(id="kinds")
        log = RichLog(id="log", max_lines=200, wrap=True, markup=False)
        log.can_focus = False
        yield log
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RichLog).write("Decisions and their reasons appear here.")
        self._refresh_all()

    # -- the session's items

    @on(SessionEventPosted)
    def _on_event(self, message: SessionEventPosted) -> None:
        self._take(message.event, message.snapshot)

    @on(EstimatePosted)
    def _on_estimate(self, message: EstimatePosted) -> None:
        self.trend = message.trend
        self._take(message.estimate, message.snapshot)

    @on(SamplePosted)
    def _on_sample(self, message: SamplePosted) -> None:
        self._take(message.sample)

    @on(SourceStatusPosted)
    def _on_status(self, message: SourceStatusPosted) -> None:
        self._take(message.status)

    @on(SinkTroublePosted)
    def _on_sink_trouble(self, message: SinkTroublePosted) -> None:
        self.sink_trouble = message.text
        self._refresh_alert()

    def _take(self, item: UiItem, snapshot: Snapshot | None = None) -> None:
        before = (self.state.paused, self.state.ended is not None)
        self.state.apply(item, snapshot)
        if before != (self.state.paused, self.state.ended is not None):
            self.refresh_bindings()
        if isinstance(item, SessionEvent):
            self._refresh_all(guide=not isinstance(item, Estimate))
        else:
            self._refresh_status()
        if len(self.state.safety) > self._safety_shown:
            self._show_safety()

    def _show_safety(self) -> None:
        """The stop rules and red flags, once a session, in a dialog; the session
        waits while it is open."""
        first = self._safety_shown == 0
        self._safety_shown = len(self.state.safety)
        said = list(dict.fromkeys(self.state.safety))
        if self._notice is not None:
            # The controller says its texts one event at a time: all go in one dialog.
            self._notice.show_texts(said)
        if not first or self.state.ended is not None:
            return
        paused_here = bool(self.check_action("pause", ()))
        if paused_here:
            self.action_pause()

        def closed(_: None) -> None:
            self._notice = None
            if paused_here and self.check_action("resume", ()):
                self.action_resume()

        self._notice = SafetyNotice(said)
        self.app.push_screen(self._notice, closed)

    # -- drawing

    def _refresh_all(self, *, guide: bool = True) -> None:
        state = self.state
        if guide:
            self._refresh_guide()
        self.query_one(Countdown).seconds = whole_seconds_left(state.remaining_s)
        self._refresh_pacer()
        self.query_one(ZoneBadge).show(
            state.zone, None if state.step is None else state.step.routine_zone
        )
        self._refresh_vitals()
        self._refresh_log()
        self._refresh_status()

    def _refresh_guide(self) -> None:
        state = self.state
        step = state.step
        title = self.title_text
        if step is not None:
            # The routine running now: a step down runs another one.
            title = step.routine or title
            where = f" · {step.region}" if step.region else ""
            title = f"{title} · {KIND_WORD[step.kind]}{where}"
        if state.ended is not None:
            title = f"{self.title_text} · ended after {clock_text(state.ended.duration_s)}"
        elif state.paused:
            title += " · paused"
        self._put("#title", title)
        cue = self.query_one("#cue", Static)
        for kind in StepKind:
            cue.set_class(
                state.ended is None and step is not None and step.kind is kind, f"-{kind.value}"
            )
        if state.ended is not None:
            saved = f"\nSaved in {escape(self.saved_to)}" if self.saved_to else ""
            self._put("#cue", _ending_text(state.ended.reason) + saved)
            self._put("#next", f"Press {self._key_for('close')} to close.")
        elif step is not None:
            self._put("#cue", step.cue)
            self._put("#next", _next_text(step))
        self._refresh_alert()

    def _refresh_alert(self) -> None:
        state = self.state
        if self.sink_trouble is not None:
            text = f"⚠ {self.sink_trouble[:1].upper()}{self.sink_trouble[1:]}."
            kind = "-lost"
        elif state.signal_lost is not None and state.ended is None:
            text = (
                f"⚠ Strap signal lost: {state.signal_lost.reason}."
                " Keep going gently; check the strap is snug and damp."
            )
            kind = "-lost"
        elif state.paused:
            text = f"Ⅱ Paused. Take your time. Press {self._key_for('resume')} to go on."
            kind = "-paused"
        else:
            text, kind = "", "-hidden"
        if self._shown.get("#alert") == text + kind:
            return
        self._shown["#alert"] = text + kind
        alert = self.query_one("#alert", Static)
        alert.update(text)
        alert.set_classes(kind)

    def _refresh_pacer(self) -> None:
        # The pace a fast breather was met at glides down: the bar follows it.
        breath, into_s = paced_breath(self.state)
        rate = 0.0 if self.state.paused else self.rate
        pacer = self.query_one(Pacer)
        pacer.idle_text = "" if self.state.ended else texts.IDLE_PACER
        pacer.taken = breath_taken_text(self.state)
        pacer.gliding = gliding(self.state)
        pacer.show(breath, into_s, rate, self.motion)

    def _refresh_vitals(self) -> None:
        state = self.state
        # Without heart data the last numbers would be stale: show none.
        live = state.quality is not Quality.NO_SIGNAL and state.signal_lost is None
        hr_bpm = state.hr_bpm if live else None
        rmssd_ms = state.rmssd_ms if live else None
        hr = "--" if hr_bpm is None else f"{hr_bpm:.0f}"
        versus = ""
        if state.baseline is not None and state.baseline.hr_bpm and hr_bpm is not None:
            versus = f"\n{round(hr_bpm - state.baseline.hr_bpm):+d} vs start"
        self._put("#hr-value", f"Heart rate\n[b]{hr}[/b] bpm{versus}")
        rmssd = "--" if rmssd_ms is None else f"{rmssd_ms:.0f}"
        self._put("#rmssd-value", f"RMSSD\n[b]{rmssd}[/b] ms")
        window = time_window(self.trend, TREND_WINDOW_S)
        self._put("#window", f"last {window / 60:.0f} min" if window >= 90 else "last minute")
        self.query_one("#hr-plot", TrendPlot).show(self.trend, window)
        self.query_one("#rmssd-plot", TrendPlot).show(self.trend, window)
        self.query_one(KindStrip).show(self.trend, window)

    def _refresh_log(self) -> None:
        entries = list(self.state.log)
        new = self.state.notes_total - self._logged
        if new <= 0:
            return
        log = self.query_one(RichLog)
        if self._logged == 0:
            log.clear()  # the placeholder goes once there is something to say
        for entry in entries[-new:]:
            log.write(f"{clock_text(entry.t_s)}  {entry.text}")
        self._logged = self.state.notes_total

    def _refresh_status(self) -> None:
        """Session time, progress and strap on one line, most important first,
        fitted to the line's width by shorter words (never cut mid-word)."""
        state = self.state
        clock = clock_text(state.t_s)
        if state.step is None and state.ended is None:
            # A live session waits for the strap's first heartbeats to begin.
            self._put("#status", f"{clock} · connecting to {self.source_text}…")
            return
        parts: list[Part] = [(clock, clock)]
        total = state.steps_total
        if state.step is not None and total is not None and state.ended is None:
            parts.append(
                (f"step {state.steps_started} of {total}", f"step {state.steps_started}/{total}")
            )
        left = state.session_left_s
        if left is not None and state.ended is None:
            minutes, seconds = divmod(int(left), 60)
            parts.append((f"{minutes}:{seconds:02d} left",) * 2)
        parts += strap_parts(state, self.source_text)
        if self._sound_shown and state.ended is None:
            parts.append((self._sound_shown, sound_short(self._sound_shown)))
        # Last, and the first to give way on a narrow screen.
        resonance = _resonance_text(state)
        extras = [(resonance, resonance.split(" (")[0])] if resonance else []
        width = self.query_one("#status", Static).content_size.width or STATUS_WIDTH
        self._put("#status", fit_line(parts, width, extras))

    def set_sound(self, override: str | None) -> None:
        """Show ``override`` (muted) as the sound status, or the session's own again."""
        self._sound_shown = override or self.sound_text
        self._refresh_status()

    def _put(self, selector: str, text: str) -> None:
        """Show ``text`` in a fixed-size Static, skipping the work when it is unchanged."""
        if self._shown.get(selector) == text:
            return
        self._shown[selector] = text
        # These widgets never change size with their text: no layout pass needed.
        self.query_one(selector, Static).update(text, layout=False)

    def _key_for(self, action: str) -> str:
        for key, active in self.active_bindings.items():
            if active.binding.action == action:
                return self.app.get_key_display(active.binding) or key
        return key_display_fallback(action)

    # -- the person's actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.state
        running = state.ended is None and not self.stop_requested
        if action == "pause":
            return running and not state.paused
        if action == "resume":
            return running and state.paused
        if action in ("skip", "hurts"):
            return running
        if action == "stop":
            return state.ended is None
        if action == "close":
            return state.ended is not None
        return True

    def action_pause(self) -> None:
        self.inbox.put(Action.PAUSE)

    def action_resume(self) -> None:
        self.inbox.put(Action.RESUME)

    def action_skip(self) -> None:
        self.inbox.put(Action.SKIP)

    def action_hurts(self) -> None:
        self.inbox.put(Action.HURTS)

    def action_stop(self) -> None:
        if self.stop_requested or self.state.ended is not None:
            return
        if isinstance(self.app.screen, ConfirmStop):
            return  # already asking (a second ctrl+c or ctrl+q)

        def decided(stop: bool | None) -> None:
            if stop and self.state.ended is None:
                self.stop_requested = True
                self.inbox.put(Action.STOP)
                self.refresh_bindings()

        self.app.push_screen(ConfirmStop(), decided)

    def action_close(self) -> None:
        # The session may still be handing its last items to the recorder:
        # leave once it has finished (the app exits then), never before.
        self.stop_requested = True
        self.post_message(LeaveWhenDone())

    def action_toggle_motion(self) -> None:
        self.motion = not self.motion
        self._refresh_pacer()
        self.notify("Motion on." if self.motion else "Motion off: the pacer shows words only.")


# Each part of the status line in full, and as it reads when the line is short of
# room: the line is fitted by shortening words, never by cutting one in half.
Part = tuple[str, str]


def strap_parts(state: SessionState, source: str) -> list[Part]:
    """The heart data's source in a few words that never contradict each other."""
    battery: list[Part] = []
    if state.battery_pct is not None:
        low = " low" if state.battery_pct <= 15 else ""
        battery = [(f"battery {state.battery_pct}%{low}", f"batt {state.battery_pct}%{low}")]
    if state.connected is False:
        # The alert and the log say why; contact and quality would be stale.
        return [("strap ✕ disconnected", "strap ✕"), *battery]
    parts: list[Part] = [
        (source, source) if state.connected is None else ("strap ✓ connected", "strap ✓")
    ]
    if state.contact is Contact.DETECTED:
        parts.append(("contact ✓", "contact ✓"))
    elif state.contact is Contact.NOT_DETECTED:
        parts.append(("contact ✕ moisten it", "contact ✕"))
    parts += battery
    if state.signal_lost is not None:
        parts.append(("no heart data", "no data"))
    elif state.quality is not None and state.quality is not Quality.OK:
        # A good signal goes without saying; less than that is worth a word.
        parts.append((QUALITY_TEXT[state.quality], QUALITY_SHORT[state.quality]))
    elif state.quality is None and not state.heard:
        parts.append(("waiting for heart data", "waiting"))
    return parts


def strap_text(state: SessionState, source: str) -> str:
    return " · ".join(full for full, _ in strap_parts(state, source))


def fit_line(parts: Sequence[Part], width: int, extras: Sequence[Part] = ()) -> str:
    """``parts`` then ``extras`` joined by " · " within ``width`` cells: extras
    are shortened, then left out; then, from the end, parts take their short
    forms, then are left out; the first part (the clock) always stays, whole."""
    texts = [full for full, _ in (*parts, *extras)]
    shorts = [short for _, short in (*parts, *extras)]

    def line() -> str:
        return " · ".join(t for t in texts if t)

    n = len(parts)
    order = [*range(len(texts) - 1, n - 1, -1)]  # the extras, last first
    steps = [(i, shorts[i]) for i in order] + [(i, "") for i in order]
    steps += [(i, shorts[i]) for i in range(n - 1, 0, -1)] + [(i, "") for i in range(n - 1, 0, -1)]
    for i, text in steps:
        if len(line()) <= width:
            break
        texts[i] = text
    return line()


def sound_short(status: str) -> str:
    """The sound's status in fewer words for a narrow line: what plays, not how
    ("sound: voice, breath tones and bells" -> "voice, tones, bells")."""
    head, _, what = status.partition(": ")
    if not what or head == "no sound":
        return head
    return what.replace("breath tones", "tones").replace(" and ", ", ")


def key_display_fallback(action: str) -> str:
    return {"resume": "space", "pause": "space"}.get(action, action)


def _next_text(step: StepStarted) -> str:
    if step.next_kind is None or step.next_cue is None:
        return "Next: closing, then you are done."
    return f"Next · {KIND_WORD[step.next_kind]}: {step.next_cue}"


def _ending_text(reason: str) -> str:
    if reason == "completed":
        return "Well done. Take a moment before you get up."
    if reason == "stopped by user":
        return "Stopped. What you did so far is saved."
    return f"The session has ended ({reason}). What you did so far is saved."


def _resonance_text(state: SessionState) -> str:
    """The live resonance indicator (once it has a reading, while the signal is good)."""
    reading = state.resonance
    live = state.quality is not Quality.NO_SIGNAL and state.signal_lost is None
    if reading is None or reading.coherence is None or not live:
        return ""
    return f"resonance ≈{reading.coherence:.2f} (estimate, {reading.window_s:.0f} s)"
