"""`--replay FILE`: real RR recordings, recorded sessions, and bad files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from biofeedback.sensors.replay import (
    ReplayError,
    ReplaySource,
    beat_times,
    open_rr_file,
    pack_beats,
    read_rr_file,
)
from biofeedback.store import Store
from tests.support.cli import assert_one_line_error, run_cli


async def collect(source: ReplaySource) -> list:  # type: ignore[type-arg]
    async with source:
        return [item async for item in source]


async def test_plain_rr_file_becomes_1_hz_notifications_with_beat_times(shared_rr: Path) -> None:
    source = open_rr_file(shared_rr / "nsrdb_pyhrv_5min_nni.txt")
    assert source.virtual
    assert source.description == "replay:nsrdb_pyhrv_5min_nni.txt"
    samples = await collect(source)
    rr = [float(x) for x in (shared_rr / "nsrdb_pyhrv_5min_nni.txt").read_text().split()]
    assert [r for s in samples for r in s.rr_ms] == rr
    beat_t = [t for s in samples for t in s.beat_t_s]
    assert beat_t == pytest.approx(list(itertools.accumulate(r / 1000 for r in rr)))
    assert [s.t_s for s in samples] == [float(n) for n in range(1, len(samples) + 1)]
    for s in samples:
        assert all(s.t_s - 1.0 < t <= s.t_s for t in s.beat_t_s)
    # 337 beats in about 5 minutes, as tests/data/rr/README.md says.
    assert len(rr) == 337
    assert 290 < samples[-1].t_s < 320
    assert all(s.hr_bpm is not None and 40 < s.hr_bpm < 120 for s in samples)


def test_csv_with_arrival_times(shared_rr: Path) -> None:
    rr, times = read_rr_file(shared_rr / "polar_h10_slow_breathing_rr.csv")
    assert len(rr) == 620
    assert times is not None
    assert len(times) == 620
    beats = beat_times(rr, times)
    # No gaps in this recording: the beats are the running sum of the intervals.
    assert beats == pytest.approx(list(itertools.accumulate(r / 1000 for r in rr)))


def test_a_dropout_in_the_time_column_stays_a_gap(tmp_path: Path) -> None:
    f = tmp_path / "gap.csv"
    rows = [(t, 1000) for t in range(10)] + [(t, 1000) for t in range(30, 40)]
    f.write_text("t_s;rr_ms\n" + "".join(f"{t};{rr}\n" for t, rr in rows))
    rr, times = read_rr_file(f)
    beats = beat_times(rr, times)
    assert beats[:10] == pytest.approx([1.0 * n for n in range(1, 11)])
    assert beats[10] == pytest.approx(31.0)
    samples = pack_beats(beats, rr)
    notes = [s.t_s for s in samples]
    # No notifications while the strap was away.
    assert not [t for t in notes if 11 < t < 31]
    assert sum(len(s.rr_ms) for s in samples) == 20


async def test_recorded_session_replays_sample_for_sample(tmp_path: Path) -> None:
    db = tmp_path / "orig.db"
    first = run_cli("run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "60",
                    "--db", str(db))  # fmt: skip
    assert first.returncode == 0, first.stderr
    original_id = json.loads(first.stdout.splitlines()[0])["session_id"]
    copy = tmp_path / "copy.db"
    proc = run_cli("run", "--replay", f"{db}#{original_id[:6]}", "--headless", "--json",
                   "--speed", "max", "--db", str(copy))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    started = json.loads(proc.stdout.splitlines()[0])
    assert started["source"] == f"replay:orig.db#{original_id}"
    with Store(db) as store:
        original = store.load(original_id).samples
    with Store(copy) as store:
        replayed = store.load("latest").samples
    assert replayed[: len(original)] == original


def test_rr_export_replayed_reproduces_the_same_beats(tmp_path: Path) -> None:
    db = tmp_path / "trip.db"
    rr_file = tmp_path / "trip.rr"
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", "--duration", "120",
                   "--db", str(db))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert run_cli("review", "--rr", str(rr_file), "--db", str(db)).returncode == 0
    with Store(db) as store:
        first = store.load("latest")
    proc = run_cli("run", "--replay", str(rr_file), "--headless", "--speed", "max",
                   "--db", str(db))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with Store(db) as store:
        second = store.load("latest")
    assert second.session.session_id != first.session.session_id
    assert second.session.source == "replay:trip.rr"
    rr_first = [r for s in first.samples for r in s.rr_ms]
    rr_second = [r for s in second.samples for r in s.rr_ms]
    assert len(rr_second) == len(rr_first) > 100
    assert rr_second == pytest.approx(rr_first, abs=5e-4)
    t_second = [t for s in second.samples for t in s.beat_t_s]
    assert t_second == pytest.approx(list(itertools.accumulate(r / 1000 for r in rr_second)))


BAD_FILES = [
    ("letters.txt", "812\n790\nabc\n", 3, "'abc'"),
    ("seconds.txt", "0.812\n0.790\n", 1, "milliseconds"),
    ("huge.txt", "# RR\n\n812\n99999\n", 4, "99999"),
    ("empty.txt", "\n# nothing\n", None, "no RR intervals"),
    ("nocol.csv", "time,ibi\n0,812\n", 1, "rr_ms"),
    ("badrow.csv", "t_s,rr_ms\n0.8,812\n1.6,\n", 3, "''"),
    ("short.csv", "t_s,rr_ms\n0.8,812\n1.6\n", 3, "columns"),
    ("backwards.csv", "t_s,rr_ms\n5,812\n4,800\n", 3, "goes back"),
]


@pytest.mark.parametrize(("name", "text", "line", "word"), BAD_FILES)
def test_bad_files_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int | None, word: str
) -> None:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ReplayError) as caught:
        open_rr_file(f)
    message = str(caught.value)
    assert caught.value.line == line
    prefix = f"{f} line {line}:" if line is not None else f"{f}:"
    assert message.startswith(prefix)
    assert word in message


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\xff\xfe", None])
def test_unreadable_replay_file_is_one_line_exit_2(tmp_path: Path, content: bytes | None) -> None:
    f = tmp_path / "rr.bin"
    if content is not None:
        f.write_bytes(content)
    proc = run_cli("run", "--replay", str(f), "--headless", "--db", str(tmp_path / "s.db"))
    assert_one_line_error(proc, str(f))


def test_bad_line_through_the_cli(tmp_path: Path) -> None:
    f = tmp_path / "rr.txt"
    f.write_text("800\n810\n8x0\n")
    proc = run_cli("run", "--replay", str(f), "--headless", "--db", str(tmp_path / "s.db"))
    assert_one_line_error(proc, f"{f} line 3", "8x0")
