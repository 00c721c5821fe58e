"""Breath as evidence of arousal: rate, depth and irregularity against the person's own opening.

Arousal changes the breath within one to three breaths (faster, shallower,
irregular), well before heart rate has climbed far. This module says, each
second, how far the breath seen on the chest has moved from the person's own
breathing at the start of the session, in that person's own units, and which
signals crossed, in words and figures. ``evidence.py`` adds it to the heart's
evidence of a rise, and only while heart rate is up too: the breath alone
never steps down (a sigh, a yawn or a quick breath is no panic).

Only breath seen on the chest counts (``BreathSource.ACC`` with
``BreathQuality.OK``, not held, with at least ``min_confidence``). The rate
from the heart's rhythm (``BreathSource.RR``) does not: it is read over a
minute of beats (it answers within tens of seconds, not within breaths), its
confidence is low exactly when arousal makes breathing fast and shallow and
shrinks the heart's breathing swing, and it comes from the same beats as the
heart rate, so it adds no independent evidence. Without chest motion the
decisions are therefore exactly those of heart rate alone.

Paced and free breathing differ in kind (a pacer sets the rate; slow breaths
are deeper), so each has its own opening: the first ``opening_readings``
usable seconds of each. Free breathing is judged by its rate a minute; paced
breathing by its rate over the pacer's (``rate_ratio``), so a person who never
slows to the pacer is judged against their own not-following. The rate is
also read from the half breath completed last (the in-breath against the
opening's in-breaths, the out-breath against its out-breaths): a quicker
breath shows once its in-breath is done. One half is the least evidence (a
word, a swallow cuts an out-breath short), so it counts only with the depth
crossed beside it, never alone. For
``settle_s`` after the pace changes the estimate still mixes breaths of both
and is not used. An opening's spread is measured (robustly) but never taken
below a floor: a minute of one person's breathing cannot show how much it
varies over an hour.

Pure: ``update(t_s, breath, paced)`` once a tick; no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import field

import numpy as np

from biofeedback.models.record import record
from biofeedback.signals.breath_estimate import BreathEstimate, BreathQuality, BreathSource


@record(frozen=True, slots=True)
class BreathEvidenceConfig:
    """How the breath evidence weighs the readings against the opening (each setting
    below)."""

    opening_readings: int = 30
    """Usable seconds of one kind of breathing (free or paced) that make its opening."""
    settle_s: float = 15.0
    """After free and paced breathing change places, readings mix both for this long."""
    after_hold_s: float = 15.0
    """The breaths after a held breath are quicker and deeper by nature: not used
    for this long after a hold."""
    depth_relearn: int = 15
    """After motion the strap may sit at a new angle, where a breath tilts it by
    a different number of milli-g: the depth is judged again only against the
    median of this many usable seconds since (its opening spread is kept)."""
    min_confidence: float = 0.75
    """The chest estimate's confidence (how many breaths it rests on) that counts."""
    rate_floor: float = 0.10
    """Least spread of the rate (natural log units: 0.10 is about 10 %)."""
    half_breaths: bool = True
    """Judge the rate from the half breath completed last too (the in-breath
    against the opening's in-breaths, the out-breath against its out-breaths):
    a quicker breath shows as soon as its in-breath is done, half a breath
    before the whole breath is, and twice as often."""
    half_readings: int = 8
    """Readings of one half (in or out) the opening needs before it is judged."""
    depth_floor: float = 0.15
    """Least spread of the depth (natural log units)."""
    irregular_floor: float = 0.08
    """Least spread of the irregularity (spread of breath lengths over their mean)."""
    from_z: float = 1.5
    """A signal has crossed when it is this many of its own units past its opening."""
    alone_z: float = 3.5
    """Rate or depth alone counts only this far past its opening; nearer, it needs
    the other crossed with it (arousal moves rate and depth together, calm
    breathing seldom does both at once). Irregularity never counts without one
    of them: a sigh, a held breath and the breaths after it are irregular too.
    (2.5 until seeds 41-44: a breath-holder's quick breaths after a tense step,
    18-19/min against 14/min, 2.7-3.0 units alone, made a false step-down.)"""
    cap_z: float = 4.0
    """What one signal can add at most (units past ``from_z``)."""
    rate_weight: float = 1.0
    depth_weight: float = 0.7
    irregular_weight: float = 0.4
    """Irregularity alone is what a sigh makes: it weighs least."""


@record(frozen=True, slots=True)
class BreathReading:
    """How far the breath is from the opening now: ``score`` (0: nothing crossed;
    weighted units past ``from_z``) and each crossed signal in words and figures."""

    score: float
    crossed: tuple[str, ...] = ()


