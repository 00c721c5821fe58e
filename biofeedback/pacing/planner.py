"""The routine planner: which step comes next.

It holds the session's frame (settle, body, closing), the routine of the
current zone, each routine's place (so stepping back up resumes the protocol
where it was left), the fallback routines' body order, and the regions done
by imagery. Pure: no clock; the controller asks it for the next step.
"""

from __future__ import annotations

import enum
import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from biofeedback.models import Step, StepKind, Zone
from biofeedback.models.record import record
from biofeedback.pacing.frame import CLOSING_BREATH as CLOSING_BREATH
from biofeedback.pacing.frame import CLOSING_REST as CLOSING_REST
from biofeedback.pacing.frame import CLOSING_SCAN as CLOSING_SCAN
from biofeedback.pacing.frame import SETTLE as SETTLE
from biofeedback.pacing.rules import PacingConfig
from biofeedback.routines import texts
from biofeedback.routines.protocols import BODY_ORDER, Routine

CHECK_IN = "check-in"
_PLANNED_S = operator.attrgetter("planned_s")

# Planned seconds counted in whole 1/1024 s. Step lengths are whole seconds or
# simple fractions of one, and a float sum of such values never rounds while the
# sum of their sizes stays below 2**53 of these units: an integer count of them is
# then the in-order float sum to the bit, in any order. So a day-long routine's
# time left is kept as a count (one subtraction a step) instead of a sum over its
# thousands of steps at every step; any other length falls back to the sum.
_PER_S = 1024
_EXACT_BELOW = 2**53


def _units(steps: Iterable[Step]) -> int | None:
    """The steps' planned seconds in 1/1024 s; None when summing them might round."""
    total = size = 0
    for step in steps:
        scaled = float(step.planned_s) * _PER_S
        if not scaled.is_integer():
            return None
        units = int(scaled)
        total += units
        size += abs(units)
    return total if size < _EXACT_BELOW else None


def _tails(steps: Sequence[Step]) -> list[int] | None:
    """``_units(steps[i:])`` for every i (and 0 past the end), or None for all."""
    if _units(steps) is None:
        return None
    tails = [0] * (len(steps) + 1)
    for i in range(len(steps) - 1, -1, -1):
        tails[i] = tails[i + 1] + int(float(steps[i].planned_s) * _PER_S)
    return tails


def planned_session_s(protocol: Routine, config: PacingConfig | None = None) -> float:
    """Planned length of a whole session of ``protocol``, frame included."""
    cfg = config or PacingConfig()
    return (
        cfg.settle_s + protocol.duration_s + cfg.closing_scan_s + cfg.breath_in_s + cfg.breath_out_s
    )


@record
class Running:
    """The step in progress."""

    step: Step  # as shown (imagery-adapted)
    source: Step  # as planned by its routine, for resuming
    started_s: float
    end_s: float
    main_index: int | None = None
    extended_s: float = 0.0


@record
class Pause:
    """The session's pauses: when the one under way began (None when running) and the
    seconds paused in all."""

    at_s: float | None = None
    total_s: float = 0.0


class Phase(enum.Enum):
    SETTLE = "settle"
    BODY = "body"
    CLOSING = "closing"
    DONE = "done"


