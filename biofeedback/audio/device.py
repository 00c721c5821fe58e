"""The sound card, through miniaudio: the one module that imports an audio library.

miniaudio pulls blocks of frames from a generator on its own thread (a
callback model): each block is rendered from whatever schedule is current at
that moment, so a change made by an event is heard from the next block on.
``backend="null"`` plays into nothing at real-time pace (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import miniaudio
import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ, AudioError

BUFFER_MS = 30
# Real outputs only: miniaudio would otherwise fall back to its null device,
# and a person would hear nothing without being told.
_REAL_BACKENDS = [miniaudio.Backend.PULSEAUDIO, miniaudio.Backend.ALSA, miniaudio.Backend.JACK]

Render = Callable[[int], npt.NDArray[np.float32]]


class NoDeviceError(AudioError):
    """No sound output could be opened."""


@dataclass
class DeviceStats:
    callbacks: int = 0
    frames: int = 0
    underruns: int = 0
    busy_s: float = 0.0
    peak: float = 0.0
    last_callback_s: float = 0.0


class Device:
    """A playback stream that asks ``render(frames)`` for each block it needs."""

    def __init__(self, render: Render, *, backend: str = "auto", buffer_ms: int = BUFFER_MS):
        self.stats = DeviceStats()
        self.buffer_ms = buffer_ms
        self._render = render
        self._lock = threading.Lock()
        backends = [miniaudio.Backend.NULL] if backend == "null" else _REAL_BACKENDS
        try:
            with _quiet_stderr():
                self._device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.FLOAT32,
                    nchannels=1,
                    sample_rate=SAMPLE_RATE_HZ,
                    buffersize_msec=buffer_ms,
                    backends=backends,
                    app_name="biofeedback",
                )
        except miniaudio.MiniaudioError as exc:
            raise NoDeviceError(f"no sound output ({exc.args[0] if exc.args else exc})") from None
        self.backend = str(self._device.backend)
        self._stream: Generator[bytes, int, None] | None = None

    def start(self) -> None:
        stream = self._pull()
        next(stream)
        self._stream = stream
        self._device.start(stream)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._device.close()

    def _pull(self) -> Generator[bytes, int, None]:
        stats = self.stats
        frames = yield b""
        while True:
            began = time.perf_counter()
            if stats.callbacks and began - stats.last_callback_s > 1.5 * self.buffer_ms / 1000:
                # The card asked late or we answered late: a gap was heard.
                stats.underruns += 1
            try:
                block = self._render(frames)
            except Exception:  # a bad block is silence, never a dead stream
                block = np.zeros(frames, dtype=np.float32)
            stats.callbacks += 1
            if len(block):
                stats.peak = max(stats.peak, float(np.abs(block).max()))
            stats.frames += frames
            stats.last_callback_s = began
            stats.busy_s += time.perf_counter() - began
            frames = yield block.astype(np.float32).tobytes()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """ALSA prints a page of C-level complaints when there is no card; we say one line."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
