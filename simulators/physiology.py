"""A beat-by-beat heart model that hears the session's cues.

Heart period = resting period, shortened by arousal and tensing, swung by
breathing (respiratory sinus arrhythmia) and by slow ~0.1 Hz waves, plus noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class PersonParams:
    rest_hr_bpm: float = 64.0
    rmssd_ms: float = 40.0
    relax_hr_drop_bpm: float = 4.0
    relax_tau_s: float = 400.0
    pressor_bpm: float = 4.0
    breath_rate_hz: float = 0.25


class Heart:
    """State of one simulated heart; call ``next_beat`` for each beat."""

    def __init__(self, params: PersonParams, seed: int) -> None:
        self.p = params
        self.rng = np.random.default_rng(seed)
        self.t_s = 0.0
        self.breath_period_s = 1.0 / params.breath_rate_hz
        self.tensing = False
        self._pressor = 0.0
        self._phase = 0.0

    def pace_breathing(self, in_s: float | None, out_s: float | None) -> None:
        if in_s and out_s:
            self.breath_period_s = in_s + out_s
        else:
            self.breath_period_s = 1.0 / self.p.breath_rate_hz

    def next_beat(self) -> tuple[float, float]:
        """Advance one beat; return (beat time, RR in ms)."""
        p = self.p
        relax = p.relax_hr_drop_bpm * (1.0 - math.exp(-self.t_s / p.relax_tau_s))
        target = p.pressor_bpm if self.tensing else 0.0
        self._pressor += (target - self._pressor) * 0.3
        hr = p.rest_hr_bpm - relax + self._pressor
        base_rr = 60000.0 / hr
        # Slow breathing swings the heart more (resonance near 0.1 Hz).
        rsa_ms = p.rmssd_ms * (1.0 + 1.5 * min(self.breath_period_s / 10.0, 1.0))
        self._phase += 2 * math.pi * (base_rr / 1000.0) / self.breath_period_s
        rr = base_rr + rsa_ms * 0.5 * math.sin(self._phase)
        rr += 10.0 * math.sin(2 * math.pi * 0.1 * self.t_s)
        rr += float(self.rng.normal(0.0, p.rmssd_ms * 0.3))
        self.t_s += rr / 1000.0
        return self.t_s, rr
