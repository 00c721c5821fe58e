"""What a ``record`` (biofeedback/models/record.py) saves when its class is made, and
what its shared ``__eq__``, ``__hash__`` and ``__repr__`` cost a call, beside the
peer: ``dataclasses.dataclass`` with the generated methods, in the same run.

    python benchmarks/records.py [--classes N] [--quick]

Making a class is paid at every start of every command that imports it (~90 on a
session's path); a call is paid only where something compares, hashes or prints a
record (none in a 900 s session or a 3 h replay: counted with a profile hook over
each run, before and after).

Figures (2026-12-07, Python 3.11.7, a normal install, load 1.4 on 2 shared cores;
medians of 200 classes; calls the best of 7 x 200,000):

    making a frozen, slotted class     2 fields   8 fields   15 fields
      dataclass, no docstring          334 us     514 us     730 us
      dataclass (peer)                 296 us     449 us     638 us
      record                           178 us     281 us     379 us
    not frozen, 15 fields: dataclass 333 us, record 174 us. What is left of a frozen
    record is what dataclass compiles for it: __init__ and the frozen
    __setattr__/__delattr__ (~200 us of 15 fields' 379).

    a call                       generated -> record
      ==, 2 / 18 fields          103 -> 169 ns (1.6x) / 267 -> 628 ns (2.4x)
      hash, 2 / 18 fields        108 -> 144 ns (1.3x) / 291 -> 477 ns (1.6x)
      repr, 2 / 18 fields        618 -> 986 ns (1.6x) / 3.2 -> 4.8 us (1.5x)

Second wave (2026-12-07, load 0.8): the frozen guard shared too (models/record.py),
so dataclass compiles only __init__ (a mutable one) for a frozen record:

    making a frozen, slotted class     2 fields   8 fields   15 fields
      dataclass (peer)                 279 us     426 us     616 us
      record, before                   178 us     281 us     379 us  (above)
      record                            74 us     132 us     200 us
    plus ~7 us the first time a class is built (its unfrozen twin, once).

    building a frozen record           before (dataclass's frozen __init__) -> now
      (fields)                         in order               by name
      HeartSample (6)                  649 -> 495 ns (0.76x)  789 -> 864 ns (1.09x)
      Step (7)                         740 -> 533 (0.72x)     921 -> 975 (1.06x)
      StepEnded (4)                    508 -> 502 (0.99x)     589 -> 766 (1.30x)
      StepStarted (14)                 1425 -> 633 (0.44x)    1682 -> 1460 (0.87x)
      Estimate (8)                     905 -> 563 (0.62x)     1056 -> 1034 (0.98x)
      ArousalEstimate (18)             1827 -> 746 (0.41x)    2183 -> 1784 (0.82x)
    (the __init__ runs on the object made its twin: plain stores, not a call of
    object.__setattr__ a field; by name, the keywords are gathered and spread again.)
    Where they are built: a 900 s session builds ~125 frozen records through their
    __init__ besides 626 HeartSamples (6 fields, in order), a 3 h replay ~5,500 (4,340
    Steps, in order; its HeartSamples and the loop's Estimates go through
    models/slots.py's builder, which now shares the twin): a few tenths of a ms
    either way. The 3 h replay: CPU 1.05 -> 1.01 s (7 interleaved runs), instructions
    8,082 M -> 7,958 M (0.985x), its 14,000 lines identical.

Third wave (2026-12-07, load 1.6): dataclass's compiled __init__ kept between runs
(models/record.py's file in the user cache folder: the same text, the code compiled from it).
"record, __init__ compiled" makes classes of field names no class had (every text
new: a first start); "stored" finds its text (every later start):

    making a frozen, slotted class     2 fields   8 fields   15 fields
      dataclass (peer)                 302 us     447 us     650 us
      record, __init__ compiled         93 us     169 us     255 us
      record, __init__ stored           49 us      79 us     118 us
    not frozen, 15 fields: dataclass 346 us, record (stored) 97 us. Of a stored
    frozen record's ~80 us (8 fields): ~14 us record's own work (its checks, the
    shared methods set on the class, the guard), ~10 us dataclass's code looking its
    globals up afresh after ``exec`` is put in and taken out of its namespace, the
    rest dataclass's own (its fields, string annotations checked for ClassVar and
    InitVar, the slotted class made again, the __init__ text written).

The whole 900 s session (benchmarks/cli_help.py) is this change's figure: its
docstring has it.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import load_line, parse_args  # noqa: E402
from biofeedback.models.record import record  # noqa: E402

Decorator = Callable[[type[Any]], type[Any]]


_made = itertools.count()


def new_class(fields: int, doc: bool, fresh: bool = False) -> type[Any]:
    """A class of ``fields`` float fields, annotated as a module with ``from
    __future__ import annotations`` annotates them (strings), not yet a dataclass.
    ``fresh``: field names no class had, so the text of its ``__init__`` is new (what
    a record's cache finds for none at a first start)."""
    tag = f"_{next(_made)}" if fresh else ""
    body: dict[str, Any] = {"__annotations__": {f"f{i}{tag}": "float" for i in range(fields)}}
    body["__module__"] = __name__
    if doc:
        body["__doc__"] = "Some floats."
    return type(f"Floats{fields}", (), body)


def making_us(
    decorate: Decorator, fields: int, classes: int, doc: bool = True, fresh: bool = False
) -> float:
    """Median microseconds ``decorate`` takes to make a class of ``fields`` fields."""
    took = []
    for _ in range(classes):
        cls = new_class(fields, doc, fresh)
        start = time.perf_counter()
        decorate(cls)
        took.append(time.perf_counter() - start)
    return statistics.median(took) * 1e6


def frozen_twin(cls: type[Any]) -> type[Any]:
    """A frozen dataclass of ``cls``'s fields (types, defaults, settings, slots): its
    ``__init__`` is the one a frozen record had before the shared guard (dataclass's
    frozen one, a ``object.__setattr__`` call a field)."""
    specs: list[tuple[str, Any, Any]] = []
    for f in dataclasses.fields(cls):
        spec = dataclasses.field(default=f.default, init=f.init, repr=f.repr, compare=f.compare)
        if f.default_factory is not dataclasses.MISSING:
            spec = dataclasses.field(default_factory=f.default_factory, init=f.init)
        specs.append((f.name, f.type, spec))
    slots = "__slots__" in vars(cls)
    return dataclasses.make_dataclass(cls.__name__, specs, frozen=True, slots=slots)


def construction_ns(cls: type[Any], keywords: bool, number: int) -> float:
    """Nanoseconds ``cls(...)`` takes with every ``__init__`` field given (0.5 each,
    positionally or by name), best of 7."""
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    if keywords:
        given: dict[str, Any] = dict.fromkeys(names, 0.5)
        run: Callable[[], object] = lambda: cls(**given)  # noqa: E731
    else:
        values = [0.5] * len(names)
        run = lambda: cls(*values)  # noqa: E731
    run()  # the twin made, once a class
    best = min(timeit.repeat(run, number=number, repeat=7))
    return best / number * 1e9


def hot_classes() -> list[type[Any]]:
    """The frozen records a session or a replay builds most through their ``__init__``:
    HeartSample a beat (the replay's goes through slots.builder), Step and the step
    events a step, Estimate a tick (the loop's goes through slots.builder)."""
    from biofeedback.models.core import ArousalEstimate, HeartSample, Step
    from biofeedback.models.events import Estimate, StepEnded, StepStarted

    return [HeartSample, Step, StepEnded, StepStarted, Estimate, ArousalEstimate]


def call_ns(statement: str, obj: object, other: object, number: int) -> float:
    """Nanoseconds a call of ``statement`` (on ``a`` and ``b``) takes, best of 7."""
    best = min(timeit.repeat(statement, globals={"a": obj, "b": other}, number=number, repeat=7))
    return best / number * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=200, help="classes made per figure")
    args = parse_args(__doc__, parser)
    # Its hundreds of throwaway classes stay out of record's file of compiled __init__s
    # (written at exit, as a .pyc is: not with this flag).
    sys.dont_write_bytecode = True
    classes = 5 if args.quick else args.classes
    number = 1000 if args.quick else 200_000
    frozen: Decorator = dataclasses.dataclass(frozen=True, slots=True)
    plain: Decorator = dataclasses.dataclass
    frozen_record: Decorator = record(frozen=True, slots=True)
    plain_record: Decorator = record

    print("making a class (median us)  2 fields  8 fields  15 fields")
    rows: list[tuple[str, Decorator, bool, bool]] = [
        ("dataclass, no docstring", frozen, False, False),
        ("dataclass (peer)", frozen, True, False),
        ("record, __init__ compiled", frozen_record, True, True),
        ("record, __init__ stored", frozen_record, True, False),
        ("not frozen: dataclass", plain, True, False),
        ("not frozen: record", plain_record, True, False),
    ]
    for label, decorate, doc, fresh in rows:
        figures = [making_us(decorate, n, classes, doc, fresh) for n in (2, 8, 15)]
        print(f"  {label:<25}" + "".join(f"{f:>9.0f} " for f in figures))

    print("building a frozen record (ns, best of 7)  before (dataclass's frozen __init__) -> now")
    for cls in hot_classes():
        fields = len(dataclasses.fields(cls))
        for keywords in (False, True):
            before = construction_ns(frozen_twin(cls), keywords, number // 4)
            now = construction_ns(cls, keywords, number // 4)
            how = "by name" if keywords else "in order"
            label = f"{cls.__name__} ({fields}), {how}"
            print(f"  {label:<32} {before:>6.0f} -> {now:>6.0f} ({now / before:.2f}x)")
    print("a call (ns, best of 7)     generated -> record")
    for n in (1, 2, 8, 18):
        values = [float(i) + 0.5 for i in range(n)]
        made = {
            label: d(new_class(n, True)) for label, d in (("gen", frozen), ("rec", frozen_record))
        }
        pairs = {label: (cls(*values), cls(*values)) for label, cls in made.items()}
        for name, statement in (("==", "a == b"), ("hash", "hash(a)"), ("repr", "repr(a)")):
            gen, rec = (call_ns(statement, *pairs[label], number) for label in ("gen", "rec"))
            print(
                f"  {name:<4} {n:>2} fields          {gen:>6.0f} -> {rec:>6.0f} ({rec / gen:.1f}x)"
            )
    print(load_line())


if __name__ == "__main__":
    main()
