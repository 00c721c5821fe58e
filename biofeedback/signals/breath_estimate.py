"""The breath the person takes, from chest motion or, without it, from the heart.

Pure and clock-free like the arousal estimator: ``add_motion`` takes chest
acceleration (``ChestMotion``), ``add_sample`` heart samples, ``pace`` the
pacer the person is asked to follow, and ``estimate(now_s)`` says what the
breath is doing at ``now_s``.

From acceleration: the strap tilts a little with every breath, so breathing is
a slow swing of a few to tens of milli-g on top of gravity. Samples are
averaged to 10 Hz; a window since the last motion is detrended (gravity is
steady while the person is still) and projected on its main axis; extremes
found with a hysteresis of a share of the recent depth mark the breaths
(trough to peak: in; peak to trough: out). Lying on the side, or after a
shift into a posture where the breath barely tilts the strap, a breath is a
couple of milli-g, no more than the sensor's noise: the window is smoothed
longer until its breaths stand clear of the noise, and the hysteresis never
falls below what the noise can swing, else its wiggles count as breaths.
The sign of the axis is the one that makes the in-breath the shorter half, as
it is in nearly everyone, learnt while breathing freely (or with a pacer whose
in-breath is the shorter half) and then kept: a pacer may ask for a longer
in-breath, and the person following it must not turn the breath over. It is
learnt afresh after motion.
A breath held shows as the signal staying inside a narrow band for seconds;
one hold is a run of such still stretches, each overlapping the last, and it
ends where the signal leaves the last one's band: the hold recorded then
(``holds``) lasts at least as long as the estimate said while it was under way.

Motion (fidgeting, a posture shift) swamps the breath: the estimate says so
(``BreathQuality.MOTION``) at once and stays so until the chest has been
still for a few seconds, then settles on the new posture before it is trusted
again, as the heart's quality states have hysteresis.

Without usable acceleration: respiratory sinus arrhythmia makes heart rate
swing with each breath, so the dominant oscillation of heart rate between
0.05 and 0.5 Hz over the last minute is the breathing rate, with a confidence
from how much of the band's power the peak holds (the 0.1 Hz Mayer wave and
slow breathing overlap: the confidence says how far to trust it).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from biofeedback.models import ChestMotion, HeartSample
from biofeedback.models.record import record
from biofeedback.signals.line_fit import LineX, line_fit, line_x
from biofeedback.signals.median import median
from biofeedback.signals.resonance import hann_taper
from biofeedback.signals.slots import builder

if TYPE_CHECKING:
    # For annotations only (see line_fit.py).
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Indices = npt.NDArray[np.intp]
    Complexes = npt.NDArray[np.complex128]

# Chest motion is averaged to this rate before anything else (breaths are under 1 Hz).
WORK_HZ = 10.0
# Half a second of blocks: the smoothing, and the span a slope is read over.
_HALF_S = 5


class BreathQuality(StrEnum):
    """How far the breath estimate can be trusted, and why not."""

    OK = "ok"  # breathing seen on the chest
    SETTLING = "settling"  # the chest is still again: learning the new posture
    MOTION = "motion"  # moving: the breath is lost in the motion
    RR_ONLY = "rr_only"  # no usable chest motion: a rate from the heart's rhythm
    NO_SIGNAL = "no_signal"  # nothing to go on


class BreathSource(StrEnum):
    ACC = "acc"
    RR = "rr"


@record(frozen=True, slots=True)
class BreathConfig:
    """The estimator's numbers (seconds, milli-g, breaths a minute)."""

    window_s: float = 40.0
    # Average absolute deviation within a 0.1 s block (mg, summed over the
    # axes) that counts as motion, and below which the chest is still again.
    motion_mg: float = 30.0
    still_mg: float = 15.0
    still_for_s: float = 5.0
    # The smallest breath worth the name (mg peak to trough).
    min_depth_mg: float = 1.5
    # Extremes must stand this share of the recent depth apart.
    hysteresis: float = 0.35
    # A hold: the signal inside this share of the recent depth for this long,
    # and for at least this share of a breath (slow breaths dwell at their
    # turns: at 6 a minute the chest is near still for over two seconds).
    hold_band: float = 0.2
    hold_min_s: float = 2.5
    hold_period_share: float = 0.45
    # The whole window is read this often; in between, only a hold is looked
    # for (each second), and the rest of the last reading stands.
    analyse_every_s: float = 2.0
    # Following a pacer: rate within these ratios, inhale onsets this consistent.
    follow_ratio: tuple[float, float] = (0.8, 1.25)
    follow_consistency: float = 0.6
    # The heart's rhythm: a minute of beats, refreshed every few seconds.
    rr_window_s: float = 64.0
    rr_every_s: float = 5.0
    rr_min_confidence: float = 0.2
    # The opening: the first stretch of good breathing the later breath is held against.
    opening_s: float = 60.0


@record(frozen=True, slots=True)
class Breath:
    """One breath seen on the chest: onset of the in-breath, its halves, depth."""

    onset_s: float
    inhale_s: float
    exhale_s: float
    depth_mg: float


@record(frozen=True, slots=True)
class Hold:
    """A breath held: from ``started_s`` for ``duration_s``."""

    started_s: float
    duration_s: float


