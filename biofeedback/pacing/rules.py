"""The pacing rules and the numbers they use.

The rules, with their numbers in ``PacingConfig``:

- *Extend*: at the planned end of a release or rest, if arousal is still above
  ``extend_above`` and heart rate at least ``extend_hr_bpm`` over baseline
  (RMSSD alone moves with breathing), extend by ``extend_by_s`` at a time, up
  to ``extend_cap_s``.
- *Step down* one zone (Green to Yellow: breath-partial; Yellow to Red: passive
  rest) when the evidence of a rise (``evidence.py``: a one-sided CUSUM of the
  10 s and the fast heart rate over a slowly following reference, each in the
  person's own noise units) reaches ``evidence.needed``. A strong rise gets
  there in seconds, wander within the allowance never does; RMSSD alone never
  steps down. Missing data freezes the evidence (a gap is not calm). During
  slow paced breaths only the 10 s heart rate is judged (the breath swings the
  fast one by several beats).
- *Step up* one zone after ``step_up_after_s`` of calm: arousal below
  ``step_up_below`` *and* heart rate within ``calm_hr_margin_bpm`` of the
  reference (slow breathing raises RMSSD by itself, which can make a still-fast
  heart look calm in a blended index). Calm on heart rate alone counts at
  ``hr_only_calm_rate``. Never in Red's first ``red_min_s``.
- *No flapping*: at most one zone change per ``dwell_s``, unless the evidence
  is strong (``evidence.strong``): a new surge after a step-up is not hidden by
  the dwell, and after a step-down a continuing climb (counted from the heart
  rate at the step-down) steps down again, so a panic reaches Red quickly.
- *Tensing* raises heart rate by itself (the pressor response). During a tense
  step and ``pressor_recovery_s`` into the release after it (the fast heart
  rate: ``pressor_fast_hold_s``, then fading with ``pressor_fast_tau_s``), the
  evidence allows ``tense_allowance_bpm`` more and does not drain, and calm timers
  neither start nor reset: releases are compared with releases. Tensing does
  not lower RMSSD, so a drop in it (``rmssd_drop_z`` above
  ``tense_rmssd_drop_z``) cancels the allowance.
- *Baseline*: an opening that is implausibly high against the stored resting
  heart rate (``auto_yellow_hr_bpm`` over it) is judged against the stored one;
  an opening that kept rising starts gently (Yellow) against its lowest stretch.
- *Missing data* (no signal, bad contact, strap gone): the protocol goes on
  un-paced and says so; timers reset, so nothing ever steps up on missing data.
- *Budget*: a session never runs more than ``max_overrun_s`` of active time past
  its plan: after that no extensions, no repeated fallback routines, and the
  next step boundary goes to the closing.
"""

from __future__ import annotations

import math
from dataclasses import field

from biofeedback.models import StepKind
from biofeedback.models.record import record
from biofeedback.pacing.breath_evidence import BreathEvidenceConfig
from biofeedback.pacing.evidence import EvidenceConfig


