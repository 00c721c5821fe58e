"""Bad input around audio: one line each, the session goes on.

Exit status 2 only for a bad command line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from biofeedback import config
from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.device import Device, NoDeviceError
from biofeedback.audio.phrases import build_book
from biofeedback.audio.render import read_session_wav
from biofeedback.audio.score import Score
from biofeedback.audio.sink import AudioSink, Player
from biofeedback.audio.voice import VoiceSettings, load_voices
from biofeedback.cli import main
from biofeedback.models import SessionInfo, StepKind, StepStarted
from biofeedback.routines.protocols import load_protocol
from tests.conftest import ROOT

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/test adds it)"
)


def _write_wav(path: Path, seconds: float = 0.5) -> None:
    t = np.arange(int(seconds * 16000)) / 16000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((0.5 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes())


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "biofeedback", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=120,
    )


@needs_espeak
def test_a_voice_folder_wins_and_a_broken_or_missing_file_is_one_line(tmp_path: Path) -> None:
    book = build_book(load_protocol("work-reset"))
    phrases = list(book)
    folder = tmp_path / "voice"
    folder.mkdir()
    _write_wav(folder / f"{phrases[0].id}.wav")
    (folder / f"{phrases[1].id}.wav").write_bytes(b"RIFF not really a wave file")
    voices = load_voices(book, VoiceSettings(folder=folder, cache_dir=tmp_path / "cache"))
    assert voices.from_folder == 1
    # The recording wins: resampled to our rate, 0.5 s long.
    assert len(voices.clips[phrases[0].text]) == pytest.approx(0.5 * SAMPLE_RATE_HZ, abs=50)
    # The broken file and the missing ones fall back to the synthetic voice.
    assert len(voices.clips) == len(book)
    assert len(voices.notes) == 1
    assert phrases[1].id in voices.notes[0]
    assert "cannot be read" in voices.notes[0]
    assert "\n" not in voices.notes[0]


def test_a_missing_voice_folder_and_no_espeak_is_one_line_each(tmp_path: Path) -> None:
    book = build_book(load_protocol("bedtime"))
    voices = load_voices(book, VoiceSettings(folder=tmp_path / "nowhere", espeak=None))
    # espeak-ng may be installed; a PATH without it is what a bare machine has.
    if shutil.which("espeak-ng") is not None:
        voices = load_voices(
            book, VoiceSettings(folder=tmp_path / "nowhere", espeak=str(tmp_path / "espeak-ng"))
        )
    assert any("does not exist" in n for n in voices.notes)
    none = load_voices(book, VoiceSettings(folder=None, espeak=None, cache_dir=tmp_path))
    if shutil.which("espeak-ng") is None:
        assert len(none.notes) == 1
        assert "apt-get install espeak-ng" in none.notes[0]


def test_without_espeak_the_track_has_tones_and_bells_and_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "track.wav"
    result = _run(
        [
            *("run", "--sim", "--headless", "--speed", "max", "--protocol", "work-reset"),
            *("--audio-out", str(out)),
        ],
        {"PATH": str(empty)},
    )
    assert result.returncode == 0, result.stderr
    lines = _problems(result.stderr)
    assert len(lines) == 1
    assert "no voice" in lines[0]
    assert "espeak-ng" in lines[0]
    assert "reason=completed" in result.stdout
    samples = read_session_wav(out)
    assert np.abs(samples).max() > 0.02
    assert out.stat().st_mode & 0o077 == 0
    # The closing summary measures the track: tones and bells, no speech.
    summary = _summary(result.stderr)
    assert "LUFS" in summary
    assert "tones" in summary
    assert "bells" in summary
    assert "speech" not in summary


def test_audio_off_with_a_track_is_a_bad_command_line(tmp_path: Path) -> None:
    out = tmp_path / "track.wav"
    result = _run(
        [
            *("run", "--sim", "--headless", "--speed", "max", "--protocol", "work-reset"),
            *("--audio", "off", "--audio-out", str(out)),
        ],
        {},
    )
    assert result.returncode == 2
    assert "--audio off makes no sound" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_track_at_full_speed_is_not_told_to_make_a_track(tmp_path: Path) -> None:
    out = tmp_path / "track.wav"
    result = _run(
        [
            *("run", "--sim", "--headless", "--speed", "max", "--protocol", "work-reset"),
            *("--audio", "tones", "--audio-out", str(out)),
        ],
        {},
    )
    assert result.returncode == 0, result.stderr
    assert "makes a track" not in result.stderr
    assert _problems(result.stderr) == []
    assert "speech" not in _summary(result.stderr)


def test_an_unwritable_wav_path_is_a_bad_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "track.wav"
    code = main(["run", "--sim", "--headless", "--speed", "max", "--audio-out", str(target)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot write --audio-out" in err[0]
    # Nothing was recorded: the session never began.
    assert not Path(os.environ["BIOFEEDBACK_DB"]).exists()


def _problems(stderr: str) -> list[str]:
    """Stderr's lines less the closing ones that say where the session and track went."""
    return [
        line
        for line in stderr.strip().splitlines()
        if " saved in " not in line and "audio-out:" not in line
    ]


