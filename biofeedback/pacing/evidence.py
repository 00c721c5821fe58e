"""Evidence of a rise in heart rate: a one-sided CUSUM in the person's own noise units.

Each second, two readings of heart rate are set against a reference level:

- the 10 s heart rate (it spans a slow breath, so the breath's swing cancels),
  in units of the resting noise measured over the opening (``hr_noise_bpm``,
  never below ``noise_floor_bpm``), less ``slack_z`` for ordinary wander;
- the fast (5 s) heart rate, which shows a rise 2-3 s sooner but swings with
  each breath: in units of its own swing around the reference, learned while
  the session goes on (``NoiseLearner``: a steady heart is judged finely, a
  swinging one coarsely), less ``fast_slack_z``.

The larger excess is added to the evidence, which never goes below zero and
fades with ``leak_tau_s``. A strong rise piles it up within seconds, a small
one slowly, and wander within the allowance drains it again. When HRV is
usable, RMSSD falling well below its reference adds a little, but only while
heart rate is also up (RMSSD alone never steps down). Breath seen on the chest
past the person's opening (``breath_evidence.py``) adds to the excess in the
same way, only while heart rate is ``breath_min_hr_bpm`` up.

The reference follows the heart slowly (``follow_tau_s``) while there is no
evidence, within ``follow_down_bpm`` below and ``follow_up_bpm`` above the
baseline: a resting heart drifts over minutes (and a relaxing one settles
several beats lower, from where a new rise counts), an arousal ramp takes
seconds, and the reference stands still while the evidence grows, so a ramp is
never absorbed into it.

benchmarks/detection.py measures the whole detector on a broad corpus against a
naive rule; benchmarks/detection_corpus.py says what the corpus holds.

Pure: ``update`` one reading at a time with the seconds since the last one.
A gap (no reading) changes nothing: evidence is frozen, not reset.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

from biofeedback.models.record import record


@record(frozen=True, slots=True)
class EvidenceConfig:
    """How far and how long the heart must rise to step down (each setting below)."""

    slack_z: float = 2.3
    """Rises within this many resting-noise units are wander, not evidence."""
    climb_slack_z: float = 2.0
    """The same for a further climb right after a step-down, counted from the
    heart rate at the step-down: that heart is already known to be rising."""
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
    follow_down_bpm: float = 6.0
    follow_up_bpm: float = 8.0
    max_step_z: float = 2.0
    """Most one second can add: a single wild reading is not a panic."""
    fast_slack_z: float = 2.5
    """Rises of the fast heart rate within this many of its own learned noise
    units are its ordinary swing (breath, wander)."""
    power: float = 1.5
    """Above the allowance, evidence grows as the excess to this power: above 1,
    a large rise counts for much more than a middling one held longer."""
    leak_tau_s: float = 30.0
    """Evidence fades with this time constant: what piles up must pile up
    within about this long, so hours of small excursions never add up."""
    noise_floor_bpm: float = 3.0
    """The resting noise measured over one opening minute cannot see a heart's
    slow wander (30 s HR SD 2-3 bpm at rest): never count in smaller units."""
    learn_tau_s: float = 300.0
    """The fast heart rate's own noise is learned over about this long..."""
    learn_delay_s: float = 30.0
    """...from readings this old: the start of a rise is judged before it
    could be learned as noise (and forgotten once it steps down)."""
    learn_prior_bpm: float = 3.0
    """What the fast heart rate's noise is taken to be before anything is
    learned: a typical resting heart's (tests/data/rr/README.md)."""
    learn_floor_bpm: float = 1.5
    """A learned noise is never smaller than this (a very steady heart)."""
    breath_weight: float = 1.0
    """Breath seen on the chest past its opening (``breath_evidence.py``, weighted
    units) adds this much to the heart's excess per unit..."""
    breath_min_hr_bpm: float = 5.0
    """...but only while heart rate is at least this far over the reference: the
    breath alone (a sigh, a quick breath) never steps down."""