@record(frozen=True, slots=True)
class BreathEstimate:
    """The breath at ``t_s``.

    ``per_min`` is the breathing rate, from ``source`` (``acc``: the chest;
    ``rr``: the heart's rhythm, less sure; None: no rate), ``confidence`` 0..1.
    From the chest only: ``inhaling`` (the phase), ``depth_mg`` (peak to trough),
    ``exhale_inhale`` (the out-breath's length over the in-breath's),
    ``irregularity`` (spread of breath lengths over their mean), and a hold
    under way (``holding_since_s``, ``hold_s`` so far). With a pacer:
    ``rate_ratio`` (breathed over paced rate), ``phase_lag_s`` (how far the
    in-breaths fall behind the pacer's, + late), ``following``. Against the
    person's opening: ``rate_vs_opening`` and ``depth_vs_opening`` (ratios).
    Over the last breath only (quicker to answer, noisier; the chest only):
    ``recent_per_min``, ``recent_rate_ratio`` (over the pacer's), ``recent_depth_mg``.
    Over the last half breath only (the in-breath or the out-breath completed
    last, known half a breath sooner than the whole breath): ``half_inhale``
    (which half it was), ``half_s`` (its length) and, with a pacer,
    ``half_rate_ratio`` (the pacer's length of that half over the breathed one).
    """

    t_s: float
    quality: BreathQuality
    source: BreathSource | None = None
    per_min: float | None = None
    confidence: float = 0.0
    inhaling: bool | None = None
    depth_mg: float | None = None
    exhale_inhale: float | None = None
    irregularity: float | None = None
    holding_since_s: float | None = None
    hold_s: float = 0.0
    rate_ratio: float | None = None
    phase_lag_s: float | None = None
    following: bool | None = None
    rate_vs_opening: float | None = None
    depth_vs_opening: float | None = None
    reason: str = ""
    recent_per_min: float | None = None
    recent_rate_ratio: float | None = None
    recent_depth_mg: float | None = None
    half_inhale: bool | None = None
    half_s: float | None = None
    half_rate_ratio: float | None = None

    @property
    def holding(self) -> bool:
        return self.holding_since_s is not None


@record(frozen=True, slots=True)
class Pacer:
    """The paced breath: the first in-breath starts at ``start_s``."""

    start_s: float
    in_s: float
    out_s: float

    @property
    def period_s(self) -> float:
        return self.in_s + self.out_s

    @property
    def per_min(self) -> float:
        return 60.0 / self.period_s


_REASONS = {
    BreathQuality.OK: "breathing seen on the chest",
    BreathQuality.SETTLING: "the chest is still again: learning the breath",
    BreathQuality.MOTION: "moving: the breath is lost in the motion for now",
    BreathQuality.RR_ONLY: "breathing rate from the heart's rhythm (no chest motion to read)",
    BreathQuality.NO_SIGNAL: "no breath to read yet",
}


# The estimates from the heart's rhythm, one a tick: ``BreathEstimate`` with these
# fields given (in this order), the rest their defaults, at half the cost.
_rr_estimate = builder(
    BreathEstimate,
    "t_s",
    "quality",
    "source",
    "per_min",
    "confidence",
    "rate_ratio",
    "rate_vs_opening",
    "reason",
)
_no_estimate = builder(BreathEstimate, "t_s", "quality", "reason")
# Enum members asked for every tick, looked up once: on Python 3.11 reading a
# member off its enum class (``BreathQuality.RR_ONLY``) costs ~0.25 us each time.
_RR_ONLY = BreathQuality.RR_ONLY
_NO_SIGNAL = BreathQuality.NO_SIGNAL
_FROM_RR = BreathSource.RR


