"""A frozen, slotted dataclass built at about half the cost of its ``__init__``.

A frozen dataclass's generated ``__init__`` sets every field, given or default,
with ``object.__setattr__(self, name, value)``: the name is looked up in the class
for each field of each object. The live estimators build one such object a tick
(``ArousalEstimate``, 18 fields; ``BreathEstimate``, 23), and that cost about as
much as the estimate's own arithmetic. ``builder`` finds each field's slot once
and fills the slots directly: the same object, field for field, value for value
(tests/test_slots.py compares them with the ``__init__``'s).

Only for classes whose ``__init__`` does nothing else: slotted, no
``__post_init__``, every field an ``__init__`` field, no default factories among
the fields left to their defaults.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def builder(cls: type[T], *names: str) -> Callable[..., T]:
    """``build(*values)``, the same as ``cls(**dict(zip(names, values)))``: the
    fields ``names`` (all of them, in order, when none are named) from ``values``
    in that order, every other field its default."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    own_new = cls.__new__ is object.__new__
    if not own_new or hasattr(cls, "__post_init__") or any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__}: its __init__ does more than set its fields")
    slots: dict[str, Any] = {f.name: getattr(cls, f.name, None) for f in fields}
    if not all(isinstance(s, types.MemberDescriptorType) for s in slots.values()):
        raise TypeError(f"{cls.__name__}: not a slotted dataclass")
    given = names or tuple(slots)
    unknown = set(given) - set(slots)
    if unknown or len(set(given)) != len(given):
        raise TypeError(f"{cls.__name__}: fields {given} are not its fields, once each")
    rest = []
    for f in fields:
        if f.name in given:
            continue
        if f.default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: no plain default to leave it at")
        rest.append((slots[f.name].__set__, f.default))
    puts = tuple(slots[name].__set__ for name in given)
    defaults = tuple(rest)
    new = object.__new__

    def build(*values: Any) -> T:
        obj = new(cls)
        for put, value in zip(puts, values, strict=True):
            put(obj, value)
        for put, value in defaults:
            put(obj, value)
        return obj

    return build