@record
class _Opening:
    """The opening's breath readings as they come in (rate, depth, irregularity, the
    half breaths), and once whole their centres and spreads."""

    rates: list[float] = field(default_factory=list)
    depths: list[float] = field(default_factory=list)
    irregular: list[float] = field(default_factory=list)
    # The half breaths' speed (log of 1/length, or of the pace's length over it):
    # in-breaths (True) and out-breaths (False) apart.
    halves: dict[bool, list[float]] = field(default_factory=lambda: {True: [], False: []})
    half_done: dict[bool, tuple[float, float]] = field(default_factory=dict)
    # Once whole: centre and spread of each (logs for rate and depth).
    done: tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None] | None = None
    # The depth since the last motion, while it is learned again; None: not since.
    relearn: list[float] | None = None


_NOTHING = BreathReading(0.0)
# Enum members read on every tick, looked up once: reading one off its class
# costs about 0.1 us in Python 3.11 (as much as a small function call).
_MOTION = BreathQuality.MOTION
_ACC = BreathSource.ACC
_OK = BreathQuality.OK


class BreathEvidence:
    """One session's breath against its opening; see the module docstring."""

    def __init__(self, config: BreathEvidenceConfig | None = None) -> None:
        self.config = config or BreathEvidenceConfig()
        self._openings = {False: _Opening(), True: _Opening()}
        self._paced: bool | None = None
        self._mode_from_s = -math.inf
        self._held_s = -math.inf
        self.last: BreathReading = _NOTHING

    def opening(self, paced: bool) -> tuple[float, float] | None:
        """The opening's typical rate (a minute, or over the pacer's) and depth (mg)."""
        done = self._openings[paced].done
        if done is None:
            return None
        return math.exp(done[0][0]), math.exp(done[1][0])

    def update(self, t_s: float, breath: BreathEstimate | None, paced: bool) -> BreathReading:
        """The breath at ``t_s``; ``paced``: a pacer is running."""
        cfg = self.config
        if paced != self._paced:
            self._paced = paced
            self._mode_from_s = t_s
        self.last = _NOTHING
        if breath is None:
            return _NOTHING
        if breath.holding_since_s is not None:  # ``breath.holding``, without the call
            self._held_s = t_s
        if breath.quality is _MOTION:
            for each in self._openings.values():
                each.relearn = []
        if breath.source is not _ACC:
            # Most ticks without a chest strap: only the chest's breaths are
            # judged here, and nothing below changes.
            return _NOTHING
        values = self._usable(breath, paced)
        if (
            values is None
            or t_s - self._mode_from_s < cfg.settle_s
            or t_s - self._held_s < cfg.after_hold_s
        ):
            return self.last
        rate, depth, irregular, half = values
        opening = self._openings[paced]
        if opening.done is None:
            self._learn(opening, rate, depth, irregular, half)
            return self.last
        self.last = self._judge(opening, rate, depth, irregular, paced, half)
        return self.last

    def _usable(
        self, b: BreathEstimate, paced: bool
    ) -> tuple[float, float, float | None, _Half | None] | None:
        # (``update`` has returned for no estimate and for a breath not from the chest.)
        if (
            b.quality is not _OK
            or b.holding
            or b.confidence < self.config.min_confidence
            or not b.depth_mg
        ):
            return None
        # Over the last breath: arousal shows within a few breaths, and the
        # estimate's usual rate and depth (medians of four) would take far longer.
        rate = b.recent_rate_ratio if paced else b.recent_per_min
        depth = b.recent_depth_mg
        if paced and b.rate_ratio is None:
            # Too few breaths yet since the pace began to tell following from not.
            return None
        if rate is None or rate <= 0 or not depth or depth <= 0:
            return None
        return rate, depth, b.irregularity, self._half(b, paced)

    def _half(self, b: BreathEstimate, paced: bool) -> _Half | None:
        if not self.config.half_breaths or b.half_inhale is None or not b.half_s:
            return None
        speed = b.half_rate_ratio if paced else 1.0 / b.half_s
        if speed is None or speed <= 0:
            return None
        return _Half(b.half_inhale, b.half_s, math.log(speed))

    def _learn(
        self,
        opening: _Opening,
        rate: float,
        depth: float,
        irregular: float | None,
        half: _Half | None,
    ) -> None:
        cfg = self.config
        if half is not None:
            opening.halves[half.inhale].append(half.log_speed)
        opening.rates.append(math.log(rate))
        opening.depths.append(math.log(depth))
        if irregular is not None:
            opening.irregular.append(irregular)
        if len(opening.rates) < cfg.opening_readings:
            return
        irr = (
            _centre_spread(opening.irregular, cfg.irregular_floor)
            if len(opening.irregular) >= cfg.opening_readings // 2
            else None
        )
        opening.half_done = {
            inhale: _centre_spread(speeds, cfg.rate_floor)
            for inhale, speeds in opening.halves.items()
            if len(speeds) >= cfg.half_readings
        }
        opening.done = (
            _centre_spread(opening.rates, cfg.rate_floor),
            _centre_spread(opening.depths, cfg.depth_floor),
            irr,
        )

    def _judge(
        self,
        opening: _Opening,
        rate: float,
        depth: float,
        irregular: float | None,
        paced: bool,
        half: _Half | None = None,
    ) -> BreathReading:
        cfg = self.config
        assert opening.done is not None
        (rate_c, rate_s), (depth_c, depth_s), irr = opening.done
        if opening.relearn is not None:
            opening.relearn.append(math.log(depth))
            if len(opening.relearn) < cfg.depth_relearn:
                depth_c = math.nan  # not judged until learned again
            else:
                centre = float(np.median(opening.relearn))
                opening.done = ((rate_c, rate_s), (centre, depth_s), irr)
                opening.relearn = None
                depth_c = centre
        score = 0.0
        crossed: list[str] = []
        zs: list[float] = []  # rate's and depth's, where crossed
        z = (math.log(rate) - rate_c) / rate_s
        half_z = -math.inf
        known = opening.half_done.get(half.inhale) if half is not None else None
        if half is not None and known is not None:
            half_z = (half.log_speed - known[0]) / known[1]
        alone = z  # the whole breaths' rate: a half never counts alone
        if half is not None and known is not None and half_z > z and half_z >= cfg.from_z:
            z = half_z
            zs.append(z)
            score += cfg.rate_weight * min(z - cfg.from_z, cfg.cap_z)
            what = "in-breath" if half.inhale else "out-breath"
            if paced:
                crossed.append(
                    f"breathing faster ({what} {half.length_s:.1f} s,"
                    f" {math.exp(half.log_speed):.2f}x the pace; {math.exp(known[0]):.2f}x"
                    f" at the start, {z:.1f} units)"
                )
            else:
                crossed.append(
                    f"breathing faster ({what} {half.length_s:.1f} s;"
                    f" {math.exp(-known[0]):.1f} s at the start, {z:.1f} units)"
                )
        elif z >= cfg.from_z:
            zs.append(z)
            score += cfg.rate_weight * min(z - cfg.from_z, cfg.cap_z)
            if paced:
                crossed.append(
                    f"breathing faster ({rate:.2f}x the pace; {math.exp(rate_c):.2f}x"
                    f" at the start, {z:.1f} units)"
                )
            else:
                crossed.append(
                    f"breathing faster ({rate:.1f}/min; {math.exp(rate_c):.1f}/min"
                    f" at the start, {z:.1f} units)"
                )
        z = (depth_c - math.log(depth)) / depth_s
        if math.isfinite(z) and z >= cfg.from_z:
            zs.append(z)
            alone = max(alone, z)
            score += cfg.depth_weight * min(z - cfg.from_z, cfg.cap_z)
            crossed.append(
                f"breathing shallower ({math.exp(math.log(depth) - depth_c):.2f}x"
                f" the depth at the start, {z:.1f} units)"
            )
        if irr is not None and irregular is not None:
            z = (irregular - irr[0]) / irr[1]
            if z >= cfg.from_z:
                score += cfg.irregular_weight * min(z - cfg.from_z, cfg.cap_z)
                crossed.append(
                    f"breathing irregular (breath lengths spread {irregular:.2f};"
                    f" {irr[0]:.2f} at the start, {z:.1f} units)"
                )
        if len(zs) < 2 and not (zs and alone >= cfg.alone_z):
            return BreathReading(0.0, tuple(crossed))
        return BreathReading(score, tuple(crossed))


@record(frozen=True, slots=True)
class _Half:
    """The half breath completed last: an in-breath or not, its length, and the
    log of its speed (1/length; with a pacer, the pace's length over it)."""

    inhale: bool
    length_s: float
    log_speed: float


def _centre_spread(values: list[float], floor: float) -> tuple[float, float]:
    """Median and a robust spread (1.4826 MAD), the spread never below ``floor``."""
    arr = np.asarray(values, dtype=float)
    centre = float(np.median(arr))
    spread = 1.4826 * float(np.median(np.abs(arr - centre)))
    return centre, max(spread, floor)
