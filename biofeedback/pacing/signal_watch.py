"""Whether pacing has the heart data it needs: the strap connected and sending.

Pure: the controller tells it of estimates and source status changes, and it
returns the ``SignalLost`` / ``SignalRestored`` events of each transition.

Optical sensors drop beats for a second or two all the time; announcing each
drop (a sign tone, a line) would interrupt an eyes-closed session about once a
minute. A loss is announced only once the data has been missing for
``loss_hold_s``, and a return only once it has been back for ``return_hold_s``
(``PacingConfig.signal_loss_hold_s`` and ``signal_return_hold_s``);
shorter gaps are counted (``brief_gaps``), and the review shows them from the
estimates.
"""

from __future__ import annotations

from dataclasses import field

from biofeedback.models import ArousalEstimate, Quality, SessionEvent, SignalLost, SignalRestored
from biofeedback.models.record import record
from biofeedback.routines import texts

LOSS_HOLD_S = 5.0
RETURN_HOLD_S = 5.0
# Read on every tick, looked up once: an Enum member off its class costs ~0.1 us.
_NO_SIGNAL = Quality.NO_SIGNAL


@record
class SignalWatch:
    """Whether heart data is arriving, since when it stopped, and the holds that decide
    when a loss or a return is announced."""

    connected: bool = True
    has_data: bool = True
    last_data_s: float = 0.0
    # When the data last stopped (the start of the gap a return reports).
    lost_at_s: float = 0.0
    loss_hold_s: float = LOSS_HOLD_S
    return_hold_s: float = RETURN_HOLD_S
    # Gaps that ended before they were announced.
    brief_gaps: int = 0
    _announced_ok: bool = field(default=True, init=False)
    _raw_ok: bool = field(default=True, init=False)
    _raw_since_s: float = field(default=0.0, init=False)
    _loss_reason: str = field(default="", init=False)

    @property
    def ok(self) -> bool:
        """As announced: pacing goes on until a loss is announced, and resumes with its return."""
        return self._announced_ok

    @property
    def data_ok(self) -> bool:
        """As it is now, announced or not: what judging a zone may rely on."""
        return self._raw_ok

    def start(self, now_s: float) -> None:
        """The session starts now: no data is missing before it."""
        self.last_data_s = now_s

    def on_status(self, now_s: float, connected: bool, reason: str) -> list[SessionEvent]:
        self.connected = connected
        return self._update(now_s, reason)

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        self.has_data = estimate.quality is not _NO_SIGNAL
        if self.has_data and self.connected and self._raw_ok and self._announced_ok:
            # Nearly every tick: data, as before, and nothing to announce.
            self.last_data_s = now_s
            return []
        if self.has_data:
            reason = "heart data is back"
        else:
            # A clock time on the session clock (2:24), not a duration.
            minutes, seconds = divmod(int(self.last_data_s), 60)
            reason = f"no usable heart data since {minutes}:{seconds:02d} (contact or range)"
        events = self._update(now_s, reason)
        if self.has_data:
            self.last_data_s = now_s
        return events

    def _update(self, now_s: float, reason: str) -> list[SessionEvent]:
        raw_ok = self.connected and self.has_data
        if raw_ok != self._raw_ok:
            self._raw_ok, self._raw_since_s = raw_ok, now_s
            if not raw_ok:
                self.lost_at_s, self._loss_reason = now_s, reason
            elif self._announced_ok:
                self.brief_gaps += 1
        held_s = now_s - self._raw_since_s
        if self._announced_ok and not raw_ok and held_s >= self.loss_hold_s:
            self._announced_ok = False
            return [
                SignalLost(
                    now_s,
                    f"{self._loss_reason}; the session goes on un-paced",
                    texts.SIGNAL_LOST_PLAIN,
                )
            ]
        if not self._announced_ok and raw_ok and held_s >= self.return_hold_s:
            self._announced_ok = True
            gap = self._raw_since_s - self.lost_at_s
            return [SignalRestored(now_s, f"{reason} after {gap:.0f} s; pacing resumes")]
        return []
