"""The replay's fast paths against the slow ones they stand for: sinks handed a
turn's items in one call, and RR files read a block of lines at a time."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from biofeedback.console import ConsoleSink
from biofeedback.inputs import InputFileError, text_blocks
from biofeedback.loop.fanout import BatchAware, Sink
from biofeedback.models import BreathTaken, ChestMotion, HeartSample, SessionEvent, SessionInfo
from biofeedback.sensors.replay import (
    ReplayError,
    beat_times,
    open_rr_file,
    pack_beats,
    read_rr_file,
)
from biofeedback.store.recorder import RecorderSink
from tests.support.sessions import simulated_plan
from tests.support.sinks import ListSink


class OneByOne:
    """A sink as the fan-out hands items to a sink without ``handle_batch``."""

    def __init__(self, sink: ConsoleSink | RecorderSink) -> None:
        self.sink = sink
        self.name = f"one-by-one {sink.name}"
        self.queue_size = sink.queue_size
        self.hears_samples = getattr(sink, "hears_samples", True)

    async def start(self, info: SessionInfo) -> None:
        await self.sink.start(info)

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        await self.sink.handle(item)

    async def stop(self) -> None:
        await self.sink.stop()


class BatchListSink(ListSink):
    name = "batches"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def handle_batch(
        self, items: Sequence[SessionEvent | HeartSample | BreathTaken | ChestMotion]
    ) -> None:
        self.calls += 1
        for item in items:
            assert isinstance(item, SessionEvent | HeartSample)
            await self.handle(item)


class FailingBatchSink(BatchListSink):
    name = "failing"

    async def handle_batch(
        self, items: Sequence[SessionEvent | HeartSample | BreathTaken | ChestMotion]
    ) -> None:
        raise RuntimeError("disk on fire")


def rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, wall-clock times left out."""
    out: dict[str, list[tuple[object, ...]]] = {}
    with sqlite3.connect(db) as con:
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [c[1] for c in con.execute(f"PRAGMA table_info({table})")]
            keep = ", ".join(c for c in cols if not c.endswith("unix_s"))
            out[table] = con.execute(f"SELECT {keep} FROM {table} ORDER BY 1, 2").fetchall()
    con.close()
    return out


async def test_sinks_handed_a_turn_at_once_hear_and_keep_what_one_by_one_would(
    tmp_path: Path,
) -> None:
    one, batched = ListSink(), BatchListSink()
    printed_one, printed_batched = io.StringIO(), io.StringIO()
    text_one, text_batched = io.StringIO(), io.StringIO()
    recorders = [RecorderSink(tmp_path / n, virtual=True, on_loop=True) for n in ("1.db", "b.db")]
    assert isinstance(recorders[1], BatchAware)
    assert isinstance(batched, BatchAware)
    sinks: list[Sink] = [
        one,
        batched,
        FailingBatchSink(),
        OneByOne(ConsoleSink(printed_one, as_json=True)),
        ConsoleSink(printed_batched, as_json=True),
        OneByOne(ConsoleSink(text_one)),
        ConsoleSink(text_batched),
        OneByOne(recorders[0]),
        recorders[1],
    ]
    plan = simulated_plan("calm", 3, sinks=sinks, duration_s=600, session_id="batches")
    result = await plan.run()
    assert result.reason == "duration reached"
    # Many items a call: the point of it (one call an item would pass too).
    assert batched.calls < len(batched.events) / 3
    assert batched.events == one.events
    assert batched.samples == one.samples
    assert len(one.samples) > 500
    lines = printed_batched.getvalue().splitlines()
    assert lines == printed_one.getvalue().splitlines()
    assert len(lines) == len(one.events)
    assert [json.loads(line)["type"] for line in lines] == [e.type for e in one.events]
    assert text_batched.getvalue() == text_one.getvalue() != ""
    kept = rows(tmp_path / "b.db")
    assert kept == rows(tmp_path / "1.db")
    assert len(kept["samples"]) == len(one.samples)
    assert len(kept["estimates"]) + len(kept["events"]) == len(one.events)
    # A sink that fails is set aside with its reason; the others heard everything.
    failed = [(r.name, r.failed) for r in result.sinks]
    assert failed[2] == ("failing", "disk on fire")
    assert [f for _, f in failed[:2] + failed[3:]] == [None] * 8


