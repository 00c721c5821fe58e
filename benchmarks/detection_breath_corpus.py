"""The detection corpus with a breathing chest: arousal changes the breath as
well as the heart, and the program runs closed-loop on both.

The hearts are the generated cases of ``detection_corpus.build_corpus`` (ramps
of +8/+10/+15/+25 bpm with tau 10-20 s over wandering and steady hearts, 0-5 %
artifacts, gaps, ectopy; calm sessions for false alarms), drawn exactly as
there, so the heart-rate-only figures here are that benchmark's on the same
cases. Each case gets a breathing person of its own (``simulators/breathing.py``
and ``simulators/chest.py``, from a stream of their own): a resting rate of
11-19 a minute, following the session's pacer with their own compliance, lock
and lag, a chest of 6-20 mg a breath in a posture of their own. From a ramp's
onset the breath answers its drive within one to three breaths (DOMAIN.md
section 7): faster, shallower, with sighs, more so for a larger rise.

The lungs run beside the session: every step the controller starts is the
pacer they hear and the tensing they do, so a step-down changes the breath
that follows, as in a real session. The chest is read at 25 Hz (the H10's
lowest rate, the cheapest to simulate).

Hard cases, one kind a person, in turn (``KINDS``; ``kind_index`` makes each
kind meet every ramp size and the calm sessions alike):

- ``plain``: as above;
- ``posture``: a posture shift every 5 minutes;
- ``fidgets``: a fidget every 2 minutes;
- ``sigher``: calm, sighing about one breath in twelve;
- ``fast-calm``: breathes 24-30 a minute at rest and hardly slows to a pacer;
- ``holder``: holds the breath through most tense steps;
- ``side``: lying on the side, where a breath tilts the strap least;
- ``unmoved``: the breath does not change with arousal (the heart alone tells).

Tensing (every tense step: tremor and brace) is in every case.

Talkers (``TALK_KINDS``), the simulator's talking (``talks_per_h``, ``talk_s``
in simulators/breathing.py: in a spell, a quick breath in and a long uneven one
out, whatever the pacer), added beside the cases above so that those stay as
they were: every fifth case is run once more, from a stream of its own, with

- ``talker``: a calm person who talks in spells of 20-60 s, 10-20 an hour,
  from the start;
- ``talk-ramp``: a person who starts talking within 5 s of a ramp's onset
  (a calm session: at its middle), a spell of 20-60 s, then 2-6 an hour.

Talking moves only the breath here: the hearts are the corpus's as they are.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.detection_corpus import Case, Run, build_corpus
from biofeedback.models import (
    ChestMotion,
    PaceChanged,
    SessionEnded,
    SessionEvent,
    StepEnded,
    StepKind,
    StepStarted,
    ZoneChanged,
)
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.rules import PacingConfig
from biofeedback.routines.protocols import load_protocol
from biofeedback.signals.arousal import ArousalEstimator
from biofeedback.signals.breath_estimate import BreathEstimator, Pacer
from simulators.breathing import Lungs
from simulators.chest import Chest
from simulators.scenario import IDLE, Person

KINDS = ("plain", "posture", "fidgets", "sigher", "fast-calm", "holder", "side", "unmoved")
TALK_KINDS = ("talker", "talk-ramp")
# Every this many'th case is run once more with a talker.
_TALK_EVERY = 5
ACC_HZ = 25.0
# A calm sigher sighs about this share of breaths.
_CALM_SIGH_SHARE = 1.0 / 12.0
_SIGH_DEPTH = 2.4
_SIGH_IN_SCALE = 1.6
# Breaths and activities the chest needs in view (a batch reaches back one second).
_KEEP = 40

Watch = Callable[[float, PacingController, Lungs], None]
"""Called once a tick (and once at the start, at 0) with the controller and the
lungs, to look into a run (``detection_breath.py --timeline``); it changes nothing."""


@dataclass(frozen=True, slots=True)
class BreathCase:
    """A corpus case (the heart) with the person who breathes through it."""

    case: Case
    kind: str
    person: Person
    calm_sigh_share: float
    seed: tuple[int, ...]
    """The breath's and the chest's own random stream."""
    talk_spell_s: tuple[float, float] | None = None
    """A talking spell at a set time (``talk-ramp``), from and until."""


def breather(rng: np.random.Generator, kind: str, rise_bpm: float | None) -> tuple[Person, float]:
    """A breathing person of ``kind``; the breath's answer to arousal grows with the rise."""
    scale = 0.0 if rise_bpm is None or kind == "unmoved" else min(rise_bpm / 20.0, 1.0)
    person = Person(
        breath_rate_hz=float(rng.uniform(11, 19)) / 60.0,
        breath_jitter=float(rng.uniform(0.06, 0.14)),
        breath_compliance=float(rng.uniform(0.75, 1.0)),
        breath_lock=float(rng.uniform(0.3, 0.8)),
        breath_lag_s=float(rng.uniform(0.0, 1.5)),
        breath_arousal_gain=float(rng.uniform(0.4, 0.9)) * scale,
        breath_shallow=float(rng.uniform(0.25, 0.5)) * scale,
        sigh_share=float(rng.uniform(0.08, 0.2)),
        breath_mg=float(rng.uniform(6, 20)),
        tilt_deg=float(rng.uniform(0, 60)),
        roll_deg=float(rng.uniform(-20, 20)),
        fidgets_per_h=float(rng.uniform(1, 5)),
        posture_shifts_per_h=float(rng.uniform(0.3, 1.5)),
    )
    sigh = 0.0
    if kind == "posture":
        person = dataclasses.replace(person, posture_shifts_per_h=12.0)
    elif kind == "fidgets":
        person = dataclasses.replace(person, fidgets_per_h=30.0)
    elif kind == "sigher":
        sigh = _CALM_SIGH_SHARE
    elif kind == "fast-calm":
        person = dataclasses.replace(
            person,
            breath_rate_hz=float(rng.uniform(24, 30)) / 60.0,
            breath_compliance=float(rng.uniform(0.1, 0.3)),
            breath_lock=0.0,
        )
    elif kind == "holder":
        person = dataclasses.replace(person, hold_share=0.8)
    elif kind == "talker":
        person = dataclasses.replace(
            person,
            talks_per_h=float(rng.uniform(10, 20)),
            talk_s=float(rng.uniform(20, 60)),
        )
    elif kind == "talk-ramp":
        person = dataclasses.replace(
            person,
            talks_per_h=float(rng.uniform(2, 6)),
            talk_s=float(rng.uniform(20, 60)),
        )
    elif kind == "side":
        person = dataclasses.replace(
            person, tilt_deg=float(rng.uniform(80, 90)), roll_deg=float(rng.uniform(70, 90))
        )
    return person, sigh


