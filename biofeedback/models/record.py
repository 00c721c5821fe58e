"""``record``: ``dataclasses.dataclass`` with ``__eq__``, ``__hash__`` and ``__repr__``
made from shared code instead of compiled for each class.

Why: ``dataclass`` writes each method it adds as source text and compiles it with
``exec``, one method at a time (Python 3.11): ~0.1 ms a method, more with many
fields. Creating the ~90 dataclasses a session imports was about a quarter of the
CPU of a 900 s simulated session, most of it compiling. A ``record`` class has
``dataclass`` compile only ``__init__`` (and, frozen, ``__setattr__`` and
``__delattr__``); its ``__eq__``, ``__hash__`` and ``__repr__`` are closures over its
field names, made without compiling anything. They behave exactly as the generated
ones (tests/test_record.py checks every record of the package against a dataclass
twin): equality compares the tuples of the compared fields, so a value is equal to
itself (a NaN too) and the fields are compared in order up to the first that
differs; an instance of another class, a subclass included, gives NotImplemented;
the hash is the hash of that tuple (frozen classes; the others stay unhashable);
the repr names the class and the shown fields, with ``...`` where it recurses.
``dataclasses.fields``, ``replace``, ``asdict``, pickling and ``__match_args__`` are
``dataclass``'s own; ``__dataclass_params__`` says eq=False, repr=False (they were
not generated).

For the same reason every dataclass has a docstring of its own: for a class without
one, ``dataclass`` writes one from ``inspect.signature`` of the class.

A shared method costs 1.3-2.4x a generated one a call (benchmarks/records.py): no
session, replay or dashboard compares, hashes or prints a record on its hot path.
Figures of the whole session: benchmarks/cli_help.py.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

_C = TypeVar("_C", bound=type)
_Key = Callable[[Any], tuple[Any, ...]]


@overload
def record(cls: _C, /) -> _C: ...


@overload
def record(*, frozen: bool = False, slots: bool = False) -> Callable[[_C], _C]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(
    cls: _C | None = None, /, *, frozen: bool = False, slots: bool = False
) -> _C | Callable[[_C], _C]:
    """``@dataclass`` (``frozen``, ``slots`` as there, eq and repr on) for a class that
    defines no ``__eq__``, ``__hash__`` or ``__repr__`` of its own."""

    def make(cls: _C) -> _C:
        own = {"__eq__", "__hash__", "__repr__"} & set(cls.__dict__)
        if own:
            raise TypeError(f"{cls.__name__} defines {sorted(own)}: use dataclasses.dataclass")
        cls = dataclasses.dataclass(  # type: ignore[assignment]
            cls, frozen=frozen, slots=slots, eq=False, repr=False
        )
        fields = dataclasses.fields(cls)
        compared = _key([f.name for f in fields if f.compare])
        cls.__eq__ = _eq(compared)  # type: ignore[assignment]
        cls.__repr__ = _repr(tuple(f.name for f in fields if f.repr))  # type: ignore[assignment]
        if frozen:
            hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
            cls.__hash__ = _hash(_key(hashed))  # type: ignore[assignment]
        else:
            cls.__hash__ = None  # type: ignore[assignment]
        return cls

    return make if cls is None else make(cls)


def _key(names: list[str]) -> _Key:
    """The tuple of an object's ``names`` attributes (attrgetter gives a bare value for
    one name, and takes at least one)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(key: _Key) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _hash(key: _Key) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __hash__


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    # Objects (by id, per thread) this class's repr is already showing: a field that
    # leads back to one shows "...", not an endless recursion.
    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        key = (id(self), threading.get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            qualname: str = self.__class__.__qualname__
            shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in names])
            return qualname + f"({shown})"
        finally:
            running.discard(key)

    return __repr__