def _summary(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if "audio-out:" in line)


def test_no_sound_card_is_one_line_and_the_session_goes_on() -> None:
    try:
        Device(Player().render).close()
    except NoDeviceError:
        pass
    else:
        pytest.skip("this machine has a sound output; the no-device path cannot be seen here")
    # Asked for, a missing sound output is one line; not asked for, a piped run says nothing.
    quiet = _run(["run", "--sim", "--headless", "--duration", "2"], {})
    assert quiet.returncode == 0
    assert _problems(quiet.stderr) == []
    result = _run(["run", "--sim", "--headless", "--duration", "2", "--audio", "on"], {})
    assert result.returncode == 0, result.stderr
    lines = _problems(result.stderr)
    assert len(lines) == 1
    assert "no speaker or headphones found" in lines[0]
    assert "failed to init" not in lines[0]
    assert "silently" in lines[0]
    assert "session_ended" in result.stdout


def test_a_bad_audio_table_in_the_config_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[audio]\nvolume = 3\n")
    with pytest.raises(config.ConfigError, match=r"\[audio\] takes"):
        config.load(path)
    path.write_text(
        '[audio]\naudio = "tones"\nvolume = 0.5\nvoice = "en-gb"\nrate = 130\n'
        'tones = false\nvoice_folder = "~/voice"\n'
    )
    audio = config.load(path).audio
    assert (audio.mode, audio.volume, audio.voice, audio.rate, audio.tones) == (
        "tones",
        0.5,
        "en-gb",
        130,
        False,
    )
    assert audio.voice_folder == Path("~/voice").expanduser()


async def test_the_live_sink_plays_a_cue_on_the_null_backend() -> None:
    book = build_book(load_protocol("work-reset"))
    tone = np.sin(np.arange(SAMPLE_RATE_HZ // 4) * 0.1).astype(np.float32)
    step = next(iter(book))
    player = Player(volume=0.5)
    sink = AudioSink(Score(book, {step.text: tone}), player, Device(player.render, backend="null"))
    await sink.start(SessionInfo("s", "work-reset", "sim", 0.0))
    await sink.handle(StepStarted(0.0, "one", StepKind.REST, None, step.text, 30.0))
    # Real time on the null card: wait (10 s at most) until the clip has been played.
    for _ in range(1000):
        if player.position_s() >= 0.3:
            break
        await asyncio.sleep(0.01)
    await sink.stop()
    assert player.position_s() >= 0.3
    stats = sink.device.stats
    assert stats.callbacks > 0
    assert 0.2 < stats.peak <= 0.5
    assert player.toggle_mute()
    assert player.muted
    assert player.change_volume(+2) == 0.7
    assert not player.muted


def test_phrases_lists_one_file_name_per_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["phrases", "--protocol", "full", "--sides"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)) > 50
    assert "full.settle.wav" in names
    assert "session.stop-rules.wav" in names


def test_an_underrun_is_a_block_delivered_after_the_card_played_all_before_it() -> None:
    now_s = 0.0
    render_s = 0.0  # how long making the next block takes, in the device's clock

    def clock() -> float:
        return now_s

    def render(frames: int) -> npt.NDArray[np.float32]:
        nonlocal now_s
        now_s += render_s
        return np.zeros(frames, dtype=np.float32)

    device = Device(render, backend="null", clock=clock)
    # The pull the card's callback drives, driven here block by block (audio/device.py).
    stream = device._pull()  # noqa: SLF001
    next(stream)
    period_s = device.buffer_ms / 1000
    block = round(period_s * SAMPLE_RATE_HZ)
    # Asked for at once (the card fills its buffer): all within the buffer.
    for _ in range(3):
        stream.send(block)
    assert device.stats.underruns == 0
    # Then one a period, each made in 5 ms: the card never runs dry.
    for _ in range(5):
        render_s = 0.005
        stream.send(block)
        now_s += period_s - render_s
    assert device.stats.underruns == 0
    # One block taking far longer than the buffer holds: the card ran dry once,
    # for as long as that block came after its due time.
    due_s = 2 * period_s + 8 * block / SAMPLE_RATE_HZ  # playing began two blocks in
    asked_s = now_s
    render_s = 0.3
    stream.send(block)
    assert device.stats.underruns == 1
    assert device.stats.silent_s == pytest.approx(asked_s + 0.3 - due_s)
    render_s = 0.0
    stream.send(block)
    assert device.stats.underruns == 1
    device.close()
