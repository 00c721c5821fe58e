"""A beat-by-beat heart that hears the session's cues.

Each beat's interval is the mean interval of the current heart rate, plus
vagally mediated swings (respiratory sinus arrhythmia, the baroreflex loop's
resonance that breathing and tensing drive, and beat-to-beat noise, all scaled
by vagal tone) plus Mayer waves near 0.1 Hz. Heart rate is the
resting rate, lowered by a responder's settling over the session, raised by
tensing (the pressor response), by arousal episodes (sympathetic drive) and by
a slow random drift. Vagal tone wanders slowly, grows as a responder settles
and is withdrawn by tensing and by arousal.

The breathing pace comes from the session: a step with ``breath_in_s`` and
``breath_out_s`` paces it, other steps leave the person breathing on their own.
The activity (tense, release, rest...) sets how fast an arousal recovers, which
closes the loop: a controller that lengthens releases or steps down to passive
rest sees the heart settle sooner.

Only the true sinus rhythm lives here; what a strap makes of it (missed, extra
and ectopic beats, 1/1024 s ticks, notifications, gaps) is in artifacts.py and
source.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from biofeedback.models import (
    Action,
    PaceChanged,
    SessionEnded,
    SessionEvent,
    StepEnded,
    StepStarted,
    UserActed,
)
from simulators.baroreflex import Baroreflex, natural_hz_for, rsa_gain
from simulators.breathing import Lungs
from simulators.scenario import IDLE, Person, Scenario

_TWO_PI = 2.0 * math.pi
_BLOCK = 1024
# Mayer-wave phase diffusion (rad per sqrt(s)): a band about 0.01 Hz wide.
_LF_PHASE_DIFFUSION = 0.25
_WANDER_STEP_S = 0.5
_WANDER_START_S = -2.0
_MIN_HR_BPM = 35.0
# Heart rate at which the baroreflex swing is ``Person.baro_ms``.
_BARO_REF_HR_BPM = 66.0
_MAX_HR_BPM = 190.0
_MIN_RR_MS = 60000.0 / _MAX_HR_BPM
# A tuple, not ``StepEnded | SessionEnded``: the union would be built again at
# every event the person hears (most events are neither).
_ENDINGS = (StepEnded, SessionEnded)
# Every event ``Heart._follow`` acts on; any other (an estimate each second among
# them) changes nothing in the heart.
HEARD_EVENTS = (StepStarted, PaceChanged, *_ENDINGS, UserActed)


class NormalDraws:
    """Standard normal draws, taken from numpy in blocks: one numpy call per
    draw would cost more than the rest of a beat.

    ``draw`` is the hot path (a generator's ``__next__``: no Python frame of its
    own per draw); a block is drawn when the one before is used up, so the
    stream's draws, and what else the same generator draws between blocks, fall
    as they always did.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.draw: Callable[[], float] = self._endless().__next__

    def __call__(self) -> float:
        return self.draw()

    def _endless(self) -> Iterator[float]:
        while True:
            yield from self._rng.standard_normal(_BLOCK).tolist()