class Reading(NamedTuple):
    """One second's input to the evidence.

    Immutable like the frozen dataclasses elsewhere, but a tuple: the zone judge
    makes one or two every tick (86,400 a day), and a frozen dataclass's
    ``__init__`` (a guarded ``setattr`` per field) cost three times as much.
    """

    hr_bpm: float
    """Over a window that spans a slow breath (10 s)."""
    baseline_hr_bpm: float
    noise_bpm: float
    rmssd_drop_z: float | None = None
    """RMSSD below its reference in its own units; None without usable HRV."""
    hr_fast_bpm: float | None = None
    """Over a few seconds: quicker, but swings with each breath."""
    fast_noise_bpm: float | None = None
    """The fast heart rate's learned noise around the reference (``NoiseLearner``);
    None: ``learn_prior_bpm``, what a learner starts from."""
    breath_score: float | None = None
    """How far the breath seen on the chest is past its opening (``BreathReading``);
    None or 0: no breath evidence."""


class NoiseLearner:
    """A person's own noise of a heart-rate reading around its reference: an
    exponentially weighted RMS of the distances, starting from a typical
    heart's, each distance taken in only ``learn_delay_s`` after it was seen
    (so a rise that steps down is forgotten, not learned as noise) and not
    while a known cause (tensing) explains it. Pure; one ``push`` per reading."""

    def __init__(self, config: EvidenceConfig | None = None) -> None:
        self.config = config or EvidenceConfig()
        self._pending: deque[tuple[float, float, bool]] = deque()
        self._age_s = 0.0
        self._var = self.config.learn_prior_bpm**2
        self._kept = math.exp(-1.0 / self.config.learn_tau_s)  # per one-second reading

    def push(self, delta_bpm: float, dt_s: float, *, usable: bool) -> None:
        age_s = self._age_s + dt_s
        self._age_s = age_s
        pending = self._pending
        pending.append((age_s, delta_bpm, usable))
        learned_s = age_s - self.config.learn_delay_s
        while pending and pending[0][0] <= learned_s:
            _, d, ok = pending.popleft()
            if not ok or not math.isfinite(d):
                continue
            # One wild reading moves the estimate only so far.
            a = self._kept
            var = self._var
            step = d * d
            wild = 9.0 * var
            self._var = a * var + (1.0 - a) * (wild if wild < step else step)

    def forget_recent(self) -> None:
        """A rise was confirmed: what led up to it is not noise."""
        self._pending.clear()

    @property
    def noise_bpm(self) -> float:
        noise = math.sqrt(self._var)
        floor = self.config.learn_floor_bpm
        return floor if floor > noise else noise  # max(noise, floor), without the call


