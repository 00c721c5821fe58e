"""The loop folds each event once and hands views the snapshot with it: a view whose
queue dropped an item (the dashboard, the audio score, the MQTT state) still stands
where the session does."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.phrases import build_book
from biofeedback.audio.score import Score
from biofeedback.loop.progress import Snapshot, fold
from biofeedback.loop.session import ActionInbox
from biofeedback.models import (
    Action,
    HeartSample,
    SessionEvent,
    SessionInfo,
    StepExtended,
    StepStarted,
    UserActed,
    ZoneChanged,
)
from biofeedback.routines.protocols import load_protocol
from biofeedback.telemetry import RunnerState, RunnerTracker
from biofeedback.ui.state import SessionState
from tests.support.sessions import simulated_plan
from tests.support.sinks import ListSink


class SnapshotSink:
    """Takes each event with its snapshot; ``lag`` turns of the event loop per item
    make it fall behind a session at full speed (then its small queue drops)."""

    name = "snapshots"

    def __init__(self, queue_size: int = 100_000, lag: int = 0) -> None:
        self.queue_size = queue_size
        self.lag = lag
        self.taken: list[tuple[SessionEvent, Snapshot]] = []

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        return None  # samples only: events come with their snapshot

    async def handle_progress(self, event: SessionEvent, snapshot: Snapshot) -> None:
        for _ in range(self.lag):
            await asyncio.sleep(0)
        self.taken.append((event, snapshot))

    async def stop(self) -> None:
        return None


async def session_with_snapshots(db: Path) -> list[tuple[SessionEvent, Snapshot]]:
    """An anxious person's session, paused for half a minute along the way."""
    actions = ActionInbox()
    actions.schedule(200.0, Action.PAUSE)
    actions.schedule(230.0, Action.RESUME)
    sink = SnapshotSink()
    plan = simulated_plan("anxious", 1, duration_s=600.0, sinks=[sink], actions=actions, db=db)
    await plan.run()
    return sink.taken


@pytest.fixture(scope="module")
def taken(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[SessionEvent, Snapshot]]:
    # A module's fixture runs before the per-test private dirs: its own store.
    return asyncio.run(session_with_snapshots(tmp_path_factory.mktemp("snap") / "s.db"))


def standing(state: SessionState) -> tuple[object, ...]:
    """What the dashboard shows of where the session stands."""
    step = state.step
    return (
        state.zone,
        None if step is None else step.step,
        round(state.remaining_s, 6),
        state.paused,
        state.steps_started,
        state.session_left_s,
        state.step_extended_s,
        state.ended is not None,
    )


def dashboard(
    taken: list[tuple[SessionEvent, Snapshot]], drop: int, *, snapshots: bool
) -> list[tuple[object, ...]]:
    """The dashboard's standing after each event, the ``drop``-th event never heard."""
    state = SessionState()
    shown = []
    for n, (event, snapshot) in enumerate(taken):
        if n != drop:
            state.apply(event, snapshot if snapshots else None)
        shown.append(standing(state))
    return shown


def dropped_kinds(taken: list[tuple[SessionEvent, Snapshot]]) -> dict[str, int]:
    """The index of one event of each kind whose loss a fold notices."""
    kinds: dict[str, int] = {}
    for n, (event, _) in enumerate(taken):
        if isinstance(event, ZoneChanged):
            kinds.setdefault("zone_changed", n)
        elif isinstance(event, StepExtended):
            kinds.setdefault("step_extended", n)
        elif isinstance(event, UserActed) and event.action is Action.PAUSE:
            kinds.setdefault("pause", n)
        elif isinstance(event, StepStarted) and n > 10:
            kinds.setdefault("step_started", n)
    return kinds


def test_the_session_has_each_kind_of_event_to_drop(
    taken: list[tuple[SessionEvent, Snapshot]],
) -> None:
    assert sorted(dropped_kinds(taken)) == [
        "pause",
        "step_extended",
        "step_started",
        "zone_changed",
    ]


