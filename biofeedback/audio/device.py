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

import miniaudio
import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ, AudioError
from biofeedback.models.record import record

BUFFER_MS = 30
# Blocks the card holds (miniaudio's default): one playing, the others ready.
PERIODS = 3
# Real outputs only: miniaudio would otherwise fall back to its null device,
# and a person would hear nothing without being told.
_REAL_BACKENDS = [miniaudio.Backend.PULSEAUDIO, miniaudio.Backend.ALSA, miniaudio.Backend.JACK]

Render = Callable[[int], npt.NDArray[np.float32]]


class NoDeviceError(AudioError):
    """No sound output could be opened."""


@record
class DeviceStats:
    """What the card asked for and how promptly it got it.

    A card holds ``PERIODS`` blocks: while it plays one, the others wait, so a
    block answered late is only heard as a gap (an underrun) when it comes after
    the blocks before it have all been played. ``underruns`` counts those, from
    the times the blocks were asked for and delivered, as a card playing at
    exactly the sample rate would hear them; ``late`` counts the blocks asked for
    more than half a block after due (jitter that the buffer absorbed, or not).
    """

    callbacks: int = 0
    frames: int = 0
    underruns: int = 0
    late: int = 0
    silent_s: float = 0.0  # the gaps heard, in all
    max_gap_s: float = 0.0  # longest time between two blocks asked for
    busy_s: float = 0.0
    max_busy_s: float = 0.0
    peak: float = 0.0
    last_callback_s: float = 0.0
    # When the card starts playing the stream's first frame (moved on by a gap).
    play_start_s: float = 0.0


class Device:
    """A playback stream that asks ``render(frames)`` for each block it needs."""

    def __init__(
        self,
        render: Render,
        *,
        backend: str = "auto",
        buffer_ms: int = BUFFER_MS,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.stats = DeviceStats()
        self._clock = clock  # what the underrun count is timed by
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
                    callback_periods=PERIODS,
                    backends=backends,
                    app_name="biofeedback",
                )
        except miniaudio.MiniaudioError:
            # miniaudio's own words ("failed to init device") tell a person nothing.
            raise NoDeviceError("no speaker or headphones found") from None
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
        period_s = self.buffer_ms / 1000
        frames = yield b""
        while True:
            began = self._clock()
            if stats.callbacks == 0:
                # The buffer is filled first; playing begins a buffer after the ask.
                stats.play_start_s = began + (PERIODS - 1) * period_s
            else:
                gap_s = began - stats.last_callback_s
                stats.max_gap_s = max(stats.max_gap_s, gap_s)
                if gap_s > 1.5 * period_s:
                    stats.late += 1
            try:
                block = self._render(frames)
            except Exception:  # a bad block is silence, never a dead stream
                block = np.zeros(frames, dtype=np.float32)
            data = block.astype(np.float32, copy=False).tobytes()
            done = self._clock()
            # This block's first frame is due when the frames before it have played.
            due_s = stats.play_start_s + stats.frames / SAMPLE_RATE_HZ
            if done > due_s:
                # The card ran dry and played silence until now.
                stats.underruns += 1
                stats.silent_s += done - due_s
                stats.play_start_s += done - due_s
            stats.callbacks += 1
            if len(block):
                stats.peak = max(stats.peak, float(np.abs(block).max()))
            stats.frames += frames
            stats.last_callback_s = began
            stats.busy_s += done - began
            stats.max_busy_s = max(stats.max_busy_s, done - began)
            frames = yield data


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