class _Wander:
    """Slow random wandering of heart rate, vagal tone and the Mayer-wave phase.

    Stepped on a fixed time grid rather than per beat, so it is the same
    function of time whatever the beats do (exact Ornstein-Uhlenbeck steps).
    """

    def __init__(self, p: Person, rng: np.random.Generator) -> None:
        self._normal = NormalDraws(rng).draw
        self._drift_keep = math.exp(-_WANDER_STEP_S / p.drift_tau_s)
        self._drift_kick = p.drift_hr_bpm * math.sqrt(1.0 - self._drift_keep**2)
        self._vagal_keep = math.exp(-_WANDER_STEP_S / p.vagal_tau_s)
        self._vagal_kick = p.vagal_sd * math.sqrt(1.0 - self._vagal_keep**2)
        self._phase_kick = _LF_PHASE_DIFFUSION * math.sqrt(_WANDER_STEP_S)
        self.drift_bpm = p.drift_hr_bpm * self._normal()
        self.log_vagal = p.vagal_sd * self._normal()
        self.lf_phase = float(rng.uniform(0.0, _TWO_PI))
        self._t_s = _WANDER_START_S

    def advance_to(self, t_s: float) -> None:
        step_t_s = self._t_s
        if step_t_s + _WANDER_STEP_S > t_s:
            return
        normal = self._normal
        drift_keep, drift_kick = self._drift_keep, self._drift_kick
        vagal_keep, vagal_kick = self._vagal_keep, self._vagal_kick
        phase_kick = self._phase_kick
        drift, log_vagal, lf_phase = self.drift_bpm, self.log_vagal, self.lf_phase
        # Each step as written always (the same draws in the same order, the same
        # arithmetic), on locals: a beat takes about two steps.
        while step_t_s + _WANDER_STEP_S <= t_s:
            step_t_s += _WANDER_STEP_S
            drift = drift * drift_keep + drift_kick * normal()
            log_vagal = log_vagal * vagal_keep + vagal_kick * normal()
            lf_phase += phase_kick * normal()
        self._t_s = step_t_s
        self.drift_bpm, self.log_vagal, self.lf_phase = drift, log_vagal, lf_phase


