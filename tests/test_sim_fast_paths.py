"""The simulated strap's shortcuts against the plain path they stand for.

``SimulatedSource.observe`` hands the heart only the events it acts on when no
listener is set (an estimate a second, zone changes, advice... change nothing in
it), and builds its samples with ``models.slots.builder``: the items and the
truth must be those of handing every event to ``Heart.hear`` and of
``HeartSample.__init__``, in scenarios where the events matter (tensing, paced
breathing, a pause, gaps and artifacts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from biofeedback.models import (
    Action,
    Advice,
    Contact,
    Estimate,
    HeartSample,
    PaceChanged,
    Quality,
    SessionEnded,
    SessionEvent,
    StepEnded,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from simulators.source import SimulatedSource
from tests.support.simulator import exact_text, scripted_step, truth_lines

UNTIL_S = 260.0


def _script() -> list[SessionEvent]:
    """A session's events with an estimate every second between them, and the
    other events a heart does not act on."""

    step = scripted_step
    acted: list[SessionEvent] = [
        step(4.0, 1, StepKind.REST, 20.0),
        StepEnded(24.0, "s1", 20.0, "done"),
        step(24.0, 2, StepKind.TENSE, 10.0),
        StepEnded(34.0, "s2", 10.0, "done"),
        step(34.0, 3, StepKind.BREATH, 100.0, breath_in_s=4.0, breath_out_s=6.0),
        PaceChanged(80.0, "s3", 4.5, 6.5, "slower"),
        UserActed(100.0, Action.PAUSE),
        UserActed(112.0, Action.RESUME),
        StepEnded(134.0, "s3", 100.0, "done"),
        step(134.0, 4, StepKind.TENSE, 12.0),
        StepEnded(146.0, "s4", 12.0, "done"),
        step(146.0, 5, StepKind.SCAN, 90.0),
        StepEnded(236.0, "s5", 90.0, "done"),
        SessionEnded(236.0, "sid", "done", 236.0),
    ]
    ignored: list[SessionEvent] = [
        Estimate(float(t), 61.0, 40.0, 0.5, Quality.OK, 0.0, 12.0, "rr") for t in range(1, 240)
    ]
    ignored += [
        ZoneChanged(50.0, Zone.GREEN, Zone.YELLOW, "a rise"),
        Advice(50.0, "slower"),
        UserActed(60.0, Action.SKIP),
        UserActed(61.0, Action.HURTS),
    ]
    # In time order, ties kept as listed: what the session loop would emit.
    return sorted(acted + ignored, key=lambda event: event.t)


def _lines(source: SimulatedSource, hand: Callable[[SessionEvent], None]) -> Iterable[str]:
    events = _script()
    for item in source.items():
        yield exact_text(item)
        yield type(item).__name__  # the class itself, not a twin
        while events and events[0].t <= item.t_s:
            hand(events.pop(0))
        if item.t_s > UNTIL_S:
            break
    yield from truth_lines(source)


@pytest.mark.parametrize(
    ("scenario", "seed"), [("calm", None), ("artifacts", 3), ("dropouts", 1), ("anxious", 7)]
)
def test_observing_is_handing_every_event_to_the_heart(scenario: str, seed: int | None) -> None:
    fast = SimulatedSource(scenario, seed=seed)
    plain = SimulatedSource(scenario, seed=seed)
    fast_lines = list(_lines(fast, fast.observe))
    plain_lines = list(_lines(plain, lambda event: plain.heart.hear(event, 0.0)))
    assert fast_lines == plain_lines
    # The script moved the heart: the shortcut has something to get wrong.
    still = SimulatedSource(scenario, seed=seed)
    assert list(_lines(still, lambda event: None)) != plain_lines


def test_a_listener_hears_every_event_in_order() -> None:
    source = SimulatedSource("calm", seed=2)
    heard: list[SessionEvent] = []

    def listen(event: SessionEvent) -> float:
        heard.append(event)
        return 1.5 if isinstance(event, StepStarted) else 0.0

    source.listen = listen
    list(_lines(source, source.observe))
    assert heard == _script()


def test_a_sample_is_the_one_its_init_makes() -> None:
    source = SimulatedSource("calm", seed=1)
    samples = [item for _, item in zip(range(40), source.items(), strict=False)]
    assert all(type(sample) is HeartSample for sample in samples)
    for sample in samples:
        assert isinstance(sample, HeartSample)
        made = HeartSample(
            sample.t_s, sample.hr_bpm, sample.rr_ms, sample.beat_t_s, contact=Contact.DETECTED
        )
        assert sample == made
        assert exact_text(sample) == exact_text(made)
        with pytest.raises(AttributeError):
            sample.t_s = 0.0  # type: ignore[misc]
