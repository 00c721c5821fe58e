"""A pacing controller that says, as the session opens, what practice changed and why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from biofeedback.models import Advice, SessionEvent
from biofeedback.pacing.controller import PacingController


class NotedController(PacingController):
    """``PacingController`` whose opening events carry ``notes`` as advice.

    The notes are recorded with the session and shown like any advice, so the
    record says why this session was gentler (or fuller) than the routine file.
    """

    def __init__(self, *args: Any, notes: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes = tuple(n for n in notes if n)

    def start(self, now_s: float) -> list[SessionEvent]:
        events = super().start(now_s)
        return [*(Advice(now_s, note) for note in self.notes), *events]
