"""A whole simulated session with its breath, and what to check it against."""

from __future__ import annotations

from dataclasses import dataclass

from biofeedback.models import SessionEvent, SessionInfo, StepKind, StepStarted
from biofeedback.pacing.arousal import ArousalEstimator
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.protocols import load_protocol
from biofeedback.session import VirtualClock, run_session
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
    source = SimulatedSource(scenario, seed=seed, acc_rate_hz=50.0)
    sink = ListSink()
    await run_session(
        source,
        ArousalEstimator(),
        PacingController(load_protocol(protocol)),
        [sink],
        VirtualClock(),
        SessionInfo(f"breath-{scenario}-{seed}", protocol, source.description, 0.0),
    )
    return BreathRun(source, sink.events)
