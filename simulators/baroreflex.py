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


# What the search below finds for the built-in scenarios' people, by its arguments
# (resonance_hz, damping, rsa_ms, rsa_corner_hz, rsa_ref_hz, baro_ms, lag_s): the
# search is ~2.5 ms of numpy's complex arithmetic at every simulated session's start
# (up to 241 candidates x 1601 rates). tests/test_baroreflex_search.py checks each
# entry against the plain search, and that every built-in person is here; anyone
# else (a scenario file of one's own, a test's person) is searched for as always.
_BUILT_IN_NATURAL_HZ: dict[tuple[float, ...], float] = {
    # anxious
    (0.075, 0.15, 42.0, 0.1, 0.25, 50.0, 0.39473684210526316): 0.07743749999999999,
    # artifacts
    (0.08333333333333333, 0.1, 60.0, 0.3, 0.25, 150.0, 0.4411764705882353): 0.08395833333333333,
    # breath-holder, calm, dropouts
    (0.09166666666666666, 0.1, 60.0, 0.3, 0.25, 150.0, 0.4411764705882353): 0.09235416666666667,
    # ectopy
    (0.08333333333333333, 0.1, 60.0, 0.3, 0.25, 150.0, 0.42857142857142855): 0.08375,
    # fast-breather
    (0.1, 0.1, 60.0, 0.3, 0.33, 150.0, 0.40540540540540543): 0.10075,
    # non-responder
    (0.10833333333333334, 0.1, 60.0, 0.3, 0.25, 150.0, 0.4166666666666667): 0.10914583333333334,
    # panic
    (0.075, 0.1, 45.0, 0.3, 0.25, 80.0, 0.40540540540540543): 0.07537500000000001,
}


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
    known = _BUILT_IN_NATURAL_HZ.get(
        (resonance_hz, damping, rsa_ms, rsa_corner_hz, rsa_ref_hz, baro_ms, lag_s)
    )
    if known is not None:
        return known
    return search_natural_hz(
        resonance_hz,
        damping=damping,
        rsa_ms=rsa_ms,
        rsa_corner_hz=rsa_corner_hz,
        rsa_ref_hz=rsa_ref_hz,
        baro_ms=baro_ms,
        lag_s=lag_s,
    )


def search_natural_hz(
    resonance_hz: float,
    *,
    damping: float,
    rsa_ms: float,
    rsa_corner_hz: float,
    rsa_ref_hz: float,
    baro_ms: float,
    lag_s: float,
) -> float:
    """``natural_hz_for`` worked out, never looked up."""
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
