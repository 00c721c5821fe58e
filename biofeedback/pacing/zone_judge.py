"""The zone judge: whether the body asks for a gentler or a fuller routine.

Pure and clock-free like the controller it serves: ``judge`` takes one
estimate with its time and returns at most one decision (the zone to move to,
the figures that decided it, and one plain sentence). The controller applies
the decision, says it, and tells the judge through ``changed``. The rules are
described in ``rules.py``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from biofeedback.models import ArousalEstimate, Baseline, BaselineHow, Quality, Zone
from biofeedback.models.record import record
from biofeedback.pacing.breath_evidence import BreathEvidence, BreathReading
from biofeedback.pacing.evidence import NoiseLearner, Reading, RiseEvidence
from biofeedback.pacing.rules import PacingConfig
from biofeedback.routines import texts
from biofeedback.signals.breath_estimate import BreathEstimate

# Enum members read on every tick, looked up once: reading one off its class
# costs about 0.1 us in Python 3.11 (as much as a small function call).
_HR_ONLY = Quality.HR_ONLY
_OK = Quality.OK
_GREEN = Zone.GREEN
_RED = Zone.RED


class StoredBaseline(typing.Protocol):
    """A person's resting baseline from earlier sessions, for ``--zone auto``.

    The store's ``RestingBaseline`` fits as it is.
    """

    @property
    def hr_bpm(self) -> float: ...


@record(frozen=True, slots=True)
class Decision:
    """Move to ``to_zone``; ``reason`` carries what was measured, ``plain`` says it
    to the person."""

    to_zone: Zone
    reason: str
    plain: str = ""
    hr_delta_bpm: float | None = None
    evidence: float | None = None
    evidence_needed: float | None = None
    breath: tuple[str, ...] = ()
    """The breath signals that crossed and counted, each in words and figures."""


@record(frozen=True, slots=True)
class Opening:
    """How the opening baseline is used: ``how``, why, and a gentle start if any."""

    how: BaselineHow
    reason: str
    decision: Decision | None

    def event(self, now_s: float, est: ArousalEstimate) -> Baseline:
        return Baseline(
            now_s,
            est.baseline_hr_bpm,
            est.baseline_rmssd_ms,
            est.quality,
            how=self.how,
            rise_bpm=est.baseline_rise_bpm,
            noise_bpm=est.hr_noise_bpm,
            reason=self.reason,
            plain=texts.BASELINE_PLAIN[self.how.value],
        )


@record
class ZoneState:
    """The zone now, since when, the direction of the last change and the fast heart
    rate at the last step-down."""

    zone: Zone
    since_s: float = 0.0
    last_change: int = 0  # +1 after a step down, -1 after a step up, 0 before any
    climb_from_bpm: float | None = None  # fast HR at the last step-down


class ZoneJudge:
    """Step-down and step-up decisions from the estimates."""

    def __init__(self, config: PacingConfig, zone: Zone) -> None:
        self.config = config
        self.state = ZoneState(zone)
        self.evidence = RiseEvidence(config.evidence)
        self._climb = RiseEvidence(
            dataclasses.replace(config.evidence, slack_z=config.evidence.climb_slack_z)
        )
        self._fast_noise = NoiseLearner(config.evidence)
        """The fast heart rate's own swing around the reference, learned while calm."""
        self.reference_hr_bpm: float | None = None
        """What heart rate is judged against: the opening baseline, or the stored
        one when the opening was implausibly high (set by ``opening``)."""
        self._calm_s = 0.0
        self.breath = BreathEvidence(config.breath_evidence)
        """The breath seen on the chest against the person's opening."""
        self._breath_said: tuple[str, ...] = ()
        """What the breath added to the evidence now building up, as last counted."""

    def opening(self, est: ArousalEstimate, stored: StoredBaseline | None, auto: bool) -> Opening:
        """Decide what to judge against once the estimator has a baseline."""
        cfg = self.config
        base = est.baseline_hr_bpm
        assert base is not None
        how = est.baseline_how or BaselineHow.OPENING
        rise = est.baseline_rise_bpm
        rise_text = "" if rise is None else f"; the opening rose {rise:+.1f} bpm"
        green = self.state.zone is Zone.GREEN and self.state.last_change == 0
        over = None if stored is None else base - stored.hr_bpm
        if (
            stored is not None
            and over is not None
            and how is not BaselineHow.GIVEN
            and over >= cfg.auto_yellow_hr_bpm
        ):
            said = (
                f"opening baseline hr {base:.0f} bpm is {over:+.0f} bpm over your"
                f" resting {stored.hr_bpm:.0f} bpm from earlier sessions"
            )
            self.reference_hr_bpm = stored.hr_bpm
            decision = None
            if auto and green:
                decision = Decision(
                    Zone.YELLOW, said, texts.stored_start_plain(over), hr_delta_bpm=over
                )
            return Opening(
                BaselineHow.STORED,
                f"{said}: judged against the stored {stored.hr_bpm:.0f} bpm{rise_text}",
                decision,
            )
        self.reference_hr_bpm = base
        if how is BaselineHow.RISING:
            said = (
                f"the opening kept rising ({rise or 0.0:+.1f} bpm): baseline {base:.0f} bpm"
                " from its lowest stretch, starting gently"
            )
            decision = None
            if green:
                decision = Decision(
                    Zone.YELLOW, said, texts.start_gently_plain(rise or 0.0), hr_delta_bpm=rise
                )
            return Opening(how, said, decision)
        return Opening(how, f"baseline hr {base:.0f} bpm ({how.value}){rise_text}", None)

    def reset(self) -> None:
        """Signal lost or paused: calm must start again (evidence is only frozen)."""
        self._calm_s = 0.0

    def changed(self, now_s: float, to_zone: Zone, hr_bpm: float | None = None) -> None:
        zs = self.state
        zs.last_change = 1 if to_zone.rank > zs.zone.rank else -1
        zs.climb_from_bpm = hr_bpm if zs.last_change > 0 else None
        zs.zone = to_zone
        zs.since_s = now_s
        # After a step-up the slow reference starts where the heart has settled;
        # after a step-down it stays with the baseline (a sustained rise is not
        # absorbed), while the dwell counts only a further climb.
        self.evidence.reset(hr_bpm if zs.last_change < 0 else None)
        self._climb.reset()
        self._calm_s = 0.0
        self._breath_said = ()

    def start(self, now_s: float) -> None:
        """The session starts now: the starting zone is held from here."""
        self.state.since_s = now_s

    def judge(
        self,
        now_s: float,
        est: ArousalEstimate,
        dt: float,
        *,
        signal_ok: bool,
        pressor: float,
        pressor_fast: float,
        paced_breathing: bool = False,
        breath: BreathEstimate | None = None,
        paced: bool = False,
    ) -> Decision | None:
        """One estimate's verdict; ``pressor``: how much of a tense step's pressor
        bump may be in the heart rate now (0-1); ``paced_breathing``: a slow-breath
        step, whose breaths swing the fast heart rate by several bpm (then the
        10 s heart rate, which spans a whole breath, is judged alone); ``breath``:
        the breath estimate of this tick, ``paced``: while a pacer runs.

        A step down (safety first) is judged before a step up, which is only
        considered on a tick that did not step down."""
        # The breath's opening is learned from the start, baseline or not.
        reading = self.breath.update(now_s, breath, paced)
        tick = self._tick(now_s, est, signal_ok, pressor, pressor_fast, paced_breathing)
        if tick is None:
            # A gap freezes the evidence; calm must be seen again.
            self._calm_s = 0.0
            return None
        return self._step_down(tick, est, dt, reading) or self._step_up(tick, est, dt)

    def _tick(
        self,
        now_s: float,
        est: ArousalEstimate,
        signal_ok: bool,
        pressor: float,
        pressor_fast: float,
        paced_breathing: bool,
    ) -> _Tick | None:
        """What both judgements read of this estimate; None when it cannot be judged."""
        cfg = self.config
        arousal = est.arousal
        ref = self.reference_hr_bpm
        if ref is None:
            ref = est.baseline_hr_bpm
        hr = est.hr_10s_bpm
        if hr is None:
            hr = est.hr_bpm
        if arousal is None or not signal_ok or ref is None or hr is None:
            return None
        drop = est.rmssd_drop_z
        tensing = pressor > 0 and (drop is None or drop <= cfg.tense_rmssd_drop_z)
        zs = self.state
        since_s = now_s - zs.since_s
        noise = est.hr_noise_bpm or 3.0
        fast_noise = self._fast_noise.noise_bpm
        quality = est.quality
        if quality is _HR_ONLY:
            noise *= cfg.hr_only_noise_factor
            # What was learned over clean beats understates a run of flagged ones.
            fast_noise *= cfg.hr_only_noise_factor
        return _new_tick(
            (
                arousal,
                hr,
                ref,
                noise,
                tensing,
                since_s,
                zs.last_change != 0 and since_s < cfg.dwell_s,
                pressor * cfg.tense_allowance_bpm / noise if tensing else 0.0,
                pressor_fast * cfg.tense_allowance_bpm if tensing else 0.0,
                drop if quality is _OK else None,
                None if paced_breathing else est.hr_fast_bpm,
                fast_noise,
            )
        )

    def _step_down(
        self, tick: _Tick, est: ArousalEstimate, dt: float, breath: BreathReading
    ) -> Decision | None:
        """Gentler: the heart rate's rise, weighed as evidence, past what is needed
        (more within the dwell after a change, and then only a further climb)."""
        zs = self.state
        hr, ref = tick.hr_bpm, tick.ref_bpm
        ev = self.evidence
        score = breath.score or None
        allowance_z, allowance_fast_bpm = tick.allowance_z, tick.allowance_fast_bpm
        reading = _new_reading(
            (hr, ref, tick.noise_bpm, tick.vagal, tick.fast_bpm, tick.fast_noise_bpm, score)
        )
        ev.update(reading, dt, allowance_z=allowance_z, fast_allowance_bpm=allowance_fast_bpm)
        if ev.last_fast_delta_bpm is not None:
            self._fast_noise.push(ev.last_fast_delta_bpm, dt, usable=allowance_z == 0.0)
        ecfg = ev.config
        level = ev.evidence
        climbing = tick.in_dwell and zs.climb_from_bpm is not None
        if climbing:
            # Within the dwell after a step-down only a further climb, counted from
            # the heart rate at the step-down, may step down again.
            assert zs.climb_from_bpm is not None
            climb = _new_reading(
                (
                    hr,
                    max(ref, zs.climb_from_bpm),
                    tick.noise_bpm,
                    tick.vagal,
                    tick.fast_bpm,
                    tick.fast_noise_bpm,
                    score,
                )
            )
            level = self._climb.update(
                climb, dt, allowance_z=allowance_z, fast_allowance_bpm=allowance_fast_bpm
            )
        # Evidence that piled up earlier does not step down on a tick whose heart
        # rate is no longer up (it fell back, or came back low after a gap).
        judged = self._climb if climbing else ev
        if judged.breath_counted:
            self._breath_said = breath.crossed
        elif judged.evidence <= 0:
            self._breath_said = ()
        # The larger of the two rises (as ``max`` of the known ones picks it).
        up = judged.last_delta_bpm
        fast_up = judged.last_fast_delta_bpm
        if up is None or (fast_up is not None and fast_up > up):
            up = fast_up
        if (
            up is None
            or zs.zone is _RED
            or not up >= ecfg.min_hr_bpm
            or not ((level >= ecfg.needed and not tick.in_dwell) or level >= ecfg.strong)
        ):
            return None
        needed = ecfg.strong if tick.in_dwell else ecfg.needed
        delta = hr - ref
        said = self._breath_said
        reason = step_down_reason(
            judged, hr, ref, level, needed, tick.fast_bpm, tick.fast_noise_bpm, climbing, est
        )
        if said:
            reason += f"; with the breath: {'; '.join(said)}"
        to = zs.zone.lower()
        self._fast_noise.forget_recent()
        return Decision(
            to,
            reason,
            texts.step_down_plain(
                delta,
                to,
                rise_bpm=up,
                rise_s=judged.rising_for_s,
                climbing=climbing,
                min_above_bpm=ecfg.min_hr_bpm,
                breath=said,
            ),
            hr_delta_bpm=delta,
            evidence=level,
            evidence_needed=needed,
            breath=said,
        )

    def _step_up(self, tick: _Tick, est: ArousalEstimate, dt: float) -> Decision | None:
        """Fuller: calm (low arousal, heart rate near the reference, not tensing)
        held long enough, and long enough in this zone."""
        zs = self.state
        if zs.zone is _GREEN:
            # Nothing is fuller, and the calm counted in Green would never be read:
            # the change that leaves Green starts it again from 0 (``changed``).
            return None
        cfg = self.config
        hr_ref = None if est.hr_bpm is None else est.hr_bpm - tick.ref_bpm
        hr_calm = hr_ref is None or hr_ref <= cfg.calm_hr_margin_bpm
        calm = not tick.tensing and tick.arousal < cfg.step_up_below and hr_calm
        rate = cfg.hr_only_calm_rate if est.quality is _HR_ONLY else 1.0
        if calm:
            self._calm_s += dt * rate
        elif not tick.tensing:
            self._calm_s = 0.0
        if (
            not _reached(self._calm_s, cfg.step_up_after_s)
            or tick.since_s < cfg.dwell_s
            or (zs.zone is _RED and tick.since_s < cfg.red_min_s)
        ):
            return None
        to = zs.zone.higher()
        return Decision(
            to,
            f"calm for {self._calm_s:.0f} s: arousal {tick.arousal:.1f} below"
            f" {cfg.step_up_below:.1f} ({measured_text(est)})",
            texts.step_up_plain(to),
            hr_delta_bpm=hr_ref,
        )


