from __future__ import annotations

import json

import pytest

from biofeedback.models import (
    Action,
    Baseline,
    BaselineHow,
    Estimate,
    Quality,
    SignalLost,
    StepExtended,
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
        ZoneChanged(
            20.0,
            Zone.GREEN,
            Zone.YELLOW,
            "heart rate 78 bpm, +8 bpm over 70: evidence 4.2 >= 4",
            plain="Your heart rate has stayed about 8 beats above your resting rate.",
            hr_delta_bpm=8.0,
            evidence=4.25,
            evidence_needed=4.0,
        ),
        StepExtended(30.0, "feet-release", 5.0, "not settled", "A few seconds longer."),
        SignalLost(40.0, "no data since 35 s", "We can't read your heart right now."),
        Baseline(
            51.0,
            62.5,
            41.0,
            Quality.OK,
            how=BaselineHow.RISING,
            rise_bpm=9.5,
            noise_bpm=3.0,
            reason="the opening kept rising",
            plain="We'll start gently.",
        ),
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


def test_events_written_before_the_new_fields_still_load() -> None:
    old = {"t": 1.0, "type": "zone_changed", "from": "green", "to": "yellow", "reason": "why"}
    event = event_from_dict(old)
    assert isinstance(event, ZoneChanged)
    assert event.plain == ""
    assert event.evidence is None
    base = event_from_dict(
        {"t": 2.0, "type": "baseline", "hr_bpm": 60, "rmssd_ms": None, "quality": "ok"}
    )
    assert isinstance(base, Baseline)
    assert base.how is None


def test_an_estimates_own_dict_is_the_generic_one() -> None:
    """Estimate.to_dict (written out field by field: one a second of every session)
    gives what SessionEvent.to_dict's rule gives, key for key and type for type."""
    import itertools
    import math

    import numpy as np

    from biofeedback.models.events import SessionEvent

    values = [None, math.nan, 61.23456, 0.0005, -0.0, 72, math.inf, np.float64(0.12345)]
    for hr, rmssd, arousal, rate, breath in itertools.islice(
        itertools.product(values, repeat=5), 0, None, 7
    ):
        for source in (None, "rr"):
            event = Estimate(1234.5678, hr, rmssd, arousal, Quality.OK, rate or 0.0, breath, source)
            fast, generic = event.to_dict(), SessionEvent.to_dict(event)
            assert json.dumps(fast) == json.dumps(generic)
            assert [type(v) for v in fast.values()] == [type(v) for v in generic.values()]
