"""`--replay RR_FILE --replay-acc ACC.csv`: recorded chest motion between the replayed beats."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.models import ChestMotion, HeartSample
from biofeedback.sensors import SourceItem
from biofeedback.sensors.replay import ReplayError, ReplaySource, open_rr_file
from biofeedback.sensors.replay_acc import open_acc_file, with_motion
from biofeedback.store import Store
from tests.support.cli import assert_one_line_error, run_cli


def acc_text(rate_hz: float, seconds: float, *, gap: tuple[float, float] | None = None) -> str:
    rows = ["t_s,x_mg,y_mg,z_mg"]
    for i in range(round(seconds * rate_hz)):
        t = i / rate_hz
        if gap is not None and gap[0] <= t < gap[1]:
            continue
        z = 120 + 25 * math.sin(2 * math.pi * 0.1 * t)
        rows.append(f"{t:.4f},{i % 7 - 3},-985.5,{z:.1f}")
    return "\n".join(rows) + "\n"


def test_acc_file_is_read_in_one_second_batches(tmp_path: Path) -> None:
    f = tmp_path / "acc.csv"
    f.write_text(acc_text(25.0, 10.0))
    acc = open_acc_file(f)
    assert acc.rate_hz == pytest.approx(25.0)
    assert acc.samples == 250
    batches = list(acc.motions())
    assert [len(m.x_mg) for m in batches] == [25] * 10
    assert [m.t_s for m in batches] == pytest.approx([k + 0.96 for k in range(10)])
    assert all(m.rate_hz == pytest.approx(25.0) for m in batches)
    assert batches[0].x_mg[:4] == (-3.0, -2.0, -1.0, 0.0)
    assert batches[0].y_mg[0] == -985.5
    assert batches[0].z_mg[0] == 120.0


def test_a_logger_gap_starts_a_new_batch(tmp_path: Path) -> None:
    f = tmp_path / "acc.csv"
    f.write_text(acc_text(100.0, 4.0, gap=(1.5, 2.5)))
    batches = list(open_acc_file(f).motions())
    # Each batch's samples are evenly spaced up to its last one: none spans the gap.
    assert [m.t_s for m in batches] == pytest.approx([0.99, 1.49, 3.49, 3.99])


async def test_replay_interleaves_motion_with_the_beats_in_time_order(tmp_path: Path) -> None:
    rr = tmp_path / "rr.txt"
    rr.write_text("1000\n" * 20)
    f = tmp_path / "acc.csv"
    f.write_text(acc_text(50.0, 30.0))  # ten seconds more than the beats
    beats = open_rr_file(rr)
    source = ReplaySource(with_motion(beats.samples, open_acc_file(f)), beats.description)
    items: list[SourceItem] = []
    async with source:
        items = [item async for item in source]
    times = [i.t_s for i in items]
    assert times == sorted(times)
    hearts = [i for i in items if isinstance(i, HeartSample)]
    motions = [i for i in items if isinstance(i, ChestMotion)]
    assert len(hearts) == 20
    # Motion after the last beat is left out: the replay still ends with its heart data.
    assert isinstance(items[-1], HeartSample)
    assert motions[-1].t_s <= hearts[-1].t_s
    assert len(motions) == 20
    # Read afresh on a second pass, as the session's replays are.
    async with source:
        assert len([i async for i in source]) == len(items)


def test_a_run_with_chest_motion_keeps_its_heart_record(tmp_path: Path) -> None:
    rr = tmp_path / "rr.txt"
    rr.write_text("".join(f"{900 + 60 * math.sin(k / 3):.0f}\n" for k in range(150)))
    f = tmp_path / "acc.csv"
    f.write_text(acc_text(50.0, 150.0))
    runs: list[tuple[HeartSample, ...]] = []
    for extra in ([], ["--replay-acc", str(f)]):
        db = tmp_path / f"s{len(runs)}.db"
        proc = run_cli("run", "--replay", str(rr), *extra, "--headless", "--json",
                       "--speed", "max", "--db", str(db))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        with Store(db) as store:
            runs.append(store.load("latest").samples)
        assert json.loads(proc.stdout.splitlines()[-1])["type"] == "session_ended"
    assert runs[1] == runs[0]


BAD_ACC = [
    ("header.csv", "time,x,y,z\n0,1,2,3\n", 1, "t_s,x_mg,y_mg,z_mg"),
    ("letters.csv", "t_s,x_mg,y_mg,z_mg\n0,1,2,3\n0.02,1,a,3\n", 3, "y_mg"),
    ("short.csv", "t_s,x_mg,y_mg,z_mg\n0,1,2,3\n0.02,1,2\n", 3, "columns"),
    ("back.csv", "t_s,x_mg,y_mg,z_mg\n0,1,2,3\n0.04,1,2,3\n0.02,1,2,3\n", 4, "does not come after"),
    ("early.csv", "t_s,x_mg,y_mg,z_mg\n-1,1,2,3\n", 2, "before the first RR beat"),
    (
        "fast.csv",
        "t_s,x_mg,y_mg,z_mg\n" + "".join(f"{i / 1000},1,2,3\n" for i in range(50)),
        None,
        "25-200 Hz",
    ),
    (
        "slow.csv",
        "t_s,x_mg,y_mg,z_mg\n" + "".join(f"{i},1,2,3\n" for i in range(50)),
        None,
        "25-200 Hz",
    ),
    ("ms.csv", "t_s,x_mg,y_mg,z_mg\n0,1,2,3\n0.02,1,2,98100\n", 3, "milli-g"),
    ("empty.csv", "\n", None, "expected the header"),
    ("one.csv", "t_s,x_mg,y_mg,z_mg\n0,1,2,3\n", None, "fewer than two"),
]


@pytest.mark.parametrize(("name", "text", "line", "word"), BAD_ACC)
def test_bad_acc_files_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int | None, word: str
) -> None:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ReplayError) as caught:
        open_acc_file(f)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{f} line {line}:" if line else f"{f}:")
    assert word in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_acc_file_through_the_cli_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path,
) -> None:
    rr = tmp_path / "rr.txt"
    rr.write_text("800\n810\n820\n")
    f = tmp_path / "acc.csv"
    f.write_text("t_s,x_mg,y_mg,z_mg\n0,1,2,3\n0.02,1,2,x\n")
    db = tmp_path / "s.db"
    proc = run_cli("run", "--replay", str(rr), "--replay-acc", str(f), "--headless",
                   "--db", str(db))  # fmt: skip
    assert_one_line_error(proc, f"{f} line 3", "z_mg")
    assert not db.exists()
    missing = run_cli("run", "--replay", str(rr), "--replay-acc", str(tmp_path / "no.csv"),
                      "--headless", "--db", str(db))  # fmt: skip
    assert_one_line_error(missing, "no.csv", "no such file")
    assert not db.exists()


def test_replay_acc_without_replay_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "acc.csv"
    f.write_text(acc_text(25.0, 2.0))
    db = tmp_path / "s.db"
    proc = run_cli("run", "--sim", "--replay-acc", str(f), "--headless", "--db", str(db))
    assert_one_line_error(proc, "--replay-acc", "--replay")
    assert not db.exists()


@pytest.mark.parametrize("where", ["/dev/zero", "folder", "binary"])
def test_what_is_no_text_file_is_one_line(tmp_path: Path, where: str) -> None:
    path = Path(where)
    if where == "folder":
        path = tmp_path
    elif where == "binary":
        path = tmp_path / "acc.bin"
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10)
    with pytest.raises(ReplayError) as caught:
        open_acc_file(path)
    assert "\n" not in str(caught.value)


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**6), 10**6).map(str),
    st.text(alphabet="0123456789.,-+eE nai#", max_size=8),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(cells, min_size=0, max_size=6), max_size=40))
def test_fuzzed_acc_files_raise_only_replay_errors(tmp_path: Path, rows: list[list[str]]) -> None:
    f = tmp_path / "fuzz.csv"
    f.write_text("t_s,x_mg,y_mg,z_mg\n" + "".join(",".join(r) + "\n" for r in rows))
    problem = ""
    try:
        for motion in open_acc_file(f).motions():
            assert len(motion.x_mg) == len(motion.y_mg) == len(motion.z_mg) > 0
    except ReplayError as exc:
        problem = str(exc)
    assert "\n" not in problem
