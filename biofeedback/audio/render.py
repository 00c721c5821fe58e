"""A whole session's sound, written to a WAV file in session time.

Works at any ``--speed`` (``max`` too): frame ``n`` of the file is session
time ``n / 22050`` s, so a guided track can be made from any protocol in
seconds, and a test can check every sound against its event's time.
"""

from __future__ import annotations

import math
import os
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ, AudioOutError
from biofeedback.audio.loudness import LoudnessMeter
from biofeedback.audio.mixer import STEMS, mix, render_stems
from biofeedback.audio.score import Score
from biofeedback.loop.progress import Snapshot
from biofeedback.models import HeartSample, SessionEvent, SessionInfo

# What an event can still change lies at most this far before it (a cut's
# fade, tones giving way ahead of speech); everything earlier is final.
_SETTLED_S = 0.5
_BLOCK_FRAMES = SAMPLE_RATE_HZ * 4


def check_wav_path(path: Path) -> None:
    """Refuse, before a session begins, a path ``open_wav`` could not write."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.suffix.lower() != ".wav" and not path.is_char_device():
        # Only WAV is written: sound under another name would mislead every player.
        raise AudioOutError(f"--audio-out writes a WAV sound file; name the file {path.stem}.wav")
    why = None
    if path.is_dir():
        why = "it is a folder"
    elif not folder.is_dir():
        # The rule of every output path: its folder must exist (exports, --ics too).
        raise AudioOutError(
            f"cannot write --audio-out {path}: there is no folder {folder}; create it first"
        )
    elif not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        why = "permission denied"
    if why is not None:
        raise AudioOutError(f"cannot write --audio-out {path}: {why}; choose a writable path")


def open_wav(path: Path) -> wave.Wave_write:
    """``path`` opened for a mono 16-bit WAV (0600), or one line saying why not."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise AudioOutError(
            f"cannot write --audio-out {path}: {exc.strerror or exc}; choose a writable path"
        ) from None
    fh: BinaryIO = os.fdopen(fd, "wb")
    out = wave.open(fh, "wb")  # noqa: SIM115 (closed by WavSink.stop)
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(SAMPLE_RATE_HZ)
    return out


class WavSink:
    """A session sink that writes the score's sound to a WAV file as events arrive."""

    name = "audio-out"
    # Every event counts: a dropped one would be a missing cue in the track.
    queue_size = 1_000_000

    def __init__(self, path: Path, score: Score) -> None:
        self.path = path
        self.score = score
        self._wav: wave.Wave_write | None = open_wav(path)
        self.frames = 0
        # The track's loudness, and each source's apart, measured as it is written.
        self.meters = {name: LoudnessMeter() for name in STEMS}

    def loudness_lufs(self) -> dict[str, float]:
        """Integrated loudness of the track and of its speech, tones and bells."""
        parts = {name: meter.integrated_lufs() for name, meter in self.meters.items()}
        return {"track": LoudnessMeter.of_sum(list(self.meters.values())), **parts}

    def report_line(self) -> str:
        """One line for the end of the session: where the track is and how loud."""
        parts = [
            f"{name} {lufs:.1f} LUFS"
            for name, lufs in self.loudness_lufs().items()
            if name != "track" and lufs > -math.inf
        ]
        track = self.loudness_lufs()["track"]
        level = f"{track:.1f} LUFS" if track > -math.inf else "silent"
        detail = f" ({', '.join(parts)})" if parts else ""
        return (
            f"audio-out: {self.frames / SAMPLE_RATE_HZ / 60:.1f} min track in {self.path},"
            f" {level}{detail}"
        )

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, HeartSample):
            return
        await self.handle_progress(item, None)

    async def handle_progress(self, event: SessionEvent, snapshot: Snapshot | None) -> None:
        """An event with where the session stood after it (the loop's fold)."""
        self.score.hear(event, snapshot)
        self._render_until(event.t - _SETTLED_S)

    async def stop(self) -> None:
        if self._wav is None:
            return
        schedule = self.score.schedule()
        tail = max((c.end_s for c in schedule.clips), default=0.0)
        self._render_until(tail + 0.1)
        self._wav.close()
        self._wav = None

    def _render_until(self, t_s: float) -> None:
        assert self._wav is not None
        target = int(t_s * SAMPLE_RATE_HZ)
        schedule = self.score.schedule()
        while self.frames < target:
            n = min(_BLOCK_FRAMES, target - self.frames)
            stems = render_stems(schedule, self.frames, n)
            for name, part in stems.items():
                self.meters[name].add(part)
            block = mix(stems)
            self._wav.writeframes((block * 32767.0).astype("<i2").tobytes())
            self.frames += n


def read_session_wav(path: Path) -> npt.NDArray[np.float32]:
    """A WAV written here, as float samples (for tests and benchmarks)."""
    with wave.open(str(path), "rb") as wav:
        raw = wav.readframes(wav.getnframes())
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32767.0