class _Tick(NamedTuple):
    """One estimate as both judgements read it (a tuple, as ``Reading`` is: one a tick)."""

    arousal: float
    hr_bpm: float  # the 10 s heart rate when there is one
    ref_bpm: float  # what it is judged against
    noise_bpm: float
    tensing: bool  # a tense step's pressor bump may be in it
    since_s: float  # in this zone
    in_dwell: bool
    allowance_z: float
    allowance_fast_bpm: float
    vagal: float | None
    fast_bpm: float | None
    fast_noise_bpm: float


# The two tuples built every tick, built by ``tuple.__new__`` from all their fields:
# the same tuples, without the NamedTuple's own ``__new__`` (a Python function that
# costs ~0.3 us for 12 fields, ~5 % of a tick).
_new_tick: Callable[[tuple[object, ...]], _Tick] = partial(tuple.__new__, _Tick)
_new_reading: Callable[[tuple[object, ...]], Reading] = partial(tuple.__new__, Reading)


def _reached(held_s: float, needed_s: float) -> bool:
    # Timers add fractions of a second (hr_only_calm_rate): allow for rounding.
    return held_s >= needed_s - 1e-6


def step_down_reason(
    judged: RiseEvidence,
    hr_bpm: float,
    baseline_bpm: float,
    level: float,
    needed: float,
    fast_bpm: float | None,
    fast_noise_bpm: float,
    climbing: bool,
    est: ArousalEstimate,
) -> str:
    """The figures a step-down was decided on, as the evidence used them: its
    own reference (which follows a resting heart's slow drift) and its units."""
    evref = judged.last_reference_bpm if judged.last_reference_bpm is not None else baseline_bpm
    unit = judged.last_unit_bpm if judged.last_unit_bpm is not None else 0.0
    fast_text = (
        ""
        if fast_bpm is None
        else f"; fast heart rate {fast_bpm:.0f} bpm, in units of {fast_noise_bpm:.1f} bpm"
    )
    return (
        f"{'still climbing: ' if climbing else ''}heart rate {hr_bpm:.0f} bpm,"
        f" {hr_bpm - evref:+.0f} bpm over {evref:.0f} (the reference it follows;"
        f" baseline {baseline_bpm:.0f}), rising {judged.rising_for_s:.0f} s:"
        f" evidence {level:.1f} >= {needed:.0f} in units of {unit:.1f} bpm{fast_text}"
        f" ({measured_text(est)})"
    )


def measured_text(est: ArousalEstimate) -> str:
    """The figures of an estimate against the baseline, for a decision's reason."""
    parts = []
    if est.hr_delta_bpm is not None:
        parts.append(f"hr {est.hr_delta_bpm:+.0f} bpm")
    if est.ln_rmssd_delta is not None:
        parts.append(f"ln rmssd {est.ln_rmssd_delta:+.2f}")
    text = ", ".join(parts) + " vs baseline" if parts else "no baseline detail"
    if est.quality is Quality.HR_ONLY:
        text += "; heart rate only"
    return text