class BreathEstimator:
    """One session's breath estimate; see the module docstring."""

    def __init__(self, config: BreathConfig | None = None) -> None:
        self.config = config or BreathConfig()
        self._cap = int(self.config.window_s * WORK_HZ * 2)
        # The 10 Hz blocks: time and the three axes, the newest last.
        self._t = np.zeros(0)
        self._xyz = np.zeros((0, 3))
        # Raw samples not yet making a whole 0.1 s block.
        self._carry = np.zeros((0, 3))
        self._carry_end_s = 0.0
        self._last_acc_s = -math.inf
        self._moving = False
        self._moved_s = -math.inf  # the last moment of motion
        self._still_from_s = -math.inf  # first block of the current still stretch
        self._sign = 1.0
        # The sign is settled once the evidence has agreed with it for a while
        # (the time it was, None: not yet since the last motion); a settled sign
        # turns only on evidence against it in several readings running.
        self._sign_settled_s: float | None = None
        self._sign_agree = 0
        self._sign_against = 0
        # When the pacer last stopped (inf: pacing now): the window holds paced
        # breaths, whose halves are the pacer's, for a window's length after.
        self._free_since_s = -math.inf
        self._axis: Floats = np.zeros(3)
        self._pacer: Pacer | None = None
        self._pacer_per_min: float | None = None
        self._hold_from: float | None = None
        self._hold_end_s = -math.inf
        # The hold under way: the start of the latest still stretch that made it
        # one, and the last moment the estimate said the breath was held.
        self._hold_stretch_s = -math.inf
        self._hold_seen_s = -math.inf
        self.holds: list[Hold] = []
        self.breaths: list[Breath] = []
        self._last_breath_onset_s = -math.inf
        self._last_breath_end_s = -math.inf
        self._depth_mg: float | None = None
        self._period_s: float | None = None
        self._reading: BreathEstimate | None = None
        self._paced_until = (-math.inf, 0.0)
        self._read_s = -math.inf
        self._opening: list[tuple[float, float]] = []  # (per_min, depth) in the opening
        self._opening_rate: float | None = None
        self._opening_depth: float | None = None
        # Heart beats for the RR fallback, the newest last: times and intervals in
        # arrays, so the window read every five seconds is a view of them rather
        # than lists made arrays. ``_beats`` are filled; when all 2 * _RR_BEATS are,
        # the last _RR_BEATS (all the window reads) move to the front.
        # A beat is stored through a memoryview of each (a C double's item
        # assignment, ~25 ns against numpy's ~70), the window read through numpy.
        t_bytes, rr_bytes = bytearray(8 * 2 * _RR_BEATS), bytearray(8 * 2 * _RR_BEATS)
        self._beat_t: Floats = np.frombuffer(t_bytes, dtype=np.float64)
        self._beat_rr: Floats = np.frombuffer(rr_bytes, dtype=np.float64)
        self._beat_t_at = memoryview(t_bytes).cast("d")
        self._beat_rr_at = memoryview(rr_bytes).cast("d")
        self._beats = 0
        self._last_beat_t = -math.inf
        # Index of the first beat from which the times never go back (NaN counts
        # as going back): the window is found by bisection from there on.
        self._beats_ordered_from = 0
        self._rr_at_s = -math.inf
        self._rr_result: tuple[float | None, float] = (None, 0.0)
        # Each reading's spectrum is written here (one array, not one a reading).
        self._spectrum: Complexes = np.empty(_RR_FFT_N // 2 + 1, dtype=np.complex128)

    # ------------------------------------------------------------------
    # Inputs

    def add_motion(self, motion: ChestMotion) -> None:
        n = len(motion.x_mg)
        if n == 0 or motion.rate_hz <= 0:
            return
        raw = np.column_stack(
            (
                np.asarray(motion.x_mg, dtype=float),
                np.asarray(motion.y_mg, dtype=float),
                np.asarray(motion.z_mg, dtype=float),
            )
        )
        if not np.all(np.isfinite(raw)):
            return
        per_block = max(round(motion.rate_hz / WORK_HZ), 1)
        # A gap (the strap dropped out) starts the blocks afresh.
        first_s = motion.t_s - (n - 1) / motion.rate_hz
        if first_s - self._carry_end_s > 2.0 / motion.rate_hz + 1e-9:
            self._carry = np.zeros((0, 3))
        samples = np.concatenate((self._carry, raw)) if len(self._carry) else raw
        whole = len(samples) // per_block
        self._carry = samples[whole * per_block :]
        self._carry_end_s = motion.t_s
        self._last_acc_s = motion.t_s
        if whole == 0:
            return
        blocks = samples[: whole * per_block].reshape(whole, per_block, 3)
        means = blocks.mean(axis=1)
        spread = np.abs(blocks - means[:, None, :]).mean(axis=1).sum(axis=1)
        # Block i ends at the time of its last sample.
        left = len(self._carry)
        ends = motion.t_s - (left + (whole - 1 - np.arange(whole)) * per_block) / motion.rate_hz
        self._mark_motion(ends, spread, means)
        self._t = np.concatenate((self._t, ends))[-self._cap :]
        self._xyz = np.concatenate((self._xyz, means))[-self._cap :]

    def add_sample(self, sample: HeartSample) -> None:
        """Heart beats, for the rate from the heart's rhythm when the chest says nothing."""
        if not sample.usable:
            return
        store_t, store_rr = self._beat_t_at, self._beat_rr_at
        n, last = self._beats, self._last_beat_t
        for t_s, rr in zip(sample.beat_t_s, sample.rr_ms, strict=False):
            if 300.0 <= rr <= 2000.0:
                t = float(t_s)
                if not t >= last:
                    self._beats_ordered_from = n
                if n == 2 * _RR_BEATS:
                    # Full: moved now and then, not per beat; the window reads the last _RR_BEATS.
                    drop = n - _RR_BEATS
                    beat_t, beat_rr = self._beat_t, self._beat_rr
                    beat_t[:_RR_BEATS] = beat_t[drop:]
                    beat_rr[:_RR_BEATS] = beat_rr[drop:]
                    n = _RR_BEATS
                    self._beats_ordered_from = max(self._beats_ordered_from - drop, 0)
                store_t[n] = t
                store_rr[n] = rr
                n += 1
                last = t
        self._beats, self._last_beat_t = n, last

    def pace(self, pacer: Pacer | None) -> None:
        """The pacer the person is asked to follow from now (None: breathing freely)."""
        if pacer is None and self._pacer is not None:
            # The breath under way when a pace ends is still a paced one.
            self._paced_until = (self._last_acc_s + self._pacer.period_s, self._pacer.period_s)
            self._free_since_s = self._last_acc_s
        elif pacer is not None:
            self._free_since_s = math.inf
        self._pacer = pacer
        # Asked for every tick while paced: the pacer's rate (two properties) once.
        self._pacer_per_min = None if pacer is None else pacer.per_min

    # ------------------------------------------------------------------
    # The estimate

    def estimate(self, now_s: float) -> BreathEstimate:
        if not now_s - self._last_acc_s < 3.0:
            # No chest motion of late (a replay has none): the heart's rhythm says
            # the rate. A hold under way ended when the chest last said anything.
            if self._hold_from is not None:
                self._end_hold(min(now_s, self._last_acc_s))
            return self._fallback(now_s, _RR_ONLY)
        if self._moving:
            # The hold ended when the chest began to move.
            self._end_hold(min(now_s, self._moved_s))
            return self._fallback(now_s, BreathQuality.MOTION)
        result = self._between(now_s)
        if result is None:
            result = self._from_chest(now_s)
            self._reading = result
            self._read_s = now_s
        if result is not None:
            return result
        return self._fallback(now_s, BreathQuality.SETTLING)

    def _fallback(self, now_s: float, quality: BreathQuality) -> BreathEstimate:
        """The heart's rhythm says the rate, if it can; the quality says why."""
        if now_s - self._rr_at_s < self.config.rr_every_s:
            per_min, confidence = self._rr_result  # the reading of the last few seconds
        else:
            per_min, confidence = self._rr_rate(now_s)
        if per_min is None or confidence < self.config.rr_min_confidence:
            if quality is _RR_ONLY:
                quality = _NO_SIGNAL
            return _no_estimate(now_s, quality, _REASONS[quality])
        return _rr_estimate(
            now_s,
            quality,
            _FROM_RR,
            per_min,
            confidence,
            self._ratio(per_min),
            self._vs(per_min, self._opening_rate),
            _REASONS[quality],
        )

    # ------------------------------------------------------------------
    # Chest

    def _mark_motion(self, ends: Floats, spread: Floats, means: Floats) -> None:
        cfg = self.config
        for t_s, dev in zip(ends.tolist(), spread.tolist(), strict=True):
            if dev > cfg.motion_mg:
                self._moving = True
                self._moved_s = t_s
                self._still_from_s = math.inf
            elif dev < cfg.still_mg:
                if self._still_from_s == math.inf:
                    self._still_from_s = t_s
                if self._moving and t_s - self._still_from_s >= cfg.still_for_s:
                    self._moving = False
            else:
                self._still_from_s = math.inf
        # A posture change without much shaking still moves gravity: a jump of
        # the block means beyond any breath is motion too.
        if len(self._xyz) and len(means):
            before = self._xyz[-1]
            jumps = np.abs(np.diff(np.vstack((before, means)), axis=0)).sum(axis=1)
            big = np.flatnonzero(jumps > 2.0 * cfg.motion_mg)
            if len(big):
                self._moving = True
                self._moved_s = max(self._moved_s, float(ends[big[-1]]))
                self._still_from_s = math.inf

    def _window(self, now_s: float) -> tuple[Floats, Floats] | None:
        cfg = self.config
        start = max(now_s - cfg.window_s, self._moved_s + 1.0)
        t = self._t
        keep = (t > start) & (t <= now_s)
        if np.count_nonzero(keep) < 8.0 * WORK_HZ:
            return None
        return t[keep], self._xyz[keep]

    def _between(self, now_s: float) -> BreathEstimate | None:
        """Between whole readings: the last one, unless a breath is being held now."""
        last = self._reading
        if (
            last is None
            or last.holding
            or now_s - self._read_s >= self.config.analyse_every_s
            or self._moved_s > self._read_s
        ):
            return None
        keep = self._t > now_s - 6.0 * self.config.hold_min_s
        t, xyz = self._t[keep], self._xyz[keep]
        if len(t) < 2:
            return None
        level = _moving_mean((xyz - xyz.mean(axis=0)) @ self._axis * self._sign, _HALF_S)
        since = self._hold(t, level, now_s)
        if since is not None:
            return self._holding_estimate(now_s, since)
        inhaling = last.inhaling
        if len(level) > _HALF_S and last.depth_mg:
            slope = float(level[-1] - level[-1 - _HALF_S])
            if abs(slope) > 0.05 * last.depth_mg:
                inhaling = slope > 0
        return dataclasses.replace(last, t_s=now_s, inhaling=inhaling)

    def _from_chest(self, now_s: float) -> BreathEstimate | None:
        got = self._window(now_s)
        if got is None:
            return None
        t, xyz = got
        signal = self._project(t, xyz)
        smooth, floor = _smooth_above_noise(signal)
        troughs, peaks, depth = self._extremes(smooth, floor)
        # Troughs start in-breaths once the sign is right.
        rises = _half_lengths(t, troughs, peaks)
        falls = _half_lengths(t, peaks, troughs)
        if self._direction_turns(now_s, rises, falls):
            self._sign = -self._sign
            signal, smooth = -signal, -smooth
            troughs, peaks = peaks, troughs
            rises, falls = falls, rises
        if depth is not None:
            self._depth_mg = depth
        # Holds on the signal without its trend: a held breath at the end of the
        # window would tilt a fitted line, and the line would tilt the hold.
        level = _moving_mean((xyz - xyz.mean(axis=0)) @ self._axis * self._sign, _HALF_S)
        holding_since = self._hold(t, level, now_s)
        onsets = t[troughs]
        periods = np.diff(onsets)
        peak_periods = np.diff(t[peaks])
        all_periods = np.concatenate((periods[-4:], peak_periods[-4:]))
        if len(all_periods) < 2 or depth is None:
            if holding_since is not None:
                return self._holding_estimate(now_s, holding_since)
            return None
        per_min = 60.0 / median(all_periods)
        self._period_s = 60.0 / per_min
        if holding_since is not None:
            return self._holding_estimate(now_s, holding_since)
        # A breath that is taking far longer than the last ones slows the rate.
        last_turn = float(max(t[troughs[-1]] if len(troughs) else -math.inf, t[peaks[-1]]))
        since_turn = now_s - last_turn
        recent = np.concatenate((periods[-1:], peak_periods[-1:]))
        recent_per_min = 60.0 / float(np.median(recent)) if len(recent) >= 2 else per_min
        if since_turn > 1.2 * 60.0 / per_min:
            per_min = 60.0 / since_turn
        if since_turn > 1.2 * 60.0 / recent_per_min:
            recent_per_min = 60.0 / since_turn
        recent_depths = _depths(smooth, troughs, peaks)[-1:]
        recent_depth = float(np.median(recent_depths)) if len(recent_depths) else depth
        # The phase from the latest half second's slope; at a turn, from the last extreme.
        slope = float(smooth[-1] - smooth[-1 - _HALF_S]) if len(smooth) > _HALF_S else 0.0
        if abs(slope) > 0.05 * depth:
            inhaling = slope > 0
        else:
            inhaling = bool(len(troughs) and (not len(peaks) or troughs[-1] > peaks[-1]))
        ie = _exhale_inhale(smooth[-int(3 * WORK_HZ * 60.0 / per_min) :], depth)
        irregular = None
        if len(all_periods) >= 3:
            irregular = float(np.std(all_periods) / np.mean(all_periods))
        self._note_breaths(t, smooth, troughs, peaks)
        self._note_opening(now_s, per_min, depth)
        ratio, lag, following = self._follow(onsets)
        half_inhale, half_s, half_ratio = self._last_half(t, troughs, peaks)
        return BreathEstimate(
            now_s,
            BreathQuality.OK,
            BreathSource.ACC,
            per_min,
            min(len(all_periods) / 4.0, 1.0),
            inhaling,
            depth,
            ie,
            irregular,
            None,
            0.0,
            ratio,
            lag,
            following,
            self._vs(per_min, self._opening_rate),
            self._vs(depth, self._opening_depth),
            _REASONS[BreathQuality.OK],
            recent_per_min,
            self._ratio(recent_per_min),
            recent_depth,
            half_inhale,
            half_s,
            half_ratio,
        )

    def _direction_turns(self, now_s: float, rises: Floats, falls: Floats) -> bool:
        """Whether the breath's direction (which half is the in-breath) turns now.

        The evidence: breathing freely (no pacer in the window), the in-breath
        is the shorter half, as in nearly everyone. A pacer whose in-breath is
        not clearly the shorter half says nothing: people follow it, so the
        shorter-half rule would turn the breath over. Until the direction is
        settled (at the start, after motion) one reading decides; once settled,
        it takes evidence against it in ``_SIGN_AGAINST`` readings running.
        """
        if self._sign_settled_s is not None and self._moved_s > self._sign_settled_s:
            self._sign_settled_s = None
            self._sign_agree = self._sign_against = 0
        vote = self._direction_vote(now_s, rises, falls)
        if vote == 0:
            return False
        if vote > 0:
            self._sign_against = 0
            self._sign_agree += 1
            if self._sign_settled_s is None and self._sign_agree >= _SIGN_AGREE:
                self._sign_settled_s = now_s
            return False
        self._sign_agree = 0
        self._sign_against += 1
        if self._sign_settled_s is not None and self._sign_against < _SIGN_AGAINST:
            return False
        self._sign_against = 0
        self._sign_settled_s = None
        return True

    def _direction_vote(self, now_s: float, rises: Floats, falls: Floats) -> int:
        """+1: the evidence says the sign is right; -1: turned over; 0: it cannot say."""
        pacer = self._pacer
        if pacer is not None:
            # A pacer's halves only speak when its in-breath is clearly the
            # shorter, as a free breath's is. Its phase says nothing sure: people
            # follow a pacer's rate a personal lag behind, up to half a breath.
            if pacer.in_s > 0.8 * pacer.out_s:
                return 0
        elif now_s - self._free_since_s < self.config.window_s:
            return 0
        if len(rises) < 2 or len(falls) < 2:
            return 0
        rise, fall = median(rises), median(falls)
        if abs(rise - fall) <= 0.1 * (rise + fall):
            return 0
        return 1 if rise < fall else -1

    def _last_half(
        self, t: Floats, troughs: npt.NDArray[np.intp], peaks: npt.NDArray[np.intp]
    ) -> tuple[bool | None, float | None, float | None]:
        """The half breath completed last: an in-breath (trough to peak) or an
        out-breath (peak to trough), its length, and the pacer's over it."""
        if not len(troughs) or not len(peaks):
            return None, None, None
        inhale = bool(peaks[-1] > troughs[-1])
        end, before = (peaks, troughs) if inhale else (troughs, peaks)
        start = before[before < end[-1]]
        if not len(start):
            return None, None, None
        length = float(t[end[-1]] - t[start[-1]])
        if length <= 0:
            return None, None, None
        pacer = self._pacer
        ratio = None
        if pacer is not None:
            ratio = (pacer.in_s if inhale else pacer.out_s) / length
        return inhale, length, ratio

    def _holding_estimate(self, now_s: float, since_s: float) -> BreathEstimate:
        return BreathEstimate(
            now_s,
            BreathQuality.OK,
            BreathSource.ACC,
            0.0,
            1.0,
            None,
            self._depth_mg,
            holding_since_s=since_s,
            hold_s=now_s - since_s,
            rate_ratio=self._ratio(0.0),
            following=False if self._pacer is not None else None,
            reason="the breath is held",
        )

    def _project(self, t: Floats, xyz: Floats) -> Floats:
        """The window on its main axis, gravity and slow drift removed."""
        centred = xyz - xyz.mean(axis=0)
        tc = t - t.mean()
        slope = (tc @ centred) / max(float(tc @ tc), 1e-9)
        detrended = centred - np.outer(tc, slope)
        cov = detrended.T @ detrended
        _, vectors = np.linalg.eigh(cov)
        axis = vectors[:, -1]
        # Keep the axis pointing the way it did, so the sign learnt sticks.
        if float(axis @ self._axis) < 0:
            axis = -axis
        self._axis = axis
        projected: Floats = detrended @ axis * self._sign
        return projected

    def _extremes(
        self, s: Floats, noise_floor_mg: float = 0.0
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], float | None]:
        """Troughs and peaks with hysteresis; the median peak-to-trough depth.

        The hysteresis never falls below ``noise_floor_mg``: a share of a depth
        that noise itself made would let the noise's wiggles count as breaths,
        their depth shrink the hysteresis further, and the rate run away.
        """
        cfg = self.config
        low, high = np.percentile(s, (5.0, 95.0))
        spread = float(high - low)
        known = self._depth_mg if self._depth_mg is not None else spread
        h = max(cfg.hysteresis * min(known, spread), cfg.min_depth_mg, noise_floor_mg)
        troughs: list[int] = []
        peaks: list[int] = []
        hi_i = lo_i = 0
        # A plain list: this walk is sequential, and numpy scalars would slow it tenfold.
        values = s.tolist()
        hi = lo = values[0]
        rising: bool | None = None
        for i, v in enumerate(values):
            if v > hi:
                hi, hi_i = v, i
            if v < lo:
                lo, lo_i = v, i
            if rising is not False and hi - v > h:
                if rising is True or hi_i > 0:
                    peaks.append(hi_i)
                rising = False
                lo, lo_i = v, i
            elif rising is not True and v - lo > h:
                if rising is False or lo_i > 0:
                    troughs.append(lo_i)
                rising = True
                hi, hi_i = v, i
        tr = np.asarray(troughs, dtype=np.intp)
        pk = np.asarray(peaks, dtype=np.intp)
        depths = _depths(s, tr, pk)
        depth = median(depths[-4:]) if len(depths) else None
        if depth is not None and depth < cfg.min_depth_mg:
            depth = None
        return tr, pk, depth

    def _hold(self, t: Floats, s: Floats, now_s: float) -> float | None:
        """When the breath being held now began, or None."""
        cfg = self.config
        depth = self._depth_mg
        if depth is None or len(s) < 2:
            self._end_hold(self._hold_seen_s)
            return None
        band = max(cfg.hold_band * depth, cfg.min_depth_mg)
        rev = s[::-1]
        spread = np.maximum.accumulate(rev) - np.minimum.accumulate(rev)
        inside = int(np.argmax(spread > band)) if np.any(spread > band) else len(s)
        start_s = float(t[len(s) - inside]) if inside < len(s) else float(t[0])
        # Paced slow breaths dwell longest at their turns, and so does the
        # breath under way as a pace ends; unpaced breaths are quick enough for
        # the shortest hold.
        until_s, last_period = self._paced_until
        if self._pacer is not None:
            period = self._pacer.period_s
        elif now_s < until_s:
            period = last_period
        else:
            period = 0.0
        least_s = max(cfg.hold_min_s, cfg.hold_period_share * period)
        before = s[: len(s) - inside]
        # A breath drawn deeper than the slow ones before it and kept there is
        # held, not a slow breath turning.
        if (
            least_s > cfg.hold_min_s
            and inside >= 2
            and len(before) >= 2 * _HALF_S
            and float(np.mean(s[len(s) - inside :]))
            > float(np.percentile(before, 90)) + 0.1 * depth
        ):
            least_s = cfg.hold_min_s
        # Tensing holds a breath drawn in: a still stretch low in the breath's
        # range is an exhale slowed by the trunk bracing, not a hold.
        if inside >= 2 and len(before) >= 2 * _HALF_S:
            level = float(np.mean(s[len(s) - inside :]))
            if level < float(np.percentile(before, 60)):
                inside = 0
        # Measured to the last sample: the chest's data trail the clock a little.
        # The slow breath out after a hold is no second hold.
        fresh = start_s >= self._hold_end_s + cfg.hold_min_s
        # One hold is one run of still stretches, each overlapping the one
        # before: the estimate says it is held (``hold_s`` from its start) just
        # as long as the hold recorded when it ends lasts.
        if inside >= 2 and float(t[-1]) - start_s >= least_s and (fresh or self._hold_from):
            if self._hold_from is not None and start_s > self._hold_seen_s:
                # The chest left its band since it was last seen held: a new hold.
                self._end_hold(self._hold_exit(t, s, band))
            if self._hold_from is None:
                self._hold_from = start_s
            self._hold_stretch_s = start_s
            self._hold_seen_s = now_s
            return self._hold_from
        if self._hold_from is not None:
            self._end_hold(self._hold_exit(t, s, band))
        return None

    def _hold_exit(self, t: Floats, s: Floats, band: float) -> float:
        """When the hold under way ended: where the signal first left the band of
        the last still stretch that held it, and no sooner than it was last said held."""
        first = int(np.searchsorted(t, self._hold_stretch_s))
        seg = s[first:]
        if not len(seg):
            return self._hold_seen_s
        spread = np.maximum.accumulate(seg) - np.minimum.accumulate(seg)
        out = np.flatnonzero(spread > band)
        exit_s = float(t[first + out[0]]) if len(out) else float(t[-1])
        return max(exit_s, self._hold_seen_s)

    def _end_hold(self, end_s: float) -> None:
        if self._hold_from is not None:
            end_s = max(end_s, self._hold_seen_s)
            self.holds.append(Hold(self._hold_from, end_s - self._hold_from))
            self._hold_from = None
            self._hold_end_s = end_s

    def _note_breaths(
        self, t: Floats, s: Floats, troughs: npt.NDArray[np.intp], peaks: npt.NDArray[np.intp]
    ) -> None:
        """Whole breaths (trough, peak, trough) not yet noted."""
        for a, b in itertools.pairwise(troughs):
            onset = float(t[a])
            # A slow breath's flat trough moves a little from reading to reading:
            # a breath starting inside the one noted last is that one again.
            if onset <= self._last_breath_end_s - 0.5 or onset <= self._last_breath_onset_s + 0.5:
                continue
            inside = peaks[(peaks > a) & (peaks < b)]
            if not len(inside):
                continue
            p = inside[0]
            self.breaths.append(
                Breath(onset, float(t[p] - t[a]), float(t[b] - t[p]), float(s[p] - s[a]))
            )
            self._last_breath_onset_s = onset
            self._last_breath_end_s = float(t[b])

    def _note_opening(self, now_s: float, per_min: float, depth: float) -> None:
        # The opening is the person's own breathing: paced breaths are the pacer's.
        if self._opening_rate is not None or self._pacer is not None:
            return
        self._opening.append((per_min, depth))
        if len(self._opening) >= self.config.opening_s:
            rates, depths = zip(*self._opening, strict=True)
            self._opening_rate = median(rates)
            self._opening_depth = median(depths)

    def _follow(self, onsets: Floats) -> tuple[float | None, float | None, bool | None]:
        pacer = self._pacer
        if pacer is None:
            return None, None, None
        # Only breaths since the pacer began: the window still holds the ones before.
        mine = onsets[onsets >= pacer.start_s + 0.5 * pacer.period_s]
        if len(mine) < 3:
            return None, None, None
        ratio = 60.0 / median(np.diff(mine[-5:])) / pacer.per_min
        angle = 2.0 * math.pi * (mine - pacer.start_s) / pacer.period_s
        mean = np.mean(np.exp(1j * angle))
        lag = float(np.angle(mean)) / (2.0 * math.pi) * pacer.period_s
        low, high = self.config.follow_ratio
        following = low <= ratio <= high and float(abs(mean)) >= self.config.follow_consistency
        return ratio, lag, following

    def _ratio(self, per_min: float) -> float | None:
        paced_per_min = self._pacer_per_min
        return None if paced_per_min is None else per_min / paced_per_min

    def _vs(self, value: float | None, opening: float | None) -> float | None:
        """Against the opening, for breathing on one's own (a pacer sets its own rate)."""
        if value is None or opening is None or opening <= 0 or self._pacer is not None:
            return None
        return value / opening

    # ------------------------------------------------------------------
    # Heart

    def _rr_rate(self, now_s: float) -> tuple[float | None, float]:
        """A fresh reading of the rate from the heart's rhythm, kept until
        ``rr_every_s`` later (``_fallback`` asks for one no sooner)."""
        cfg = self.config
        self._rr_at_s = now_s
        n = self._beats
        first = max(n - _RR_BEATS, 0)
        if self._beats_ordered_from <= first:
            # Times in order: the window is a slice, the same beats the mask keeps,
            # found by bisection (tests/test_breath_rr_rate.py: NaN and times going
            # back), on the memoryview's floats: the comparisons ``searchsorted``
            # makes, without an array of the two times.
            times = self._beat_t_at
            lo = bisect.bisect_right(times, now_s - cfg.rr_window_s, first, n)
            hi = bisect.bisect_right(times, now_s, lo, n)
            self._rr_result = _rate_of_window(
                self._beat_t[lo:hi], self._beat_rr[lo:hi], cfg.rr_window_s, self._spectrum
            )
        else:
            beat_t, beat_rr = self._beat_t[first:n], self._beat_rr[first:n]
            self._rr_result = rate_from_rr(beat_t, beat_rr, now_s, cfg.rr_window_s)
        return self._rr_result


