"""The strap's accelerometer on the simulated chest.

What a chest strap's 3-axis accelerometer reads (milli-g, the strap's own
axes: x across the chest, y along the body, z out of the chest) is mostly
gravity, set by posture: upright it lies along -y, lying on the back along
-z, on the side along x. Each breath tilts the sensor a little as the chest
wall rises (``breath_mg`` milli-g for a usual breath, mostly along one axis
that depends on posture, weaker lying on the side), so breathing shows as a
slow swing of a few to tens of milli-g on top of gravity. Tensing adds a
muscle tremor near 10 Hz and a small brace of the trunk; fidgeting adds
bursts of large, broadband motion; a posture shift moves gravity to new axes
over a few seconds; every sample carries sensor noise and is rounded to
whole milli-g as the strap sends it.

Random events (fidgets, shifts) come from their own stream, so the chest
never changes what the heart does.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from biofeedback.models.record import record
from simulators.breathing import BreathRecord, lung_fill
from simulators.scenario import IDLE, Person

G_MG = 1000.0
_TREMOR_HZ = 10.0
# Bracing tilts the strap a little (about 4 mg): less than a breath, so an
# out-breath can be slowed by it but not stopped.
_BRACE_DEG = 0.25
_BRACE_TAU_S = 0.4
_SHIFT_S = 3.0
_SHIFT_MOTION_MG = 120.0
# A shift goes between postures within these bounds (degrees).
_TILT_RANGE = (0.0, 90.0)
_ROLL_RANGE = (-90.0, 90.0)

if TYPE_CHECKING:
    # For annotations only: numpy.typing is ~0.8 ms of a session's start.
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]


@record(frozen=True, slots=True)
class Burst:
    """A stretch of motion: a fidget (``shift`` False) or a posture shift."""

    start_s: float
    duration_s: float
    size_mg: float
    shift: bool = False
    to_tilt_deg: float = 0.0
    to_roll_deg: float = 0.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def gravity_dir(tilt_deg: Floats, roll_deg: Floats) -> tuple[Floats, Floats, Floats]:
    """Unit gravity in the strap's axes: upright (0, -1, 0), on the back (0, 0, -1)."""
    t = np.radians(tilt_deg)
    r = np.radians(roll_deg)
    return np.sin(r) * np.sin(t), -np.cos(t), -np.cos(r) * np.sin(t)