class Heart:
    """The sinus rhythm of one simulated person; ``next_beat()`` gives beat times.

    Attributes after each beat describe the truth behind it: ``hr_bpm`` (the
    rate the beat was drawn around, before RSA and noise), ``arousal_bpm`` (the
    sympathetic part of it), ``vagal`` (vagal tone relative to the person at
    rest, 1.0), ``activity`` and ``breath_period_s``.
    """

    def __init__(self, scenario: Scenario, seed: int | np.random.SeedSequence) -> None:
        self.scenario = scenario
        self.p = scenario.person
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        # A fourth stream for the newer breathing (holds, sighs): spawning it
        # leaves the first three, and so every existing scenario's beats, as they were.
        beat_seq, breath_seq, wander_seq, lungs_seq = seq.spawn(4)
        rng = np.random.default_rng(beat_seq)
        # Separate streams: each beat takes one draw from its own, breaths from
        # theirs, slow wandering from a fixed time grid. Two runs with one seed
        # but different cues then differ only by what the cues do (tests
        # compare such pairs).
        self._noise = NormalDraws(rng).draw
        self.lungs = Lungs(
            self.p,
            NormalDraws(np.random.default_rng(breath_seq)).draw,
            np.random.default_rng(lungs_seq),
        )
        self._wander = _Wander(self.p, np.random.default_rng(wander_seq))
        p = self.p
        self._rsa_norm = rsa_gain(p.breath_rate_hz, p.rsa_corner_hz)
        self.natural_hz = natural_hz_for(
            p.resonance_bpm / 60.0,
            damping=p.baro_damping,
            rsa_ms=p.rsa_ms,
            rsa_corner_hz=p.rsa_corner_hz,
            rsa_ref_hz=p.breath_rate_hz,
            baro_ms=p.baro_ms,
            lag_s=30.0 / p.rest_hr_bpm,
        )
        self._baro = Baroreflex(self.natural_hz, p.baro_damping)
        self._baro_output = self._baro.output
        # Products the beat's arithmetic starts with, worked out once: Python
        # multiplies left to right, so ``0.5 * p.baro_ms * x`` is ``half_baro * x``
        # to the bit, and so on.
        self._half_baro_ms = 0.5 * p.baro_ms
        self._lf_rad_per_s = _TWO_PI * p.lf_hz
        # Each episode's (onset, end, HR rise, vagal loss), as its fields give them.
        self._episodes = tuple(
            (ep.onset_s, ep.end_s, ep.hr_rise_bpm, 1.0 - ep.rmssd_factor)
            for ep in scenario.episodes
        )
        # The direct RSA swing at the breath's period, worked out again only when
        # the period changes (once a breath at most).
        self._rsa_period_s = math.nan
        self._rsa_swing_ms = 0.0
        self.activity = IDLE
        self._recovery_rate = 1.0 / scenario.recovery_tau_for(IDLE)
        self._step: tuple[str, float | None, float | None] = (IDLE, None, None)
        # Events not yet heard (a cue still being spoken), with when they will be.
        self._pending: list[tuple[float, SessionEvent]] = []
        self._pressing = False
        # (time, activity) at each change, for the chest's tensing.
        self.activity_log: list[tuple[float, str]] = [(-math.inf, IDLE)]
        # When tensing last ended; recovery ramps up from there (-inf: never tensed).
        self._let_go_s = -math.inf
        # State, all of it a function of the seed and the cues heard so far.
        self.pressor_bpm = 0.0
        self.arousal_bpm = 0.0
        self.vagal_loss = 0.0
        breath_pos_s = float(rng.uniform(0.0, self.breath_period_s))
        self.hr_bpm = p.rest_hr_bpm
        self.vagal = 1.0
        self._last_rr_s = 60.0 / p.rest_hr_bpm
        # The first beat falls somewhere in the first interval before time 0.
        self.t_s = -float(rng.uniform(0.0, 60.0 / p.rest_hr_bpm))
        self.lungs.start(self.t_s, breath_pos_s)

    # -- cues

    @property
    def breath_period_s(self) -> float:
        return self.lungs.period_s

    def hear(self, event: SessionEvent, after_s: float = 0.0) -> None:
        """Follow the session: the current step sets activity and breathing.

        ``after_s``: the event is heard that long after it happens (its cue is
        spoken, and the person acts once it has been said). Events keep their order.
        """
        if after_s > 0 or self._pending:
            due_s = max(event.t + after_s, self._pending[-1][0] if self._pending else -math.inf)
            self._pending.append((due_s, event))
            return
        self._follow(event)

    def _follow(self, event: SessionEvent) -> None:
        if isinstance(event, StepStarted):
            self._step = (str(event.kind), event.breath_in_s, event.breath_out_s)
            self.set_activity(*self._step)
            # The pacer's first in-breath starts with the step, heard or not yet.
            self.lungs.pace(event.t, event.breath_in_s, event.breath_out_s)
        elif isinstance(event, PaceChanged):
            self._step = (self._step[0], event.breath_in_s, event.breath_out_s)
            self.lungs.pace(event.t, event.breath_in_s, event.breath_out_s)
        elif isinstance(event, _ENDINGS):
            self._step = (IDLE, None, None)
            self.set_activity(IDLE)
        elif isinstance(event, UserActed) and event.action is Action.PAUSE:
            self.set_activity(IDLE)
        elif isinstance(event, UserActed) and event.action is Action.RESUME:
            self.set_activity(*self._step)

    def set_activity(
        self, activity: str, breath_in_s: float | None = None, breath_out_s: float | None = None
    ) -> None:
        self.activity = activity
        self._recovery_rate = 1.0 / self.scenario.recovery_tau_for(activity)
        self.activity_log.append((self.t_s, activity))
        if self._pressing and activity != "tense":
            self._let_go_s = self.t_s
        self._pressing = activity == "tense"
        self.lungs.tension(self.t_s, self._pressing)
        # A pacer is followed from the next breath on: nobody cuts a breath short.
        self.lungs.pace(self.t_s, breath_in_s, breath_out_s)

    # -- beats

    def next_beat(self) -> float:
        """Advance one beat and return its time (seconds)."""
        p = self.p
        t = self.t_s
        pending = self._pending
        while pending and pending[0][0] <= t:
            self._follow(pending.pop(0)[1])
        wander = self._wander
        wander.advance_to(t)
        self._advance_responses(t, self._last_rr_s)

        relax = 1.0 - math.exp(-max(t, 0.0) / p.relax_tau_s) if p.relax_tau_s > 0 else 1.0
        pressor_bpm = self.pressor_bpm
        hr = (
            p.rest_hr_bpm
            - p.relax_hr_drop_bpm * relax
            + pressor_bpm
            + self.arousal_bpm
            + wander.drift_bpm
        )
        hr = min(max(hr, _MIN_HR_BPM), _MAX_HR_BPM)
        pressor_share = pressor_bpm / p.pressor_bpm if p.pressor_bpm > 0 else 0.0
        # Arousal and tensing withdraw vagal tone from the whole heart; the
        # wander and the session's settling only from its direct rhythms.
        withdrawn = (1.0 - self.vagal_loss) * (1.0 - p.pressor_vagal_drop * pressor_share)
        vagal = math.exp(wander.log_vagal) * (1.0 + p.relax_rmssd_gain * relax) * withdrawn
        lungs = self.lungs
        breath_shape = lungs.shape()
        rsa_swing_ms = self._rsa_swing(lungs.in_s + lungs.out_s)
        # The loop moves heart rate by so many beats a minute: in RR terms its
        # swing shrinks as the heart speeds up.
        baro_ms = self._half_baro_ms * self._baro_output * (_BARO_REF_HR_BPM / hr) ** 2
        rr_ms = 60000.0 / hr
        # The loop's gain (baroreflex sensitivity) does not drift within a
        # session; the wander stands for the uneven depth of unpaced breaths,
        # so paced at one rate the loop's swing holds steady.
        rr_ms += vagal * (0.5 * rsa_swing_ms * breath_shape + p.noise_ms * self._noise())
        rr_ms += withdrawn * baro_ms
        rr_ms += p.lf_ms * math.sin(self._lf_rad_per_s * t + wander.lf_phase)
        rr_ms = max(rr_ms, _MIN_RR_MS)

        rr_s = rr_ms / 1000.0
        # Tensing raises blood pressure and the reflex answers it about half a
        # 0.1 Hz cycle later, so near resonance the loop swings heart rate up
        # with each contraction (a negative drive shortens RR).
        self._baro_output = self._baro.step(breath_shape - p.baro_tension * pressor_share, rr_s)
        lungs.advance(t, rr_s)
        self.hr_bpm = hr
        self.vagal = vagal
        self._last_rr_s = rr_s
        self.t_s = t = t + rr_s
        return t

    def _advance_responses(self, t_s: float, dt_s: float) -> None:
        """The pressor response and arousal, first order toward what drives them."""
        p = self.p
        pressing = self._pressing
        # At rest with no pressor response left the step below moves nothing:
        # (0 - 0) times a finite factor is 0.
        if pressing or self.pressor_bpm != 0.0:
            target = p.pressor_bpm if pressing else 0.0
            tau = p.pressor_rise_tau_s if pressing else p.pressor_fall_tau_s
            self.pressor_bpm += (target - self.pressor_bpm) * (1.0 - math.exp(-dt_s / tau))

        drive_bpm = 0.0
        drive_loss = 0.0
        episode_on = False
        for onset_s, end_s, hr_rise_bpm, loss in self._episodes:
            if onset_s <= t_s < end_s:
                episode_on = True
                drive_bpm = max(drive_bpm, hr_rise_bpm)
                drive_loss = max(drive_loss, loss)
        if self.lungs.answers_drive:
            self.lungs.drive(dt_s, episode_on)
        arousal_bpm, vagal_loss = self.arousal_bpm, self.vagal_loss
        if drive_bpm == arousal_bpm == 0.0 and drive_loss == vagal_loss == 0.0:
            return  # nothing to rise toward or fall from: both stay 0
        rise = 1.0 - math.exp(-dt_s / p.arousal_rise_tau_s)
        fall_rate = self._recovery_rate
        if p.recovery_ramp_s > 0:
            fall_rate *= min(max(t_s - self._let_go_s, 0.0) / p.recovery_ramp_s, 1.0)
        fall = 1.0 - math.exp(-dt_s * fall_rate)
        self.arousal_bpm = arousal_bpm + (drive_bpm - arousal_bpm) * (
            rise if drive_bpm > arousal_bpm else fall
        )
        self.vagal_loss = vagal_loss + (drive_loss - vagal_loss) * (
            rise if drive_loss > vagal_loss else fall
        )

    def _rsa_swing(self, period_s: float) -> float:
        """The direct RSA swing (ms) at a breath of ``period_s``."""
        if period_s != self._rsa_period_s:
            p = self.p
            gain = rsa_gain(1.0 / period_s, p.rsa_corner_hz)
            self._rsa_period_s = period_s
            self._rsa_swing_ms = p.rsa_ms * gain / self._rsa_norm
        return self._rsa_swing_ms
