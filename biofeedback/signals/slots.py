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
        rest.append((slots[f.name].__set__, f.default))
    # The function is written out, one statement a slot: a loop's own steps (zip,
    # unpacking) cost about as much as the puts themselves. Its names are ours
    # (``v0``, ``put0``...), never a field's, so any field name is safe here.
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    args = [f"v{i}" for i in range(len(given))]
    body = ["    obj = new(cls)"]
    for i, name in enumerate(given):
        namespace[f"put{i}"] = slots[name].__set__
        body.append(f"    put{i}(obj, v{i})")
    for j, (put, default) in enumerate(rest):
        namespace[f"put_default{j}"] = put
        namespace[f"default{j}"] = default
        body.append(f"    put_default{j}(obj, default{j})")
    body.append("    return obj")
    exec(f"def build({', '.join(args)}):\n" + "\n".join(body), namespace)
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = f"builder({cls.__name__})"
    return build