class RiseEvidence:
    """The evidence that heart rate has risen for real."""

    def __init__(self, config: EvidenceConfig | None = None) -> None:
        self.config = config or EvidenceConfig()
        self.evidence = 0.0
        self.reference_bpm: float | None = None
        self.rising_for_s = 0.0
        self.last_delta_bpm: float | None = None
        self.last_fast_delta_bpm: float | None = None
        self.last_reference_bpm: float | None = None
        """The reference the last reading was judged against (after its limits)."""
        self.last_unit_bpm: float | None = None
        """The units of the 10 s heart rate's evidence in the last reading."""
        self.peak_delta_bpm = 0.0
        self.breath_counted = False
        """The last reading's breath added to the excess."""
        # The fade and follow factors of the last ``dt_s`` (and config) seen: the
        # readings come a second apart, so one ``exp`` each is enough for a day.
        self._factors: tuple[float, EvidenceConfig | None, float, float, float] = (
            math.nan,
            None,
            1.0,
            0.0,
            0.0,
        )

    def reset(self, reference_bpm: float | None = None) -> None:
        """After a zone change: evidence starts again from nothing, and the slow
        reference from where the heart is now (None: from the baseline)."""
        self.evidence = 0.0
        self.reference_bpm = reference_bpm
        self.rising_for_s = 0.0
        self.peak_delta_bpm = 0.0

    def update(
        self,
        reading: Reading,
        dt_s: float,
        *,
        allowance_z: float = 0.0,
        fast_allowance_bpm: float | None = None,
    ) -> float:
        """Add one reading; ``allowance_z`` excuses a known cause (tensing's pressor
        bump), during which evidence may grow on what exceeds it but never drains;
        ``fast_allowance_bpm``: the part of it still in the fast heart rate (None:
        the same share as in the 10 s one)."""
        cfg = self.config
        hr, base, noise, drop, fast, fast_noise, breath = reading
        ref = self.reference_bpm
        if ref is None or not math.isfinite(ref):
            ref = base
        # Its limits, and the maxima below, written as ``b if b > a else a``: what
        # ``max(a, b)`` returns (NaN and ties alike) without a call, which was a
        # tenth of this method's time (100,000 readings a day).
        low, high = base - cfg.follow_down_bpm, base + cfg.follow_up_bpm
        ref = low if low > ref else ref
        ref = high if high < ref else ref
        delta = hr - ref
        unit = cfg.noise_floor_bpm if cfg.noise_floor_bpm > noise else noise
        self.last_delta_bpm = delta
        self.last_reference_bpm = ref
        self.last_unit_bpm = unit
        excess = delta / unit - cfg.slack_z - allowance_z
        up_bpm = delta
        if fast is None:
            self.last_fast_delta_bpm = None
        else:
            fast_delta = fast - ref
            self.last_fast_delta_bpm = fast_delta
            if fast_allowance_bpm is None:
                fast_allowance_bpm = allowance_z * unit
            fast_excess = (fast_delta - fast_allowance_bpm) / (
                fast_noise or cfg.learn_prior_bpm
            ) - cfg.fast_slack_z
            if fast_excess > excess:
                excess = fast_excess
            if fast_delta > delta:
                up_bpm = fast_delta
        self.breath_counted = bool(breath) and up_bpm >= cfg.breath_min_hr_bpm
        if self.breath_counted:
            assert breath is not None
            excess += cfg.breath_weight * breath
        step = excess**cfg.power if excess > 0 else excess
        if drop is not None and delta >= cfg.min_hr_bpm and drop > cfg.rmssd_from_z:
            step += cfg.rmssd_weight * (min(drop, cfg.rmssd_cap_z) - cfg.rmssd_from_z)
        if cfg.max_step_z < step:
            step = cfg.max_step_z
        if step > 0 and up_bpm < cfg.min_hr_bpm:
            step = 0.0
        if allowance_z > 0 and step < 0:
            step = 0.0
        factors = self._factors
        if dt_s != factors[0] or cfg is not factors[1]:
            factors = self._factors = _factors(dt_s, cfg)
        evidence = self.evidence * factors[2] + step * dt_s
        if evidence < 0.0:
            evidence = 0.0
        self.evidence = evidence
        if evidence > 0:
            self.rising_for_s += dt_s
            if delta > self.peak_delta_bpm:
                self.peak_delta_bpm = delta
        else:
            self.rising_for_s = 0.0
            self.peak_delta_bpm = 0.0
            # Follow slow drift only while nothing is building up (with
            # ``follow_up_tau_s`` when above the reference, else ``follow_tau_s``).
            w = factors[3] if hr > ref else factors[4]
            self.reference_bpm = ref + w * (hr - ref)
        return evidence


def _factors(dt_s: float, cfg: EvidenceConfig) -> tuple[float, EvidenceConfig, float, float, float]:
    """For ``RiseEvidence.update`` after ``dt_s``: how much evidence is kept, and how
    far the reference follows a heart above it and one below it."""
    kept = math.exp(-dt_s / cfg.leak_tau_s) if cfg.leak_tau_s > 0 else 1.0
    up = 1.0 - math.exp(-dt_s / cfg.follow_up_tau_s) if dt_s > 0 else 0.0
    down = 1.0 - math.exp(-dt_s / cfg.follow_tau_s) if dt_s > 0 else 0.0
    return dt_s, cfg, kept, up, down