def rate_from_rr(
    beat_t_s: Floats, rr_ms: Floats, now_s: float, window_s: float = 64.0
) -> tuple[float | None, float]:
    """Breaths a minute from the heart's rhythm over the last ``window_s``, and a
    confidence 0..1 (the share of the 0.05-0.5 Hz power near the peak)."""
    keep = (beat_t_s > now_s - window_s) & (beat_t_s <= now_s)
    return _rate_of_window(
        np.asarray(beat_t_s[keep], dtype=np.float64),
        np.asarray(rr_ms[keep], dtype=np.float64),
        window_s,
    )


def _rate_of_window(
    t: Floats, rr: Floats, window_s: float, spectrum: Complexes | None = None
) -> tuple[float | None, float]:
    """``rate_from_rr`` over the beats of its window (float64 arrays, never written);
    ``spectrum``: an array of ``_RR_FFT_N // 2 + 1`` the spectrum may be written to
    (an estimator's own, rather than a new one each reading).

    Every five seconds of a session without chest motion asks for this: the
    scalar steps run on Python floats taken from the arrays (the same IEEE
    operations numpy's would be, so the same bits).
    """
    n = len(t)
    if n < 30 or float(t[n - 1]) - float(t[0]) < 0.75 * window_s:
        return None, 0.0
    # Beats that jump far from their neighbours are artifacts, not rhythm. The
    # median is one middle value or the mean of two, however it is found.
    ordered = rr.copy()  # ``np.sort(rr)`` without its Python wrapper
    ordered.sort()
    k = n // 2
    med = float(ordered[k]) if n % 2 else (float(ordered[k - 1]) + float(ordered[k])) / 2.0
    limit = 0.3 * med
    # |v - med| grows towards either end of the sorted values (IEEE subtraction is
    # monotonic): when both ends are inside, every beat is. Otherwise the mask, in
    # numpy (the same IEEE subtraction, abs and comparison per beat, at less cost).
    if not (abs(float(ordered[0]) - med) < limit and abs(float(ordered[n - 1]) - med) < limit):
        good = np.abs(rr - med) < limit
        t, rr = t[good], rr[good]
        if len(t) < 30:
            return None, 0.0
    grid = np.arange(t[0], t[-1], 1.0 / _RR_FS_HZ)
    hr = np.interp(grid, t, 60000.0 / rr)
    x = grid - grid[0]
    # Nearly always the grid's x is i / 4 to the bit (not where it crosses a power
    # of two, which rounds its steps): its sums then are the ones worked out once.
    usual_x, known = _grid_x(len(x))
    if x.tobytes() == usual_x:
        slope, offset = line_fit(x, hr, known)
    else:
        slope, offset = line_fit(x, hr)
    # In place, the same operations in the same order.
    line = slope * x
    line += offset
    hr -= line
    hr *= hann_taper(len(hr))
    lo, hi, _ = _rr_band()
    # |X| and its square over the band's bins alone: abs is taken bin by bin, so the
    # same bits as over the whole spectrum (tests/test_live_streams.py).
    bp = np.abs(np.fft.rfft(hr, _RR_FFT_N, out=spectrum)[lo:hi])
    bp *= bp  # what ``** 2`` does: numpy squares by ``x * x``
    # ``np.add.reduce``: what ``.sum()`` calls, without its Python wrapper.
    total = float(np.add.reduce(bp))
    if total <= 0:
        return None, 0.0
    near_lo, near_hi, chance, per_min = _peak(int(bp.argmax()))
    share = float(np.add.reduce(bp[near_lo:near_hi])) / total
    confidence = max((share - chance) / (1.0 - chance), 0.0)
    return per_min, confidence


