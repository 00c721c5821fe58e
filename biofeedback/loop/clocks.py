"""The clocks a session runs on, and the inbox that carries a person's actions.

Only ``session.py`` drives them: a real clock for a strap, a virtual one for the
simulator and replays (scaled, or as fast as the CPU allows).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from typing import Protocol

from biofeedback.models import Action

# --------------------------------------------------------------------------
# Clocks


class Clock(Protocol):
    """Session time in seconds since the session started."""

    virtual: bool

    def now(self) -> float: ...

    async def advance_to(self, t_s: float) -> None:
        """Return once session time has reached ``t_s``."""


class RealClock:
    """Wall time, for live sources."""

    virtual = False

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def restart(self) -> None:
        """Count session time from now (a live session starts with its first heart data)."""
        self._start = time.monotonic()

    async def advance_to(self, t_s: float) -> None:
        delay = t_s - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


# Steps of virtual time (a tick or an item, ~2 a second of session) between two
# passes of the event loop at full speed: ~30 s of session, a few ms of CPU with
# the estimators. Each pass wakes every sink and writes the console's lines, so
# fewer passes of more items cost less (16 -> 64: ~9 % of the loop's own time);
# the smallest sink queue (1,000) holds many passes' items.
MAX_SPEED_YIELD_EVERY = 64


class VirtualClock:
    """Simulated time: ``speed`` times real time, or as fast as possible (None)."""

    virtual = True

    def __init__(self, speed: float | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._t_s = 0.0
        self._steps = 0
        # The monotonic wall time session time 0 stands for (a scaled clock's origin).
        self.wall_start_s = time.monotonic()

    def now(self) -> float:
        return self._t_s

    async def advance_to(self, t_s: float) -> None:
        if t_s < self._t_s:
            return
        if self.speed is None:
            # Let sink tasks and the UI run between steps of virtual time: every
            # few steps, not each (a pass of the event loop per step was a third
            # of a replay's time; sink queues hold far more than a few steps).
            self._steps += 1
            if self._steps >= MAX_SPEED_YIELD_EVERY:
                self._steps = 0
                await asyncio.sleep(0)
        else:
            # Measured from the start, so rounding errors never accumulate.
            due = self.wall_start_s + t_s / self.speed
            delay = due - time.monotonic()
            await asyncio.sleep(max(delay, 0.0))
        self._t_s = t_s


# --------------------------------------------------------------------------
# User actions


class ActionInbox:
    """User actions waiting for the loop: live ones, or scripted at set times."""

    def __init__(self) -> None:
        self._live: deque[Action] = deque()
        self._scripted: list[tuple[float, Action]] = []
        self._arrived = asyncio.Event()

    def put(self, action: Action) -> None:
        self._live.append(action)
        self._arrived.set()

    def schedule(self, t_s: float, action: Action) -> None:
        self._scripted.append((t_s, action))
        self._scripted.sort(key=lambda item: item[0])

    def due(self, now_s: float) -> list[Action]:
        out: list[Action] = []
        while self._scripted and self._scripted[0][0] <= now_s:
            out.append(self._scripted.pop(0)[1])
        out.extend(self._live)
        self._live.clear()
        self._arrived.clear()
        return out

    def any_due(self, now_s: float) -> bool:
        """Whether ``due(now_s)`` would give anything (asked each step of a replay)."""
        return bool(self._live) or (bool(self._scripted) and self._scripted[0][0] <= now_s)

    def next_scripted_s(self) -> float:
        return self._scripted[0][0] if self._scripted else math.inf

    async def wait(self) -> None:
        await self._arrived.wait()
