"""Evidence of a rise in heart rate: a one-sided CUSUM in resting-noise units.

Each second, the fast heart rate's distance above the reference level, in units
of the person's own resting noise (``hr_noise_bpm``, measured over the opening),
less an allowance ``slack_z`` for ordinary wander, is added to the evidence;
the evidence never goes below zero. A strong rise piles it up within seconds,
a small one slowly, and wander within the allowance drains it again. When
HRV is usable, RMSSD falling well below its reference adds a little, but only
while heart rate is also up (RMSSD alone never steps down).

The reference follows the heart slowly (``follow_tau_s``) while there is no
evidence, within ``follow_down_bpm`` below and ``follow_up_bpm`` above the
baseline: a resting heart drifts over minutes, an arousal ramp takes seconds,
and the reference stands still while the evidence grows, so a ramp is never
absorbed into it.

Pure: ``update`` one reading at a time with the seconds since the last one.
A gap (no reading) changes nothing: evidence is frozen, not reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EvidenceConfig:
    slack_z: float = 2.0
    """Rises within this many resting-noise units are wander, not evidence."""
    needed: float = 4.0
    """Evidence (noise units x seconds) that steps down."""
    strong: float = 8.0
    """Evidence this strong steps down even within the dwell after a change."""
    min_hr_bpm: float = 3.0
    """No evidence accrues unless heart rate is at least this far over the reference."""
    rmssd_weight: float = 0.3
    rmssd_from_z: float = 1.0
    rmssd_cap_z: float = 3.0
    follow_tau_s: float = 30.0
    follow_up_tau_s: float = 90.0
    """The reference follows a heart settling lower within ``follow_tau_s`` but
    one creeping higher only within this: a slow climb is not absorbed."""
    follow_down_bpm: float = 3.0
    follow_up_bpm: float = 8.0
    max_step_z: float = 2.0
    """Most one second can add: a single wild reading is not a panic."""
    fast_extra_z: float = 1.5
    """The fast HR counts only above this much more allowance (its breath swing)."""
    power: float = 1.5
    """Above the allowance, evidence grows as the excess to this power: above 1,
    a large rise counts for much more than a middling one held longer."""
    leak_tau_s: float = 30.0
    """Evidence fades with this time constant: what piles up must pile up
    within about this long, so hours of small excursions never add up."""
    noise_floor_bpm: float = 3.0
    """The resting noise measured over one opening minute cannot see a heart's
    slow wander (30 s HR SD 2-3 bpm at rest): never count in smaller units."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One second's input to the evidence."""

    hr_bpm: float
    """Over a window that spans a slow breath (10 s)."""
    baseline_hr_bpm: float
    noise_bpm: float
    rmssd_drop_z: float | None = None
    """RMSSD below its reference in its own units; None without usable HRV."""
    hr_fast_bpm: float | None = None
    """Over a few seconds: quicker, but swings with each breath."""


class RiseEvidence:
    """The evidence that heart rate has risen for real."""

    def __init__(self, config: EvidenceConfig | None = None) -> None:
        self.config = config or EvidenceConfig()
        self.evidence = 0.0
        self.reference_bpm: float | None = None
        self.rising_for_s = 0.0
        self.last_delta_bpm: float | None = None
        self.peak_delta_bpm = 0.0

    def reset(self, reference_bpm: float | None = None) -> None:
        """After a zone change: evidence starts again from nothing, and the slow
        reference from where the heart is now (None: from the baseline)."""
        self.evidence = 0.0
        self.reference_bpm = reference_bpm
        self.rising_for_s = 0.0
        self.peak_delta_bpm = 0.0

    def update(self, reading: Reading, dt_s: float, *, allowance_z: float = 0.0) -> float:
        """Add one reading; ``allowance_z`` excuses a known cause (tensing's pressor
        bump), during which evidence may grow on what exceeds it but never drains."""
        cfg = self.config
        base = reading.baseline_hr_bpm
        ref = self.reference_bpm
        if ref is None or not math.isfinite(ref):
            ref = base
        ref = min(max(ref, base - cfg.follow_down_bpm), base + cfg.follow_up_bpm)
        delta = reading.hr_bpm - ref
        self.last_delta_bpm = delta
        z = delta / max(reading.noise_bpm, cfg.noise_floor_bpm)
        excess = z - cfg.slack_z - allowance_z
        if reading.hr_fast_bpm is not None:
            fast_z = (reading.hr_fast_bpm - ref) / max(reading.noise_bpm, cfg.noise_floor_bpm)
            excess = max(excess, fast_z - cfg.slack_z - cfg.fast_extra_z - allowance_z)
        step = excess**cfg.power if excess > 0 else excess
        drop = reading.rmssd_drop_z
        if drop is not None and delta >= cfg.min_hr_bpm and drop > cfg.rmssd_from_z:
            step += cfg.rmssd_weight * (min(drop, cfg.rmssd_cap_z) - cfg.rmssd_from_z)
        step = min(step, cfg.max_step_z)
        if step > 0 and delta < cfg.min_hr_bpm:
            step = 0.0
        if allowance_z > 0 and step < 0:
            step = 0.0
        kept = math.exp(-dt_s / cfg.leak_tau_s) if cfg.leak_tau_s > 0 else 1.0
        self.evidence = max(self.evidence * kept + step * dt_s, 0.0)
        if self.evidence > 0:
            self.rising_for_s += dt_s
            self.peak_delta_bpm = max(self.peak_delta_bpm, delta)
        else:
            self.rising_for_s = 0.0
            self.peak_delta_bpm = 0.0
            # Follow slow drift only while nothing is building up.
            tau = cfg.follow_up_tau_s if reading.hr_bpm > ref else cfg.follow_tau_s
            w = 1.0 - math.exp(-dt_s / tau) if dt_s > 0 else 0.0
            self.reference_bpm = ref + w * (reading.hr_bpm - ref)
        return self.evidence