# Readings running that settle the breath's direction, and that turn a settled one.
_SIGN_AGREE = 3
# Smoothing tried in turn (blocks): half a second, then up to 1.2 s.
_SMOOTH_BLOCKS = (_HALF_S, 8, 12)
# Noise's swing in the smoothed signal, in its standard deviations; and the
# share of the signal's spread it may take before the smoothing lengthens.
_NOISE_SWING = 4.0
_CLEAR_SHARE = 0.4
# Median absolute value to standard deviation, for Gaussian noise.
_MAD_SIGMA = 1.4826
_SIGN_AGAINST = 8

_RR_FS_HZ = 4.0
_RR_FFT_N = 2048
# The most recent beats the heart's rhythm is read from (a 64 s window holds ~60-200).
_RR_BEATS = 400


# Every five seconds of a session asks for these: the same each time.
@functools.cache
def _rr_band() -> tuple[int, int, Floats]:
    """The FFT bins of 0.05-0.5 Hz (``lo:hi``, one run of bins), and their frequencies."""
    freqs: Floats = np.fft.rfftfreq(_RR_FFT_N, 1.0 / _RR_FS_HZ).astype(np.float64)
    inside = np.flatnonzero((freqs >= 0.05) & (freqs <= 0.5))
    lo, hi = int(inside[0]), int(inside[-1]) + 1
    in_band: Floats = freqs[lo:hi]
    in_band.flags.writeable = False
    return lo, hi, in_band


