"""The in-process simulated strap behind ``biofeedback run --sim``.

A Heart (physiology.py) beats; a Detector (artifacts.py) turns true beats into
detected ones; this module is the strap: it counts beat times in 1/1024 s
ticks, packs the intervals into notifications about once a second (so each
carries 0-3 of them), reports lost skin contact, and goes silent during a
dropout with a ``SourceStatus`` on each side of the gap.

Items are made one at a time as the session pulls them, so the heart has heard
every session event up to the previous item before it beats on.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import numpy as np

from biofeedback.models import ChestMotion, Contact, HeartSample, SessionEvent, SourceStatus
from biofeedback.models.record import record
from biofeedback.models.slots import builder
from simulators.artifacts import Detector, Label
from simulators.breathing import BreathRecord
from simulators.physiology import HEARD_EVENTS, Heart, NormalDraws
from simulators.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_names,
)

if TYPE_CHECKING:
    from simulators.chest import Burst, Chest

__all__ = [
    "ScenarioError",
    "SimulatedSource",
    "Truth",
    "load_scenario",
    "scenario_names",
]

SourceItem = HeartSample | SourceStatus | ChestMotion

TICKS_PER_S = 1024
NOTIFY_EVERY_S = 1.0
# Notifications ride on BLE connection events: a few tens of ms either way.
_NOTIFY_JITTER_S = 0.02
_NOTIFY_JITTER_LIMIT_S = 3.0 * _NOTIFY_JITTER_S
# The strap's own HR field averages the last few intervals, as straps do.
_HR_FIELD_BEATS = 4
# The accelerometer's default rate (the Polar H10 offers 25-200 Hz).
ACC_RATE_HZ = 50.0
# Breaths kept in view for the chest (a batch never reaches further back).
_CHEST_BREATHS = 40
# ``HeartSample(t_s, hr_bpm, rr_ms, beat_t_s, contact=...)`` at about half the cost
# of its ``__init__`` (the same object: models/slots.py), one a second of session.
_sample = builder(HeartSample, "t_s", "hr_bpm", "rr_ms", "beat_t_s", "contact")
_DETECTED = Contact.DETECTED
DROPOUT_REASON = "strap out of range (simulated)"
RESTORED_REASON = "strap back in range (simulated)"


@record
class Truth:
    """What really happened, for tests and benchmarks; the session never sees it.

    One entry per true sinus beat (``beat_t_s`` with the model's ``hr_bpm``,
    ``arousal_bpm`` and relative ``vagal`` tone behind it), and one label per
    RR interval the strap reported, in the order reported.
    ``breaths`` is every breath the person took (holds marked ``held``) and
    ``motion`` every fidget and posture shift the chest made.
    """

    beat_t_s: list[float] = field(default_factory=list)
    hr_bpm: list[float] = field(default_factory=list)
    arousal_bpm: list[float] = field(default_factory=list)
    vagal: list[float] = field(default_factory=list)
    rr_labels: list[Label] = field(default_factory=list)
    breaths: list[BreathRecord] = field(default_factory=list)
    motion: list[Burst] = field(default_factory=list)

    def holds(self) -> list[BreathRecord]:
        """The breaths held (the truth a hold detector is checked against)."""
        return [b for b in self.breaths if b.held]

    def artifact_share(self) -> float:
        """Share of reported intervals that are not normal sinus intervals."""
        if not self.rr_labels:
            return 0.0
        return sum(label is not Label.NORMAL for label in self.rr_labels) / len(self.rr_labels)


class SimulatedSource:
    """A simulated person wearing a strap; closed loop through ``observe``.

    ``scenario`` is a built-in name (see ``scenario_names()``), a path to a
    scenario file, or a ``Scenario``. The same scenario, seed and session
    events give the same items, beat for beat.

    Between heart samples it yields the chest's acceleration (``ChestMotion``
    at ``acc_rate_hz``, about a second a batch); None takes the scenario's
    own rate, 0 makes a plain heart-rate strap. The heart's items are the same
    either way.
    """

    virtual = True

    def __init__(
        self,
        scenario: str | Path | Scenario = "calm",
        seed: int | None = None,
        *,
        acc_rate_hz: float | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.seed = self.scenario.seed if seed is None else seed
        if self.seed < 0:
            raise ScenarioError(f"seed must be a whole number >= 0, not {self.seed}")
        # The chest's stream is a fourth: the first three are as they always were.
        heart_seq, detector_seq, strap_seq, chest_seq = np.random.SeedSequence(self.seed).spawn(4)
        self.heart = Heart(self.scenario, heart_seq)
        self.detector = Detector(self.scenario.artifacts, detector_seq)
        self._strap_normal = NormalDraws(np.random.default_rng(strap_seq)).draw
        if acc_rate_hz is None:
            acc_rate_hz = self.scenario.acc_rate_hz
        self.chest: Chest | None = None
        if acc_rate_hz:
            # Only a scenario with a chest loads its model.
            from simulators.chest import Chest

            self.chest = Chest(self.scenario.person, np.random.default_rng(chest_seq), acc_rate_hz)
        self.truth = Truth(breaths=self.heart.lungs.log)
        self.description = f"simulator:{self.scenario.name}"
        # With spoken cues: seconds until the person has heard an event (its cue said).
        self.listen: Callable[[SessionEvent], float] | None = None
        self._items = self._generate()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def observe(self, event: SessionEvent) -> None:
        listen = self.listen
        if listen is not None:
            # Spoken cues: the listener hears every event in order (one waits for
            # what is said before it), so each is handed on.
            self.heart.hear(event, listen(event))
        elif isinstance(event, HEARD_EVENTS):
            # Heard at once (nothing is queued without a listener): an event the
            # heart does not act on would pass through ``hear`` for nothing.
            self.heart.hear(event, 0.0)

    def items(self) -> Iterator[SourceItem]:
        """The same endless stream as async iteration, for code without a loop."""
        return self._items

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[SourceItem]:
        for item in self._items:
            yield item

    # -- the strap

    def _generate(self) -> Iterator[SourceItem]:
        scenario = self.scenario
        dropouts = deque(scenario.dropouts)
        contact_losses = bool(scenario.contact_losses)
        recent_rr_ms: deque[float] = deque(maxlen=_HR_FIELD_BEATS)
        pending: list[tuple[int, Label]] = []
        last_tick: int | None = None
        hr_field: float | None = None
        note_s = self._next_note(0.0)
        beat_s = self._beat()
        detector = self.detector
        beat = self._beat
        normal = Label.NORMAL
        while True:
            if dropouts and dropouts[0].start_s <= note_s:
                gap = dropouts.popleft()
                yield SourceStatus(gap.start_s, False, DROPOUT_REASON)
                # The heart beats through the gap on the cues it heard before it:
                # nothing is pulled, so nothing can be heard, until the strap is back.
                while beat_s < gap.end_s:
                    beat_s = self._beat()
                self.detector.restart()
                pending.clear()
                recent_rr_ms.clear()
                last_tick = None
                hr_field = None
                if self.chest is not None:
                    self.chest.skip_to(gap.end_s)
                yield SourceStatus(gap.end_s, True, RESTORED_REASON)
                note_s = self._next_note(gap.end_s)
                continue
            while beat_s <= note_s:
                if contact_losses and scenario.in_contact_loss(beat_s):
                    detector.restart()
                    pending.clear()
                elif detector.clean:
                    # What ``feed`` gives a strap without artifacts, without its list.
                    pending.append((math.floor(beat_s * TICKS_PER_S), normal))
                else:
                    for t_s, label in detector.feed(beat_s):
                        pending.append((math.floor(t_s * TICKS_PER_S), label))
                beat_s = beat()
            # The chest up to this notification (the breath is known to the last beat).
            motion = self._chest(note_s)
            if motion is not None:
                yield motion
            if contact_losses and scenario.in_contact_loss(note_s):
                last_tick = None
                recent_rr_ms.clear()
                hr_field = None
                yield HeartSample(note_s, None, contact=Contact.NOT_DETECTED)
            else:
                rr_ms: list[float] = []
                beat_t_s: list[float] = []
                for tick, label in pending:
                    if last_tick is not None:
                        rr_ms.append((tick - last_tick) * 1000.0 / TICKS_PER_S)
                        beat_t_s.append(tick / TICKS_PER_S)
                        self.truth.rr_labels.append(label)
                    last_tick = tick
                if rr_ms:
                    recent_rr_ms.extend(rr_ms)
                    hr_field = float(round(60000.0 * len(recent_rr_ms) / sum(recent_rr_ms)))
                yield _sample(note_s, hr_field, tuple(rr_ms), tuple(beat_t_s), _DETECTED)
            pending.clear()
            note_s = self._next_note(note_s)

    def _chest(self, until_s: float) -> ChestMotion | None:
        if self.chest is None:
            return None
        heart = self.heart
        batch = self.chest.batch(
            until_s, heart.lungs.log[-_CHEST_BREATHS:], heart.activity_log[-_CHEST_BREATHS:]
        )
        self.truth.motion = self.chest.done
        if batch is None:
            return None
        t_s, x, y, z = batch
        return ChestMotion(
            t_s, self.chest.rate_hz, tuple(x.tolist()), tuple(y.tolist()), tuple(z.tolist())
        )

    def _beat(self) -> float:
        heart = self.heart
        t_s = heart.next_beat()
        truth = self.truth
        truth.beat_t_s.append(t_s)
        truth.hr_bpm.append(heart.hr_bpm)
        truth.arousal_bpm.append(heart.arousal_bpm)
        truth.vagal.append(heart.vagal)
        return t_s

    def _next_note(self, after_s: float) -> float:
        limit = _NOTIFY_JITTER_LIMIT_S
        jitter = _NOTIFY_JITTER_S * self._strap_normal()
        return after_s + NOTIFY_EVERY_S + max(-limit, min(jitter, limit))