class RoutinePlanner:
    """The steps of one session, as the zones have shaped them so far."""

    def __init__(
        self,
        protocol: Routine,
        fallbacks: dict[Zone, Routine],
        config: PacingConfig,
        imagery_regions: set[str],
    ) -> None:
        self.protocol = protocol
        self.config = config
        self._fallbacks = fallbacks
        self.imagery = imagery_regions
        self.phase = Phase.SETTLE
        self.routine: Routine | None = None
        self.queue: list[Step] = []
        self._queue_units: int | None = 0
        """The queue's planned seconds (``_units``), kept with every change to it."""
        self._protocol_tails = _tails(protocol.steps)
        # The closing's two steps and their ``_units``, by "in Red": built once, as
        # they depend only on the protocol and the config (both frozen), and asked
        # for at every step start; each caller gets a list of its own.
        self._closings = {red: self._build_closing(red) for red in (False, True)}
        self._closing_units = {red: _units(steps) for red, steps in self._closings.items()}
        # The ``_units`` of the routine last asked about (a routine's steps are a
        # tuple of frozen steps: they never change under it).
        self._routine_units: tuple[Routine | None, int | None] = (None, None)
        self.main_pos = 0
        self.saved: dict[Zone, list[Step]] = {}
        self.overran = False

    def start(self) -> None:
        """The session opens with the settle."""
        self._set_queue([self.settle_step()])

    def finish(self) -> None:
        self.phase = Phase.DONE

    def add_imagery(self, region: str) -> bool:
        """Do ``region`` by imagery from now on; False when it already was."""
        if region in self.imagery:
            return False
        self.imagery.add(region)
        return True

    def settle_step(self) -> Step:
        cfg = self.config
        return Step(
            SETTLE,
            StepKind.BREATH,
            texts.settle_cue(cfg.breath_in_s, cfg.breath_out_s, self.protocol.setup),
            cfg.settle_s,
            breath_in_s=cfg.breath_in_s,
            breath_out_s=cfg.breath_out_s,
        )

    def routine_for(self, zone: Zone) -> Routine:
        return self.protocol if self.protocol.safe_in(zone) else self._fallbacks[zone]

    def routine_steps(self, zone: Zone) -> tuple[Routine, list[Step]]:
        """The routine for ``zone`` and the steps it would run from here."""
        routine = self.routine_for(zone)
        if routine is self.protocol:
            return routine, list(self.protocol.steps[self.main_pos :])
        saved = self.saved.get(zone)
        return routine, list(saved) if saved is not None else self.ordered(routine)

    def take_routine(self, zone: Zone) -> None:
        self.routine, queue = self.routine_steps(zone)
        tails = self._protocol_tails
        if self.routine is self.protocol and tails is not None:
            # (``main_pos`` may be past the end: the queue is empty.)
            self._set_queue(queue, tails[min(self.main_pos, len(tails) - 1)])
        else:
            self._set_queue(queue)
        self.saved.pop(zone, None)

    def _set_queue(self, steps: list[Step], units: int | None = None) -> None:
        """The queue is now ``steps`` (``units``: their ``_units`` when known)."""
        self.queue = steps
        self._queue_units = _units(steps) if units is None else units

    def switch(self, to_zone: Zone) -> None:
        """Run ``to_zone``'s routine from its place; forget places of gentler zones."""
        for zone in list(self.saved):
            if zone.rank > to_zone.rank:
                del self.saved[zone]
        self.take_routine(to_zone)

    def leave(
        self, from_zone: Zone, down: bool, source: Step | None, main_index: int | None
    ) -> None:
        """Remember where the routine being left had got to.

        ``source`` is the step cut short before half its plan (None when the
        step in progress had run long enough to count as done).
        """
        if self.routine is self.protocol:
            if source is not None and main_index is not None:
                self.main_pos = main_index
        elif down:
            again = [source] if source is not None else []
            self.saved[from_zone] = again + self.queue

    def ordered(self, routine: Routine) -> list[Step]:
        """A fallback routine with its region steps continuing the body order."""
        main_regions = [BODY_ORDER.index(r) for r in self.protocol.regions]
        steps = list(routine.steps)
        if not main_regions:
            return steps
        direction = 1 if main_regions[-1] >= main_regions[0] else -1
        steps_ahead = itertools.islice(self.protocol.steps, self.main_pos, None)
        ahead = next((s.region for s in steps_ahead if s.region), None)
        here = BODY_ORDER.index(ahead) if ahead else main_regions[-1] + direction
        slots = [i for i, s in enumerate(steps) if s.region]

        def distance(step: Step) -> int:
            assert step.region is not None
            return ((BODY_ORDER.index(step.region) - here) * direction) % len(BODY_ORDER)

        for slot, step in zip(slots, sorted((steps[i] for i in slots), key=distance), strict=True):
            steps[slot] = step
        return steps

    def closing_steps(self, zone: Zone) -> list[Step]:
        return list(self._closings[zone is Zone.RED])

    def _build_closing(self, red: bool) -> tuple[Step, Step]:
        cfg = self.config
        if red:
            first = Step(CLOSING_REST, StepKind.REST, texts.CLOSING_REST_CUE, cfg.closing_scan_s)
        else:
            first = Step(CLOSING_SCAN, StepKind.SCAN, texts.CLOSING_SCAN_CUE, cfg.closing_scan_s)
        last = Step(
            CLOSING_BREATH,
            StepKind.BREATH,
            texts.closing_breath_cue(self.protocol.closing_word),
            cfg.breath_in_s + cfg.breath_out_s,
            breath_in_s=cfg.breath_in_s,
            breath_out_s=cfg.breath_out_s,
        )
        return first, last

    def check_in(self) -> None:
        """After "it hurts", rest a moment before the next step (a tense step must
        not follow at once); only while body work is still to come."""
        if self.phase is Phase.BODY and (not self.queue or self.queue[0].id != CHECK_IN):
            step = Step(CHECK_IN, StepKind.REST, texts.CHECK_IN_CUE, self.config.check_in_s)
            self.queue.insert(0, step)
            self._queue_units = _plus(self._queue_units, _units([step]))

    def fallback_repeats(self) -> bool:
        return (
            self.routine is not None
            and self.routine is not self.protocol
            and self.main_pos < len(self.protocol.steps)
            and not self.overran
        )

    def upcoming(self, zone: Zone) -> Iterator[Step]:
        """The steps planned after the current one, as things stand."""
        yield from map(self.adapt, self.queue)
        if self.phase is Phase.SETTLE:
            yield from map(self.adapt, self.routine_steps(zone)[1])
        if self.phase is Phase.BODY and self.fallback_repeats():
            assert self.routine is not None
            yield from map(self.adapt, self.ordered(self.routine))
        if self.phase in (Phase.SETTLE, Phase.BODY):
            yield from self.closing_steps(zone)

    def next_up(self, zone: Zone) -> Step | None:
        """The first of ``upcoming``: most often the queue's head, found without the walk."""
        if self.queue:
            return self.adapt(self.queue[0])
        return next(self.upcoming(zone), None)

    def _units_of(self, routine: Routine) -> int | None:
        known, units = self._routine_units
        if known is not routine:
            units = _units(routine.steps)
            self._routine_units = (routine, units)
        return units

    def upcoming_left(self, zone: Zone) -> tuple[int, float]:
        """How many steps ``upcoming`` holds and their planned seconds (summed in
        order): counted without building each step as shown, which only changes
        its cue, so a long routine does not cost its square over a session."""
        if self.phase is Phase.BODY:
            # From the queue's count (``_units``): the same figures to the bit.
            count, units = len(self.queue), self._queue_units
            if self.fallback_repeats():
                assert self.routine is not None
                # ``ordered`` only puts the routine's steps in another order.
                count += len(self.routine.steps)
                units = _plus(units, self._units_of(self.routine))
            red = zone is Zone.RED
            units = _plus(units, self._closing_units[red])
            if units is not None:
                return count + len(self._closings[red]), units / _PER_S
        steps: list[Step] = list(self.queue)
        if self.phase is Phase.SETTLE:
            steps += self.routine_steps(zone)[1]
        if self.phase is Phase.BODY and self.fallback_repeats():
            assert self.routine is not None
            steps += self.ordered(self.routine)
        if self.phase in (Phase.SETTLE, Phase.BODY):
            steps += self.closing_steps(zone)
        return len(steps), sum(map(_PLANNED_S, steps))

    def take_next(self, zone: Zone, over_budget: bool) -> tuple[Step | None, int | None, bool]:
        """The next step as planned, its index in the protocol when it is one of its,
        and whether the session has just been cut to its closing (``over_budget``)."""
        overran_now = False
        while True:
            if self.phase is Phase.BODY and not self.overran and over_budget:
                self.overran = overran_now = True
                self.phase = Phase.CLOSING
                self._set_queue(self.closing_steps(zone), self._closing_units[zone is Zone.RED])
            if self.queue:
                source = self.queue.pop(0)
                self._queue_units = _minus(self._queue_units, _units([source]))
                break
            if self.phase is Phase.SETTLE:
                self.phase = Phase.BODY
                self.take_routine(zone)
            elif self.phase is Phase.BODY and self.fallback_repeats():
                assert self.routine is not None
                # ``ordered`` only puts the routine's steps in another order.
                self._set_queue(self.ordered(self.routine), self._units_of(self.routine))
            elif self.phase is Phase.BODY:
                self.phase = Phase.CLOSING
                self._set_queue(self.closing_steps(zone), self._closing_units[zone is Zone.RED])
            else:
                self.phase = Phase.DONE
                return None, None, overran_now
        main_index = None
        if self.phase is Phase.BODY and self.routine is self.protocol:
            # The protocol's queue is always protocol.steps[main_pos:].
            main_index = self.main_pos
            self.main_pos += 1
        return source, main_index, overran_now

    def adapt(self, step: Step) -> Step:
        """``step`` as shown: a region done by imagery gets an imagery cue."""
        if step.region not in self.imagery:
            return step
        cue = texts.imagery_cue(step.kind, step.region)
        if cue is None:
            return step
        return replace(step, id=f"{step.id}-imagery", kind=StepKind.IMAGERY, cue=cue)


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _minus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


