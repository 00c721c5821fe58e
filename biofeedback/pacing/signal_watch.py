"""Whether pacing has the heart data it needs: the strap connected and sending.

Pure: the controller tells it of estimates and source status changes, and it
returns the ``SignalLost`` / ``SignalRestored`` events of each transition.
"""

from __future__ import annotations

from dataclasses import dataclass

from biofeedback.models import ArousalEstimate, Quality, SessionEvent, SignalLost, SignalRestored
from biofeedback.pacing import texts


@dataclass
class SignalWatch:
    connected: bool = True
    has_data: bool = True
    last_data_s: float = 0.0
    lost_at_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.connected and self.has_data

    def start(self, now_s: float) -> None:
        """The session starts now: no data is missing before it."""
        self.last_data_s = now_s

    def on_status(self, now_s: float, connected: bool, reason: str) -> list[SessionEvent]:
        was_ok = self.ok
        self.connected = connected
        return self._transition(now_s, was_ok, reason)

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        was_ok = self.ok
        self.has_data = estimate.quality is not Quality.NO_SIGNAL
        if self.has_data:
            reason = "heart data is back"
        else:
            # A clock time on the session clock (2:24), not a duration.
            minutes, seconds = divmod(int(self.last_data_s), 60)
            reason = f"no usable heart data since {minutes}:{seconds:02d} (contact or range)"
        events = self._transition(now_s, was_ok, reason)
        if self.has_data:
            self.last_data_s = now_s
        return events

    def _transition(self, now_s: float, was_ok: bool, reason: str) -> list[SessionEvent]:
        if was_ok and not self.ok:
            self.lost_at_s = now_s
            return [
                SignalLost(
                    now_s, f"{reason}; the session goes on un-paced", texts.SIGNAL_LOST_PLAIN
                )
            ]
        if self.ok and not was_ok:
            gap = now_s - self.lost_at_s
            return [SignalRestored(now_s, f"{reason} after {gap:.0f} s; pacing resumes")]
        return []
