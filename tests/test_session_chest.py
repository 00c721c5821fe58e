"""Chest motion in the loop: a source that sees the chest does not upset a session.

The loop hands ChestMotion to the breath estimate only; these tests show a live
and a virtual session run as before with it between the samples, and that chest
motion alone does not start a live session's clock.
"""

from __future__ import annotations

import asyncio

import pytest

from biofeedback.loop.session import ActionInbox
from biofeedback.models import Action, ChestMotion, HeartSample, SessionEvent
from tests.support.sessions import simulated_plan
from tests.support.sinks import ListSink
from tests.support.sources import QueueSource


def chest(t_s: float) -> ChestMotion:
    return ChestMotion(t_s, 25.0, (1.0,) * 25, (-990.0,) * 25, (120.0,) * 25)


class SampleCountingSink(ListSink):
    def __init__(self, wanted: int) -> None:
        super().__init__()
        self.wanted = wanted
        self.enough = asyncio.Event()

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        await super().handle(item)
        if len(self.samples) >= self.wanted:
            self.enough.set()


async def test_a_virtual_session_runs_with_chest_motion_between_the_samples() -> None:
    source = QueueSource(virtual=True)
    for i in range(1, 61):
        source.queue.put_nowait(chest(i - 0.5))
        source.queue.put_nowait(HeartSample(float(i), 60.0, (1000.0,)))
    source.queue.put_nowait(None)
    sink = ListSink()
    result = await simulated_plan(source=source, sinks=[sink]).run()
    assert result.reason == "source ended"
    assert result.duration_s == pytest.approx(60.0)
    assert len(sink.samples) == 60
    assert [e.type for e in sink.events].count("estimate") >= 50


async def test_chest_motion_before_the_first_heart_data_does_not_start_a_live_session() -> None:
    source = QueueSource(virtual=False)
    sink = SampleCountingSink(2)
    inbox = ActionInbox()
    session = simulated_plan(source=source, speed=1.0, sinks=[sink], actions=inbox)
    clock = session.clock
    task = asyncio.create_task(session.run())
    at_s = clock.now() + 5.0
    source.queue.put_nowait(chest(at_s - 1.0))
    source.queue.put_nowait(HeartSample(at_s, 60.0, (1000.0,), (at_s,)))
    source.queue.put_nowait(chest(at_s + 0.5))
    source.queue.put_nowait(HeartSample(at_s + 1.0, 60.0, (1000.0,), (at_s + 1.0,)))
    await asyncio.wait_for(sink.enough.wait(), timeout=10)
    inbox.put(Action.STOP)
    result = await asyncio.wait_for(task, timeout=10)
    assert result.reason == "stopped by user"
    # The session began with the heart data, not the chest motion before it.
    assert sink.samples[0].t_s == 0.0
    assert all(e.t < 4.0 for e in sink.events)
