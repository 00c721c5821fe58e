"""A voice folder's recordings: any PCM, any rate, mono or stereo, resampled without
aliasing, set to the voice's loudness; a long one lengthens its step."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.loudness import SPEECH_LUFS, integrated_lufs
from biofeedback.audio.phrases import Phrase
from biofeedback.audio.voice import VoiceSettings, load_voices, read_wav
from biofeedback.audio.wavfile import read_any_wav, to_our_rate
from biofeedback.models import StepKind, StepStarted
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.speaking import SpeechTimes
from biofeedback.routines.protocols import load_protocol


def _wav(
    path: Path,
    samples: np.ndarray,
    rate: int,
    *,
    bits: int,
    floating: bool = False,
    extensible: bool = False,
) -> None:
    """``samples`` (frames x channels, -1..1) as a WAV file written by hand."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    channels = frames.shape[1]
    if floating:
        raw = frames.astype("<f4").tobytes()
    elif bits == 24:
        ints = np.round(frames * (2**23 - 1)).astype("<i4").reshape(-1)
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        dtype = "<i2" if bits == 16 else "<i4"
        raw = np.round(frames * (2 ** (bits - 1) - 1)).astype(dtype).tobytes()
    tag = 3 if floating else 1
    block = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block, block, bits
    )
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + guid_tail
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd-sized: padded
    chunks += b"data" + struct.pack("<I", len(raw)) + raw
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)


def _tone(hz: float, rate: int, seconds: float = 1.0, peak: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return peak * np.sin(2 * np.pi * hz * t)


@pytest.mark.parametrize(
    ("bits", "floating", "extensible"),
    [
        (16, False, False),
        (24, False, False),
        (32, False, False),
        (32, True, False),
        (24, False, True),
        (32, True, True),
    ],
)
def test_any_pcm_is_read_at_its_level(
    tmp_path: Path, bits: int, floating: bool, extensible: bool
) -> None:
    path = tmp_path / "a.wav"
    _wav(path, _tone(440.0, 44100), 44100, bits=bits, floating=floating, extensible=extensible)
    samples = read_wav(path)
    assert len(samples) == pytest.approx(SAMPLE_RATE_HZ, abs=200)
    assert float(np.abs(samples).max()) == pytest.approx(0.5, abs=0.01)
    # Still 440 Hz: the rate was read and converted.
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE_HZ)[spectrum.argmax()] == pytest.approx(
        440.0, abs=2.0
    )


def test_48_khz_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    left, right = _tone(300.0, 48000, peak=0.4), _tone(300.0, 48000, peak=0.2)
    path = tmp_path / "s.wav"
    _wav(path, np.stack([left, right], axis=1), 48000, bits=16)
    samples = read_wav(path)
    assert len(samples) == pytest.approx(SAMPLE_RATE_HZ, abs=200)
    assert float(np.abs(samples).max()) == pytest.approx(0.3, abs=0.01)


def test_a_15_khz_tone_at_48_khz_is_60_db_down_at_our_rate(tmp_path: Path) -> None:
    # Above our Nyquist (11,025 Hz): without a filter it folds to 7,050 Hz.
    path = tmp_path / "high.wav"
    _wav(path, _tone(15000.0, 48000, seconds=2.0), 48000, bits=32, floating=True)
    reference = tmp_path / "mid.wav"
    _wav(reference, _tone(1000.0, 48000, seconds=2.0), 48000, bits=32, floating=True)
    # Measured before trimming (read_wav would trim what is left to nothing).
    high = to_our_rate(*read_any_wav(path))
    mid = to_our_rate(*read_any_wav(reference))
    level_db = 20 * np.log10(np.sqrt(np.mean(high[2000:-2000] ** 2)) / np.sqrt(np.mean(mid**2)))
    assert level_db <= -60.0


def test_a_broken_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "b.wav"
    _wav(path, _tone(440.0, 8000), 8000, bits=16)
    data = bytearray(path.read_bytes())
    data[20:22] = struct.pack("<H", 85)  # MP3 inside a WAV
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="save as 16, 24 or 32-bit PCM"):
        read_wav(path)
    path.write_bytes(b"not a wav at all")
    with pytest.raises(ValueError, match="not a WAV"):
        read_wav(path)


def test_recordings_are_set_to_the_voice_loudness(tmp_path: Path) -> None:
    loud, quiet = Phrase("a", "Loud one."), Phrase("b", "Quiet one.")
    _wav(tmp_path / "a.wav", _tone(300.0, 44100, peak=0.9), 44100, bits=24)
    _wav(tmp_path / "b.wav", _tone(300.0, 16000, peak=0.02), 16000, bits=16)
    voices = load_voices([loud, quiet], VoiceSettings(folder=tmp_path, espeak="/nonexistent"))
    assert voices.from_folder == 2
    for clip in voices.clips.values():
        assert integrated_lufs(clip) == pytest.approx(SPEECH_LUFS, abs=0.5)


def test_a_recording_longer_than_its_step_lengthens_the_step() -> None:
    routine = load_protocol("work-reset")
    first = PacingController(routine).start(0.0)
    settle = next(e for e in first if isinstance(e, StepStarted))
    long_s = settle.planned_s + 12.0
    speech = SpeechTimes({settle.cue: long_s}, gap_s=0.4)
    started = next(
        e for e in PacingController(routine, speech=speech).start(0.0) if isinstance(e, StepStarted)
    )
    # Not cut: the step runs until the recording is over, and a little after.
    assert started.planned_s == pytest.approx(long_s + 0.4)
    tense = StepKind.TENSE
    # A tense step's seconds follow its cue.
    assert speech.step_s(5.0, tense, settle.cue) == pytest.approx(long_s + 5.0)
