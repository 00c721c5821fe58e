"""The breath the simulated person actually takes.

Breath by breath: unpaced, the person breathes at their own rate with some
jitter; paced (a step with ``breath_in_s`` and ``breath_out_s``), they take the
pacer's period from the next breath, as far as their ``breath_compliance``
goes, and drift toward the pacer's phase (``breath_lock``) a personal
``breath_lag_s`` behind it. Arousal (an episode's drive) makes the breath
faster and shallower within a few breaths, with sighs now and then; it rises
much faster than the heart's sympathetic drive, so the breath changes first.
A breath-holder (``hold_share``) draws a quick breath when told to tense and
holds it until the tension is let go, a moment longer. A talker
(``talks_per_h``, ``talk_s``; no built-in scenario has one) breathes as speech does in
spells, a quick breath in and a long uneven one out, whatever the pacer.

The heart reads where the cycle is (``shape``) for its respiratory sinus
arrhythmia; the chest (chest.py) reads the lung fill of every breath from
``log``. With the defaults of a ``Person`` this is exactly the breathing the
heart always had (the same draws, the same arithmetic), so the beats of the
existing scenarios do not change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from biofeedback.models.record import record
from simulators.scenario import Person

if TYPE_CHECKING:
    # For annotations only: numpy.typing is ~0.8 ms of a session's start.
    import numpy.typing as npt

# Spontaneous breaths spend about 40 % of the cycle breathing in.
SPONTANEOUS_IN_SHARE = 0.4
# A breath drawn before a hold: quick, a little deeper than usual.
_HOLD_INHALE_S = 1.2
_HOLD_DEPTH = 1.3
_HOLD_EXHALE_S = 3.0
# A sigh: a deep, slower breath in.
_SIGH_DEPTH = 2.4
_SIGH_IN_SCALE = 1.6
# Talking: each breath in (s), out (s) and depth (of the usual breath), drawn evenly.
_TALK_IN_S = (0.4, 0.8)
_TALK_OUT_S = (2.0, 6.0)
_TALK_DEPTH = (0.5, 1.3)

# How fast the breath's arousal follows an episode's drive (s): within 1-3 breaths.
_BREATH_AROUSAL_RISE_S = 4.0
_BREATH_AROUSAL_FALL_S = 20.0


@record(slots=True)
class BreathRecord:
    """One breath as taken: inhale from ``fill0`` to ``depth``, hold, exhale to 0.

    ``end_s`` is set when a breath is cut short (a hold begins mid-breath);
    otherwise it ends after ``in_s + hold_s + out_s``. Depth 1.0 is the
    person's usual breath; ``held`` marks the holds (the truth for benchmarks).
    """

    start_s: float
    in_s: float
    hold_s: float
    out_s: float
    depth: float = 1.0
    fill0: float = 0.0
    end_s: float | None = None
    held: bool = False
    sigh: bool = False
    talk: bool = False

    @property
    def stop_s(self) -> float:
        full = self.start_s + self.in_s + self.hold_s + self.out_s
        return full if self.end_s is None else min(self.end_s, full)

    def fill(self, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Lung fill (usual breath = 1) at ``t_s`` (inside this breath)."""
        x = t_s - self.start_s
        rising = self.fill0 + (self.depth - self.fill0) * _ease(x / self.in_s)
        falling = self.depth * (1.0 - _ease((x - self.in_s - self.hold_s) / self.out_s))
        out: npt.NDArray[np.float64] = np.where(
            x < self.in_s, rising, np.where(x < self.in_s + self.hold_s, self.depth, falling)
        )
        return out

    def fill_at(self, t_s: float) -> float:
        return float(self.fill(np.array([t_s]))[0])


