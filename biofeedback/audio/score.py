"""The session's events as sounds placed on its timeline (pure: no I/O, no clock).

``Score.hear`` takes each event in order and updates a ``Schedule``: speech
clips, bells and signs at session times, and breath-tone runs whose phase is
the step's own time with pauses left out, as ``progress.Progress`` reads it
(the dashboard's pacer uses the same fold and the same phase function,
``pacing.breath.breath_phase``). A later event can change what is still to come: a new step
drops what the old one had planned, a pause silences everything, a skip cuts
what is being said, a zone change is announced and the new routine's cue
follows it. Speech is never laid over speech: what comes while a phrase sounds
follows it, and the controller leaves each step room for what is said
(``speech_times``), so cues are not cut by the pacing.

Levels are set, not left to chance: every source is normalised when it is
made or loaded (speech to ``SPEECH_LUFS`` by ``voice``, the bell and the signs
here), and nothing but speech sounds while speech does: a bell or sign is
placed where no speech is, and speech waits until a bell or sign has died
away (``CLEAR_S``). A cue without speech (``--audio tones``, or a phrase with no
voice) is heard as a short sign of its own: tense, release (the bell), a step
down or back up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.loudness import normalise
from biofeedback.audio.phrases import PhraseBook, extension_text, next_group_text
from biofeedback.loop.progress import Progress, Snapshot
from biofeedback.models import (
    Action,
    Advice,
    PaceChanged,
    SessionEnded,
    SessionEvent,
    SignalLost,
    SignalRestored,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.models.record import record
from biofeedback.pacing.speaking import SpeechTimes
from biofeedback.routines.texts import STOP_RULES, ZONE_ADVICE

Samples = npt.NDArray[np.float32]

# Pause between two phrases said for one moment (an announcement, then a cue).
GAP_S = 0.4
# The next group is announced this long before the release's planned end.
ANNOUNCE_LEAD_S = 1.5
# Speech cut by newer speech falls silent this long before it, so the two are heard apart.
CUT_LEAD_S = 0.1
# Clips that ended this long ago are forgotten.
_KEEP_S = 5.0
# A bell or a sign and speech are kept this far apart, so neither masks the other.
CLEAR_S = 0.25
# Signs said one after another (a step down, then the new step's sign) are this far apart.
SIGN_GAP_S = 0.15
# Loudness of each source as made (speech is normalised to SPEECH_LUFS as it loads);
# bell and signs sit under the voice, and soft asides a little under the cues.
BELL_LUFS = -28.0
SIGN_LUFS = -29.0
SOFT_GAIN = 0.7


class Kind(StrEnum):
    SPEECH = "speech"
    BELL = "bell"
    SIGN = "sign"


@dataclass(frozen=True, eq=False)
class Clip:
    """One sound at ``start_s``; cut at ``stop_s`` (a pause, a newer cue)."""

    start_s: float
    samples: Samples
    kind: Kind
    label: str
    gain: float = 1.0
    stop_s: float = math.inf
    owner: int = 0  # the step (by count) that planned it
    planned_at_s: float = 0.0  # the time of the event that planned it

    @property
    def natural_end_s(self) -> float:
        return self.start_s + len(self.samples) / SAMPLE_RATE_HZ

    @property
    def end_s(self) -> float:
        return min(self.natural_end_s, self.stop_s)


@record(frozen=True)
class ToneRun:
    """Breath tones from ``start_s`` to ``stop_s``; breath time is ``t - origin_s``."""

    start_s: float
    origin_s: float
    in_s: float
    out_s: float
    stop_s: float = math.inf


@record(frozen=True)
class Schedule:
    """What the score holds so far: the speech clips and the breath-tone runs, in order."""

    clips: tuple[Clip, ...] = ()
    tones: tuple[ToneRun, ...] = ()


@record(frozen=True)
class Sounds:
    """The non-speech sounds, made once, each at its set loudness."""

    bell: Samples
    lost: Samples
    restored: Samples
    tense: Samples
    step_down: Samples
    step_up: Samples

    @staticmethod
    def make() -> Sounds:
        return Sounds(
            normalise(_bell(), BELL_LUFS),
            normalise(_notes((523.3, 392.0)), SIGN_LUFS),
            normalise(_notes((392.0, 523.3)), SIGN_LUFS),
            # Two quick high taps: "now, gently tighten".
            normalise(_notes((784.0, 784.0), note_s=0.09, gap_s=0.07, bright=0.5), SIGN_LUFS),
            # Three low notes falling (a gentler routine) or rising (back to the full one).
            normalise(_notes((392.0, 329.6, 261.6), note_s=0.26, gap_s=0.04), SIGN_LUFS),
            normalise(_notes((261.6, 329.6, 392.0), note_s=0.26, gap_s=0.04), SIGN_LUFS),
        )


@record
class Score:
    """Folds events into a schedule. ``speech`` maps a phrase text to its clip."""

    book: PhraseBook
    speech: dict[str, Samples] = field(default_factory=dict)
    tones: bool = True
    sounds: Sounds = field(default_factory=Sounds.make)
    clips: list[Clip] = field(default_factory=list)
    runs: list[ToneRun] = field(default_factory=list)
    # Where the session stands (the step, the one before it, the pace, pauses,
    # extensions, the end), read as every other view reads it: the loop's fold
    # when a snapshot comes with the event, else this score's own.
    progress: Progress = field(default_factory=Progress)
    # What this score has said (its own memory, not the session's): the step (by
    # count) whose next group has been named aloud, named once; the stop rules.
    named_next_step: int = -1
    said_stop_rules: bool = False
    _now_s: float = 0.0
    # Seconds into the step (pauses left out) where the pace's first in-breath began:
    # 0, or where the pace was changed (a fast breather met, gliding down).
    _pace_from_s: float = 0.0

    def schedule(self) -> Schedule:
        return Schedule(tuple(self.clips), tuple(self.runs))

    @property
    def steps(self) -> int:
        """Steps started so far (the owner of what each one planned)."""
        return self.progress.steps_started

    @property
    def ended(self) -> bool:
        return self.progress.ended is not None

    def hear(self, event: SessionEvent, snapshot: Snapshot | None = None) -> bool:
        """Take one event; True when the schedule changed. ``snapshot``: where the
        session stood just after it (the loop's fold), so a score that missed
        events still counts steps, pauses and extensions as the session does."""
        before = (len(self.clips), len(self.runs), self.clips[-1:], self.runs[-1:])
        if self.ended:
            return False
        was_paused = self.progress.paused
        self._now_s = event.t
        if snapshot is None:
            self.progress.apply(event)
        else:
            self.progress.restore(snapshot)
        if any(
            c.label.startswith("next:") and c.owner == self.steps and c.start_s <= event.t
            for c in self.clips
        ):
            self.named_next_step = self.steps  # heard (or begun): never again this step
        self._forget(event.t)
        if isinstance(event, StepStarted):
            self._step_started(event)
        elif isinstance(event, StepEnded):
            self._stop_tones(event.t)
        elif isinstance(event, StepExtended):
            self._extended(event)
        elif isinstance(event, PaceChanged):
            self._pace_changed(event)
        elif isinstance(event, Advice):
            self._advice(event)
        elif isinstance(event, UserActed):
            self._action(event, was_paused)
        elif isinstance(event, ZoneChanged):
            self._zone_changed(event)
        elif isinstance(event, SignalLost):
            self._sign(event.t, self.sounds.lost, "signal_lost")
        elif isinstance(event, SignalRestored):
            self._restored(event.t)
        elif isinstance(event, SessionEnded):
            self._ended(event)
        after = (len(self.clips), len(self.runs), self.clips[-1:], self.runs[-1:])
        return before != after

    # -- events

    def _step_started(self, event: StepStarted) -> None:
        previous = self.progress.previous_step
        t = event.t
        self._stop_tones(t)
        # What the old step planned and has not begun is dropped, unless planned at
        # this very moment (a zone announcement before the cue). Speech still
        # sounding is let finish, and the new cue follows it: no cue is cut by
        # the pacing (only a person skipping or pausing cuts one).
        self.clips = [c for c in self.clips if c.start_s <= t or c.planned_at_s >= t]
        if (
            previous is not None
            and previous.kind is StepKind.TENSE
            and event.kind in (StepKind.RELEASE, StepKind.IMAGERY, StepKind.REST)
        ):
            # The bell is the moment to let go (after an announcement said now);
            # the cue follows once it has rung.
            self._sign(t, self.sounds.bell, "bell", Kind.BELL)
        elif event.kind is StepKind.TENSE and event.cue not in self.speech:
            self._sign(t, self.sounds.tense, "sign:tense")
        cue_end = self._say(t, event.cue, f"cue:{event.step}")
        pace = self._pace
        self._pace_from_s = 0.0
        if pace is not None and self.tones:
            self.runs.append(ToneRun(t, t, *pace))
        self._announce_next(event, cue_end)

    @property
    def _pace(self) -> tuple[float, float] | None:
        """The breath pace the tones follow in the latest step (None: no tones): its
        own, or, in a step led by the breath that names none (the Yellow routine's
        softening, the closing scan), the last pace given, so the breath is not left
        in silence."""
        step = self.progress.step
        if step is None:
            return None
        changed = self.progress.pace
        if changed is not None and changed.step == step.step:
            # The pacer moved within the step (a fast breather met, gliding down).
            return (changed.breath_in_s, changed.breath_out_s)
        if step.breath_in_s and step.breath_out_s:
            return (step.breath_in_s, step.breath_out_s)
        breath_led = step.kind is StepKind.SCAN or (
            step.kind is StepKind.RELEASE and step.routine_zone is Zone.YELLOW
        )
        return self.progress.last_step_pace if breath_led else None

    def _pace_changed(self, event: PaceChanged) -> None:
        """The tones follow the pacer to its new pace, its first in-breath now: the
        pace that met a fast breather, then each step of the glide down."""
        step = self.progress.step
        if step is None or step.step != event.step or not self.progress.step_running:
            return
        self._pace_from_s = self.progress.step_elapsed_s
        if self.tones and not self.progress.paused:
            self._stop_tones(event.t)
            self.runs.append(ToneRun(event.t, event.t, event.breath_in_s, event.breath_out_s))

    def _announce_next(
        self, event: StepStarted, said_until_s: float, end_s: float | None = None
    ) -> None:
        """Plan the next group's name to finish ``ANNOUNCE_LEAD_S`` before the
        release ends (``end_s``; None: as planned), if it fits after what is said."""
        if event.kind is not StepKind.RELEASE or event.next_kind is not StepKind.TENSE:
            return
        region = self.book.region_of_cue.get(event.next_cue or "")
        clip = self.speech.get(next_group_text(region)) if region else None
        if clip is None:
            return
        end_s = event.t + event.planned_s if end_s is None else end_s
        at_s = end_s - ANNOUNCE_LEAD_S - len(clip) / SAMPLE_RATE_HZ
        if at_s >= said_until_s + 1.0:
            self._add(at_s, clip, Kind.SPEECH, f"next:{region}", gain=SOFT_GAIN)

    def _extended(self, event: StepExtended) -> None:
        step = self.progress.step
        if step is None:
            return
        said_until = event.t
        if self.progress.step_extensions == 1:
            # Once per step: the release simply goes on; one soft word is enough.
            text = extension_text(step.kind, step.step, tensed=self._tensed_before)
            said_until = self._say(event.t, text, "extend", SOFT_GAIN)
        if self.named_next_step == self.steps:
            return  # said once: a second "Next, your ..." would only repeat it
        # Not yet said: it moves to just before the new end.
        self.clips = [
            c for c in self.clips if not (c.label.startswith("next:") and c.start_s > event.t)
        ]
        if self.progress.step_running:
            self._announce_next(step, said_until, event.t + self.progress.remaining_s)

    @property
    def _tensed_before(self) -> bool:
        """Whether the step before this one tensed (a release follows it)."""
        before = self.progress.previous_step
        return before is not None and before.kind is StepKind.TENSE

    def _zone_changed(self, event: ZoneChanged) -> None:
        advice = ZONE_ADVICE.get((event.from_zone, event.to_zone))
        if advice is not None and advice in self.speech:
            return  # said in words, by the Advice that follows
        down = event.to_zone.rank > event.from_zone.rank
        sign = self.sounds.step_down if down else self.sounds.step_up
        self._sign(event.t, sign, "sign:step_down" if down else "sign:step_up")

    def _restored(self, t_s: float) -> None:
        waiting = [c for c in self.clips if c.label == "signal_lost" and c.start_s > t_s]
        if waiting:
            # Back before the person was told it was gone: neither sign is needed.
            self.clips = [c for c in self.clips if c not in waiting]
            return
        self._sign(t_s, self.sounds.restored, "signal_restored")

    def _advice(self, event: Advice) -> None:
        if event.text == STOP_RULES:
            if self.said_stop_rules:
                return
            self.said_stop_rules = True
        if self.book.get(event.text) is None:
            return  # shown on screen only (figures, red flags)
        self._say(event.t, event.text, "advice")

    def _action(self, event: UserActed, was_paused: bool) -> None:
        t = event.t
        step = self.progress.step
        if self.progress.paused and not was_paused:
            self._stop_tones(t)
            self._cut_speech(t, keep_from=math.inf)
            self.clips = [c for c in self.clips if c.start_s <= t]
        elif event.action in (Action.SKIP, Action.HURTS):
            # The person moves on: what is being said gives way to what comes now.
            self._cut_speech(t, keep_from=t)
        elif (
            was_paused
            and not self.progress.paused
            and step is not None
            and self._pace is not None
            and self.tones
            and self.progress.step_running
        ):
            # The breath goes on where it was when the pause began.
            origin_s = t - (self.progress.step_elapsed_s - self._pace_from_s)
            self.runs.append(ToneRun(t, origin_s, *self._pace))

    def _ended(self, event: SessionEnded) -> None:
        self._stop_tones(event.t)
        last = max((c.end_s for c in self.clips if c.kind is Kind.SPEECH), default=event.t)
        self._add(max(event.t, last + GAP_S), self.sounds.bell, Kind.BELL, "end")

    # -- helpers

    def _say(self, t_s: float, text: str, label: str, gain: float = 1.0) -> float:
        """Speak ``text`` at ``t_s``, after speech already sounding (an announcement
        said at this moment); speech planned for later that it would run into
        gives way to it."""
        clip = self.speech.get(text)
        if clip is None:
            return t_s
        # Only speech begun by now, or planned at this moment (an announcement
        # before the cue), delays this: waiting on a phrase planned earlier (the
        # next group's name, due in ten seconds) would push a step-down's words
        # behind it, and the new step would then drop them unheard.
        busy = [
            c.end_s + GAP_S if c.kind is Kind.SPEECH else c.end_s + CLEAR_S
            for c in self.clips
            if (c.start_s <= t_s or c.planned_at_s >= t_s)
            and c.end_s > (t_s if c.kind is Kind.SPEECH else t_s - CLEAR_S)
        ]
        start = max([t_s, *busy])
        end = start + len(clip) / SAMPLE_RATE_HZ
        self.clips = [
            c
            for c in self.clips
            if not (
                c.kind is Kind.SPEECH and c.planned_at_s < t_s and t_s < c.start_s < end + GAP_S
            )
        ]
        # A sign planned for later that this speech would run over waits for it.
        moved = [c for c in self.clips if c.kind is Kind.SIGN and c.start_s > t_s]
        self.clips = [c for c in self.clips if c not in moved]
        self._add(start, clip, Kind.SPEECH, label, gain)
        for sign in moved:
            self._sign(sign.start_s, sign.samples, sign.label)
        return end

    def _sign(self, t_s: float, samples: Samples, label: str, kind: Kind = Kind.SIGN) -> None:
        """A bell-like sound at ``t_s``, or as soon after as it is clear of all speech
        (sounding or planned) and of other signs."""
        at = t_s
        length = len(samples) / SAMPLE_RATE_HZ
        for _ in range(len(self.clips) + 1):
            clash = [
                c.end_s + (CLEAR_S if c.kind is Kind.SPEECH else SIGN_GAP_S)
                for c in self.clips
                if c.end_s > t_s
                and c.start_s - (CLEAR_S if c.kind is Kind.SPEECH else SIGN_GAP_S) < at + length
                and c.end_s + (CLEAR_S if c.kind is Kind.SPEECH else SIGN_GAP_S) > at
            ]
            if not clash:
                break
            at = max(clash)
        self._add(at, samples, kind, label)

    def _add(self, t_s: float, samples: Samples, kind: Kind, label: str, gain: float = 1.0) -> None:
        self.clips.append(
            Clip(t_s, samples, kind, label, gain, owner=self.steps, planned_at_s=self._now_s)
        )

    def _cut_speech(self, t_s: float, keep_from: float) -> None:
        """Cut speech still sounding at ``t_s`` that began before ``keep_from``."""
        stop_s = t_s if math.isinf(keep_from) else t_s - CUT_LEAD_S
        self.clips = [
            replace(c, stop_s=max(stop_s, c.start_s))
            if c.kind is Kind.SPEECH and c.start_s < keep_from and c.end_s > stop_s
            else c
            for c in self.clips
        ]

    def _stop_tones(self, t_s: float) -> None:
        self.runs = [replace(r, stop_s=min(r.stop_s, t_s)) for r in self.runs]

    def _forget(self, t_s: float) -> None:
        self.clips = [c for c in self.clips if c.end_s > t_s - _KEEP_S]
        self.runs = [r for r in self.runs if r.stop_s > t_s - _KEEP_S]


def speech_times(speech: dict[str, Samples], sounds: Sounds | None = None) -> SpeechTimes:
    """How long each phrase takes to say, and the bell before a release cue, as this
    score places them: what the controller leaves room for in each step."""
    bell = (sounds or Sounds.make()).bell
    return SpeechTimes(
        {text: len(clip) / SAMPLE_RATE_HZ for text, clip in speech.items()},
        gap_s=GAP_S,
        bell_s=len(bell) / SAMPLE_RATE_HZ + CLEAR_S,
    )


def _bell(duration_s: float = 1.2) -> Samples:
    t = np.arange(int(duration_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    # A small bell: a few inharmonic partials, each dying away at its own rate,
    # all faded to silence by the clip's end, so its end is where it is heard to end.
    partials = ((528.0, 1.0, 0.5), (1457.0, 0.45, 0.3), (2851.0, 0.2, 0.18), (1056.0, 0.3, 0.4))
    out = sum(a * np.exp(-t / tau) * np.sin(2 * np.pi * f * t) for f, a, tau in partials)
    attack = np.minimum(t / 0.004, 1.0)
    tail = np.clip((duration_s - t) / 0.3, 0.0, 1.0)
    return (0.5 * attack * tail * out).astype(np.float32)


def _notes(
    hz: tuple[float, ...], *, note_s: float = 0.22, gap_s: float = 0.08, bright: float = 0.0
) -> Samples:
    t = np.arange(int(note_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    env = np.sin(np.pi * t / note_s) ** 2
    gap = np.zeros(int(gap_s * SAMPLE_RATE_HZ))
    parts: list[npt.NDArray[np.float64]] = []
    for f in hz:
        wave = np.sin(2 * np.pi * f * t) + bright * np.sin(4 * np.pi * f * t)
        parts += [0.6 * env * wave, gap]
    return np.concatenate(parts[:-1]).astype(np.float32)
