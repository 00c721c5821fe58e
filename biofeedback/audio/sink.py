"""The live audio sink: hears the session's events and plays their sound now.

It only listens: events come in through its queue like any sink's, and it
never calls back into the controller. The ``Player`` maps session time onto the
sound card's frames (anchored on the first event and kept within a block and a
half after); an event that reaches it after its moment has been rendered is
placed at the first frame not yet rendered, so its sound is late by at most a
block, never clipped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from dataclasses import field

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.device import Device
from biofeedback.audio.mixer import render
from biofeedback.audio.score import Schedule, Score
from biofeedback.loop.progress import Snapshot
from biofeedback.models import HeartSample, SessionEvent, SessionInfo
from biofeedback.models.record import record

# Session time and the card's frames may part by this much before re-anchoring:
# a block and a half. Between two blocks they part by up to one block; more
# means the card ran ahead (it fills its buffer at the start) or fell behind.
DRIFT_S = 0.045
# The last bell is let ring this long at most once the session has ended.
TAIL_MAX_S = 4.0
VOLUME_STEP = 0.1


class Player:
    """Renders the current schedule for the card, at the set volume; also the mute
    and volume the dashboard's keys change."""

    def __init__(self, volume: float = 0.8) -> None:
        self.schedule = Schedule()
        self.volume = min(max(volume, 0.0), 1.0)
        self.muted = False
        self._lock = threading.Lock()
        self._device_frame = 0
        self._offset = 0
        self._anchored = False

    # -- the card's thread

    def render(self, frames: int) -> npt.NDArray[np.float32]:
        with self._lock:
            start = self._device_frame - self._offset
            self._device_frame += frames
            anchored = self._anchored
        if not anchored:
            return np.zeros(frames, dtype=np.float32)
        block = render(self.schedule, start, frames)
        return block * (0.0 if self.muted else self.volume)

    # -- the session's thread

    def place(self, t_s: float) -> float:
        """When something due at session time ``t_s`` can still be heard from the start."""
        with self._lock:
            if not self._anchored:
                self._anchor(t_s)
            pos_s = (self._device_frame - self._offset) / SAMPLE_RATE_HZ
            if abs(pos_s - t_s) > DRIFT_S:
                self._anchor(t_s)
                pos_s = t_s
        return max(t_s, pos_s)

    def position_s(self) -> float:
        with self._lock:
            return (self._device_frame - self._offset) / SAMPLE_RATE_HZ

    def _anchor(self, t_s: float) -> None:
        self._offset = self._device_frame - round(t_s * SAMPLE_RATE_HZ)
        self._anchored = True

    # -- what the dashboard's keys do

    def toggle_mute(self) -> bool:
        """Mute or unmute; True when now muted."""
        self.muted = not self.muted
        return self.muted

    def change_volume(self, steps: int) -> float:
        """Louder (+) or softer (-) by ``steps`` tenths; the new volume, 0..1."""
        self.volume = round(min(max(self.volume + steps * VOLUME_STEP, 0.0), 1.0), 2)
        self.muted = False
        return self.volume


@record
class Lateness:
    """How late each event's sound was placed after the event (seconds), by event type."""

    by_type: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, late_s: float) -> None:
        self.by_type.setdefault(kind, []).append(late_s)


class AudioSink:
    """Plays the session's score live on ``device``."""

    name = "audio"
    queue_size = 10_000

    def __init__(self, score: Score, player: Player, device: Device) -> None:
        self.score = score
        self.player = player
        self.device = device
        self.lateness = Lateness()

    async def start(self, info: SessionInfo) -> None:
        self.device.start()

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, HeartSample):
            return
        await self.handle_progress(item, None)

    async def handle_progress(self, item: SessionEvent, snapshot: Snapshot | None) -> None:
        """An event with where the session stood after it (the loop's fold): the
        score counts steps, pauses and extensions as the session does, whatever
        was dropped before it. Its sound is placed when it can still be heard."""
        at_s = self.player.place(item.t)
        event = dataclasses.replace(item, t=at_s) if at_s != item.t else item
        if self.score.hear(event, snapshot):
            self.player.schedule = self.score.schedule()
            self.lateness.add(item.type, at_s - item.t)

    async def stop(self) -> None:
        try:
            tail_s = max((c.end_s for c in self.score.schedule().clips), default=0.0)
            waited = 0.0
            # Let the last bell ring out rather than cut it.
            while self.player.position_s() < tail_s and waited < TAIL_MAX_S:
                await asyncio.sleep(0.05)
                waited += 0.05
        finally:
            self.device.close()
