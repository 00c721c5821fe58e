"""A frozen, slotted dataclass built at a fraction of the cost of its ``__init__``.

A frozen dataclass's generated ``__init__`` sets every field, given or default,
with ``object.__setattr__(self, name, value)``: a call, and the name looked up in
the class, for each field of each object. The live estimators build one such
object a tick (``ArousalEstimate``, 18 fields; ``BreathEstimate``, 23), and that
cost about as much as the estimate's own arithmetic; the loop builds an
``Estimate`` event a tick and a replay a ``HeartSample`` a second. ``builder``
fills the object as an instance of a twin subclass that adds no slot and lets
attributes be set (a plain store, which the interpreter specialises to the slot),
then makes it an instance of the class itself: the same object, field for field,
value for value (tests/test_slots.py compares them with the ``__init__``'s).

Only for classes whose ``__init__`` does nothing else: slotted, no
``__post_init__``, every field an ``__init__`` field, no default factories among
the fields left to their defaults.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any, TypeVar

from biofeedback.models.record import unfrozen

T = TypeVar("T")


def builder(cls: type[T], *names: str) -> Callable[..., T]:
    """``build(*values)``, the same as ``cls(**dict(zip(names, values)))``: the
    fields ``names`` (all of them, in order, when none are named) from ``values``
    in that order, every other field its default. ``build`` takes exactly that
    many values (TypeError otherwise, as a function called with too few)."""
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
        rest.append((f.name, f.default))
    # The object is filled as ``cls``'s twin (record.unfrozen: stores into the slots
    # as on a plain object, the frozen ones would leave every store to a Python call),
    # then made an instance of ``cls``.
    # The function is written out, one statement a slot: a loop's own steps (zip,
    # unpacking) cost about as much as the stores themselves. Its own names are
    # ``v0``, ``default0``...; a field's name is only ever an attribute's.
    unfrozen_twin = unfrozen(cls)
    namespace: dict[str, Any] = {"new": object.__new__, "unfrozen": unfrozen_twin, "cls": cls}
    args = [f"v{i}" for i in range(len(given))]
    body = ["    obj = new(unfrozen)"]
    for i, name in enumerate(given):
        body.append(f"    obj.{name} = v{i}")
    for j, (name, default) in enumerate(rest):
        namespace[f"default{j}"] = default
        body.append(f"    obj.{name} = default{j}")
    body.append("    obj.__class__ = cls")
    body.append("    return obj")
    exec(f"def build({', '.join(args)}):\n" + "\n".join(body), namespace)
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = f"builder({cls.__name__})"
    return build