# A walk never needs more steps than this; it guards against a routine that repeats.
_MAX_WALK_STEPS = 2000
_WALK_STRIDE_S = 600.0


def walk(
    protocol: Routine,
    fallbacks: dict[Zone, Routine],
    zone: Zone,
    config: PacingConfig | None = None,
    imagery: Iterable[str] = (),
) -> list[tuple[float, Step]]:
    """Every step a session held in ``zone`` runs when each is skipped as it starts,
    with the session time it starts at (what the phrase book must be able to say).

    Small strides first, so the budget leaves every step in; then big ones run the
    session past its budget, so a fallback routine that would repeat while the
    protocol waits gives way to the closing, as the controller's skip would.
    """
    cfg = config or PacingConfig()
    planner = RoutinePlanner(protocol, fallbacks, cfg, set(imagery))
    budget_s = planned_session_s(protocol, cfg) + cfg.max_overrun_s
    small = len(protocol.steps) + sum(len(r.steps) for r in fallbacks.values()) + 10
    planner.start()
    steps: list[tuple[float, Step]] = []
    t_s = 0.0
    for n in range(_MAX_WALK_STEPS + 1):
        source, _, _ = planner.take_next(zone, t_s > budget_s)
        if source is None:
            break
        steps.append((t_s, planner.adapt(source)))
        t_s += 1.0 if n < small else _WALK_STRIDE_S
    return steps