def kind_index(seed: int, hearts: int, per_heart: int, i: int) -> int:
    """Which of ``KINDS`` breathes through the ``i``'th case of a seed.

    A heart's cases come in a fixed order (its ramp sizes, then its calm
    sessions), so taking the kinds in turn over the cases alone would tie a
    kind to a place: with six cases a heart and eight kinds, a case's kind
    keeps the parity of its place, and each ramp size would meet only half the
    kinds. The turn moves on by one more at every heart, so over eight hearts
    each kind meets each place once; and on by ``hearts`` at every seed, as if
    the seeds' hearts were one run, so that the four hearts a seed of twelve
    has past eight are other kinds' in the next seed (seeds in pairs: 6 ramps
    of every kind and size over four seeds of 12 hearts).
    """
    return (i + i // per_heart + seed * hearts) % len(KINDS)


def kind_table(cases: list[BreathCase]) -> dict[str, dict[float | None, int]]:
    """How many cases each breathing kind has of each ramp size (None: calm)."""
    sizes = sorted({bc.case.rise_bpm for bc in cases}, key=lambda r: -1.0 if r is None else r)
    table = {kind: dict.fromkeys(sizes, 0) for kind in (*KINDS, *TALK_KINDS)}
    for bc in cases:
        table[bc.kind][bc.case.rise_bpm] += 1
    return table


def build_breath_corpus(seed: int, hearts: int = 24) -> list[BreathCase]:
    """The generated ramps and calm sessions of ``build_corpus(seed, hearts)``, each
    with a breathing person of one of ``KINDS`` in turn (``kind_index``)."""
    cases = [c for c in build_corpus(seed, hearts) if c.kind != "start" and "real" not in c.tags]
    out = []
    per_heart = max(len(cases) // hearts, 1)
    for i, case in enumerate(cases):
        kind = KINDS[kind_index(seed, hearts, per_heart, i)]
        stream = (seed, i, 24)
        person, sigh = breather(np.random.default_rng(stream), kind, case.rise_bpm)
        out.append(BreathCase(case, kind, person, sigh, stream))
    for j, i in enumerate(range(0, len(cases), _TALK_EVERY)):
        case = cases[i]
        # Six in turn of each kind: with a stride of 5 over a heart's six cases
        # (four ramps, two calm), each six meet every ramp size and calm once.
        # The kinds swap at every seed, so the odd ones a seed has past its
        # sixes (three of 15 with 12 hearts) fall to each kind in turn.
        kind = TALK_KINDS[(j // 6 + seed) % len(TALK_KINDS)]
        stream = (seed, i, 25)
        rng = np.random.default_rng(stream)
        person, sigh = breather(rng, kind, case.rise_bpm)
        spell = None
        if kind == "talk-ramp":
            at_s = case.onset_s if case.onset_s is not None else case.duration_s / 2
            begin = at_s + float(rng.uniform(-5.0, 5.0))
            spell = (begin, begin + person.talk_s)
        out.append(BreathCase(case, kind, person, sigh, stream, spell))
    return out


@dataclass
class _Body:
    """The lungs and chest of one case, following what the session says."""

    lungs: Lungs
    chest: Chest
    rng: np.random.Generator
    calm_sigh_share: float
    activity: list[tuple[float, str]]

    def hear(self, events: list[SessionEvent], breath: BreathEstimator | None) -> None:
        for ev in events:
            if isinstance(ev, StepStarted):
                self._act(ev.t, str(ev.kind), ev.breath_in_s, ev.breath_out_s)
                if breath is not None:
                    breath.pace(
                        Pacer(ev.t, ev.breath_in_s, ev.breath_out_s)
                        if ev.breath_in_s and ev.breath_out_s
                        else None
                    )
            elif isinstance(ev, PaceChanged):
                self.lungs.pace(ev.t, ev.breath_in_s, ev.breath_out_s)
                if breath is not None:
                    breath.pace(Pacer(ev.t, ev.breath_in_s, ev.breath_out_s))
            elif isinstance(ev, StepEnded | SessionEnded):
                self._act(ev.t, IDLE, None, None)
                if breath is not None:
                    breath.pace(None)

    def _act(
        self, t_s: float, what: str, breath_in_s: float | None, breath_out_s: float | None
    ) -> None:
        self.activity.append((t_s, what))
        del self.activity[:-_KEEP]
        self.lungs.tension(t_s, what == StepKind.TENSE)
        self.lungs.pace(t_s, breath_in_s, breath_out_s)

    def breathe(self, t_s: float, dt_s: float, aroused: bool) -> ChestMotion | None:
        """From ``t_s`` on by ``dt_s``: the breaths taken, and the chest's samples."""
        lungs = self.lungs
        before = len(lungs.log)
        lungs.drive(dt_s, aroused)
        lungs.advance(t_s, dt_s)
        if self.calm_sigh_share and len(lungs.log) > before:
            record = lungs.log[-1]
            # A sigh now and then, calm or not: a deeper, slower breath in.
            if (
                not record.held
                and not record.sigh
                and lungs.pos_s < record.in_s
                and self.rng.uniform() < self.calm_sigh_share
            ):
                record.sigh = True
                record.depth = _SIGH_DEPTH
                record.in_s *= _SIGH_IN_SCALE
                lungs.in_s = record.in_s
        batch = self.chest.batch(t_s + dt_s, lungs.log[-_KEEP:], self.activity)
        if batch is None:
            return None
        last, x, y, z = batch
        return ChestMotion(last, ACC_HZ, tuple(x.tolist()), tuple(y.tolist()), tuple(z.tolist()))


def _body(bc: BreathCase) -> _Body:
    lungs_seq, chest_seq, sigh_seq = np.random.SeedSequence(list(bc.seed)).spawn(3)
    lungs_rng = np.random.default_rng(lungs_seq)
    lungs = Lungs(
        bc.person, lungs_rng.standard_normal, np.random.default_rng(lungs_rng.integers(1 << 32))
    )
    lungs.start(0.0, float(lungs_rng.uniform(0.0, lungs.cycle_s)))
    if bc.talk_spell_s is not None:
        lungs.talk_spell(*bc.talk_spell_s)
    chest = Chest(bc.person, np.random.default_rng(chest_seq), ACC_HZ)
    return _Body(lungs, chest, np.random.default_rng(sigh_seq), bc.calm_sigh_share, [(0.0, IDLE)])


def run_with_breath(
    bc: BreathCase,
    *,
    chest: bool = True,
    config: PacingConfig | None = None,
    watch: Watch | None = None,
) -> Run:
    """The estimators and controller of a real session at 1 Hz in virtual time, with
    the breath estimate each tick before the heart's as the session gives it;
    ``chest`` False: a standard strap (the breath estimate from the beats alone)."""
    case = bc.case
    controller = PacingController(
        load_protocol("full"),
        yellow=load_protocol("breath-partial"),
        red=load_protocol("passive-rest"),
        config=config,
    )
    est = ArousalEstimator()
    breath = BreathEstimator()
    body = _body(bc)
    events = controller.start(0.0)
    body.hear(events, breath)
    if watch is not None:
        watch(0.0, controller, body.lungs)
    onset = case.onset_s if case.onset_s is not None else math.inf
    downs: list[float] = []
    judged: float | None = None
    i = 0
    samples = case.samples
    for now in np.arange(1.0, case.duration_s + 1.0):
        t = float(now)
        motion = body.breathe(t - 1.0, 1.0, t > onset) if chest else None
        if motion is not None:
            breath.add_motion(motion)
        while i < len(samples) and samples[i].t_s <= t:
            est.add_sample(samples[i])
            breath.add_sample(samples[i])
            i += 1
        e = est.estimate(t)
        if judged is None and e.baseline_hr_bpm is not None:
            judged = t
        events = controller.on_breath(t, breath.estimate(t))
        events += controller.on_estimate(t, e)
        body.hear(events, breath)
        if watch is not None:
            watch(t, controller, body.lungs)
        for ev in events:
            if isinstance(ev, ZoneChanged) and ev.to_zone.rank > ev.from_zone.rank:
                downs.append(ev.t)
        if controller.finished:
            break
    return Run(downs, judged)
