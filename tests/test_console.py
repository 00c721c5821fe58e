"""The printed record: one short line per event, time first, empty fields left out."""

from __future__ import annotations

import asyncio
import io
import json

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
