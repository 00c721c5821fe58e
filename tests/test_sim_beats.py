"""The simulated strap's items and truth, to the bit, as the simulator gave them
before its per-beat arithmetic was reworked for speed (main 3bd8ea8).

Each case drives a ``SimulatedSource`` through a scripted session (tensing and
letting go, a paced breath step and a pace change, a pause, the session's end;
with spoken cues in one case, so events are heard late), observing each event as
soon as the items have passed its time, as the session loop does. The digest
covers every item (heart samples, gaps, chest motion) and every truth the source
keeps (true beats, their HR, arousal and vagal tone, the interval labels, the
breaths), floats written exactly (``float.hex``). Regenerate the digests only for
a change meant to alter the simulated person, and say why in the commit:

    python -m tests.test_sim_beats
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pytest

from biofeedback.models import (
    Action,
    PaceChanged,
    SessionEnded,
    SessionEvent,
    StepEnded,
    StepKind,
    UserActed,
)
from simulators.source import SimulatedSource
from tests.support.simulator import exact_text, scripted_step, truth_lines

UNTIL_S = 330.0


def _script() -> list[SessionEvent]:
    step = scripted_step
    return [
        step(5.0, 1, StepKind.REST, 25.0),
        StepEnded(30.0, "s1", 25.0, "done"),
        step(30.0, 2, StepKind.TENSE, 10.0),
        StepEnded(40.0, "s2", 10.0, "done"),
        step(40.0, 3, StepKind.RELEASE, 30.0),
        StepEnded(70.0, "s3", 30.0, "done"),
        step(70.0, 4, StepKind.BREATH, 120.0, breath_in_s=4.0, breath_out_s=6.0),
        PaceChanged(130.0, "s4", 4.5, 6.5, "slower"),
        UserActed(150.0, Action.PAUSE),
        UserActed(165.0, Action.RESUME),
        StepEnded(190.0, "s4", 120.0, "done"),
        step(190.0, 5, StepKind.TENSE, 12.0),
        StepEnded(202.0, "s5", 12.0, "done"),
        step(202.0, 6, StepKind.SCAN, 100.0),
        StepEnded(302.0, "s6", 100.0, "done"),
        SessionEnded(302.0, "sid", "done", 302.0),
    ]


def _lines(source: SimulatedSource, script: Iterable[SessionEvent]) -> Iterable[str]:
    events = list(script)
    for item in source.items():
        yield exact_text(item)
        # What the session would have emitted by this item's time is heard before
        # the next item is made.
        while events and events[0].t <= item.t_s:
            source.observe(events.pop(0))
        if item.t_s > UNTIL_S:
            break
    yield from truth_lines(source)


def digest(scenario: str, seed: int | None, spoken: bool = False) -> str:
    source = SimulatedSource(scenario, seed=seed)
    if spoken:
        # Each cue heard 1.5 s after its event (said first): the heart's queue.
        source.listen = lambda event: 1.5
    text = "\n".join(_lines(source, _script()))
    return hashlib.sha256(text.encode()).hexdigest()


# (scenario, seed, spoken): digest printed by the code before the rework.
CASES: dict[tuple[str, int | None, bool], str] = {
    ("calm", None, False): "5dffae49bf17bb1d69293685f89fe2bdda2b65d7fc11689f06efd45e422325d2",
    ("calm", 7, False): "c805264a039e45c81432e5ab5580a5e3f604cbd6f5d4fdfe4597d3e4cb978125",
    ("calm", 2, True): "dd271fd19fdd587750500e157aeb6e238cb71b3cef9c1c603066777131a8ebe7",
    ("artifacts", None, False): "19d743b49279f5ab8668235077d3cdb09fc54065d7644d693a024675c924c798",
    ("ectopy", 3, False): "0b7b2f34c34958a7baff375b7ca12b9b552f5b3a0db1474ebc0f0af75ebc80f5",
    ("dropouts", None, False): "e53d566a8fa08884a273f30a723441ce924aa8865fab2da029422b74087a0f78",
    ("anxious", None, False): "5ca22bc4d7607576e018ba49d40f3ad724c5bcde37adc77d4d14030bd91d181c",
    ("panic", 2, False): "74810a4ae18a4b8f3f516c2d692142a6fe3b72e111507ed22068232e644e1b3d",
    (
        "breath-holder",
        None,
        False,
    ): "96cdbc7dc06b371b15385852e87ad45f7954d8a005514cde97554ca2e000419c",
    ("fast-breather", 1, True): "cfa0231e9de9490f97e77ceb35ac432a5eb6c7cb6c1e3fe835ef5f829c80192d",
    (
        "non-responder",
        None,
        False,
    ): "db96dfe7b5b139a94b2e60d5865791ccd6b3fedc8287ae58cd393c0fe74b3ea3",
}


@pytest.mark.parametrize(("scenario", "seed", "spoken"), list(CASES))
def test_the_simulated_person_is_the_one_before(
    scenario: str, seed: int | None, spoken: bool
) -> None:
    assert digest(scenario, seed, spoken) == CASES[scenario, seed, spoken]


if __name__ == "__main__":
    for case in CASES:
        print(f"    {case!r}: {digest(*case)!r},")
