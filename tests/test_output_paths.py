"""One rule for every output path: its folder must exist (nothing creates folders
on its own), and a missing one is one line naming it, exit 2, nothing written;
`--audio-out` writes WAV only and refuses another name before a session starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from biofeedback.store import Store
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.store import record_sim


@pytest.fixture
async def recorded(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    await record_sim(db, "one", duration_s=60)
    return db


@pytest.mark.parametrize(
    "flag", ["--png", "--pdf", "--csv", "--rr", "--rr-corrected", "--ics", "--audio-out"]
)
def test_a_missing_folder_is_refused_alike_by_every_output(
    recorded: Path, tmp_path: Path, flag: str
) -> None:
    suffix = {"--png": ".png", "--pdf": ".pdf", "--ics": ".ics", "--audio-out": ".wav"}
    folder = tmp_path / "not-there"
    target = folder / f"out{suffix.get(flag, '.txt')}"
    db = ["--db", str(recorded)]
    if flag == "--ics":
        argv = ["plan", flag, str(target)]
    elif flag == "--audio-out":
        argv = ["run", "--sim", "--headless", "--speed", "max", flag, str(target), *db]
    else:
        argv = ["review", flag, str(target), *db]
    proc = run_cli(*argv)
    assert_one_line_error(proc, f"there is no folder {folder}; create it first")
    assert not folder.exists()
    with Store(recorded) as store:
        assert len(store.sessions()) == 1  # no session was started


def test_audio_out_refuses_a_name_other_than_wav(recorded: Path, tmp_path: Path) -> None:
    target = tmp_path / "track.mp3"
    proc = run_cli(
        "run", "--sim", "--headless", "--speed", "max", "--audio-out", str(target),
        "--db", str(recorded),
    )  # fmt: skip
    assert_one_line_error(proc, "WAV", "track.wav")
    assert not target.exists()
    with Store(recorded) as store:
        assert len(store.sessions()) == 1
