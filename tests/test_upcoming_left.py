"""The planner's count of the steps still to come is the walk through them, summed.

``upcoming_left`` gives each StepStarted its ``steps_left`` and ``session_left_s``
without building every step as shown; the figures must be the ones a walk through
``upcoming`` gives, to the bit, in every phase and zone, with imagery, a check-in
and a fallback routine that repeats (and ``next_up`` the walk's first step). The
planner keeps the time left as a count of 1/1024 s where the lengths allow it (a
day-long routine would otherwise be summed at each of its thousands of steps):
routines with lengths that are no such fraction (0.1 s: its sums round) and with
ones that are (0.25 s) check both ways.
"""

from __future__ import annotations

import dataclasses

import pytest

from biofeedback.models import Step, Zone
from biofeedback.pacing.planner import Phase, RoutinePlanner
from biofeedback.pacing.rules import PacingConfig
from biofeedback.routines.protocols import Routine, load_all, load_protocol

FALLBACKS = {Zone.YELLOW: load_protocol("breath-partial"), Zone.RED: load_protocol("passive-rest")}


def walked(planner: RoutinePlanner, zone: Zone) -> tuple[int, float]:
    steps = list(planner.upcoming(zone))
    return len(steps), sum(s.planned_s for s in steps)


def odd_lengths(routine: Routine, extra_s: float) -> Routine:
    """``routine`` with ``extra_s`` added to every other step's length."""
    steps = tuple(
        dataclasses.replace(s, planned_s=s.planned_s + extra_s * (i % 2))
        for i, s in enumerate(routine.steps)
    )
    return dataclasses.replace(routine, steps=steps)


PROTOCOLS = {p.name: p for p in load_all()}
PROTOCOLS |= {
    "full, tenths": odd_lengths(load_protocol("full"), 0.1),
    "full, quarters": odd_lengths(load_protocol("full"), 0.25),
}


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_the_count_and_the_time_left_are_the_walks(name: str) -> None:
    protocol = PROTOCOLS[name]
    imagery = set(protocol.regions[:1])
    planner = RoutinePlanner(protocol, dict(FALLBACKS), PacingConfig(), imagery)
    planner.start()
    zones = [Zone.GREEN, Zone.YELLOW, Zone.RED, Zone.YELLOW, Zone.GREEN]
    seen_phases = set()
    last: tuple[Step | None, int | None] = (None, None)
    for n in range(300):
        zone = zones[(n // 4) % len(zones)]
        if n % 4 == 0 and planner.phase is Phase.BODY:
            # Every other change cuts the step in progress short: it is repeated.
            cut = last if n % 8 == 0 else (None, None)
            planner.leave(zone, True, *cut)
            planner.switch(zone)
        if n == 6:
            planner.check_in()
        for asked in Zone:
            assert planner.upcoming_left(asked) == walked(planner, asked), (n, asked)
            # The next step, found without the walk, is the walk's first.
            assert planner.next_up(asked) == next(planner.upcoming(asked), None), (n, asked)
        seen_phases.add(planner.phase)
        step, main_index, _ = planner.take_next(zone, over_budget=False)
        if step is None:
            break
        last = (step, main_index)
    assert {Phase.SETTLE, Phase.BODY, Phase.CLOSING} <= seen_phases
