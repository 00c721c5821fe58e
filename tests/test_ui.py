"""The dashboard driven by the Pilot through a simulated session in virtual time.

Each test steps the session forward with ``SteppedSource`` (no sleeps): keys
pressed at session time T take effect at the next item after T, exactly as a
live session takes them at its next moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any

from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import RichLog, Static

from biofeedback.loop.session import RealClock
from biofeedback.models import (
    Action,
    Estimate,
    HeartSample,
    SessionEvent,
    SessionInfo,
    SignalLost,
    StepEnded,
    StepKind,
    StepStarted,
    UserActed,
)
from biofeedback.sensors import SourceError
from biofeedback.store import Store
from biofeedback.ui.app import DashboardSettings, create_app
from biofeedback.ui.dialogs import ConfirmStop, HelpScreen, SafetyNotice
from biofeedback.ui.messages import EstimatePosted, SamplePosted, SessionEventPosted
from biofeedback.ui.screens import SessionScreen
from biofeedback.ui.widgets import Countdown, Pacer, ZoneBadge
from tests.support.ui import (
    SteppedSource,
    session_screen,
    step_to,
    step_until,
    stepped_app,
    stepped_plan,
    until,
)


class Recorder:
    """A sink that keeps every event, as the store would record them."""

    name = "recorder"
    queue_size = 100_000

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self.t_s = 0.0

    async def start(self, info: SessionInfo) -> None:
        self.info = info

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        self.t_s = item.t_s if isinstance(item, HeartSample) else item.t
        if isinstance(item, SessionEvent):
            self.events.append(item)

    async def stop(self) -> None:
        return None

    def actions(self) -> list[tuple[float, Action]]:
        return [(e.t, e.action) for e in self.events if isinstance(e, UserActed)]


async def act(
    pilot: Pilot[Any], source: SteppedSource, recorder: Recorder, key: str, to_s: float
) -> Action:
    """Press ``key``, run the session on to ``to_s``; the action recorded for it.

    The key is pressed while the session stands at some moment; the action
    must take effect at the session's next moment (tick or notification).
    """
    pressed_at_s = source.last_t_s
    before = len(recorder.actions())
    await pilot.press(key)
    await step_to(pilot, source, to_s)
    await until(pilot, lambda: recorder.t_s >= source.last_t_s)
    actions = recorder.actions()
    assert len(actions) == before + 1, actions[before:]
    t_s, action = actions[-1]
    assert pressed_at_s < t_s <= source.last_t_s
    return action


def text_of(screen: SessionScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def started(recorder: Recorder) -> list[StepStarted]:
    return [e for e in recorder.events if isinstance(e, StepStarted)]


async def test_the_screen_shows_cue_countdown_pacer_zone_and_vitals() -> None:
    source = SteppedSource(battery_pct=80)
    app = stepped_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 30)
        assert "Settle in" in text_of(screen, "#cue")
        assert text_of(screen, "#next").startswith("Next · Tense: Curl your toes")
        # The 60 s settling breath started at 0: 30 s left.
        assert screen.query_one(Countdown).seconds == 30
        pacer = screen.query_one(Pacer)
        assert pacer.breath == (4.0, 6.0)
        assert "Breathe in" in str(pacer.render_line(0).text)
        badge = screen.query_one(ZoneBadge)
        assert "GREEN" in str(badge.render())
        assert badge.has_class("-green")
        assert "bpm" in text_of(screen, "#hr-value")
        status = text_of(screen, "#status")
        assert "connected" in status
        assert "battery 80%" in status
        assert "contact ✓" in status

        screen = await step_until(
            pilot, source, lambda s: s.state.step is not None and s.state.step.step != "settle"
        )
        assert screen.state.step is not None
        assert screen.state.step.kind is StepKind.TENSE
        assert "Curl your toes" in text_of(screen, "#cue")
        assert pacer.breath is None
        log = screen.query_one("#log", RichLog)
        assert any("Baseline" in line.text for line in log.lines)


async def test_pause_skip_hurts_and_stop_produce_their_events_and_are_recorded() -> None:
    source = SteppedSource()
    recorder = Recorder()
    # The plan records into the real store (BIOFEEDBACK_DB), as `biofeedback run` does:
    # the record on disk is what a person reviews later.
    db_path = os.environ["BIOFEEDBACK_DB"]
    app = stepped_app(source, sinks=(recorder,))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 20)
        assert await act(pilot, source, recorder, "space", 21) is Action.PAUSE
        assert screen.state.paused
        assert "Paused" in text_of(screen, "#alert")
        frozen = screen.query_one(Countdown).seconds
        screen = await step_to(pilot, source, 40)
        assert screen.query_one(Countdown).seconds == frozen  # the countdown holds

        assert await act(pilot, source, recorder, "space", 41) is Action.RESUME
        assert not screen.state.paused
        assert screen.query_one("#alert").has_class("-hidden")

        assert await act(pilot, source, recorder, "s", 42) is Action.SKIP
        assert started(recorder)[-1].step == "feet-tense"
        assert "Curl your toes" in text_of(screen, "#cue")

        assert await act(pilot, source, recorder, "h", 43) is Action.HURTS
        ended = [e for e in recorder.events if isinstance(e, StepEnded)]
        assert (ended[-1].step, ended[-1].reason) == ("feet-tense", "it hurts")
        assert started(recorder)[-1].step != "feet-tense"  # the step stopped at once
        # The stop rules and red flags are said once, in a dialog, while the
        # session waits; the log keeps the region's move to imagery.
        await until(pilot, lambda: isinstance(app.screen, SafetyNotice))
        notice = str(app.screen.query_one("#notice-text", Static).render())
        assert "Stop and rest" in notice
        assert "medical help" in notice
        logged = "\n".join(e.text for e in screen.state.log)
        assert "imagery" in logged
        assert "medical help" not in logged
        await step_to(pilot, source, 44)
        assert screen.state.paused
        assert recorder.actions()[-1][1] is Action.PAUSE
        assert await act(pilot, source, recorder, "enter", 45) is Action.RESUME
        assert isinstance(app.screen, SessionScreen)

        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmStop))
        await pilot.press("n")  # keep going: nothing is sent
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        await step_to(pilot, source, 46)
        assert recorder.actions()[-1][1] is Action.RESUME
        pressed_at_s = source.last_t_s

        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmStop))
        await pilot.press("y")
        await until(pilot, lambda: screen.stop_requested)
        await source.advance_to(47)
        # The session ends, the recorder drains, and the dashboard closes itself.
        await until(pilot, lambda: app.session_result is not None and not app.is_running)
    t_s, action = recorder.actions()[-1]
    assert action is Action.STOP
    assert pressed_at_s < t_s <= source.last_t_s
    assert recorder.events[-1].type == "session_ended"
    assert app.session_result is not None
    assert app.session_result.reason == "stopped by user"
    with Store(db_path) as store:
        stored = store.load("latest")
    assert [e for e in stored.events if isinstance(e, UserActed)] == [
        e for e in recorder.events if isinstance(e, UserActed)
    ]
    assert [e.action for e in stored.events if isinstance(e, UserActed)] == [
        Action.PAUSE,
        Action.RESUME,
        Action.SKIP,
        Action.HURTS,
        Action.PAUSE,
        Action.RESUME,
        Action.STOP,
    ]
    assert stored.events[-1].type == "session_ended"


async def test_a_strap_drop_shows_within_a_second_of_signal_lost() -> None:
    # The simulator's strap drops out at 100-106 s in this scenario.
    source = SteppedSource("dropouts", battery_pct=64)
    recorder = Recorder()
    # Before each message the screen handles: session time shown, drop shown, status line.
    seen: list[tuple[float, bool, str]] = []
    app = stepped_app(source, sinks=(recorder,))

    def hook(message: Message) -> None:
        if isinstance(message, SessionEventPosted | EstimatePosted | SamplePosted):
            screen = session_screen(app)
            alert = screen.query_one("#alert")
            shown = not alert.has_class("-hidden") and "lost" in text_of(screen, "#alert")
            seen.append((screen.state.t_s, shown, text_of(screen, "#status")))

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        screen = await step_to(pilot, source, 95)
        assert not any(shown for _, shown, _ in seen)
        # Run through the drop and out of it in one go: the screen keeps up in session order.
        screen = await step_to(pilot, source, 125)
        lost = [e for e in recorder.events if isinstance(e, SignalLost)]
        assert lost, "the session should have reported the drop"
        first_shown_t, _, status = next(row for row in seen if row[1])
        assert lost[0].t <= first_shown_t <= lost[0].t + 1.0
        assert "disconnected" in status
        assert screen.query_one("#alert").has_class("-hidden")
        assert "✓ connected" in text_of(screen, "#status")
        assert "battery 64%" in text_of(screen, "#status")


async def test_the_command_palette_runs_the_same_actions() -> None:
    source = SteppedSource()
    recorder = Recorder()
    app = stepped_app(source, sinks=(recorder,))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await step_to(pilot, source, 10)
        titles = [c.title for c in app.get_system_commands(screen)]
        for title in ("Pause", "Skip step", "It hurts", "Stop session", "Reduced motion", "Help"):
            assert title in titles
        assert "Resume" not in titles  # only what makes sense now
        await pilot.press("ctrl+p")
        await pilot.press(*"skip step")
        assert await act(pilot, source, recorder, "enter", 11) is Action.SKIP


async def test_bindings_have_ids_a_keymap_can_remap() -> None:
    source = SteppedSource()
    recorder = Recorder()
    plan = stepped_plan(source, sinks=(recorder,))
    app = create_app(plan, DashboardSettings(reduced_motion=True, keymap={"session.skip": "n"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await step_to(pilot, source, 5)
        await pilot.press("s")
        await step_to(pilot, source, 6)
        await until(pilot, lambda: recorder.t_s >= source.last_t_s)
        assert recorder.actions() == []
        assert await act(pilot, source, recorder, "n", 8) is Action.SKIP


async def test_help_names_the_keys_and_the_red_flags() -> None:
    source = SteppedSource()
    app = stepped_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await step_to(pilot, source, 3)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = "\n".join(str(w.render()) for w in app.screen.query(Static))
        for words in ("It hurts", "numbness", "fever", "bladder", "get medical help", "escape"):
            assert words.lower() in text.lower()
        # Everything fits 80x24: nothing to scroll to find how to close it.
        assert app.screen.query_one("#help").max_scroll_y == 0
        # Each key once: a key with two meanings (never at once) is one line.
        keys = [
            line.split()[0]
            for line in str(app.screen.query_one("#help-keys", Static).render()).splitlines()
        ]
        assert keys.count("space") == 1
        assert keys.count("q") == 1
        # The session waits while help is open, and goes on when it closes.
        await step_to(pilot, source, 5)
        screen = session_screen(app)
        assert screen.state.paused
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        await step_to(pilot, source, 7)
        assert not screen.state.paused


async def test_reduced_motion_stops_the_pacer_animation() -> None:
    from biofeedback.loop.session import VirtualClock

    source = SteppedSource()
    plan = stepped_plan(source)
    plan.clock = VirtualClock(1.0)  # a pace a person can follow: the pacer may move
    # No recorder here: with a real-paced clock, leaving the app mid-session while
    # the recorder runs leaves its writer task pending at the loop's close (seen
    # with pytest-asyncio; reported, not fixed here). This test is about the pacer.
    plan.sinks = [s for s in plan.sinks if s.name != "recorder"]
    app = create_app(plan, DashboardSettings(reduced_motion=False))
    async with app.run_test(size=(80, 24)) as pilot:
        # The settling breath begins at 0 s: the pacer moves.
        await until(pilot, lambda: session_screen(app).state.step is not None)
        pacer = session_screen(app).query_one(Pacer)
        assert pacer.animating
        assert pacer.render_line(1).cell_length == pacer.content_size.width
        await pilot.press("m")
        await pilot.pause()
        assert not pacer.animating
        assert "Breathe" in str(pacer.render_line(0).text)
        assert str(pacer.render_line(1).text).strip() == ""


def test_high_rate_messages_collapse_and_events_do_not() -> None:
    estimate = Estimate(1.0, 60.0, 40.0, 0.0, "ok", 0.0)  # type: ignore[arg-type]
    later = Estimate(2.0, 61.0, 41.0, 0.1, "ok", 0.0)  # type: ignore[arg-type]
    sample = HeartSample(1.0, 60.0)
    assert EstimatePosted(estimate, ()).can_replace(EstimatePosted(later, ()))
    assert SamplePosted(sample).can_replace(SamplePosted(sample))
    assert not EstimatePosted(estimate, ()).can_replace(SamplePosted(sample))
    step = StepStarted(1.0, "a", StepKind.REST, None, "Rest.", 10.0)
    assert not SessionEventPosted(step).can_replace(SessionEventPosted(step))


class UnreachableStrap:
    """A live source that cannot be opened, as a strap out of reach."""

    description = "test:unreachable"
    virtual = False

    async def __aenter__(self) -> UnreachableStrap:
        raise SourceError("strap AA:BB not found; is it on and near?")

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[HeartSample]:
        raise AssertionError("never opened")


async def test_a_source_that_cannot_open_closes_the_dashboard_with_its_error() -> None:
    plan = stepped_plan(SteppedSource())
    plan.source = UnreachableStrap()
    plan.clock = RealClock()
    app = create_app(plan, DashboardSettings(reduced_motion=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: not app.is_running)
    assert isinstance(app.error, SourceError)
    assert "AA:BB" in str(app.error)


class SlowRecorder(Recorder):
    """A recorder that takes its time to finish, as a store syncing to disk."""

    def __init__(self) -> None:
        super().__init__()
        self.may_finish = asyncio.Event()
        self.finished = False

    async def stop(self) -> None:
        await self.may_finish.wait()
        self.finished = True


async def test_closing_after_the_end_waits_for_the_recorder() -> None:
    source = SteppedSource()
    recorder = SlowRecorder()
    plan = stepped_plan(source, sinks=(recorder,))
    plan.duration_s = 30.0
    app = create_app(plan, DashboardSettings(reduced_motion=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await source.advance_to(40)
        screen = session_screen(app)
        await until(pilot, lambda: screen.state.ended is not None)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running  # the recorder has not finished: the dashboard stays
        recorder.may_finish.set()
        await until(pilot, lambda: not app.is_running)
    assert recorder.finished
    assert app.session_result is not None
    assert app.session_result.reason == "duration reached"


async def test_a_clashing_key_setting_is_left_out_and_q_still_stops() -> None:
    source = SteppedSource()
    recorder = Recorder()
    plan = stepped_plan(source, sinks=(recorder,))
    keymap = {"session.skip": "q", "session.hurts": "space", "session.motion": "x"}
    app = create_app(plan, DashboardSettings(reduced_motion=True, keymap=keymap))
    assert app.keymap == {"session.motion": "x"}
    assert len(app.key_problems) == 2
    assert all(line.count("\n") == 0 for line in app.key_problems)
    async with app.run_test(size=(80, 24)) as pilot:
        await step_to(pilot, source, 5)
        footer = {b.binding.action: key for key, b in app.screen.active_bindings.items()}
        assert footer["stop"] == "q"
        assert footer["hurts"] == "h"
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmStop))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        assert recorder.actions() == []


class LateStrap:
    """A live strap that sends its first heartbeat only when the test says so."""

    description = "ble:Late Strap"
    virtual = False

    def __init__(self) -> None:
        self.queue: asyncio.Queue[HeartSample | None] = asyncio.Queue()

    async def __aenter__(self) -> LateStrap:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[HeartSample]:
        return self._items()

    async def _items(self) -> AsyncIterator[HeartSample]:
        while (item := await self.queue.get()) is not None:
            yield item


async def test_the_dashboard_says_connecting_until_the_first_heartbeat() -> None:
    from biofeedback.loop.session import RealClock

    source = LateStrap()
    plan = stepped_plan(SteppedSource())
    clock = RealClock()
    plan.source, plan.clock = source, clock
    plan.info = dataclasses.replace(plan.info, source=source.description)
    app = create_app(plan, DashboardSettings(reduced_motion=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = session_screen(app)
        assert "connecting to ble:Late Strap" in text_of(screen, "#status")
        assert "Connecting" in text_of(screen, "#cue")
        assert screen.state.step is None
        source.queue.put_nowait(HeartSample(clock.now() + 4.0, 62.0, (968.0,)))
        await until(pilot, lambda: screen.state.step is not None)
        step = screen.state.step
        assert step is not None
        assert step.t < 1.0  # the opening started with the heartbeat, on a new clock
        await until(pilot, lambda: "step 1 of" in text_of(screen, "#status"))
        plan.actions.put(Action.STOP)
        await until(pilot, lambda: app.session_result is not None)
