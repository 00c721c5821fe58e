from __future__ import annotations

import json

import pytest

from biofeedback.models import (
    Action,
    Estimate,
    Quality,
    StepKind,
    StepStarted,
    UnknownEventError,
    UserActed,
    Zone,
    ZoneChanged,
    event_from_dict,
)


@pytest.mark.parametrize(
    "event",
    [
        ZoneChanged(12.5, Zone.GREEN, Zone.YELLOW, "hr +9 bpm over baseline for 12 s"),
        StepStarted(3.0, "feet-tense", StepKind.TENSE, "feet", "Curl your toes.", 5.0),
        Estimate(4.0, 61.2, None, 0.4, Quality.HR_ONLY, 0.02),
        UserActed(5.0, Action.HURTS),
    ],
)
def test_events_round_trip_through_json(event) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(event.to_dict()))
    assert event_from_dict(data) == event


def test_zone_change_uses_from_and_to_keys() -> None:
    data = ZoneChanged(1.0, Zone.YELLOW, Zone.RED, "why").to_dict()
    assert data["from"] == "yellow"
    assert data["to"] == "red"
    assert data["type"] == "zone_changed"


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(UnknownEventError):
        event_from_dict({"type": "nonsense", "t": 0})


def test_zone_steps() -> None:
    assert Zone.GREEN.lower() is Zone.YELLOW
    assert Zone.RED.lower() is Zone.RED
    assert Zone.RED.higher() is Zone.YELLOW
    assert Zone.GREEN.higher() is Zone.GREEN
