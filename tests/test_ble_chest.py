"""Chest motion from a Polar H10: PMD over bleak's real BlueZ backend and the virtual strap.

The virtual strap plays an H10 (``StrapOptions(h10=True)``) and streams the
chest motion of ``counted_breath``, whose x axis counts the samples so each
ChestMotion can be traced back to the strap time it was taken at.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from biofeedback.loop.session import ActionInbox, RealClock
from biofeedback.models import (
    Action,
    ChestMotion,
    HeartSample,
    SessionEvent,
    SourceStatus,
)
from biofeedback.sensors import SourceItem
from biofeedback.sensors.ble import BleSource
from biofeedback.sensors.pmd import (
    MeasurementType,
    Op,
    Setting,
    decode_frame,
    decode_response,
    settings_request,
    start_request,
    stop_request,
)
from simulators.bus import ADDRESS_ENV, PrivateSystemBus
from simulators.pmd import SENSOR_EPOCH_NS, AccFramer, PmdState
from simulators.source import SimulatedSource
from simulators.strap import StrapOptions, add_arguments, options_from
from tests.support.sessions import simulated_plan
from tests.support.sinks import ListSink
from tests.support.strap import (
    STRAP_ADDRESS,
    counted_breath,
    run_cli_on_bus,
    strap_in_loop,
    strap_process,
)

ACC = MeasurementType.ACC
WAIT_S = 20.0


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateSystemBus]:
    with PrivateSystemBus() as private:
        monkeypatch.setenv(ADDRESS_ENV, private.address)
        yield private


def fast_source(
    acc_rate_hz: int = 50, ecg: bool = False, clock_now: Callable[[], float] | None = None
) -> BleSource:
    return BleSource(
        STRAP_ADDRESS,
        backoff_s=(0.05, 0.2),
        find_timeout_s=5.0,
        acc_rate_hz=acc_rate_hz,
        ecg=ecg,
        clock_now=clock_now,
    )


async def take_until(
    items: AsyncIterator[SourceItem], done: Callable[[list[SourceItem]], bool]
) -> list[SourceItem]:
    got: list[SourceItem] = []
    async with asyncio.timeout(WAIT_S):
        while not done(got):
            got.append(await anext(items))
    return got


class SampleCountingSink(ListSink):
    def __init__(self, wanted: int) -> None:
        super().__init__()
        self.wanted = wanted
        self.enough = asyncio.Event()

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        await super().handle(item)
        if len(self.samples) >= self.wanted:
            self.enough.set()


def motions(items: list[SourceItem]) -> list[ChestMotion]:
    return [i for i in items if isinstance(i, ChestMotion)]


def hearts(items: list[SourceItem]) -> list[HeartSample]:
    return [i for i in items if isinstance(i, HeartSample)]


def changes(items: list[SourceItem]) -> list[SourceStatus]:
    return [i for i in items if isinstance(i, SourceStatus) and i.reason != "connected"]


# -- the virtual H10's PMD side, pure


def test_virtual_h10_answers_as_an_h10() -> None:
    pmd = PmdState()
    offered = decode_response(pmd.answer(settings_request(ACC)))
    assert offered.settings[Setting.SAMPLE_RATE] == (25, 50, 100, 200)
    start = start_request(ACC, {Setting.SAMPLE_RATE: 100, Setting.RESOLUTION: 16})
    assert decode_response(pmd.answer(start)).ok
    assert pmd.rate_hz(ACC) == 100
    assert decode_response(pmd.answer(start)).error == 6  # already streaming
    bad_rate = start_request(ACC, {Setting.SAMPLE_RATE: 33})
    assert decode_response(pmd.answer(stop_request(ACC))).ok
    assert decode_response(pmd.answer(bad_rate)).error == 8
    assert decode_response(pmd.answer(b"\x09\x02")).error == 1
    charger = PmdState(start_error=13)
    answer = decode_response(charger.answer(start))
    assert (answer.op, answer.error) == (Op.START, 13)


@pytest.mark.parametrize("compressed", [False, True])
def test_acc_framer_resamples_and_fills_frames(compressed: bool) -> None:
    framer = AccFramer(25.0, compressed=compressed)
    sent = [f for m in counted_breath(50.0, 1.0, 3.0) for f in framer.frames(m)]
    frames = [decode_frame(payload) for _, payload in sent]
    xs = [s[0] for f in frames for s in f.samples]
    assert xs == list(range(0, 150, 2))  # every other sample of 50 Hz, none lost
    assert all(len(f.samples) <= 36 for f in frames)
    assert all(f.compressed == compressed for f in frames)
    for (t_s, _), frame in zip(sent, frames, strict=True):
        assert frame.sensor_ns == SENSOR_EPOCH_NS + round(frame.samples[-1][0] / 50.0 * 1e9)
        assert t_s == pytest.approx(frame.samples[-1][0] / 50.0)


# -- over BlueZ


def check_motion(got: list[ChestMotion], step: int, rate_hz: float) -> None:
    """Values are the strap's samples in order; times follow the strap's clock."""
    xs = [x for m in got for x in m.x_mg]
    assert [b - a for a, b in itertools.pairwise(xs)] == [step] * (len(xs) - 1)
    lags = []
    for m in got:
        assert m.rate_hz == rate_hz
        assert len(m.x_mg) == len(m.y_mg) == len(m.z_mg)
        # The breath of counted_breath, back from the strap as whole milli-g.
        assert all(90 <= z <= 150 for z in m.z_mg)
        assert all(-998 <= y <= -982 for y in m.y_mg)
        lags.append(m.t_s - m.x_mg[-1] / 50.0)
    assert max(lags) - min(lags) < 0.15


@pytest.mark.parametrize(("compressed", "rate_hz"), [(False, 50), (True, 25)])
async def test_h10_streams_chest_motion_beside_heart_rate(
    bus: PrivateSystemBus, compressed: bool, rate_hz: int
) -> None:
    options = StrapOptions(h10=True, acc_delta=compressed, rate_hz=2.0)
    motion = functools.partial(counted_breath, 50.0, 0.5)
    async with (
        strap_in_loop(options, motion=motion) as running,
        fast_source(acc_rate_hz=rate_hz, ecg=compressed) as source,
    ):
        got = await take_until(
            aiter(source), lambda got: len(motions(got)) >= 4 and len(hearts(got)) >= 2
        )
        assert running.strap is not None
        assert running.strap.pmd.rate_hz(ACC) == rate_hz
        # ECG only when asked for.
        assert (MeasurementType.ECG in running.strap.pmd.running) == compressed
    assert changes(got) == []
    check_motion(motions(got), 50 // rate_hz, float(rate_hz))
    times = [i.t_s for i in got if isinstance(i, ChestMotion)]
    assert times == sorted(times)
    assert source.chest is not None
    assert source.chest.malformed == 0


async def simulated_person_with_chest() -> AsyncIterator[HeartSample | SourceStatus | ChestMotion]:
    """The calm scenario's heart with counted_breath's chest motion between its items,
    as the simulator yields them once it breathes (issue 24)."""
    motion = counted_breath(50.0, 0.5)
    pending = next(motion)
    async for item in SimulatedSource("calm", seed=1):
        while pending.t_s <= item.t_s:
            yield pending
            pending = next(motion)
        yield item


async def test_the_virtual_h10_streams_the_chest_motion_its_person_yields(
    bus: PrivateSystemBus,
) -> None:
    options = StrapOptions(h10=True, rate_hz=2.0)
    async with (
        strap_in_loop(options, source=simulated_person_with_chest()),
        fast_source() as source,
    ):
        got = await take_until(aiter(source), lambda got: len(motions(got)) >= 3)
    assert changes(got) == []
    check_motion(motions(got), 1, 50.0)


async def test_chest_motion_resumes_after_a_strap_drop(bus: PrivateSystemBus) -> None:
    motion = functools.partial(counted_breath, 50.0, 0.5)
    async with (
        strap_in_loop(StrapOptions(h10=True, rate_hz=2.0), motion=motion) as running,
        fast_source() as source,
    ):
        items = aiter(source)
        before = await take_until(items, lambda got: len(motions(got)) >= 2)
        assert running.strap is not None
        running.strap.drop(out_of_range_s=0.3)
        after = await take_until(
            items,
            lambda got: (
                bool(changes(got)[1:]) and len(motions(got[got.index(changes(got)[1]) :])) >= 2
            ),
        )
        assert running.strap.device.connections == 2
    lost, restored = changes(after)
    assert (lost.reason, restored.reason) == ("strap disconnected", "strap reconnected")
    resumed = motions(after[after.index(restored) :])
    assert len(resumed) >= 2
    # The streams were started again on the new link: later samples, later times.
    check_motion(resumed, 1, 50.0)
    assert resumed[0].x_mg[0] > motions(before)[-1].x_mg[-1]
    times = [m.t_s for m in motions(before + after)]
    assert times == sorted(times)


async def test_a_stream_left_running_is_started_afresh(bus: PrivateSystemBus) -> None:
    motion = functools.partial(counted_breath, 50.0, 0.5)
    async with strap_in_loop(StrapOptions(h10=True, rate_hz=2.0), motion=motion) as running:
        assert running.strap is not None
        # As if an earlier link had started ACC at 200 Hz and the strap missed its end.
        running.strap.pmd.running[ACC] = {Setting.SAMPLE_RATE: 200}
        async with fast_source() as source:
            got = await take_until(aiter(source), lambda got: len(motions(got)) >= 2)
            assert running.strap.pmd.rate_hz(ACC) == 50
    assert changes(got) == []
    check_motion(motions(got), 1, 50.0)


async def test_a_pmd_error_is_one_line_and_heart_rate_goes_on(bus: PrivateSystemBus) -> None:
    options = StrapOptions(h10=True, pmd_error=13, rate_hz=4.0)
    motion = functools.partial(counted_breath, 50.0, 0.5)
    async with strap_in_loop(options, motion=motion), fast_source() as source:
        got = await take_until(
            aiter(source),
            lambda got: bool(changes(got)) and len(hearts(got[got.index(changes(got)[0]) :])) >= 3,
        )
    (status,) = changes(got)
    assert status.connected
    assert "\n" not in status.reason
    assert "charger" in status.reason
    assert "PMD error 13" in status.reason
    assert "heart rate goes on" in status.reason
    assert motions(got) == []


async def test_a_standard_strap_yields_no_chest_motion(bus: PrivateSystemBus) -> None:
    async with strap_in_loop(StrapOptions(rate_hz=4.0)), fast_source() as source:
        got = await take_until(aiter(source), lambda got: len(hearts(got)) >= 3)
    assert changes(got) == []
    assert motions(got) == []


async def test_a_live_session_on_an_h10_runs_with_chest_motion(bus: PrivateSystemBus) -> None:
    motion = functools.partial(counted_breath, 50.0, 0.5)
    sink = SampleCountingSink(3)
    inbox = ActionInbox()
    clock = RealClock()
    async with strap_in_loop(StrapOptions(h10=True, rate_hz=4.0), motion=motion):
        source = fast_source(clock_now=clock.now)
        session = simulated_plan(
            source=source, speed=1.0, sinks=[sink], actions=inbox, real_clock=clock
        )
        task = asyncio.create_task(session.run())
        await asyncio.wait_for(sink.enough.wait(), timeout=WAIT_S)
        inbox.put(Action.STOP)
        result = await asyncio.wait_for(task, timeout=WAIT_S)
    assert result.reason == "stopped by user"
    assert source.chest is not None
    assert source.chest.acc_frames > 0
    assert len(sink.samples) >= 3


def test_the_strap_command_line_makes_an_h10() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = options_from(parser.parse_args(["--h10", "--pmd-error", "13", "--acc-delta"]))
    assert (options.h10, options.pmd_error, options.acc_delta) == (True, 13, True)
    plain = options_from(parser.parse_args([]))
    assert (plain.h10, plain.pmd_error, plain.acc_delta) == (False, 0, False)


async def test_chest_times_follow_the_session_clock_restarted_at_the_first_heart_data(
    bus: PrivateSystemBus,
) -> None:
    clock = RealClock()
    motion = functools.partial(counted_breath, 50.0, 0.5)
    async with (
        strap_in_loop(StrapOptions(h10=True, rate_hz=2.0), motion=motion),
        fast_source(clock_now=clock.now) as source,
    ):
        items = aiter(source)
        before = motions(await take_until(items, lambda got: len(motions(got)) >= 5))
        clock.restart()  # as a live session does when the first heart data comes
        after = motions(await take_until(items, lambda got: len(motions(got)) >= 2))
        now_s = clock.now()
    # Stamped on the restarted clock: not held at the old clock's last time.
    assert before[-1].t_s > 2.0
    assert after[-1].t_s < 1.5
    assert all(-0.5 < m.t_s <= now_s for m in after[1:])
    assert [m.t_s for m in after] == sorted(m.t_s for m in after)


def test_run_on_an_h10_on_its_charger_says_so_in_one_line_and_runs_on_heart_rate() -> None:
    with PrivateSystemBus() as private, strap_process(private, "--h10", "--pmd-error", "13"):
        proc = run_cli_on_bus(private.address, "run", "--device", STRAP_ADDRESS, "--headless",
                              "--json", "--duration", "4")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "chest" in line]
    assert len(lines) == 1, proc.stderr
    assert "on its charger" in lines[0]
    assert "heart rate goes on" in lines[0]
    assert STRAP_ADDRESS not in lines[0]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert any(e["type"] == "estimate" and e["hr_bpm"] for e in events)
    assert events[-1]["type"] == "session_ended"
