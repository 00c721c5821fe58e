"""The printed record: one short line per event, time first, empty fields left out."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from biofeedback.console import ConsoleSink, format_event
from biofeedback.models import (
    Action,
    Estimate,
    HeartSample,
    Quality,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)


def test_a_line_is_minutes_seconds_type_and_the_fields_that_are_set() -> None:
    step = StepStarted(75.25, "feet-tense", StepKind.TENSE, "feet", "Curl your toes.", 5.0)
    assert format_event(step) == (
        "01:15.2  step_started     step=feet-tense kind=tense region=feet"
        " cue=Curl your toes. planned_s=5"
    )
    # None fields (no RMSSD, no arousal yet) are left out; floats lose trailing zeros.
    estimate = Estimate(12.0, 61.5, None, None, Quality.HR_ONLY, 0.02)
    assert format_event(estimate) == (
        "00:12.0  estimate         hr_bpm=61.5 quality=hr_only artifact_rate=0.02"
    )


def test_minutes_keep_counting_past_an_hour_and_short_lines_have_no_trailing_space() -> None:
    change = ZoneChanged(3725.0, Zone.GREEN, Zone.YELLOW, "arousal up")
    assert (
        format_event(change) == "62:05.0  zone_changed     from=green to=yellow reason=arousal up"
    )
    line = format_event(UserActed(0.0, Action.PAUSE))
    assert line == "00:00.0  user_action      action=pause"
    assert line == line.rstrip()


async def test_the_sink_prints_events_not_samples_as_text_or_json() -> None:
    text, as_json = io.StringIO(), io.StringIO()
    paused = UserActed(3.0, Action.PAUSE)
    for stream, flag in ((text, False), (as_json, True)):
        sink = ConsoleSink(stream, as_json=flag)
        await sink.handle(HeartSample(2.0, 60.0))
        await sink.handle(paused)
        await sink.stop()
    assert text.getvalue() == format_event(paused) + "\n"
    assert json.loads(as_json.getvalue()) == {"t": 3.0, "type": "user_action", "action": "pause"}


class _CountingStream(io.StringIO):
    """A stream that counts its flushes (each is a write to the terminal or pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


async def test_lines_are_written_and_flushed_once_per_turn_of_the_loop_not_once_a_line() -> None:
    # At --speed max hundreds of events reach the sink at once: one write and one
    # flush for all of them (a write each was half the printing: each gives the
    # recorder's thread a chance at the interpreter), and still at once, live.
    stream = _CountingStream()
    sink = ConsoleSink(stream, as_json=True)
    events = [UserActed(float(t), Action.PAUSE) for t in range(5)]
    for event in events:
        await sink.handle(event)
    assert (stream.getvalue(), stream.flushes) == ("", 0)
    await asyncio.sleep(0)  # the loop's next turn
    assert len(stream.getvalue().splitlines()) == 5
    assert stream.flushes == 1
    await sink.handle(UserActed(5.0, Action.RESUME))
    await sink.stop()  # what is written is flushed by the end, whatever the loop does
    assert stream.flushes == 2
    assert [json.loads(line)["t"] for line in stream.getvalue().splitlines()] == [
        0.0,
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
    ]


async def test_a_batchs_json_lines_are_each_events_own_encoding() -> None:
    """The console writes a batch's JSON lines by one call of the encoder, cut at
    its marks: the same lines as one call an event, even where an event holds the
    mark itself, and where one cannot be written the lines before it are kept."""
    import math

    from biofeedback.console import _JSON, json_lines
    from biofeedback.models import Advice, PlanChosen, SessionEnded

    events = [
        Estimate(1.0, 61.5, math.nan, None, Quality.OK, 0.0, 6.0, "rr"),
        StepStarted(2.0, "feet", StepKind.TENSE, "feet", 'Curl "your" toes, gently: ü', 5.0),
        Advice(3.0, ',"\x1e",'),  # the cut's own text in a string: escaped, no cut
        SessionEnded(4.0, "s", "done", 4.0, skipped_messages={"\x1e": 1}),
        ZoneChanged(5.0, Zone.GREEN, Zone.YELLOW, "up", hr_delta_bpm=math.inf),
    ]
    dicts = [e.to_dict() for e in events]
    one_each = [_JSON.encode(d) for d in dicts]
    assert json_lines(dicts) == one_each
    holding_the_mark = [*dicts, PlanChosen(6.0, "r", notes=("a", "\x1e", "b")).to_dict()]
    assert json_lines(holding_the_mark) is None  # a piece too many: a line at a time
    stream = io.StringIO()
    sink = ConsoleSink(stream, as_json=True)
    await sink.handle_batch([*events, PlanChosen(6.0, "r", notes=("a", "\x1e", "b"))])
    await sink.stop()
    assert stream.getvalue().splitlines() == [*one_each, _JSON.encode(holding_the_mark[-1])]
    stream = io.StringIO()
    sink = ConsoleSink(stream, as_json=True)
    with pytest.raises(TypeError):
        await sink.handle_batch([events[0], Advice(7.0, object()), events[1]])  # type: ignore[arg-type]
    await sink.stop()
    assert stream.getvalue() == one_each[0] + "\n"


class _SignallingStream(_CountingStream):
    """A stream that sets an event at each flush, for a test to wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed = asyncio.Event()

    def flush(self) -> None:
        super().flush()
        self.flushed.set()


async def test_turns_closer_than_flush_every_s_share_one_write_and_nothing_waits_past_it() -> None:
    # At --speed max a turn comes every few ms, each with its lines: they wait for
    # the next write, at most ``flush_every_s`` after the last one (a write into a
    # pipe costs a wake-up of its reader); the first lines go at once, as live.
    stream = _CountingStream()
    sink = ConsoleSink(stream, as_json=True, flush_every_s=3600.0)
    await sink.handle(UserActed(0.0, Action.PAUSE))
    await asyncio.sleep(0)
    assert (len(stream.getvalue().splitlines()), stream.flushes) == (1, 1)
    for t in range(1, 4):
        await sink.handle(UserActed(float(t), Action.RESUME))
        await asyncio.sleep(0)  # turns of the loop, well within the hour
    assert (len(stream.getvalue().splitlines()), stream.flushes) == (1, 1)
    await sink.stop()
    assert [json.loads(line)["t"] for line in stream.getvalue().splitlines()] == [0, 1, 2, 3]
    assert stream.flushes == 2

    # Without a stop, the lines that waited are written once their time comes.
    signalling = _SignallingStream()
    sink = ConsoleSink(signalling, as_json=True, flush_every_s=0.01)
    await sink.handle(UserActed(0.0, Action.PAUSE))
    await asyncio.wait_for(signalling.flushed.wait(), 5.0)
    signalling.flushed.clear()
    await sink.handle(UserActed(1.0, Action.RESUME))
    await sink.handle(UserActed(2.0, Action.PAUSE))
    await asyncio.wait_for(signalling.flushed.wait(), 5.0)
    assert len(signalling.getvalue().splitlines()) == 3
    assert signalling.flushes == 2
    await sink.stop()


async def test_estimates_written_from_their_fields_keep_the_lines_order() -> None:
    """A batch of estimates (their lines written from their fields), estimates that
    go by their dicts (inf) and other events prints each event's own encoding, in
    order, whether the others are none, one or many."""
    import math

    from biofeedback.console import _JSON
    from biofeedback.models import Advice

    plain = [Estimate(t + 0.5, 60.0 + t, 40.0, 0.2, Quality.OK, 0.0, 6.5, "rr") for t in range(6)]
    odd = Estimate(9.0, math.inf, None, -0.0, Quality.HR_ONLY, 0.0)
    for batch in (
        plain,
        [*plain[:2], Advice(2.6, "a"), *plain[2:]],
        [Advice(0.1, "a"), plain[0], odd, Advice(0.2, "b"), *plain[1:], Advice(7.0, "c")],
    ):
        stream = io.StringIO()
        sink = ConsoleSink(stream, as_json=True)
        await sink.handle_batch(batch)
        await sink.stop()
        assert stream.getvalue().splitlines() == [_JSON.encode(e.to_dict()) for e in batch]