def _ease(u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = (1.0 - np.cos(np.pi * np.clip(u, 0.0, 1.0))) / 2.0
    return out


class Lungs:
    """The breathing cycle, advanced beat by beat with the heart.

    ``normal`` gives the draws the spontaneous breath has always used;
    ``extra`` the draws only the newer behaviours need (holds, sighs, a
    personal rate under a pacer), so the defaults use none of them.
    """

    def __init__(
        self,
        p: Person,
        normal: Callable[[], float],
        extra: np.random.Generator,
    ) -> None:
        self.p = p
        self._normal = normal
        self._extra = extra
        self.in_s, self.out_s = self._spontaneous()
        self.hold_s = 0.0
        self.pos_s = 0.0
        self.fill0 = 0.0
        self._paced: tuple[float, float] | None = None
        self._anchor_s = 0.0
        # 0..1: how far the breath has answered an episode's drive.
        self.arousal = 0.0
        # Whether it answers at all (not the default person's): if not, the heart
        # need not tell it the drive.
        self.answers_drive = p.breath_arousal_gain > 0.0 or p.breath_shallow > 0.0
        self._holding_for_tension = False
        self.log: list[BreathRecord] = []
        self._record: BreathRecord | None = None
        # The talking spell under way or next, (from, until); drawn when first needed.
        self._spell: tuple[float, float] | None = None

    # -- what the heart reads

    @property
    def period_s(self) -> float:
        """The breath's rhythm for the RSA: a hold is no part of it."""
        return self.in_s + self.out_s

    @property
    def cycle_s(self) -> float:
        return self.in_s + self.hold_s + self.out_s

    def shape(self) -> float:
        """+1 at the start of the in-breath, -1 at its end and through a hold."""
        pos = self.pos_s
        if pos < self.in_s:
            if self.fill0 == 0.0:
                return math.cos(math.pi * pos / self.in_s)
            fill = self.fill0 + (1.0 - self.fill0) * (1.0 - math.cos(math.pi * pos / self.in_s)) / 2
            return 1.0 - 2.0 * fill
        if self.hold_s and pos < self.in_s + self.hold_s:
            return -1.0
        return -math.cos(math.pi * (pos - self.in_s - self.hold_s) / self.out_s)

    # -- cues

    def start(self, t_s: float, pos_s: float) -> None:
        """The breath under way at the first moment: ``pos_s`` into it at ``t_s``."""
        self.pos_s = pos_s
        self._record = BreathRecord(t_s - pos_s, self.in_s, 0.0, self.out_s)
        self.log.append(self._record)

    def pace(self, t_s: float, breath_in_s: float | None, breath_out_s: float | None) -> None:
        """A pacer from ``t_s`` (its first in-breath starts then), or none."""
        self._paced = (breath_in_s, breath_out_s) if breath_in_s and breath_out_s else None
        self._anchor_s = t_s

    def tension(self, t_s: float, tensing: bool) -> None:
        """Told to tense, or to let go: a breath-holder holds through the tension."""
        p = self.p
        if tensing and p.hold_share > 0 and not self._holding_for_tension:
            if self._extra.uniform() < p.hold_share:
                self._begin_hold(t_s)
        elif not tensing and self._holding_for_tension:
            self._holding_for_tension = False
            # Let go of the breath a moment after letting go of the muscles.
            held_until = t_s + float(self._extra.uniform(0.5, 2.0))
            elapsed_s = held_until - (self._record.start_s if self._record else t_s)
            self.hold_s = max(min(self.hold_s, elapsed_s - self.in_s), self.pos_s - self.in_s, 0.0)
            if self._record is not None:
                self._record.hold_s = self.hold_s

    def _begin_hold(self, t_s: float) -> None:
        record = self._record
        fill = record.fill_at(t_s) if record is not None else 0.0
        if record is not None:
            record.end_s = t_s
        self._holding_for_tension = True
        self.fill0 = min(fill / _HOLD_DEPTH, 1.0)
        self.in_s = _HOLD_INHALE_S
        self.hold_s = self.p.hold_max_s
        self.out_s = _HOLD_EXHALE_S
        self.pos_s = 0.0
        self._record = BreathRecord(
            t_s, self.in_s, self.hold_s, self.out_s, _HOLD_DEPTH, fill, held=True
        )
        self.log.append(self._record)

    # -- time

    def drive(self, dt_s: float, episode_on: bool) -> None:
        """The breath's share of arousal: fast up, slower down (see ``answers_drive``)."""
        if not self.answers_drive:
            return
        target = 1.0 if episode_on else 0.0
        tau = _BREATH_AROUSAL_RISE_S if target > self.arousal else _BREATH_AROUSAL_FALL_S
        self.arousal += (target - self.arousal) * (1.0 - math.exp(-dt_s / tau))

    def advance(self, t_s: float, dt_s: float) -> None:
        """From ``t_s`` on by ``dt_s``; a new breath starts each time a cycle completes."""
        self.pos_s += dt_s
        while self.pos_s >= (cycle_s := self.in_s + self.hold_s + self.out_s):
            self.pos_s -= cycle_s
            self._next_breath(t_s + dt_s - self.pos_s)

    def _next_breath(self, start_s: float) -> None:
        self.hold_s = 0.0
        self.fill0 = 0.0
        self._holding_for_tension = False
        depth = 1.0
        sigh = False
        if self._talking(start_s):
            # Speech: a quick breath in, a long and uneven breath out.
            self.in_s = float(self._extra.uniform(*_TALK_IN_S))
            self.out_s = float(self._extra.uniform(*_TALK_OUT_S))
            depth = float(self._extra.uniform(*_TALK_DEPTH))
            self._record = BreathRecord(start_s, self.in_s, 0.0, self.out_s, depth, talk=True)
            self.log.append(self._record)
            return
        if self._paced is not None:
            self.in_s, self.out_s = self._paced
            if self.p.breath_compliance < 1.0:
                self._own_share(self.p.breath_compliance)
            if self.p.breath_lock > 0.0:
                self._lock_to_pacer(start_s)
        else:
            self.in_s, self.out_s = self._spontaneous()
        a = self.arousal
        if a > 0.0:
            faster = 1.0 + self.p.breath_arousal_gain * a
            self.in_s /= faster
            self.out_s /= faster
            depth = max(1.0 - self.p.breath_shallow * a, 0.15)
            if a > 0.3 and self._extra.uniform() < self.p.sigh_share * a:
                sigh = True
                depth = _SIGH_DEPTH
                self.in_s *= _SIGH_IN_SCALE
        self._record = BreathRecord(start_s, self.in_s, 0.0, self.out_s, depth, sigh=sigh)
        self.log.append(self._record)

    def talk_spell(self, from_s: float, until_s: float) -> None:
        """A talking spell at a set time (a benchmark's hard case); the spells after
        it come at the person's ``talks_per_h`` as usual."""
        self._spell = (from_s, until_s)

    def _talking(self, start_s: float) -> bool:
        """Whether a breath starting at ``start_s`` falls in a talking spell (none
        unless the person talks: no draw is made for those who do not)."""
        p = self.p
        if p.talks_per_h <= 0.0:
            return False
        if self._spell is None:
            begin = start_s + float(self._extra.exponential(3600.0 / p.talks_per_h))
            self._spell = (begin, begin + p.talk_s * float(self._extra.uniform(0.5, 1.5)))
        while start_s >= self._spell[1]:
            begin = self._spell[1] + float(self._extra.exponential(3600.0 / p.talks_per_h))
            self._spell = (begin, begin + p.talk_s * float(self._extra.uniform(0.5, 1.5)))
        return start_s >= self._spell[0]

    def _own_share(self, compliance: float) -> None:
        """Part of the way from their own rate to the pacer's."""
        paced_s = self.in_s + self.out_s
        share_in = self.in_s / paced_s
        own_s = math.exp(self.p.breath_jitter * float(self._extra.standard_normal()))
        own_s /= self.p.breath_rate_hz
        period = compliance * paced_s + (1.0 - compliance) * own_s
        self.in_s, self.out_s = period * share_in, period * (1.0 - share_in)

    def _lock_to_pacer(self, start_s: float) -> None:
        """Nudge this breath so the next starts nearer the pacer's in-breath, lagging it."""
        assert self._paced is not None
        paced_s = self._paced[0] + self._paced[1]
        period = self.in_s + self.out_s
        # Where the next in-breath would fall against the pacer's, within half a cycle.
        miss = (start_s + period - self._anchor_s - self.p.breath_lag_s) % paced_s
        if miss > paced_s / 2:
            miss -= paced_s
        new_period = min(max(period - self.p.breath_lock * miss, 0.6 * period), 1.4 * period)
        scale = new_period / period
        self.in_s *= scale
        self.out_s *= scale

    def _spontaneous(self) -> tuple[float, float]:
        p = self.p
        period = math.exp(p.breath_jitter * self._normal()) / p.breath_rate_hz
        return period * SPONTANEOUS_IN_SHARE, period * (1.0 - SPONTANEOUS_IN_SHARE)


def lung_fill(log: list[BreathRecord], t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Lung fill at each of ``t_s`` (ascending), from the breaths in ``log``."""
    out = np.zeros_like(t_s)
    if not log:
        return out
    starts = np.array([r.start_s for r in log])
    idx = np.searchsorted(starts, t_s, side="right") - 1
    # The breaths the times fall in (one or two a batch), as np.unique gives them.
    for i in sorted(set(idx.tolist())):
        if i < 0:
            continue
        record = log[i]
        mask = idx == i
        inside = mask & (t_s < record.stop_s)
        out[inside] = record.fill(t_s[inside])
    return out
