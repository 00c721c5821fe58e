"""What the controller does with the breath: pure, clock-free, one job each.

- ``BreathWatch.check``: a breath held more than a few seconds in a tense step
  gets one gentle reminder to keep breathing (a ``BreathReminder`` decision with
  its figures, and the same words as ``Advice`` to be spoken and shown); at
  most one a step, and not again for a while.
- meeting a fast breather: a person who keeps breathing far faster than a
  step's pacer (``meet_after_s`` of it) is met near their own rate, and the
  pace glides down breath by breath (``PaceChanged``) to the step's; their
  next paced step starts at their rate straight away, until they are seen
  following a pace again.
- ``breath_signals``: breathing rate, depth and irregularity against the
  person's opening, in plain words and figures, for the decisions that weigh
  arousal (extensions).
"""

from __future__ import annotations

from biofeedback.models import Advice, BreathReminder, PaceChanged, SessionEvent, StepKind
from biofeedback.models.record import record
from biofeedback.routines import texts
from biofeedback.signals.breath_estimate import BreathEstimate, BreathQuality, BreathSource

# Enum members read on every tick with a pacer, looked up once: reading one off
# its class costs ~0.25 us on Python 3.11.
_ACC = BreathSource.ACC
_RR = BreathSource.RR
_BREATH_OK = BreathQuality.OK
_TENSE = StepKind.TENSE


@record(frozen=True, slots=True)
class BreathRules:
    """The thresholds and timings of the breath decisions: reminders during a held
    breath, and fast breathing met where it is."""

    # A hold this long (s) in a tense step is reminded of...
    remind_after_s: float = 2.5
    # ...once a step, and not again sooner than this.
    remind_gap_s: float = 90.0
    # A hold that began this soon before the tense step (a breath drawn at the cue) counts.
    tense_grace_s: float = 2.0
    # Breathing this many times the pacer's rate for this long is met where it is.
    meet_ratio: float = 1.5
    meet_after_s: float = 20.0
    # Breathing within this ratio of the pace for as long is following it.
    follow_ratio: float = 1.25
    # The pace starts this share of their rate, and each breath slows by this
    # share (at least ``glide_min_per_min``) until it reaches the step's.
    meet_share: float = 0.9
    glide_share: float = 0.25
    glide_min_per_min: float = 1.0
    # A rate from the heart's rhythm is trusted to meet someone from this confidence.
    rr_confidence: float = 0.5
    # Against the opening: faster, shallower, more irregular than this is a sign of arousal.
    faster_ratio: float = 1.3
    shallower_ratio: float = 0.75
    irregular_cv: float = 0.35


@record
class _Glide:
    """A pace gliding from the person's breathing down to the step's: the step, the
    in-breath share, the rate now and the rate aimed at, and when the next breath starts."""

    step: str
    in_share: float
    per_min: float
    target_per_min: float
    next_s: float