class Chest:
    """Samples of the accelerometer at ``rate_hz``, made in order as time goes on."""

    def __init__(self, p: Person, rng: np.random.Generator, rate_hz: float = 50.0) -> None:
        self.p = p
        self.rate_hz = rate_hz
        self._rng = rng
        self._tilt_deg = p.tilt_deg
        self._roll_deg = p.roll_deg
        self._bursts: list[Burst] = []
        self._planned_to_s = 0.0
        # Index of the next sample on the chest's own grid.
        self._next_i = 0
        self._tremor_phase = float(rng.uniform(0.0, 2.0 * math.pi))
        # Every fidget and shift so far (the truth: motion a breath estimate must ride out).
        self.done: list[Burst] = []

    def skip_to(self, t_s: float) -> None:
        """The strap was silent: the next batch starts at ``t_s``."""
        self._next_i = max(self._next_i, math.ceil(t_s * self.rate_hz))

    def batch(
        self,
        until_s: float,
        breaths: list[BreathRecord],
        activity: list[tuple[float, str]],
    ) -> tuple[float, Floats, Floats, Floats] | None:
        """Samples from where the last batch ended up to ``until_s``: (last t, x, y, z)."""
        last_i = math.floor(until_s * self.rate_hz)
        if last_i < self._next_i:
            return None
        i = np.arange(self._next_i, last_i + 1)
        self._next_i = last_i + 1
        t = i / self.rate_hz
        self._plan_bursts(float(t[-1]))
        tilt, roll, motion = self._posture(t)
        gx, gy, gz = gravity_dir(tilt, roll)
        # The breath pitches the sensor about the x axis, and a little about y
        # (which is all that shows lying on the side).
        fill = lung_fill(breaths, t)
        alpha = fill * self.p.breath_mg / G_MG
        beta = 0.4 * alpha
        # Tensing in this batch, if any (None: none in most batches).
        since = self._tensing(t, activity)
        # Without tensing the brace is 0 throughout (what _brace gives then).
        brace = np.zeros_like(t) if since is None else self._brace(since)
        alpha = alpha + brace
        x = gx + gz * beta
        y = gy * np.cos(alpha) - gz * np.sin(alpha)
        z = gy * np.sin(alpha) + gz * np.cos(alpha) - gx * beta
        out = [G_MG * axis + motion[k] for k, axis in enumerate((x, y, z))]
        if since is not None:
            # Without tensing the tremor is +-0 throughout, and adding it changes
            # nothing: these sums are never -0 (the motion never is).
            out = [o + tremor for o, tremor in zip(out, self._tremor(t, since), strict=True)]
        noise = self._rng.standard_normal((3, len(t))) * self.p.acc_noise_mg
        out = [o + noise[k] for k, o in enumerate(out)]
        return float(t[-1]), np.round(out[0]), np.round(out[1]), np.round(out[2])

    # -- parts

    def _plan_bursts(self, until_s: float) -> None:
        """Draw fidgets and shifts a minute ahead (Poisson, from the chest's own stream)."""
        p = self.p
        while self._planned_to_s < until_s + 10.0:
            start = self._planned_to_s
            self._planned_to_s += 60.0
            for rate_per_h, shift in ((p.fidgets_per_h, False), (p.posture_shifts_per_h, True)):
                n = int(self._rng.poisson(rate_per_h / 60.0))
                for onset in np.sort(self._rng.uniform(start, start + 60.0, n)):
                    if shift:
                        burst = Burst(
                            float(onset),
                            _SHIFT_S,
                            _SHIFT_MOTION_MG * float(self._rng.uniform(0.6, 1.6)),
                            True,
                            float(np.clip(self._rng.uniform(-40, 40), *_TILT_RANGE)),
                            float(np.clip(self._rng.uniform(-50, 50), *_ROLL_RANGE)),
                        )
                    else:
                        burst = Burst(
                            float(onset),
                            float(self._rng.uniform(1.0, 4.0)),
                            float(self._rng.uniform(30.0, 150.0)),
                        )
                    self._bursts.append(burst)
        self._bursts.sort(key=lambda b: b.start_s)

    def _posture(self, t: Floats) -> tuple[Floats, Floats, list[Floats]]:
        tilt = np.full_like(t, self._tilt_deg)
        roll = np.full_like(t, self._roll_deg)
        motion = [np.zeros_like(t) for _ in range(3)]
        keep: list[Burst] = []
        for b in self._bursts:
            if b.start_s > t[-1]:
                keep.append(b)
                continue
            inside = (t >= b.start_s) & (t < b.end_s)
            if b.shift:
                # Gravity moves to the new posture over the shift, smoothly.
                u = np.clip((t - b.start_s) / b.duration_s, 0.0, 1.0)
                w = (1.0 - np.cos(np.pi * u)) / 2.0
                to_tilt = float(np.clip(self._tilt_deg + b.to_tilt_deg, *_TILT_RANGE))
                to_roll = float(np.clip(self._roll_deg + b.to_roll_deg, *_ROLL_RANGE))
                after = t >= b.start_s
                tilt = np.where(after, self._tilt_deg + (to_tilt - self._tilt_deg) * w, tilt)
                roll = np.where(after, self._roll_deg + (to_roll - self._roll_deg) * w, roll)
            if inside.any():
                n = int(inside.sum())
                envelope = np.sin(np.pi * (t[inside] - b.start_s) / b.duration_s)
                for k in range(3):
                    wobble = self._rng.standard_normal(n)
                    # Broadband body motion, a few hertz: smoothed white noise.
                    if n >= 5:
                        kernel = np.ones(5) / 5.0
                        wobble = np.convolve(wobble, kernel, mode="same") * math.sqrt(5.0)
                    motion[k][inside] += b.size_mg * envelope * wobble
            if b.end_s > t[-1]:
                keep.append(b)
                continue
            self.done.append(b)
            if b.shift:
                self._tilt_deg = float(np.clip(self._tilt_deg + b.to_tilt_deg, *_TILT_RANGE))
                self._roll_deg = float(np.clip(self._roll_deg + b.to_roll_deg, *_ROLL_RANGE))
        self._bursts = keep
        return tilt, roll, motion

    @staticmethod
    def _tensing(t: Floats, activity: list[tuple[float, str]]) -> Floats | None:
        """Seconds since tensing began at each moment (NaN when not tensing); None
        when no tensing reaches into ``t`` at all."""
        since: Floats | None = None
        ends = [*activity[1:], (math.inf, IDLE)]
        for (start, what), (end, _) in zip(activity, ends, strict=True):
            if what != "tense" or end <= t[0] or start > t[-1]:
                continue
            if since is None:
                since = np.full_like(t, np.nan)
            inside = (t >= start) & (t < end)
            since[inside] = t[inside] - start
        return since

    def _brace(self, since: Floats) -> Floats:
        brace = np.radians(_BRACE_DEG) * (1.0 - np.exp(-np.nan_to_num(since) / _BRACE_TAU_S))
        out: Floats = np.where(np.isnan(since), 0.0, brace)
        return out

    def _tremor(self, t: Floats, since: Floats) -> list[Floats]:
        on = ~np.isnan(since)
        wave = np.sin(2.0 * math.pi * _TREMOR_HZ * t + self._tremor_phase)
        size = self.p.tremor_mg * on
        return [size * wave * k for k in (0.5, 0.8, 1.0)]
