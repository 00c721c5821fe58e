"""A validation corpus for step-down detection, built from the real recordings in
tests/data/rr and from generated hearts, and the two detectors run over it.

Cases (``build_corpus``):

- *ramps*: +8/+10/+15/+25 bpm with first-order kinetics (tau 10-20 s), RMSSD
  shrinking with them, onsets anywhere in the session body, on generated
  hearts (resting HR 55-85, breathing 6-15 /min, RSA 2-6 bpm, slow wander with
  30 s HR SD 0-3 bpm, beat jitter) and on the real resting recordings, with
  0-5 % strap artifacts, some with signal gaps or frequent ectopy;
- *starts*: the same ramps beginning at t=0 or during the opening minute;
- *calm*: the generated hearts and real recordings (including the ambulatory
  60-minute Holter cut into sessions) with no episode, 0-5 % artifacts, slow
  wander, gaps and ectopy, for false alarms.

Every case is a list of strap notifications; ``run_program`` puts it through the
real estimator and controller (protocol ``full``) at 1 Hz, ``run_naive`` through
the naive rule (10 s median HR 8 bpm over the first minute's median, held 5 s).
The generator takes a seed: figures are printed for two independent seeds so a
tuning that only fits one draw shows up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from biofeedback.models import HeartSample, ZoneChanged
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.rules import PacingConfig
from biofeedback.routines.protocols import load_protocol
from biofeedback.signals.arousal import ArousalEstimator
from tests.support.arousal_data import (
    RESTING,
    inject_artifacts,
    inject_ramp,
    load_rr,
    samples_from_rr,
)

RISES_BPM = (8.0, 10.0, 15.0, 25.0)
SESSION_S = 660.0


@dataclass(frozen=True, slots=True)
class Case:
    kind: str  # "ramp", "start" or "calm"
    label: str
    samples: list[HeartSample]
    duration_s: float
    onset_s: float | None = None
    rise_bpm: float | None = None
    tags: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------
# Generated hearts


@dataclass(frozen=True, slots=True)
class Heart:
    rest_bpm: float
    breath_hz: float
    rsa_bpm: float
    wander_sd_bpm: float
    wander_tau_s: float
    jitter_ms: float


def random_heart(rng: np.random.Generator, *, wander: bool) -> Heart:
    return Heart(
        rest_bpm=float(rng.uniform(55, 85)),
        breath_hz=float(rng.uniform(0.1, 0.25)),
        rsa_bpm=float(rng.uniform(2, 6)),
        wander_sd_bpm=float(rng.uniform(2.0, 3.0)) if wander else float(rng.uniform(0.3, 1.0)),
        wander_tau_s=float(rng.uniform(30, 90)),
        jitter_ms=float(rng.uniform(8, 25)),
    )


def heart_rr(
    heart: Heart,
    duration_s: float,
    rng: np.random.Generator,
    *,
    onset_s: float | None = None,
    rise_bpm: float = 0.0,
    tau_s: float = 15.0,
    rmssd_factor: float = 0.5,
) -> np.ndarray:
    """RR intervals (ms) of a generated heart, with an optional arousal ramp."""
    # The wander: an Ornstein-Uhlenbeck process on a 1 s grid, scaled so that
    # its 30 s means have about the SD asked for.
    n = int(duration_s) + 2
    a = math.exp(-1.0 / heart.wander_tau_s)
    w = np.zeros(n)
    noise = rng.normal(0, math.sqrt(1 - a * a), n)
    w[0] = rng.normal()
    for i in range(1, n):
        w[i] = a * w[i - 1] + noise[i]
    means = np.convolve(w, np.ones(30) / 30, mode="valid")
    w *= heart.wander_sd_bpm / max(float(np.std(means)), 1e-6)
    phase = rng.uniform(0, 2 * math.pi)
    out = []
    t = 0.0
    while t < duration_s:
        grown = 0.0
        if onset_s is not None and t > onset_s:
            grown = 1.0 - math.exp(-(t - onset_s) / tau_s)
        shrink = 1.0 - (1.0 - rmssd_factor) * grown
        hr = (
            heart.rest_bpm
            + float(np.interp(t, np.arange(n), w))
            + shrink * heart.rsa_bpm * math.sin(2 * math.pi * heart.breath_hz * t + phase)
            + rise_bpm * grown
        )
        rr = 60000.0 / hr + shrink * rng.normal(0, heart.jitter_ms)
        out.append(rr)
        t += rr / 1000.0
    return np.asarray(out)


def ectopy(rr_ms: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Premature beats with their compensatory pauses on ``share`` of the beats."""
    out = rr_ms.astype(float, copy=True)
    i = 2
    while i < out.size - 1:
        if rng.random() < share:
            early = rng.uniform(0.25, 0.4) * out[i]
            out[i] -= early
            out[i + 1] += early
            i += 3
        else:
            i += 1
    return out