@pytest.mark.parametrize("kind", ["zone_changed", "step_extended", "pause", "step_started"])
def test_one_dropped_event_does_not_desync_the_dashboard(
    taken: list[tuple[SessionEvent, Snapshot]], kind: str
) -> None:
    drop = dropped_kinds(taken)[kind]
    heard_all = dashboard(taken, -1, snapshots=True)
    assert heard_all == dashboard(taken, -1, snapshots=False), "the snapshots are the fold"
    missed_one = dashboard(taken, drop, snapshots=True)
    # From the next event on, the screen stands where the session does.
    assert missed_one[drop + 1 :] == heard_all[drop + 1 :]
    # Folding on its own (as before), the loss stays with the screen.
    folded_alone = dashboard(taken, drop, snapshots=False)
    assert folded_alone[drop + 1 :] != heard_all[drop + 1 :]


def score_heard(
    taken: list[tuple[SessionEvent, Snapshot]], drop: int, *, snapshots: bool
) -> list[tuple[object, ...]]:
    """What the audio score planned at each event (clips and breath tones, with the
    step that owns them), the ``drop``-th event never heard. The voice is silence as
    long as each phrase would take to say: the score reads only its length."""
    book = build_book(load_protocol("full"))
    speech = {
        p.text: np.zeros(round(0.06 * len(p.text) * SAMPLE_RATE_HZ), np.float32) for p in book
    }
    score = Score(book, speech)
    planned: list[tuple[object, ...]] = []
    for n, (event, snapshot) in enumerate(taken):
        if n != drop:
            score.hear(event, snapshot if snapshots else None)
        clips = sorted(
            (c.start_s, c.stop_s, c.label, c.owner)
            for c in score.clips
            if c.planned_at_s == event.t
        )
        tones = [
            (r.start_s, r.origin_s, r.in_s, r.out_s) for r in score.runs if r.start_s == event.t
        ]
        planned.append((score.steps, score.progress.paused, tuple(clips), tuple(tones)))
    return planned


def published(
    taken: list[tuple[SessionEvent, Snapshot]], drop: int, *, snapshots: bool
) -> list[RunnerState]:
    """The MQTT state payload after each event, the ``drop``-th event never heard."""
    tracker = RunnerTracker()
    states = []
    for n, (event, snapshot) in enumerate(taken):
        if n != drop:
            tracker.apply(event, snapshot if snapshots else None)
        states.append(tracker.state)
    return states


@pytest.mark.parametrize("kind", ["step_extended", "pause", "step_started"])
def test_one_dropped_event_does_not_desync_the_audio_score(
    taken: list[tuple[SessionEvent, Snapshot]], kind: str
) -> None:
    drop = dropped_kinds(taken)[kind]
    heard_all = score_heard(taken, -1, snapshots=True)
    assert heard_all == score_heard(taken, -1, snapshots=False), "the snapshots are the fold"
    assert sum(bool(p[2]) for p in heard_all) > 20, "the score planned little; shows nothing"
    # From the next event on, the score plans what it would have planned.
    assert score_heard(taken, drop, snapshots=True)[drop + 1 :] == heard_all[drop + 1 :]
    # Folding on its own (as before), it counts steps or pauses wrong from there.
    assert score_heard(taken, drop, snapshots=False)[drop + 1 :] != heard_all[drop + 1 :]


@pytest.mark.parametrize("kind", ["zone_changed", "step_extended", "pause", "step_started"])
def test_one_dropped_event_does_not_desync_the_mqtt_state(
    taken: list[tuple[SessionEvent, Snapshot]], kind: str
) -> None:
    drop = dropped_kinds(taken)[kind]
    heard_all = published(taken, -1, snapshots=True)
    assert heard_all == published(taken, -1, snapshots=False), "the snapshots are the fold"
    assert published(taken, drop, snapshots=True)[drop + 1 :] == heard_all[drop + 1 :]
    assert published(taken, drop, snapshots=False)[drop + 1 :] != heard_all[drop + 1 :]


async def test_a_view_that_falls_behind_loses_items_but_not_its_place() -> None:
    slow = SnapshotSink(queue_size=2, lag=20)
    every = ListSink()
    plan = simulated_plan("panic", 0, duration_s=400.0, sinks=[slow, every])
    result = await plan.run()
    (report,) = [r for r in result.sinks if r.name == slow.name]
    assert report.dropped > 0, "the slow view kept up; the test shows nothing"
    assert len(slow.taken) < len(every.events)
    last_event, last_snapshot = slow.taken[-1]
    assert last_event == every.events[-1]
    assert last_snapshot == fold(every.events).snapshot()
    assert dataclasses.asdict(last_snapshot)["ended"] is not None