@record(frozen=True, slots=True)
class PacingConfig:
    """Every number the pacing rules use.

    Arousal thresholds are in the units of ``ArousalEstimate.arousal``: the
    person's own natural variation around their baseline (0 = at baseline,
    1 = one typical resting swing), so they mean the same for everyone.
    """

    # Session frame.
    settle_s: float = 60.0
    """Opening slow breaths; the estimator's baseline takes about this long."""
    settle_max_s: float = 120.0
    """The settle is extended until a baseline exists, but never beyond this."""
    breath_in_s: float = 4.0
    breath_out_s: float = 6.0
    closing_scan_s: float = 45.0
    check_in_s: float = 20.0
    """After "it hurts": a still moment before anything else is asked of the body."""

    # Signal.
    signal_loss_hold_s: float = 5.0
    """A loss of heart data is announced once it has lasted this long: optical
    sensors drop a beat or two all the time, and each announcement is a sign
    tone and a line in an eyes-closed session."""
    signal_return_hold_s: float = 5.0
    """...and its return once the data has been back this long."""

    # Extending releases.
    extend_above: float = 1.0
    """At a release's planned end, arousal above this means "not settled yet"."""
    extend_by_s: float = 5.0
    extend_cap_s: float = 20.0
    """Most a single step is ever extended by, in total."""
    extend_kinds: frozenset[StepKind] = frozenset({StepKind.RELEASE, StepKind.REST})

    extend_hr_bpm: float = 2.0
    """...and heart rate at least this far over baseline: a calm heart with only
    RMSSD lower (breathing, posture) is settled enough."""

    # Stepping down.
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    breath_evidence: BreathEvidenceConfig = field(default_factory=BreathEvidenceConfig)
    """The breath seen on the chest against its opening, which joins ``evidence``
    while heart rate is up (``breath_evidence.py``)."""
    step_down_above: float = 2.0
    """The arousal index level reports and benchmarks compare with (about +8 bpm);
    stepping down itself is decided on ``evidence``."""

    hr_only_noise_factor: float = 2.0
    """On heart rate alone (frequent artifacts or ectopy) the heart rate itself
    is rougher: the evidence is counted in units this much larger."""

    # Tensing.
    tense_allowance_bpm: float = 5.0
    """How much of a rise a tense step's own pressor bump may explain."""
    pressor_hold_s: float = 4.0
    pressor_recovery_s: float = 12.0
    """The bump is allowed for in full ``pressor_hold_s`` into the following
    release, then less and less until ``pressor_recovery_s`` (the heart settles
    and the estimator's windows let go of the tensing beats)."""
    pressor_fast_hold_s: float = 2.0
    pressor_fast_tau_s: float = 6.0
    """The fast (5 s) heart rate lets go of the tensing beats sooner: its share
    of the bump is whole for ``pressor_fast_hold_s`` after the tense step, then
    fades as the heart does (a pressor bump decays with a time constant of
    about 6 s)."""
    tense_rmssd_drop_z: float = 2.0
    """Tensing leaves RMSSD flat or higher: a drop beyond this while tensing is
    arousal, and no allowance is made."""

    # Stepping up.
    step_up_below: float = 0.5
    calm_hr_margin_bpm: float = 3.0
    step_up_after_s: float = 60.0
    hr_only_calm_rate: float = 2.0 / 3.0
    """Calm judged on heart rate alone is less evidence: it counts this fast
    (so stepping up takes 90 s instead of 60)."""
    dwell_s: float = 60.0
    """At most one zone change per dwell period (except a continuing climb)."""
    red_min_s: float = 120.0
    """Red is never left in its first two minutes."""

    # Budget.
    max_overrun_s: float = 300.0
    """Most active time a session may run past its plan before it closes."""

    # --zone auto: an opening baseline this far above the stored resting
    # heart rate starts the session in Yellow (day-to-day resting HR varies by
    # a few bpm; 10 is clearly more than that).
    auto_yellow_hr_bpm: float = 10.0

    max_tick_s: float = 2.0
    """Longest gap between two estimates counted towards a sustained period."""


def pressor_share(config: PacingConfig, tensing: bool, since_tense_s: float | None) -> float:
    """How much of tensing's pressor bump may still be in the heart rate (0-1): all
    of it while tensing and for ``pressor_hold_s`` after, then fading to none at
    ``pressor_recovery_s`` into the release. ``since_tense_s``: since the last
    tense step ended (None: none yet)."""
    if tensing:
        return 1.0
    if since_tense_s is None:
        return 0.0
    if since_tense_s < config.pressor_hold_s:
        return 1.0
    fade = config.pressor_recovery_s - config.pressor_hold_s
    return max(1.0 - (since_tense_s - config.pressor_hold_s) / fade, 0.0) if fade > 0 else 0.0


def pressor_share_fast(config: PacingConfig, tensing: bool, since_tense_s: float | None) -> float:
    """As ``pressor_share``, for the fast heart rate: it carries the bump for less long."""
    if tensing:
        return 1.0
    if since_tense_s is None:
        return 0.0
    if since_tense_s < config.pressor_fast_hold_s:
        return 1.0
    gone = math.exp(-(since_tense_s - config.pressor_fast_hold_s) / config.pressor_fast_tau_s)
    return gone if gone > 0.05 else 0.0


class PressorFade:
    """``pressor_share`` and ``pressor_share_fast`` of the last tense step as the
    session goes on. Both only fall as the time since the step grows, so once
    both are seen at 0 they stay 0 until the next tense step ends: most ticks
    read that without working the two out again (a day-long routine asks every
    second)."""

    def __init__(self, config: PacingConfig) -> None:
        self.config = config
        self.tense_end_s: float | None = None
        # From this time on both shares are 0: -inf before any tense step, NaN
        # (no time is past it) from one's end until both are seen at 0.
        self._gone_s = -math.inf

    def tense_ended(self, now_s: float) -> None:
        self.tense_end_s = now_s
        self._gone_s = math.nan

    def shares(self, now_s: float, tensing: bool) -> tuple[float, float]:
        """The two shares at ``now_s``, while a tense step runs or not."""
        if not tensing and now_s >= self._gone_s:
            return 0.0, 0.0
        cfg = self.config
        end = self.tense_end_s
        since = None if end is None else now_s - end
        shares = pressor_share(cfg, tensing, since), pressor_share_fast(cfg, tensing, since)
        # (With a negative time constant the fast share would grow again: never skipped.)
        if shares == (0.0, 0.0) and since is not None and cfg.pressor_fast_tau_s > 0:
            self._gone_s = now_s
        return shares
