"""The planner's walk (what the phrase book reads) is the controller's own skip-through."""

from __future__ import annotations

import pytest

from biofeedback.models import Action, SessionEvent, StepStarted, Zone
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.planner import walk
from biofeedback.routines.protocols import load_all, load_protocol

YELLOW, RED = load_protocol("breath-partial"), load_protocol("passive-rest")


def skipped_through(protocol_name: str, zone: Zone, imagery: tuple[str, ...]) -> list[StepStarted]:
    """A real controller started in ``zone``, skipped at the strides the walk uses."""
    protocol = load_protocol(protocol_name)
    controller = PacingController(
        protocol, yellow=YELLOW, red=RED, start_zone=zone, imagery_regions=imagery
    )
    events: list[SessionEvent] = list(controller.start(0.0))
    small = len(protocol.steps) + len(YELLOW.steps) + len(RED.steps) + 10
    t_s = 0.0
    for n in range(2000):
        if controller.finished:
            break
        t_s += 1.0 if n < small else 600.0
        events += controller.on_action(t_s, Action.SKIP)
    return [e for e in events if isinstance(e, StepStarted)]


@pytest.mark.parametrize("name", [p.name for p in load_all()])
@pytest.mark.parametrize("zone", list(Zone))
def test_the_walk_starts_the_steps_the_controller_starts(name: str, zone: Zone) -> None:
    protocol = load_protocol(name)
    for imagery in ((), protocol.regions[:1]):
        walked = walk(protocol, {Zone.YELLOW: YELLOW, Zone.RED: RED}, zone, imagery=imagery)
        started = skipped_through(name, zone, imagery)
        assert [(t, s.id, s.kind, s.region, s.cue) for t, s in walked] == [
            (e.t, e.step, e.kind, e.region, e.cue) for e in started
        ]
        assert walked[-1][1].id == "closing-breath"
