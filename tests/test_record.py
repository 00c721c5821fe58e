"""``record`` classes (biofeedback/models/record.py) behave exactly as dataclasses'
generated methods: every dataclass of the package and the simulators is compared with
its twin, a subclass that ``dataclasses.dataclass`` gives generated ``__eq__``,
``__hash__`` and ``__repr__``, on the same field values. The values are probes that
log every comparison, hash and repr asked of them, so the order of the work and where
it stops must match too, whatever the fields' types."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import math
import operator
import pickle
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import biofeedback
import simulators
from biofeedback.models.record import record
from biofeedback.models.slots import builder

Log = list[tuple[Any, ...]]


class Probe:
    """A field value that logs what is asked of it; equal to a probe of the same tag."""

    def __init__(self, tag: object, log: Log) -> None:
        self.tag = tag
        self.log = log

    def __eq__(self, other: object) -> bool:
        self.log.append(("eq", self.tag, getattr(other, "tag", other)))
        return isinstance(other, Probe) and self.tag == other.tag

    def __hash__(self) -> int:
        self.log.append(("hash", self.tag))
        return hash(self.tag)

    def __repr__(self) -> str:
        self.log.append(("repr", self.tag))
        return f"<{self.tag}>"


def _nested(owner: type) -> Iterator[type]:
    for value in list(vars(owner).values()):
        if isinstance(value, type) and value.__qualname__.startswith(owner.__qualname__ + "."):
            yield value
            yield from _nested(value)


def package_dataclasses() -> list[type[Any]]:
    found: dict[type[Any], None] = {}
    for package in (biofeedback, simulators):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):  # runs the CLI when imported
                continue
            module = importlib.import_module(info.name)
            for value in list(vars(module).values()):
                if isinstance(value, type) and value.__module__ == info.name:
                    for cls in (value, *_nested(value)):
                        if dataclasses.is_dataclass(cls):
                            found[cls] = None
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


CLASSES = package_dataclasses()


def _is_record(cls: Any) -> bool:
    return not cls.__dataclass_params__.eq and "__eq__" in vars(cls)


def _is_frozen(cls: Any) -> bool:
    """Frozen by dataclass, or by record's shared guard (its params say frozen=False)."""
    return bool(cls.__dataclass_params__.frozen) or cls.__setattr__ is not object.__setattr__


