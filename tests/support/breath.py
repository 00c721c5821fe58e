"""A whole simulated session with its breath, and what to check it against."""

from __future__ import annotations

from dataclasses import dataclass

from biofeedback.cli import SessionRequest, build_session
from biofeedback.models import SessionEvent, StepKind, StepStarted
from simulators.source import SimulatedSource
from tests.support.sinks import ListSink


@dataclass
class BreathRun:
    source: SimulatedSource
    events: list[SessionEvent]

    def of_type(self, kind: str) -> list[SessionEvent]:
        return [e for e in self.events if e.type == kind]

    def first_held_tense_step(self) -> str | None:
        """The first tense step in which the person truly held their breath."""
        tense = [e for e in self.events if isinstance(e, StepStarted) and e.kind is StepKind.TENSE]
        for hold in self.source.truth.holds():
            for step in tense:
                if step.t - 0.5 <= hold.start_s < step.t + step.planned_s:
                    return step.step
        return None


async def breath_session(scenario: str, seed: int, protocol: str = "full") -> BreathRun:
    # The session as `run --sim SCENARIO --seed SEED --speed max` wires it, on a
    # source that also streams the chest (the scenarios' default is the heart only).
    source = SimulatedSource(scenario, seed=seed, acc_rate_hz=50.0)
    sink = ListSink()
    request = SessionRequest(
        sim=scenario, seed=seed, protocol=protocol, speed=None, use_profile=False, record=False
    )
    await build_session(
        request, source=source, sinks=[sink], session_id=f"breath-{scenario}-{seed}"
    ).run()
    return BreathRun(source, sink.events)