def lines_one_by_one(raw: bytes, line_max: int) -> Iterator[tuple[int, str]]:
    """How a text file was read before blocks (a line at a time): the reference."""
    fh = io.BytesIO(raw)
    number = 0
    while chunk := fh.readline(line_max + 3):
        number += 1
        content = chunk.rstrip(b"\r\n")
        if len(content) > line_max:
            raise InputFileError(f"line {number} is longer than {line_max} characters")
        try:
            yield number, content.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise InputFileError(f"line {number} is not UTF-8 text") from None


def read_both(
    path: Path, raw: bytes, line_max: int
) -> tuple[list[tuple[int, str]], str | None, list[tuple[int, str]], str | None]:
    path.write_bytes(raw)
    ref: list[tuple[int, str]] = []
    blocks: list[tuple[int, str]] = []
    ref_error = block_error = None
    try:
        ref.extend(lines_one_by_one(raw, line_max))
    except InputFileError as exc:
        ref_error = str(exc)
    try:
        for first, lines in text_blocks(path, line_max=line_max, block_lines=3):
            assert 1 <= len(lines) <= 3
            blocks.extend(enumerate(lines, first))
    except InputFileError as exc:
        block_error = str(exc)
    return ref, ref_error, blocks, block_error


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf812\n790\n\n# note\n800\r\n810\r\r\n8\r20\n\xef\xbb\xbf830",
        b"812\n790\n800\n810\n",
        b"",
        b"\n\n\n\n",
        b"812\n790\n800\n810\n\xff\xfe\n820\n",
        b"812\n790\n800\n810\n820\n" + b"9" * 40 + b"\n830\n",
        b"812\n790\n800\n810\n820\n12345678\n123456789",
        b"812\n790\n800\n" + "caf\u00e9\n".encode() + b"810\xc3\n",
    ],
)
def test_text_read_a_block_at_a_time_is_the_same_lines_and_errors(
    tmp_path: Path, raw: bytes
) -> None:
    ref, ref_error, blocks, block_error = read_both(tmp_path / "rr.txt", raw, line_max=8)
    assert blocks == ref
    assert block_error == ref_error


def test_a_plain_file_read_in_blocks_gives_the_beats_a_line_at_a_time_would(
    tmp_path: Path, shared_rr: Path
) -> None:
    rr_text = (shared_rr / "nsrdb_pyhrv_60min_nni.txt").read_text().splitlines() * 2
    assert len(rr_text) > 8000
    # Blank lines, comments and CRLF in a later block than the first (4096 lines).
    lines = rr_text[:5000] + ["", "# a note", " 812 "] + [f"{x}\r" for x in rr_text[5000:]]
    path = tmp_path / "rr.txt"
    path.write_text("# RR, ms\n" + "\n".join(lines) + "\n")
    rr = [float(x) for x in lines if x.strip() and not x.startswith("#")]
    assert read_rr_file(path) == (rr, None)
    samples = list(open_rr_file(path).samples())  # type: ignore[operator]
    # To the bit: the same running sums and notifications as the beat-by-beat path.
    assert samples == pack_beats(beat_times(rr), rr)
    # A bad line far into the file names its own line, before the session starts.
    path.write_text("\n".join([*rr_text[:6000], "8x0", *rr_text[6000:7000]]) + "\n")
    with pytest.raises(ReplayError) as caught:
        open_rr_file(path)
    assert str(caught.value) == f"{path} line 6001: expected an RR interval in ms, found '8x0'"