def twin_of(cls: Any) -> Any:
    """A class ``dataclass`` makes of ``cls``'s fields (their types, defaults and
    settings, in order), frozen and slotted as ``cls``, with the methods ``dataclass``
    generates (its own eq and repr settings for a plain dataclass, both on for a
    record), ``cls``'s name, and no base: dataclass makes no frozen class of a base
    that a record froze by itself."""
    params = cls.__dataclass_params__
    record_made = _is_record(cls)
    body: dict[str, Any] = {"__qualname__": cls.__qualname__, "__module__": cls.__module__}
    annotations: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        annotations[f.name] = f.type
        options: dict[str, Any] = {"init": f.init, "repr": f.repr, "hash": f.hash}
        options["compare"] = f.compare
        if f.default is not dataclasses.MISSING:
            options["default"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            options["default_factory"] = f.default_factory
        if f.kw_only is not dataclasses.MISSING:
            options["kw_only"] = f.kw_only
        body[f.name] = dataclasses.field(metadata=f.metadata, **options)
    body["__annotations__"] = annotations
    made = type(cls.__name__, (), body)
    twin: type[Any] = dataclasses.dataclass(
        made,
        frozen=_is_frozen(cls),
        slots="__slots__" in vars(cls),
        eq=record_made or params.eq,
        repr=record_made or params.repr,
    )
    return twin


def instance(cls: type[Any], values: list[Any]) -> Any:
    """An object of ``cls`` holding ``values`` in its fields, in order, without its
    ``__init__`` (any value, whatever the field's type)."""
    obj: Any = object.__new__(cls)
    for f, value in zip(dataclasses.fields(cls), values, strict=True):
        object.__setattr__(obj, f.name, value)
    return obj


def outcome(run: Callable[..., object], *args: object) -> tuple[str, object]:
    try:
        return ("returned", run(*args))
    except Exception as exc:  # the same error from both, for the same reason
        return ("raised", f"{type(exc).__name__}: {exc}")


def observed(a: object, b: object) -> list[tuple[str, object]]:
    """What ==, !=, repr and hash give for two objects of one class (not repr or hash
    where the class has object's: they show the object's identity)."""
    seen = [outcome(operator.eq, a, b), outcome(operator.ne, a, b), outcome(operator.eq, a, a)]
    if type(a).__repr__ is not object.__repr__:
        seen.append(outcome(repr, a))
    if type(a).__hash__ is not object.__hash__:
        seen.append(outcome(hash, a))
    return seen


def both(
    cls: type[Any], twin: type[Any], make: Callable[[Log], tuple[list[Any], list[Any]]]
) -> Any:
    """(the record's, the twin's) pairs of objects, each pair with its own log."""
    runs = []
    for kind in (cls, twin):
        log: Log = []
        left, right = make(log)
        runs.append((instance(kind, left), instance(kind, right), log))
    return runs


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_dataclass_behaves_as_the_generated_methods(cls: type[Any]) -> None:
    check_against_twin(cls)
    check_frozen_as_twin(cls)


def check_against_twin(cls: Any) -> None:
    twin = twin_of(cls)
    n = len(dataclasses.fields(cls))

    def same(log: Log) -> tuple[list[Any], list[Any]]:
        return [Probe(i, log) for i in range(n)], [Probe(i, log) for i in range(n)]

    def differing(k: int) -> Callable[[Log], tuple[list[Any], list[Any]]]:
        def make(log: Log) -> tuple[list[Any], list[Any]]:
            left, right = same(log)
            right[k] = Probe(("other", k), log)
            return left, right

        return make

    # The same NaN is equal to itself, as in a tuple; two NaNs are not. (A NaN hashes
    # by its identity: the record and the twin are given the same two.)
    nan, other_nan = math.nan, float("nan")
    cases = [same, *(differing(k) for k in range(n))]
    cases.append(lambda log: ([nan] * n, [nan] * n))
    cases.append(lambda log: ([nan] * n, [other_nan] * n))
    cases.append(lambda log: ([Probe(0, log)] * n, [Probe(0, log)] * n))
    for make in cases:
        (a, b, log), (ta, tb, twin_log) = both(cls, twin, make)
        assert observed(a, b) == observed(ta, tb)
        assert log == twin_log
    assert (cls.__hash__ is None) == (twin.__hash__ is None)

    # Another class, or a subclass: NotImplemented, and so unequal.
    (a, _, _), (ta, _, _) = both(cls, twin, same)
    assert cls.__eq__(a, object()) is NotImplemented
    assert twin.__eq__(ta, object()) is NotImplemented
    for sub in (c for c in CLASSES if c is not cls and issubclass(c, cls)):
        s = instance(sub, [Probe(i, []) for i in range(len(dataclasses.fields(sub)))])
        assert cls.__eq__(a, s) is NotImplemented
        assert twin.__eq__(ta, s) is NotImplemented

    if n and cls.__repr__ is not object.__repr__:
        # An object inside itself, and one inside another: the recursion shown as "...".
        (a, b, log), (ta, tb, twin_log) = both(cls, twin, same)
        object.__setattr__(a, dataclasses.fields(cls)[0].name, a)
        object.__setattr__(ta, dataclasses.fields(cls)[0].name, ta)
        assert repr(a) == repr(ta)
        object.__setattr__(b, dataclasses.fields(cls)[-1].name, a)
        object.__setattr__(tb, dataclasses.fields(cls)[-1].name, ta)
        assert repr(b) == repr(tb)
        assert log == twin_log


def check_frozen_as_twin(cls: Any) -> None:
    """A frozen record keeps what a frozen dataclass gives: the guard on every field
    (and on every name, for an object of the class itself), copies, pickles and
    replace that pass it, and the same fields, signature and ``__match_args__``."""
    twin = twin_of(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values = list(range(len(names)))
    obj, twin_obj = instance(cls, values), instance(twin, values)
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))
    assert getattr(cls, "__match_args__", None) == getattr(twin, "__match_args__", None)
    assert dataclasses.asdict(obj) == dataclasses.asdict(twin_obj)
    if not _is_frozen(cls):
        return
    for name in names:
        assert outcome(setattr, obj, name, -1) == outcome(setattr, twin_obj, name, -1)
        assert outcome(delattr, obj, name) == outcome(delattr, twin_obj, name)
    # Any other name: the guard's rule (``type(self) is cls``). Python 3.11's dataclass
    # checks a slotted class against the class it had before slots, and so fails in
    # ``super()`` with a TypeError for such a name; a record raises as any frozen
    # class does.
    if cls.__dataclass_params__.frozen:  # a dataclass of dataclass's own
        assert outcome(setattr, obj, "other", -1) == outcome(setattr, twin_obj, "other", -1)
    else:
        assert outcome(setattr, obj, "other", -1) == (
            "raised",
            "FrozenInstanceError: cannot assign to field 'other'",
        )
        assert outcome(delattr, obj, "other") == (
            "raised",
            "FrozenInstanceError: cannot delete field 'other'",
        )
    assert [getattr(obj, name) for name in names] == values
    # Copies and pickles: the same object, field for field, still frozen, and the
    # same state as the twin's.
    assert obj.__reduce_ex__(4)[2] == twin_obj.__reduce_ex__(4)[2]
    for copied in (copy.copy(obj), copy.deepcopy(obj), pickle.loads(pickle.dumps(obj))):
        assert type(copied) is cls
        assert [getattr(copied, name) for name in names] == values
        if names:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(copied, names[0], -1)
    # Built by its __init__ (replace): the guard is not in the way, and the object is
    # of the class again, as the twin builds it; or refused by a __post_init__ that
    # checks the values (the twin has none).
    replaced = outcome(dataclasses.replace, obj)
    if replaced[0] == "raised":
        assert hasattr(cls, "__post_init__")
        assert "FrozenInstanceError" not in str(replaced[1])
        return
    built, twin_built = replaced[1], dataclasses.replace(twin_obj)
    assert type(built) is cls
    assert [getattr(built, n) for n in names] == [getattr(twin_built, n) for n in names]
    for name in names:
        assert outcome(setattr, built, name, -1) == outcome(setattr, twin_built, name, -1)


