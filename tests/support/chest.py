"""Chest motion made from a lung fill, fed to a breath estimator a second at a time
(the breath estimator's tests and the breath evidence's)."""

from __future__ import annotations

import numpy as np

from biofeedback.models import ChestMotion
from biofeedback.signals.breath_estimate import BreathEstimate, BreathEstimator

RATE_HZ = 50.0


def lung_fill(t: np.ndarray, in_s: float, out_s: float, start_s: float = 0.0) -> np.ndarray:
    """Lung fill 0..1 of regular breaths (eased in and out)."""
    x = (t - start_s) % (in_s + out_s)
    rising = (1 - np.cos(np.pi * np.clip(x / in_s, 0, 1))) / 2
    falling = 1 - (1 - np.cos(np.pi * np.clip((x - in_s) / out_s, 0, 1))) / 2
    out: np.ndarray = np.where(x < in_s, rising, falling)
    return out


def feed_chest(
    est: BreathEstimator,
    fill: np.ndarray,
    *,
    depth_mg: float = 12.0,
    seed: int = 0,
    motion: tuple[float, float] | None = None,
    until_s: float | None = None,
) -> list[BreathEstimate]:
    """Chest motion from ``fill`` in 1 s batches, an estimate each second."""
    rng = np.random.default_rng(seed)
    n = len(fill)
    t = np.arange(n) / RATE_HZ
    x = rng.normal(0, 2, n)
    y = -940 + depth_mg * fill * 0.3 + rng.normal(0, 2, n)
    z = -340 - depth_mg * fill + rng.normal(0, 2, n)
    if motion is not None:
        on = (t >= motion[0]) & (t < motion[1])
        x[on] += rng.normal(0, 120, on.sum())
        y[on] += rng.normal(0, 120, on.sum())
    out = []
    per = int(RATE_HZ)
    for i in range(0, n, per):
        sl = slice(i, min(i + per, n))
        est.add_motion(
            ChestMotion(
                float(t[sl][-1]),
                RATE_HZ,
                tuple(np.round(x[sl])),
                tuple(np.round(y[sl])),
                tuple(np.round(z[sl])),
            )
        )
        out.append(est.estimate(float(t[sl][-1]) + 0.02))
        if until_s is not None and t[sl][-1] >= until_s:
            break
    return out


def chest_times(seconds: float) -> np.ndarray:
    """Sample times of ``seconds`` of chest motion at ``RATE_HZ``."""
    return np.arange(int(seconds * RATE_HZ)) / RATE_HZ
