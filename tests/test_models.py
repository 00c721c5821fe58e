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


def _as_written(value: object) -> tuple[str, str]:
    """A value's type and repr: repr tells -0.0 from 0.0 and shows NaN."""
    return type(value).__name__, repr(value)


def test_round3_is_round_to_3_places_to_the_bit() -> None:
    """round3 (every event's dict rounds its figures with it) gives what round(x, 3)
    gives, type, sign and last bit: on floats of every size, on the half-way
    decimals and their neighbours, and on what it hands to round() itself."""
    import math
    import random
    import sys

    import numpy as np

    from biofeedback.models.events import round3

    rng = random.Random(28)
    values: list[object] = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-320]
    values += [0.0005, -0.0005, 0.0004999, -0.0004999, 0.0015, 2.675, 1.0005, -1.0005]
    values += [math.inf, -math.inf, math.nan, sys.float_info.max, -sys.float_info.max]
    values += [1e10, -1e10, 9999999999.9995, 2.0**51, 2.0**52, 2.0**53 + 2, 1e300, -1e300]
    values += [7, -3, True, False, np.float64(2.675), np.float64(0.12345), np.float64(-0.0)]
    for _ in range(40_000):
        n = rng.randrange(-(10**12), 10**12)
        for x in ((n + 0.5) / 1000, n / 1000):  # half-way and whole thousandths
            values += [x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf)]
    for _ in range(80_000):
        values.append(rng.uniform(-200.0, 200.0))
        values.append(math.copysign(10.0 ** rng.uniform(-12.0, 16.0), rng.random() - 0.5))
    for value in values:
        assert _as_written(round3(value)) == _as_written(round(value, 3)), value  # type: ignore[call-overload]


def test_an_estimates_json_line_is_its_dicts_json_to_the_byte() -> None:
    """estimate_json (an estimate's printed line written from its fields) gives
    json.dumps(to_dict) with the console's separators byte for byte, or None (the
    dict's path) where it cannot: on random estimates and awkward ones (NaN, inf,
    -0.0, None, huge and tiny floats, ints, bools, numpy floats, strings needing
    escapes, a plain-str quality, a subclass of Estimate)."""
    import math
    import random
    from typing import Any

    import numpy as np

    from biofeedback.models.events import estimate_json
    from biofeedback.models.record import record

    # A record, as Estimate: dataclass makes no frozen subclass of a class that a
    # record froze itself (models/record.py).
    @record(frozen=True, slots=True)
    class Louder(Estimate):
        """An estimate of another kind."""

    rng = random.Random(29)
    awkward: list[object] = [None, math.nan, math.inf, -math.inf, 0.0, -0.0, -0.0001, 5e-324]
    awkward += [0.0005, -0.0005, 0.0004999, 2.675, 1e13, -1e13, 9999999999.9995, 1e300, 1e-300]
    awkward += [72, -3, 0, True, False, np.float64(0.12345), np.float64(math.nan), 10**20]
    sources: list[object] = [None, "rr", "acc", 'a "b"\n\x1e ü', "", Quality.OK]
    qualities: list[object] = [*Quality, "ok", "good"]

    def figure() -> object:
        if rng.random() < 0.3:
            return rng.choice(awkward)
        return math.copysign(10.0 ** rng.uniform(-6.0, 12.0), rng.random() - 0.5)

    written = fell_back = 0
    for n in range(30_000):
        fields = [figure() for _ in range(5)]
        t = rng.choice([n + rng.random(), float(n), *awkward]) if n % 3 == 0 else n * 1.0001
        cls: type[Estimate] = Louder if n % 97 == 0 else Estimate
        quality = rng.choice(qualities) if n % 5 == 0 else Quality.OK
        args: list[Any] = [t, *fields[:3], quality, *fields[3:], rng.choice(sources)]
        event = cls(*args)
        line = estimate_json(event)
        if line is None:
            fell_back += 1
            continue
        written += 1
        assert cls is Estimate
        assert line == json.dumps(event.to_dict(), separators=(",", ":")), event
    # Both paths taken often: the comparison is not empty.
    assert written > 5_000, written
    assert fell_back > 5_000, fell_back
    assert estimate_json(ZoneChanged(1.0, Zone.GREEN, Zone.RED, "r")) is None