def test_every_dataclass_that_compares_is_a_record() -> None:
    """A dataclass compiling its own __eq__, __hash__ and __repr__ costs ~0.3 ms more
    at each start of every command that imports it (record.py's docstring). The
    dataclasses declared eq=False compare by identity, as every other object."""
    plain = [f"{c.__module__}.{c.__qualname__}" for c in CLASSES if c.__dataclass_params__.eq]
    assert plain == []
    assert sum(map(_is_record, CLASSES)) >= 170


def test_a_class_with_its_own_methods_is_refused() -> None:
    class Own:
        """Says which objects are equal itself."""

        x: int

        def __eq__(self, other: object) -> bool:
            return True

    with pytest.raises(TypeError, match="__eq__"):
        record(frozen=True)(Own)


def test_records_keep_what_dataclass_gives() -> None:
    """The frozen class's guard, fields, defaults and replace stay dataclass's; a mutable
    record compares but is not hashable, as a mutable dataclass."""

    @record(frozen=True, slots=True)
    class Point:
        """Two coordinates."""

        x_m: float
        y_m: float = 0.0
        tags: tuple[str, ...] = dataclasses.field(default=(), compare=False, repr=False)
        label: str = dataclasses.field(default="", hash=False)

    @record
    class Counter:
        """A count."""

        n: int = 0

    for cls in (Point, Counter):
        check_against_twin(cls)
    p = Point(1.0, label="a")
    assert p == Point(1.0, 0.0, ("ignored",), "a")
    assert p != Point(1.0, 0.0, (), "b")
    assert hash(p) == hash((1.0, 0.0))
    assert repr(p).endswith(".<locals>.Point(x_m=1.0, y_m=0.0, label='a')")
    assert dataclasses.replace(p, y_m=2.0) == Point(1.0, 2.0, label="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x_m = 3.0  # type: ignore[misc]
    assert Point.__match_args__ == ("x_m", "y_m", "tags", "label")
    c = Counter()
    c.n += 1
    assert c == Counter(1)
    assert c != Counter(2)
    with pytest.raises(TypeError, match="unhashable"):
        hash(c)


def test_frozen_records_build_inherit_and_refuse_as_dataclass() -> None:
    """Built through the twin: a __post_init__ that sets a field past the guard, a
    subclass that is no dataclass, a record subclass (and its builder), a wrong call;
    and dataclass's refusals, with its messages."""

    def both_ways(make: Callable[[Any], Any]) -> tuple[Any, Any]:
        return make(record(frozen=True)), make(dataclasses.dataclass(frozen=True))

    def span(decorate: Any) -> Any:
        @decorate
        class Span:
            """Where a stretch starts and how long it lasts."""

            start_s: float
            length_s: float = 1.0
            end_s: float = dataclasses.field(init=False)

            def __post_init__(self) -> None:
                object.__setattr__(self, "end_s", self.start_s + self.length_s)

        return Span

    for cls in both_ways(span):
        s = cls(2.0, length_s=3.0)
        assert type(s) is cls
        assert (s.start_s, s.length_s, s.end_s) == (2.0, 3.0, 5.0)
        assert repr(s).endswith("Span(start_s=2.0, length_s=3.0, end_s=5.0)")
        assert str(inspect.signature(cls)) == "(start_s: 'float', length_s: 'float' = 1.0) -> None"
        assert dataclasses.replace(s, length_s=1.0).end_s == 3.0
    spans = both_ways(span)
    assert [outcome(setattr, cls(1.0), "end_s", 0.0) for cls in spans] == [
        ("raised", "FrozenInstanceError: cannot assign to field 'end_s'")
    ] * 2
    assert len({outcome(cls) for cls in spans}) == 1  # the same TypeError, same words
    # A subclass that is no dataclass: built as itself; it may hold attributes of its
    # own (the guard keeps only the fields), as a frozen dataclass's subclass.
    for base in spans:
        extended = type("Extended", (base,), {"__doc__": "With a note."})
        noted: Any = extended(1.0)
        assert [type(noted)] == [extended]  # (a list: `is` would narrow it for mypy)
        noted.note = "kept"
        assert noted.note == "kept"
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'start_s'"):
            del noted.start_s

    @record(frozen=True, slots=True)
    class Event:
        """Something that happened."""

        t_s: float

    @record(frozen=True, slots=True)
    class Beat(Event):
        """A beat and its interval."""

        rr_ms: float = 800.0

    b = Beat(1.0, 900.0)
    assert type(b) is Beat
    assert builder(Beat)(1.0, 900.0) == b
    assert builder(Beat, "t_s")(1.0) == Beat(1.0)
    for name in ("t_s", "rr_ms", "other"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(b, name, 0.0)
    assert copy.copy(b) == b
    assert copy.deepcopy(b) == b

    # Refused as dataclass refuses, with its words.
    def refusal(decorate: Any, base: Any = object, **body: Any) -> str:
        try:
            decorate(type("Refused", (base,), {"__doc__": "Refused.", **body}))
        except TypeError as exc:
            return str(exc)
        return "made"

    def setter(self: Any, name: str, value: object) -> None:
        pass

    frozen_record, frozen_dataclass = record(frozen=True), dataclasses.dataclass(frozen=True)
    assert refusal(frozen_record, __setattr__=setter) == refusal(
        frozen_dataclass, __setattr__=setter
    )
    assert refusal(record, Event) == refusal(dataclasses.dataclass, spans[1])
    decorators = (record, dataclasses.dataclass)
    mutable = [d(type("Mutable", (), {"__doc__": "Mutable."})) for d in decorators]
    assert refusal(frozen_record, mutable[0]) == refusal(frozen_dataclass, mutable[1])
    assert refusal(record, Event).startswith("cannot inherit non-frozen")
    assert refusal(frozen_record, mutable[0]).startswith("cannot inherit frozen")
    # A frozen dataclass of dataclass's own under a record: dataclass freezes it.
    under: Any = record(frozen=True)(type("Under", (spans[1],), {"__doc__": "Under one."}))
    assert under.__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        under(1.0).start_s = 2.0