@functools.cache
def _peak(peak: int) -> tuple[int, int, float, float]:
    """Bin ``peak`` of the band as the peak: the band's bins within 0.02 Hz of it
    (``lo:hi``, one run of bins), the share of the band they are (what they would
    hold by chance, with no rhythm at all), and the rate it says (breaths a
    minute). Worked out the first time a reading peaks there: a session meets a
    few of the band's 231 bins, and a short one cannot repay all of them (~0.7 ms)."""
    _, _, bf = _rr_band()
    inside = np.flatnonzero(np.abs(bf - bf[peak]) <= 0.02)
    return int(inside[0]), int(inside[-1]) + 1, float(len(inside) / len(bf)), 60.0 * float(bf[peak])


@functools.lru_cache(maxsize=64)
def _grid_x(n: int) -> tuple[bytes, LineX]:
    """The usual x of an ``n``-point reading's grid (i / 4 s: exact), as bytes to
    compare with, and its ``line_x``: a 64 s window's grids have a few lengths."""
    x: Floats = np.arange(n, dtype=np.float64)
    x *= 1.0 / _RR_FS_HZ
    return x.tobytes(), line_x(x)


def _exhale_inhale(s: Floats, depth: float) -> float | None:
    """Time breathing out over time breathing in: how long the signal falls and rises."""
    step = _HALF_S
    if len(s) <= step:
        return None
    change = s[step:] - s[:-step]
    # Turns are near still: leave them out rather than give them to either side.
    moving = 0.05 * depth
    rising = int(np.count_nonzero(change > moving))
    falling = int(np.count_nonzero(change < -moving))
    if rising == 0 or falling == 0:
        return None
    return falling / rising