def with_gaps(
    samples: list[HeartSample], rng: np.random.Generator, count: int
) -> list[HeartSample]:
    """Drop the notifications inside ``count`` gaps of 3-10 s (contact or range lost)."""
    end = samples[-1].t_s
    gaps = [(s, s + rng.uniform(3, 10)) for s in rng.uniform(60, end - 20, count)]
    return [s for s in samples if not any(a <= s.t_s < b for a, b in gaps)]


def _strap(rr: np.ndarray, rng: np.random.Generator, artifacts: float) -> np.ndarray:
    if artifacts <= 0:
        return rr
    return inject_artifacts(rr, artifacts, rng)[0]


def build_corpus(seed: int, hearts: int = 24) -> list[Case]:
    """The whole corpus for one seed."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    artifact_levels = (0.0, 0.02, 0.05)
    for h in range(hearts):
        wander = h % 2 == 0
        heart = random_heart(rng, wander=wander)
        tags: tuple[str, ...] = ("wander",) if wander else ("steady",)
        # Ramps in the session body.
        for rise in RISES_BPM:
            onset = float(rng.uniform(100, 480))
            tau = float(rng.uniform(10, 20))
            art = artifact_levels[(h + int(rise)) % 3]
            rr = _strap(
                heart_rr(heart, SESSION_S, rng, onset_s=onset, rise_bpm=rise, tau_s=tau), rng, art
            )
            samples = samples_from_rr(rr)
            extra: tuple[str, ...] = (*tags, f"art{art:.0%}")
            if h % 4 == 1:
                samples = with_gaps(samples, rng, 2)
                extra += ("gaps",)
            cases.append(
                Case("ramp", f"gen{h} +{rise:.0f}", samples, SESSION_S, onset, rise, extra)
            )
        # Starts: rising from t=0 or within the opening minute.
        for rise in (15.0, 25.0):
            onset = 0.0 if h % 2 == 0 else float(rng.uniform(10, 50))
            tau = float(rng.uniform(10, 20))
            rr = _strap(
                heart_rr(heart, SESSION_S, rng, onset_s=onset, rise_bpm=rise, tau_s=tau),
                rng,
                0.02,
            )
            cases.append(
                Case(
                    "start",
                    f"gen{h} +{rise:.0f}@{onset:.0f}",
                    samples_from_rr(rr),
                    SESSION_S,
                    onset,
                    rise,
                    tags,
                )
            )
        # Calm sessions: 2 % artifacts as the goal states, and the other levels.
        for art in (0.02, artifact_levels[h % 3]):
            rr = _strap(heart_rr(heart, SESSION_S, rng), rng, art)
            extra = (*tags, f"art{art:.0%}")
            if h % 3 == 2:
                rr = ectopy(rr, 0.1, rng)
                extra += ("ectopy",)
            samples = samples_from_rr(rr)
            if h % 4 == 3:
                samples = with_gaps(samples, rng, 3)
                extra += ("gaps",)
            cases.append(Case("calm", f"gen{h} calm", samples, SESSION_S, tags=extra))
    # Real recordings: ramps on the resting ones, calm on all (the Holter in sessions).
    for name in RESTING:
        rr_all = load_rr(name)
        for start in np.arange(0, rr_all.sum() / 1000 - 240, SESSION_S):
            t = np.cumsum(rr_all) / 1000
            rr = rr_all[(t > start) & (t <= start + SESSION_S)]
            dur = float(rr.sum() / 1000)
            for art in (0.0, 0.02):
                samples = samples_from_rr(_strap(rr, rng, art))
                cases.append(Case("calm", f"{name}@{start:.0f}", samples, dur, tags=("real",)))
            for rise in RISES_BPM:
                onset = float(rng.uniform(90, max(dur - 90, 100)))
                ramped = inject_ramp(rr, onset, rise, float(rng.uniform(10, 20)))
                samples = samples_from_rr(_strap(ramped, rng, 0.02))
                cases.append(
                    Case(
                        "ramp",
                        f"{name}@{start:.0f} +{rise:.0f}",
                        samples,
                        dur,
                        onset,
                        rise,
                        ("real",),
                    )
                )
    return cases


# --------------------------------------------------------------------------
# The two detectors


@dataclass(frozen=True, slots=True)
class Run:
    step_downs_s: list[float]
    judged_from_s: float | None
    """When step-downs became possible (the baseline); None: never."""


def few_of_each(cases: list[Case], count: int = 2) -> list[Case]:
    """The first ``count`` cases of each kind (``--quick``)."""
    return [c for k in ("ramp", "start", "calm") for c in [c for c in cases if c.kind == k][:count]]


def run_program(
    case: Case, stored_hr_bpm: float | None = None, config: PacingConfig | None = None
) -> Run:
    """The estimator and controller of a real session, at 1 Hz in virtual time
    (``config``: other pacing numbers, for what-ifs)."""
    # No session loop and no build_session on purpose: this measures the detector
    # alone (the estimator and the controller's zone decisions), tens of thousands
    # of times per sweep, without sinks, clocks or the resonance indicator.
    stored = None if stored_hr_bpm is None else _Stored(stored_hr_bpm)
    controller = PacingController(
        load_protocol("full"),
        yellow=load_protocol("breath-partial"),
        red=load_protocol("passive-rest"),
        config=config,
        stored_baseline=stored,
    )
    est = ArousalEstimator()
    controller.start(0.0)
    downs: list[float] = []
    judged: float | None = None
    i = 0
    samples = case.samples
    for now in np.arange(1.0, case.duration_s + 1.0):
        while i < len(samples) and samples[i].t_s <= now:
            est.add_sample(samples[i])
            i += 1
        e = est.estimate(float(now))
        if judged is None and e.baseline_hr_bpm is not None:
            judged = float(now)
        for ev in controller.on_estimate(float(now), e):
            if isinstance(ev, ZoneChanged) and ev.to_zone.rank > ev.from_zone.rank:
                downs.append(ev.t)
        if controller.finished:
            break
    return Run(downs, judged)


@dataclass(frozen=True, slots=True)
class _Stored:
    hr_bpm: float


def run_naive(case: Case, rise_bpm: float = 8.0, hold_s: int = 5, window_s: float = 10.0) -> Run:
    """10 s median of beat HR, ``rise_bpm`` over the first minute's median, held 5 s;
    re-armed once it has fallen back under and 60 s have passed."""
    t = np.concatenate([np.asarray(s.beat_t_s) for s in case.samples])
    rr = np.concatenate([np.asarray(s.rr_ms) for s in case.samples])
    ok = (rr > 250) & (rr < 2500)
    t, hr = t[ok], 60000.0 / rr[ok]
    opening = hr[t <= 60.0]
    if opening.size < 10:
        return Run([], None)
    base = float(np.median(opening))
    downs: list[float] = []
    held = 0
    armed = True
    for now in np.arange(61.0, case.duration_s + 1.0):
        recent = hr[(t > now - window_s) & (t <= now)]
        high = recent.size >= 3 and float(np.median(recent)) >= base + rise_bpm
        held = held + 1 if high else 0
        if not high and downs and now - downs[-1] >= 60:
            armed = True
        if armed and held >= hold_s:
            downs.append(float(now))
            armed = False
    return Run(downs, 61.0)


def latency(run: Run, onset_s: float, limit_s: float = 120.0) -> float:
    """Onset to the first step-down at or after it (inf: none within ``limit_s``)."""
    after = [d - onset_s for d in run.step_downs_s if onset_s <= d <= onset_s + limit_s]
    return after[0] if after else math.inf


def early(run: Run, onset_s: float) -> bool:
    """A step-down before the episode began (a false alarm)."""
    return any(d < onset_s for d in run.step_downs_s)
