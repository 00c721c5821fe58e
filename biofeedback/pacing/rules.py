"""The pacing rules and the numbers they use.

The rules, with their numbers in ``PacingConfig``:

- *Extend*: at the planned end of a release or rest, if arousal is still above
  ``extend_above``, extend by ``extend_by_s`` at a time, up to ``extend_cap_s``.
- *Step down* one zone after arousal has stayed above ``step_down_above`` for
  ``step_down_after_s``, or above ``severe_above`` for ``severe_after_s``
  (Green to Yellow: breath-partial; Yellow to Red: passive rest), with heart
  rate at least ``step_down_hr_bpm`` over baseline throughout: RMSSD alone never
  steps down.
- *Step up* one zone after ``step_up_after_s`` of calm: arousal below
  ``step_up_below`` *and* heart rate within ``calm_hr_margin_bpm`` of baseline
  (slow breathing raises RMSSD by itself, which can make a still-fast heart look
  calm in a blended index). Calm on heart rate alone counts at
  ``hr_only_calm_rate``. Never in Red's first ``red_min_s``.
- *No flapping*: at most one zone change per ``dwell_s``. The one exception is a
  continuing climb: after a step-down, arousal above ``severe_above`` for
  ``severe_after_s`` steps down again (a panic reaches Red quickly).
- *Tensing* raises heart rate by itself (the pressor response). During a tense
  step and ``pressor_recovery_s`` into the release after it, arousal is judged
  ``tense_allowance`` lower, and calm/arousal timers neither start nor reset
  from it: sustained arousal is measured over releases and rests, so releases
  are compared with releases. Tensing does not lower RMSSD, so a drop in it
  (``rmssd_drop_z`` above ``tense_rmssd_drop_z``) cancels the allowance.
- *Missing data* (no signal, bad contact, strap gone): the protocol goes on
  un-paced and says so; timers reset, so nothing ever steps up on missing data.
- *Budget*: a session never runs more than ``max_overrun_s`` of active time past
  its plan: after that no extensions, no repeated fallback routines, and the
  next step boundary goes to the closing.
"""

from __future__ import annotations

from dataclasses import dataclass

from biofeedback.models import StepKind


@dataclass(frozen=True, slots=True)
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

    # Extending releases.
    extend_above: float = 1.0
    """At a release's planned end, arousal above this means "not settled yet"."""
    extend_by_s: float = 5.0
    extend_cap_s: float = 20.0
    """Most a single step is ever extended by, in total."""
    extend_kinds: frozenset[StepKind] = frozenset({StepKind.RELEASE, StepKind.REST})

    # Stepping down.
    step_down_above: float = 2.0
    step_down_after_s: float = 10.0
    """How long arousal must stay above ``step_down_above`` (release/rest time)."""
    severe_above: float = 5.0
    """Arousal this high needs less evidence: about +20 bpm, which a resting heart
    never holds and a panic passes within seconds (an anxious spike of +12-15 bpm
    stays below it, and gets the ordinary rule)."""
    severe_after_s: float = 5.0
    step_down_hr_bpm: float = 3.0
    """A step-down also needs heart rate this far over baseline: RMSSD alone moves
    with artifacts and breathing changes, and arousal raises heart rate."""
    """How long severe arousal must last to step down, even again within a dwell period."""

    # Tensing.
    tense_allowance: float = 1.5
    """How much of the arousal index a tense step's own pressor bump may explain."""
    pressor_recovery_s: float = 12.0
    """How long into the following release the bump is still allowed for (the
    estimator's 12 s HR window still holds the tensing beats)."""
    tense_rmssd_drop_z: float = 1.0
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
