"""The zone judge: whether the body asks for a gentler or a fuller routine.

Pure and clock-free like the controller it serves: ``judge`` takes one
estimate with its time and returns at most one decision (the zone to move to
and the figures that decided it). The controller applies the decision, says
it, and tells the judge through ``changed``.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from biofeedback.models import ArousalEstimate, Quality, Zone
from biofeedback.pacing.rules import PacingConfig


class StoredBaseline(typing.Protocol):
    """A person's resting baseline from earlier sessions, for ``--zone auto``.

    The store's ``RestingBaseline`` fits as it is.
    """

    @property
    def hr_bpm(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """Move to ``to_zone``; ``reason`` carries what was measured."""

    to_zone: Zone
    reason: str


@dataclass
class _Timers:
    """Seconds of sustained state, counted over judged estimates."""

    above_s: float = 0.0
    severe_s: float = 0.0
    calm_s: float = 0.0

    def reset(self) -> None:
        self.above_s = self.severe_s = self.calm_s = 0.0


@dataclass
class ZoneState:
    zone: Zone
    since_s: float = 0.0
    last_change: int = 0  # +1 after a step down, -1 after a step up, 0 before any


class ZoneJudge:
    """Step-down and step-up decisions from the estimates."""

    def __init__(self, config: PacingConfig, zone: Zone) -> None:
        self.config = config
        self.state = ZoneState(zone)
        self._timers = _Timers()

    def reset(self) -> None:
        """Forget sustained periods (signal lost, paused)."""
        self._timers.reset()

    def changed(self, now_s: float, to_zone: Zone) -> None:
        zs = self.state
        zs.last_change = 1 if to_zone.rank > zs.zone.rank else -1
        zs.zone = to_zone
        zs.since_s = now_s
        self._timers.reset()

    def auto_zone(self, baseline_hr_bpm: float, stored: StoredBaseline | None) -> Decision | None:
        """``--zone auto``: an opening baseline well over the stored one starts in Yellow."""
        if stored is None or self.state.last_change != 0:
            return None
        over = baseline_hr_bpm - stored.hr_bpm
        if over < self.config.auto_yellow_hr_bpm or self.state.zone is not Zone.GREEN:
            return None
        return Decision(
            Zone.YELLOW,
            f"opening baseline hr {baseline_hr_bpm:.0f} bpm is {over:+.0f} bpm over your"
            f" resting {stored.hr_bpm:.0f} bpm from earlier sessions",
        )

    def judge(
        self, now_s: float, est: ArousalEstimate, dt: float, *, signal_ok: bool, pressor: bool
    ) -> Decision | None:
        """One estimate's verdict; ``pressor``: a tense step or its recovery is on."""
        cfg = self.config
        timers = self._timers
        arousal = est.arousal
        if arousal is None or not signal_ok:
            timers.reset()
            return None
        drop = est.rmssd_drop_z
        tensing = pressor and (drop is None or drop <= cfg.tense_rmssd_drop_z)
        judged = arousal - cfg.tense_allowance if tensing else arousal

        def count(current: float, yes: bool, rate: float = 1.0) -> float:
            # While tensing, a "no" only holds the timer: the bump is not evidence.
            if yes:
                return current + dt * rate
            return current if tensing else 0.0

        hr = est.hr_delta_bpm
        hr_up = hr is None or hr >= cfg.step_down_hr_bpm
        hr_calm = hr is None or hr <= cfg.calm_hr_margin_bpm
        timers.above_s = count(timers.above_s, hr_up and judged > cfg.step_down_above)
        timers.severe_s = count(timers.severe_s, hr_up and judged > cfg.severe_above)
        calm = not tensing and arousal < cfg.step_up_below and hr_calm
        rate = cfg.hr_only_calm_rate if est.quality is Quality.HR_ONLY else 1.0
        timers.calm_s = count(timers.calm_s, calm, rate)

        zs = self.state
        zone = zs.zone
        since = now_s - zs.since_s
        measured = measured_text(est)
        if zone is not Zone.RED:
            severe = _reached(timers.severe_s, cfg.severe_after_s)
            if severe:
                held = f"above {cfg.severe_above:.1f} for {timers.severe_s:.0f} s"
            else:
                held = f"above {cfg.step_down_above:.1f} for {timers.above_s:.0f} s"
            reason = f"arousal {arousal:.1f} {held} ({measured})"
            sustained = severe or _reached(timers.above_s, cfg.step_down_after_s)
            if sustained and (zs.last_change == 0 or since >= cfg.dwell_s):
                return Decision(zone.lower(), reason)
            # Timers restart at each change, so this is severe_after_s after the last one.
            if severe and zs.last_change > 0:
                return Decision(zone.lower(), f"still climbing: {reason}")
        if (
            zone is not Zone.GREEN
            and _reached(timers.calm_s, cfg.step_up_after_s)
            and since >= cfg.dwell_s
            and (zone is not Zone.RED or since >= cfg.red_min_s)
        ):
            return Decision(
                zone.higher(),
                f"calm for {timers.calm_s:.0f} s: arousal {arousal:.1f} below"
                f" {cfg.step_up_below:.1f} ({measured})",
            )
        return None


def _reached(held_s: float, needed_s: float) -> bool:
    # Timers add fractions of a second (hr_only_calm_rate): allow for rounding.
    return held_s >= needed_s - 1e-6


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