def _smooth_above_noise(signal: Floats) -> tuple[Floats, float]:
    """The signal smoothed enough for its breaths to stand above its noise, and
    the swing (mg) the noise can still make in it.

    Lying on the side, or in a posture where the breath barely tilts the strap,
    a breath is a couple of milli-g: no more than the sensor's noise after
    half a second's smoothing. The noise is read from the block-to-block steps
    (a breath hardly moves in a tenth of a second); the smoothing lengthens
    until the breaths' swing is clear of what the noise can do.
    """
    steps = np.abs(np.diff(signal))
    noise = _MAD_SIGMA * float(np.median(steps)) / math.sqrt(2.0) if len(steps) else 0.0
    smooth = signal
    floor = 0.0
    for n in _SMOOTH_BLOCKS:
        smooth = _moving_mean(signal, n)
        floor = _NOISE_SWING * noise / math.sqrt(n)
        low, high = np.percentile(smooth, (5.0, 95.0))
        if floor <= _CLEAR_SHARE * float(high - low):
            break
    return smooth, floor


def _moving_mean(x: Floats, n: int) -> Floats:
    if len(x) < n:
        return x
    c = np.cumsum(np.concatenate(([0.0], x)))
    out = (c[n:] - c[:-n]) / n
    # Centred, the ends padded with the nearest full average.
    pad_lo = (n - 1) // 2
    pad_hi = n - 1 - pad_lo
    result: Floats = np.concatenate((np.full(pad_lo, out[0]), out, np.full(pad_hi, out[-1])))
    return result


def _half_lengths(t: Floats, starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]) -> Floats:
    """Seconds from each start to the next end after it."""
    if not len(starts) or not len(ends):
        return np.zeros(0)
    j = np.searchsorted(ends, starts, side="right")
    ok = j < len(ends)
    lengths: Floats = t[ends[j[ok]]] - t[starts[ok]]
    return lengths


def _depths(s: Floats, troughs: npt.NDArray[np.intp], peaks: npt.NDArray[np.intp]) -> Floats:
    """Peak minus the trough before it, for each peak that has one."""
    if not len(troughs) or not len(peaks):
        return np.zeros(0)
    j = np.searchsorted(troughs, peaks, side="left") - 1
    ok = j >= 0
    depths: Floats = s[peaks[ok]] - s[troughs[j[ok]]]
    return depths
