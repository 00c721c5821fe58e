"""``slots.builder`` builds the very object the dataclass's own ``__init__`` does."""

from __future__ import annotations

import dataclasses
import math
import pickle
import random

import pytest

from biofeedback.models import ArousalEstimate, BaselineHow, Estimate, Quality
from biofeedback.signals.breath_estimate import BreathEstimate, BreathQuality, BreathSource
from biofeedback.signals.slots import builder


def _value(field: dataclasses.Field[object], rng: random.Random) -> object:
    """Something the field may hold: an enum member, None, NaN, a number, a flag, text."""
    kind = str(field.type)
    if "Quality" in kind:
        return rng.choice(list(BreathQuality if "Breath" in kind else Quality))
    if "BaselineHow" in kind:
        return rng.choice([None, *BaselineHow])
    if "BreathSource" in kind:
        return rng.choice([None, *BreathSource])
    if "bool" in kind:
        return rng.choice([None, True, False])
    if "str" in kind:
        return rng.choice(["", "a reason"])
    return rng.choice([None, math.nan, -0.0, 0.0, rng.uniform(-100, 100)])


def _same(a: object, b: object) -> None:
    assert type(a) is type(b)
    assert repr(a) == repr(b)  # NaN is unequal to itself: the reprs say it all
    assert a == b or "nan" in repr(a)


def test_built_objects_are_the_init_s_field_for_field() -> None:
    rng = random.Random(28)
    build_arousal = builder(ArousalEstimate)
    fields = dataclasses.fields(ArousalEstimate)
    for _ in range(200):
        values = [_value(f, rng) for f in fields]
        values[0] = rng.uniform(0, 1e5)  # t_s
        _same(build_arousal(*values), ArousalEstimate(*values))  # type: ignore[arg-type]
    names = ("t_s", "quality", "source", "per_min", "confidence", "rate_ratio", "reason")
    build_breath = builder(BreathEstimate, *names)
    by_name = {f.name: f for f in dataclasses.fields(BreathEstimate)}
    for _ in range(200):
        given = {name: _value(by_name[name], rng) for name in names}
        given["t_s"] = rng.uniform(0, 1e5)
        given["confidence"] = rng.uniform(0, 1)
        built = build_breath(*given.values())
        _same(built, BreathEstimate(**given))  # type: ignore[arg-type]
    # The session's estimate event, one a tick: the same object and the same record.
    build_event = builder(Estimate)
    for _ in range(200):
        values = [_value(f, rng) for f in dataclasses.fields(Estimate)]
        values[0] = rng.uniform(0, 1e5)  # t
        event = build_event(*values)
        _same(event, Estimate(*values))  # type: ignore[arg-type]
        assert repr(event.to_dict()) == repr(Estimate(*values).to_dict())  # type: ignore[arg-type]
    # Still frozen, hashed and compared as the class's own.
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.t_s = 1.0  # type: ignore[misc]
    plain = BreathEstimate(1.0, BreathQuality.OK, reason="a reason")
    twin = builder(BreathEstimate, "t_s", "quality", "reason")(1.0, BreathQuality.OK, "a reason")
    assert twin == plain
    assert hash(twin) == hash(plain)
    assert pickle.loads(pickle.dumps(twin)) == plain
    assert dataclasses.replace(twin, t_s=2.0) == dataclasses.replace(plain, t_s=2.0)


def test_builder_refuses_what_it_cannot_build_the_same() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: float

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: float

        def __post_init__(self) -> None:
            assert self.a >= 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Listed:
        a: float
        b: list[float] = dataclasses.field(default_factory=list)

    for cls, names in ((NoSlots, ()), (Checked, ()), (Listed, ("a",))):
        with pytest.raises(TypeError):
            builder(cls, *names)
    with pytest.raises(TypeError):
        builder(BreathEstimate, "t_s", "no_such_field")
    with pytest.raises(TypeError, match="positional"):
        builder(ArousalEstimate)(1.0, None)  # every field, or none built