class BreathWatch:
    """One session's breath decisions."""

    def __init__(self, rules: BreathRules | None = None) -> None:
        self.rules = rules or BreathRules()
        self._reminded_step: str | None = None
        self._reminded_s = -1e9
        self._tense: tuple[str, float, float | None] | None = None  # step, start, end
        self._glide: _Glide | None = None
        self.latest: BreathEstimate | None = None
        # The paced step running (step, in s, out s), and whether it has been met.
        self._paced: tuple[str, float, float] | None = None
        self._met = False
        # Seconds in a row breathing far faster than the pace, or following it.
        self._fast_s = 0.0
        self._follow_s = 0.0
        self._last_s: float | None = None
        # Seen not following a pacer: the next paced step meets them at once.
        self.fast_breather = False

    def step_started(
        self,
        now_s: float,
        step: str,
        kind: StepKind,
        breath_in_s: float | None = None,
        breath_out_s: float | None = None,
    ) -> PaceChanged | None:
        """A step begins; for a paced one, the pace to begin with when it is not the step's."""
        if self._tense is not None and self._tense[2] is None:
            self._tense = (self._tense[0], self._tense[1], now_s)
        if kind is _TENSE:
            self._tense = (step, now_s, None)
        self._glide = None
        self._met = False
        self._fast_s = self._follow_s = 0.0
        self._paced = (step, breath_in_s, breath_out_s) if breath_in_s and breath_out_s else None
        if self._paced is not None and self.fast_breather:
            return self._meet(now_s)
        return None

    def check(self, now_s: float, breath: BreathEstimate) -> list[SessionEvent]:
        """The reminder when a breath is held in a tense step; meeting a fast breather."""
        dt = 0.0 if self._last_s is None else now_s - self._last_s
        # Within [0, 5]: ``min(max(dt, 0.0), 5.0)`` without the two calls (every tick).
        dt = 0.0 if dt < 0.0 else dt
        dt = 5.0 if dt > 5.0 else dt
        self._last_s = now_s
        self.latest = breath
        # Most ticks no tense step's hold and no pacer: nothing to call.
        events = self._remind(now_s, breath) if breath.holding_since_s is not None else []
        if self._paced is not None:
            met = self._watch_pace(now_s, dt, breath)
            if met is not None:
                events.append(met)
        return events

    def _watch_pace(self, now_s: float, dt: float, breath: BreathEstimate) -> PaceChanged | None:
        rules = self.rules
        if self._paced is None:
            return None
        ratio = breath.rate_ratio if self._trusted(breath) else None
        if ratio is None:
            return None
        self._fast_s = self._fast_s + dt if ratio >= rules.meet_ratio else 0.0
        self._follow_s = self._follow_s + dt if ratio <= rules.follow_ratio else 0.0
        if self._follow_s >= rules.meet_after_s:
            self.fast_breather = False
        if self._fast_s >= rules.meet_after_s and not self._met:
            self.fast_breather = True
            return self._meet(now_s)
        return None

    def _trusted(self, b: BreathEstimate) -> bool:
        source = b.source
        if source is _ACC:
            return b.quality is _BREATH_OK and not b.holding
        return source is _RR and b.confidence >= self.rules.rr_confidence

    def _remind(self, now_s: float, breath: BreathEstimate) -> list[SessionEvent]:
        rules = self.rules
        tense = self._tense
        since = breath.holding_since_s
        if tense is None or since is None or breath.hold_s < rules.remind_after_s:
            return []
        step, start, end = tense
        in_tense = since >= start - rules.tense_grace_s and (end is None or since < end)
        if not in_tense or self._reminded_step == step:
            return []
        if now_s - self._reminded_s < rules.remind_gap_s:
            return []
        self._reminded_step = step
        self._reminded_s = now_s
        reason = (
            f"breath held {breath.hold_s:.0f} s since {since:.0f} s in a tense step"
            f" (remind after {rules.remind_after_s:g} s, seen on the chest)"
        )
        return [
            BreathReminder(now_s, step, round(breath.hold_s, 1), reason, texts.KEEP_BREATHING),
            Advice(now_s, texts.KEEP_BREATHING),
        ]

    # ------------------------------------------------------------------
    # Meeting a fast breather

    def _meet(self, now_s: float) -> PaceChanged | None:
        """The pace to breathe with now: near their own rate, when far faster than the step's."""
        rules = self.rules
        b = self.latest
        if self._paced is None or b is None or b.per_min is None or not self._trusted(b):
            return None
        step, breath_in_s, breath_out_s = self._paced
        paced_per_min = 60.0 / (breath_in_s + breath_out_s)
        if b.per_min < rules.meet_ratio * paced_per_min:
            return None
        self._met = True
        start = rules.meet_share * b.per_min
        share = breath_in_s / (breath_in_s + breath_out_s)
        self._glide = _Glide(step, share, start, paced_per_min, now_s + 60.0 / start)
        reason = (
            f"breathing {b.per_min:.1f}/min ({b.source}), {b.per_min / paced_per_min:.1f}x"
            f" the pace of {paced_per_min:.1f}/min: starting at {start:.1f}/min and gliding down"
        )
        return _pace(now_s, step, start, share, reason, texts.MEET_PACE)

    def glide(self, now_s: float) -> PaceChanged | None:
        """The next, slower pace once a breath at this one is done."""
        g = self._glide
        if g is None or now_s < g.next_s:
            return None
        rules = self.rules
        slower = max(g.per_min * rules.glide_share, rules.glide_min_per_min)
        g.per_min = max(g.per_min - slower, g.target_per_min)
        # The new pace starts with an in-breath, now (the last one has just ended).
        start_s = now_s
        g.next_s = start_s + 60.0 / g.per_min
        reached = g.per_min <= g.target_per_min
        if reached:
            self._glide = None
        reason = f"gliding down: {g.per_min:.1f}/min" + (" (the step's pace)" if reached else "")
        return _pace(start_s, g.step, g.per_min, g.in_share, reason)


def _pace(
    t_s: float, step: str, per_min: float, in_share: float, reason: str, plain: str = ""
) -> PaceChanged:
    period = 60.0 / per_min
    return PaceChanged(
        t_s,
        step,
        round(period * in_share, 2),
        round(period * (1.0 - in_share), 2),
        reason,
        plain,
    )


def breath_signals(breath: BreathEstimate | None, rules: BreathRules) -> list[str]:
    """Which breath signals have crossed against the opening, each in words and figures."""
    if breath is None or breath.source is not _ACC:
        return []
    crossed: list[str] = []
    if breath.rate_vs_opening is not None and breath.rate_vs_opening >= rules.faster_ratio:
        crossed.append(
            f"breathing faster ({breath.per_min:.1f}/min,"
            f" {breath.rate_vs_opening:.2f}x the opening)"
        )
    if breath.depth_vs_opening is not None and breath.depth_vs_opening <= rules.shallower_ratio:
        crossed.append(f"breathing shallower ({breath.depth_vs_opening:.2f}x the opening depth)")
    if breath.irregularity is not None and breath.irregularity >= rules.irregular_cv:
        crossed.append(f"breathing irregular (spread {breath.irregularity:.2f} of the breath)")
    return crossed
