"""The breath pacer's phase: where in a paced breath a moment falls.

Shared by everything that paces a breath (the dashboard's bar, the audio
tones), so what a person sees and what they hear can never drift apart.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def breath_phase(t_s: float, in_s: float, out_s: float) -> tuple[bool, float, float]:
    """(inhaling, lung fill 0..1, seconds left in this half) at ``t_s`` into the pattern."""
    p = t_s % (in_s + out_s)
    if p < in_s:
        return True, _ease(p / in_s), in_s - p
    return False, 1.0 - _ease((p - in_s) / out_s), in_s + out_s - p


def _ease(x: float) -> float:
    # Breath speeds up and slows down at the turns, like a sine.
    return (1.0 - math.cos(math.pi * min(max(x, 0.0), 1.0))) / 2.0


def fill_integral(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The integral of the fill curve over the first ``x`` (0..1) of a breath in.

    A tone whose pitch follows the fill needs its phase: the integral of its pitch.
    """
    result: npt.NDArray[np.float64] = (x - np.sin(np.pi * x) / np.pi) / 2.0
    return result
