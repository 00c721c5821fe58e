"""The one loop, in virtual time: order, duration, actions, and sink isolation."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import pytest

from biofeedback.loop.session import ActionInbox, SessionPlan, Sink
from biofeedback.models import (
    Action,
    Contact,
    HeartSample,
    SessionEvent,
    SessionInfo,
    SourceStatus,
)
from biofeedback.pacing.rules import PacingConfig
from biofeedback.sensors import HeartRateSource, SourceError
from biofeedback.store import Store
from tests.support.sessions import simulated_plan
from tests.support.sinks import ListSink
from tests.support.sources import QueueSource


class StuckSink:
    """Never finishes handling its first item: a dead broker, a frozen UI."""

    name = "stuck"
    queue_size = 8

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def start(self, info: SessionInfo) -> None:
        pass

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        await self.release.wait()

    async def stop(self) -> None:
        pass


def plan(
    sinks: Sequence[Sink],
    source: HeartRateSource | None = None,
    *,
    seed: int | None = None,
    duration_s: float | None = None,
    actions: ActionInbox | None = None,
    pacing: PacingConfig | None = None,
    db: Path | None = None,
) -> SessionPlan:
    """The session `run --sim calm --protocol full --zone green` wires, at max speed
    for the simulator and a virtual ``source``, in real time for a live one."""
    live = source is not None and not source.virtual
    return simulated_plan(
        "calm",
        seed,
        source=source,
        speed=1.0 if live else None,
        duration_s=duration_s,
        sinks=sinks,
        actions=actions,
        pacing=pacing,
        db=db,
        record=db is not None,
        session_id="test-session",
    )


async def test_virtual_session_runs_protocol_in_order() -> None:
    sink = ListSink()
    result = await plan([sink], seed=3).run()
    types = [e.type for e in sink.events]
    assert types[0] == "session_started"
    assert types[-1] == "session_ended"
    assert types.count("session_ended") == 1
    times = [e.t for e in sink.events]
    assert times == sorted(times)
    assert result.reason == "completed"
    started = [e for e in sink.events if e.type == "step_started"]
    assert started[0].step == "settle"  # type: ignore[attr-defined]
    assert started[-1].step == "closing-breath"  # type: ignore[attr-defined]
    assert "baseline" in types
    # about one estimate a second of session time
    estimates = types.count("estimate")
    assert abs(estimates - result.duration_s) <= 2
    assert sink.samples
    assert all(s.contact is Contact.DETECTED for s in sink.samples)


async def test_duration_stops_the_session_on_time() -> None:
    sink = ListSink()
    result = await plan([sink], duration_s=90).run()
    assert result.reason == "duration reached"
    assert result.duration_s == pytest.approx(90.0)
    assert sink.events[-1].t == pytest.approx(90.0)


async def test_scripted_actions_pause_resume_and_stop() -> None:
    sink = ListSink()
    inbox = ActionInbox()
    inbox.schedule(10.0, Action.PAUSE)
    inbox.schedule(100.0, Action.RESUME)
    inbox.schedule(130.0, Action.STOP)
    result = await plan([sink], actions=inbox).run()
    actions = [(e.t, e.action) for e in sink.events if e.type == "user_action"]  # type: ignore[attr-defined]
    assert actions == [(10.0, Action.PAUSE), (100.0, Action.RESUME), (130.0, Action.STOP)]
    assert result.reason == "stopped by user"
    # The 60 s settle step was paused for 90 s, so it ends at 150 s: still running at stop.
    ended = [e for e in sink.events if e.type == "step_ended"]
    assert [e.step for e in ended] == ["settle"]  # type: ignore[attr-defined]


async def test_a_stuck_sink_delays_neither_the_loop_nor_other_sinks() -> None:
    fast = ListSink()
    stuck = StuckSink()
    result = await asyncio.wait_for(
        plan([stuck, fast], duration_s=200).run(drain_timeout_s=0.05),
        timeout=30,
    )
    assert result.reason == "duration reached"
    assert fast.events[-1].type == "session_ended"
    reports = {r.name: r for r in result.sinks}
    assert reports["stuck"].dropped > 0
    assert reports["list"].dropped == 0


async def test_same_seed_same_session() -> None:
    runs = []
    for _ in range(2):
        sink = ListSink()
        await plan([sink], seed=7, duration_s=200).run()
        runs.append([e.to_dict() for e in sink.events])
    assert runs[0] == runs[1]


async def test_live_loop_takes_samples_status_and_actions_as_they_come() -> None:
    source = QueueSource()
    sink = WatchingSink("signal_restored")
    inbox = ActionInbox()
    # Announced at once here: this is about the live loop, not the 5 s holds.
    instant = PacingConfig(signal_loss_hold_s=0.0, signal_return_hold_s=0.0)
    session = plan([sink], source, actions=inbox, pacing=instant)
    clock = session.clock
    task = asyncio.create_task(session.run())
    source.queue.put_nowait(HeartSample(clock.now(), 60.0, (1000.0,)))
    source.queue.put_nowait(SourceStatus(clock.now(), False, "strap out of range"))
    source.queue.put_nowait(SourceStatus(clock.now(), True, "strap reconnected"))
    await asyncio.wait_for(sink.seen.wait(), timeout=10)
    inbox.put(Action.STOP)
    result = await asyncio.wait_for(task, timeout=10)
    assert result.reason == "stopped by user"
    types = [e.type for e in sink.events]
    assert types.index("signal_lost") < types.index("signal_restored") < types.index("user_action")
    assert len(sink.samples) == 1


class WatchingSink(ListSink):
    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted = wanted
        self.seen = asyncio.Event()

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        await super().handle(item)
        if isinstance(item, SessionEvent) and item.type == self.wanted:
            self.seen.set()


async def test_live_source_ending_ends_the_session() -> None:
    source = QueueSource()
    source.queue.put_nowait(None)
    sink = ListSink()
    result = await asyncio.wait_for(
        plan([sink], source).run(),
        timeout=10,
    )
    assert result.reason == "source ended"
    assert [e.type for e in sink.events][-1] == "session_ended"


class FiniteVirtualSource(QueueSource):
    """A replay-like source: a fixed list of samples in simulated time."""

    description = "test:finite"
    virtual = True

    def __init__(self, n: int) -> None:
        super().__init__()
        for i in range(1, n + 1):
            self.queue.put_nowait(HeartSample(float(i), 60.0, (1000.0,)))
        self.queue.put_nowait(None)


async def test_virtual_source_running_out_ends_the_session_with_its_data() -> None:
    sink = ListSink()
    result = await plan([sink], FiniteVirtualSource(42)).run()
    assert result.reason == "source ended"
    assert result.duration_s == pytest.approx(42.0)
    assert len(sink.samples) == 42


class UnreachableSource(QueueSource):
    """A strap out of range, a refused broker: the source never opens."""

    async def __aenter__(self) -> Self:
        raise SourceError("cannot reach the strap")


async def test_a_source_that_cannot_open_leaves_no_session_behind(tmp_path: Path) -> None:
    sink = ListSink()
    db = tmp_path / "s.db"
    with pytest.raises(SourceError):
        # Recorded, as `run` records: the recorder must not start either.
        await plan([sink], UnreachableSource(), db=db).run()
    assert sink.events == []
    with Store(db) as store:
        assert store.sessions() == []


async def test_a_source_running_out_mid_step_still_ends_that_step() -> None:
    sink = ListSink()
    await plan([sink], FiniteVirtualSource(42)).run()
    last = [e.to_dict() for e in sink.events[-2:]]
    assert [(e["type"], e.get("step"), e["reason"]) for e in last] == [
        ("step_ended", "settle", "source ended"),
        ("session_ended", None, "source ended"),
    ]
    assert last[0]["actual_s"] == pytest.approx(42.0)


class LaggingSink(ListSink):
    """Keeps up, but a turn behind: its small queue is full when the session ends."""

    name = "lagging"
    queue_size = 2

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        await asyncio.sleep(0)
        await super().handle(item)


async def test_a_sink_with_a_full_queue_at_the_end_drains_without_waiting_out_the_timeout() -> None:
    sink = LaggingSink()
    result = await asyncio.wait_for(
        plan([sink], duration_s=60).run(drain_timeout_s=3600),
        timeout=10,
    )
    assert result.sinks[0].dropped > 0  # the queue did run full
    assert sink.events[-1].type == "session_ended"


class NamedOnOpenSource(FiniteVirtualSource):
    """Like a strap given by address: its name is known once it is found."""

    async def __aenter__(self) -> Self:
        self.description = "test:found-by-name"
        return self


async def test_the_session_names_its_source_as_it_is_once_open() -> None:
    sink = ListSink()
    await plan([sink], NamedOnOpenSource(3)).run()
    assert sink.info.source == "test:found-by-name"
    assert sink.events[0].to_dict()["source"] == "test:found-by-name"


async def test_live_session_starts_with_the_first_heart_data() -> None:
    """A strap takes seconds to connect and send data: the session's clock, its
    opening and the samples' stamps all start with that first sample (issue 18, 14)."""
    source = QueueSource()
    sink = WatchingSink("step_started")
    inbox = ActionInbox()
    session = plan([sink], source, actions=inbox)
    clock = session.clock
    task = asyncio.create_task(session.run())
    # Stamped as a strap found 5 s after start would stamp them.
    connected_s = clock.now() + 5.0
    source.queue.put_nowait(SourceStatus(connected_s, True, "connected", 80))
    source.queue.put_nowait(HeartSample(connected_s, 60.0, (1000.0,), (connected_s,)))
    await asyncio.wait_for(sink.seen.wait(), timeout=10)
    inbox.put(Action.STOP)
    result = await asyncio.wait_for(task, timeout=10)
    assert result.reason == "stopped by user"
    started = sink.events[0]
    assert started.type == "session_started"
    assert started.t < 1.0
    first = sink.samples[0]
    assert (first.t_s, first.beat_t_s) == (0.0, (0.0,))
    # Every event is on the new clock: nothing is stamped as if the connecting counted.
    assert all(e.t < 4.0 for e in sink.events)


async def test_stop_while_connecting_leaves_a_whole_record_and_no_ticks() -> None:
    source = QueueSource()
    sink = ListSink()
    inbox = ActionInbox()
    task = asyncio.create_task(plan([sink], source, actions=inbox).run())
    inbox.put(Action.STOP)
    result = await asyncio.wait_for(task, timeout=10)
    assert result.reason == "stopped by user"
    types = [e.type for e in sink.events]
    assert types[0] == "session_started"
    assert types[-1] == "session_ended"
    assert "estimate" not in types


class EventsOnlySink(ListSink):
    """Says it ignores raw samples, as the console does."""

    name = "events-only"
    hears_samples = False


async def test_a_sink_that_ignores_samples_is_handed_events_only_the_others_both() -> None:
    quiet, everything = EventsOnlySink(), ListSink()
    await plan([quiet, everything], seed=3, duration_s=120).run()
    assert quiet.samples == []
    assert everything.samples  # the raw beats still reach a sink that keeps them
    assert quiet.events == everything.events
    assert quiet.events[-1].type == "session_ended"
