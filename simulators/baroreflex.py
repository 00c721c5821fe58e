"""The baroreflex loop as a damped oscillator with a personal resonance rate.

Blood pressure and heart rate chase each other through the baroreflex with a
delay, so the loop rings at about 0.1 Hz; rhythmic drive near that rate (paced
breathing, or muscle tension at the same rhythm) makes heart rate swing far
more than drive at other rates (Vaschillo et al. 2002, 2011; Lehrer & Gevirtz
2014). Here it is a second-order band-pass: unit gain and no phase shift at its
natural rate, falling off either side, so at resonance the loop's swing adds to
the direct respiratory sinus arrhythmia in phase, as heart rate and breathing
are in phase at resonance in the recordings.

The natural rate is placed so that the *total* RR swing (the loop plus the
direct RSA, whose gain grows as breathing slows) peaks at the person's planted
``resonance_bpm``: that is the rate an assessment should find.
"""

from __future__ import annotations

import functools
import math

import numpy as np

_TWO_PI = 2.0 * math.pi
# Where the loop's natural rate is searched for, as multiples of the planted rate.
_SEARCH_SPAN = (0.75, 1.35)
_SEARCH_POINTS = 241


def rsa_gain(breath_hz: float, corner_hz: float) -> float:
    """Direct RSA gain: slower breathing swings more, flattening below the corner."""
    return float((1.0 + (breath_hz / corner_hz) ** 2) ** -0.75)


def band_pass(freq_hz: np.ndarray, natural_hz: float, damping: float) -> np.ndarray:
    """Complex response of the loop: 1 at ``natural_hz``."""
    r = freq_hz / natural_hz
    two_zr = 2j * damping * r
    result: np.ndarray = two_zr / ((1.0 - r**2) + two_zr)
    return result


def total_swing_ms(
    freq_hz: np.ndarray,
    *,
    natural_hz: float,
    damping: float,
    rsa_ms: float,
    rsa_corner_hz: float,
    rsa_ref_hz: float,
    baro_ms: float,
    lag_s: float,
) -> np.ndarray:
    """Peak-to-trough RR swing (ms) for breathing paced at ``freq_hz``, at rest.

    ``lag_s`` is the loop's extra delay from being stepped once a beat (half
    a beat on average)."""
    direct = rsa_ms * (1.0 + (freq_hz / rsa_corner_hz) ** 2) ** -0.75
    direct /= rsa_gain(rsa_ref_hz, rsa_corner_hz)
    loop = baro_ms * band_pass(freq_hz, natural_hz, damping)
    loop = loop * np.exp(-1j * _TWO_PI * freq_hz * lag_s)
    swing: np.ndarray = np.abs(direct + loop)
    return swing


@functools.lru_cache(maxsize=256)
def natural_hz_for(
    resonance_hz: float,
    *,
    damping: float,
    rsa_ms: float,
    rsa_corner_hz: float,
    rsa_ref_hz: float,
    baro_ms: float,
    lag_s: float,
) -> float:
    """The loop's natural rate that puts the peak of the total swing at ``resonance_hz``.

    Cached: every simulated person of a scenario shares it."""
    if baro_ms <= 0:
        return resonance_hz
    freqs = np.linspace(0.4 * resonance_hz, 2.0 * resonance_hz, 1601)
    # ``total_swing_ms`` for each candidate, with the parts that do not depend on the
    # candidate (the direct RSA and the loop's delay) worked out once: the same
    # operations on the same values, so the same swing to the bit (a test compares
    # them). With the early stop below: ~15 ms of a simulated session's set-up -> ~3-6.
    direct = rsa_ms * (1.0 + (freqs / rsa_corner_hz) ** 2) ** -0.75
    direct /= rsa_gain(rsa_ref_hz, rsa_corner_hz)
    delay = np.exp(-1j * _TWO_PI * freqs * lag_s)

    def miss(natural: float) -> float:
        loop = baro_ms * band_pass(freqs, natural, damping)
        swing = np.abs(direct + loop * delay)
        return abs(float(freqs[int(np.argmax(swing))]) - resonance_hz)

    # min(candidates, key=miss), stopping at the first candidate that puts the peak on
    # the grid point nearest the resonance: no later one can miss by less, and min
    # keeps the first of equal misses, so the answer is the same (~0.4 of the work
    # when such a candidate exists: calm, the default, and three more of the nine).
    least_miss = float(np.abs(freqs - resonance_hz).min())
    candidates = [float(c) for c in np.linspace(*_SEARCH_SPAN, _SEARCH_POINTS) * resonance_hz]
    best, best_miss = candidates[0], miss(candidates[0])
    for candidate in candidates[1:]:
        if best_miss <= least_miss:
            break
        candidate_miss = miss(candidate)
        if candidate_miss < best_miss:
            best, best_miss = candidate, candidate_miss
    return best


class Baroreflex:
    """The loop's state; ``step(drive, dt_s)`` advances it one beat and returns
    its output (unit amplitude for a unit drive at the natural rate).

    Driven through x'' + 2 zeta w x' + w^2 x = u with the output 2 zeta w x', a
    band-pass; each beat is an exact step with the drive held over the beat.
    """

    def __init__(self, natural_hz: float, damping: float) -> None:
        self._w = _TWO_PI * natural_hz
        self._w2 = self._w**2
        self._a = damping * self._w
        self._wd = self._w * math.sqrt(1.0 - damping**2)
        self._out_gain = 2.0 * self._a
        self._x = 0.0
        self._v = 0.0

    def step(self, drive: float, dt_s: float) -> float:
        rest = drive / self._w2
        e = self._x - rest
        v = self._v
        decay = math.exp(-self._a * dt_s)
        c = math.cos(self._wd * dt_s)
        s = math.sin(self._wd * dt_s)
        self._x = rest + decay * (e * c + (v + self._a * e) / self._wd * s)
        self._v = decay * (v * c - (self._a * v + self._w2 * e) / self._wd * s)
        return self._out_gain * self._v

    @property
    def output(self) -> float:
        return self._out_gain * self._v
