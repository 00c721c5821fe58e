"""The compiled ``__init__``s ``record`` keeps between runs (biofeedback/models/record.py's
``_Inits``): a class made with the stored code is the class made without it, whatever the
file holds; a bad file is ignored and written again; nothing is written where Python
would write no ``.pyc``; a second process compiles nothing."""

from __future__ import annotations
import __future__

import builtins
import dataclasses
import inspect
import marshal
import os
import stat
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FunctionType
from typing import Any, ClassVar

import pytest

import biofeedback
from biofeedback.models import record as record_module
from biofeedback.models.record import _MAGIC, _Inits, record

MAGIC = _MAGIC or b""
pytestmark = pytest.mark.skipif(_MAGIC is None, reason="no cache without CPython's bootstrap")


def shapes() -> Iterator[tuple[str, Callable[[], type[Any]], dict[str, Any]]]:
    """(name, a function that defines a fresh class, dataclass's options): the kinds of
    ``__init__`` dataclass writes."""

    def plain() -> type[Any]:
        class Plain:
            a: int
            b: str

        return Plain

    def defaults() -> type[Any]:
        class Defaults:
            a: int
            b: float = 1.5
            c: list[int] = dataclasses.field(default_factory=list)
            d: dict[str, int] = dataclasses.field(default_factory=dict, repr=False)
            e: str = dataclasses.field(default="e", compare=False)

        return Defaults

    def hidden() -> type[Any]:
        class Hidden:
            a: int
            b: list[int] = dataclasses.field(init=False, default_factory=list)
            c: int = dataclasses.field(init=False, default=3)
            d: int = dataclasses.field(init=False)
            shared: ClassVar[int] = 7

        return Hidden

    def keywords() -> type[Any]:
        class Keywords:
            a: int
            _: dataclasses.KW_ONLY
            b: int
            c: str = "c"
            d: float = dataclasses.field(default=2.0, kw_only=True)

        return Keywords

    def post_init() -> type[Any]:
        class PostInit:
            a: int
            scale: dataclasses.InitVar[float]
            b: float = dataclasses.field(init=False)

            def __post_init__(self, scale: float) -> None:
                object.__setattr__(self, "b", self.a * scale)

        return PostInit

    def unusual() -> type[Any]:
        class Unusual:
            self_: int
            object_: str = "object"
            MISSING: int = 0
            λ: float = 1.0  # a name in another script

        return Unusual

    for name, make in [
        ("plain", plain),
        ("defaults", defaults),
        ("hidden", hidden),
        ("keywords", keywords),
        ("post_init", post_init),
        ("unusual", unusual),
    ]:
        yield name, make, {}
        yield f"{name}-frozen-slots", make, {"frozen": True, "slots": True}
        # what record asks of dataclass for a frozen record: mutable, no eq or repr
        yield f"{name}-record", make, {"slots": True, "eq": False, "repr": False}


SHAPES = list(shapes())


@pytest.fixture(autouse=True)
def writes_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python writes .pyc files here (PYTHONDONTWRITEBYTECODE may be set around the tests)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def generated(cls: type[Any]) -> dict[str, tuple[Any, ...]]:
    """Every method dataclass compiled for ``cls``, as what could tell two apart."""
    seen = {}
    for name, value in vars(cls).items():
        value = inspect.unwrap(value) if callable(value) else value  # __repr__ is wrapped
        if isinstance(value, FunctionType) and value.__code__.co_filename == "<string>":
            code = value.__code__
            seen[name] = (
                code,
                code.co_filename,
                code.co_qualname,
                code.co_flags,
                value.__qualname__,
                value.__annotations__,
                value.__defaults__,
                value.__kwdefaults__,
                inspect.signature(value),
            )
    return seen


def built(cls: type[Any]) -> list[object]:
    """What building an object of ``cls`` gives for a few argument lists."""
    results: list[object] = []
    for args, kwargs in [((1,), {}), ((1, "x"), {}), ((), {"a": 2}), ((1,), {"b": 2, "scale": 3})]:
        try:
            obj = cls(*args, **kwargs)
            results.append(("made", [getattr(obj, f.name, "-") for f in dataclasses.fields(obj)]))
        except Exception as exc:  # the same error from both, for the same reason
            results.append(("raised", f"{type(exc).__name__}: {exc}"))
    return results


@pytest.mark.parametrize(("name", "make", "options"), SHAPES, ids=[s[0] for s in SHAPES])
def test_a_stored_init_is_the_one_dataclass_compiles(
    tmp_path: Path, name: str, make: Callable[[], type[Any]], options: dict[str, Any]
) -> None:
    path = str(tmp_path / "record.inits")
    plain = dataclasses.dataclass(make(), **options)
    cold = _Inits(path)
    with cold:
        first = dataclasses.dataclass(make(), **options)
        assert cold.compiled, "nothing was compiled through the cache"
        for _, other, other_options in SHAPES:  # the file holds every shape's texts
            dataclasses.dataclass(other(), **other_options)
    cold.save()
    warm = _Inits(path)
    with warm:
        second = dataclasses.dataclass(make(), **options)
    assert warm.compiled == []
    assert "__init__" in generated(plain)
    assert generated(first) == generated(plain)
    assert generated(second) == generated(plain)
    assert built(first) == built(second) == built(plain)


RECORD_SHAPES = [s for s in SHAPES if not s[2]]  # each shape once, made a record four ways


@pytest.mark.parametrize(("name", "make", "_"), RECORD_SHAPES, ids=[s[0] for s in RECORD_SHAPES])
def test_records_share_the_code_of_their_init_and_match_dataclass(
    name: str, make: Callable[[], type[Any]], _: object
) -> None:
    compiled = record_module._INITS.compiled  # noqa: SLF001 (what record's own compiled)
    for frozen, slots in [(True, True), (True, False), (False, True), (False, False)]:
        before = len(compiled)
        first = record(frozen=frozen, slots=slots)(make())
        second = record(frozen=frozen, slots=slots)(make())
        assert len(compiled) <= before + 1  # the second found the first's code
        twin = dataclasses.dataclass(make(), slots=slots, eq=False, repr=False)
        assert list(generated(twin)) == ["__init__"]
        for cls in (first, second):
            # its __init__ is dataclass's (run by a frozen one's guard); every other
            # method is record's own
            assert generated(cls) == generated(twin)
            assert built(cls) == built(twin)


def unchanged_exec() -> bool:
    """Whether ``exec`` in dataclasses' namespace finds what it would without record:
    the builtin (record leaves the name bound to it between records)."""
    return vars(dataclasses).get("exec", builtins.exec) is builtins.exec


def test_dataclasses_exec_finds_the_builtin_again_after_each_record(tmp_path: Path) -> None:
    namespace = vars(dataclasses)
    assert unchanged_exec()
    inits = _Inits(str(tmp_path / "record.inits"))
    with inits:
        assert namespace["exec"] == inits.exec
        with inits:  # nested: a record made while another is
            assert namespace["exec"] == inits.exec
        assert namespace["exec"] == inits.exec
    assert unchanged_exec()

    def placed(*args: object) -> None:
        raise AssertionError("not called")

    namespace["exec"] = placed
    try:
        with inits:
            assert namespace["exec"] == inits.exec
        assert namespace["exec"] is placed
    finally:
        namespace["exec"] = builtins.exec

    class Refused:
        a: int = 0
        b: int  # no default after one with a default: dataclass raises

    with pytest.raises(TypeError, match="non-default argument 'b'"):
        record(Refused)
    assert unchanged_exec()


def test_records_made_in_threads_at_once_match_dataclass() -> None:
    shapes = [(name, make) for name, make, options in SHAPES if not options]
    made: dict[tuple[int, str], type[Any]] = {}
    start = threading.Barrier(4)

    def make_all(thread: int) -> None:
        start.wait(timeout=10)
        for name, make in shapes * 3:
            made[(thread, name)] = record(frozen=thread % 2 == 0, slots=True)(make())

    threads = [threading.Thread(target=make_all, args=(n,)) for n in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns inside dataclass's work
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        sys.setswitchinterval(interval)
    assert unchanged_exec()
    twins = {
        name: generated(dataclasses.dataclass(make(), slots=True, eq=False, repr=False))
        for name, make in shapes
    }
    assert len(made) == 4 * len(shapes)
    for (_, name), cls in made.items():
        assert generated(cls) == twins[name]


def test_nothing_is_cached_if_dataclasses_compiled_under_a_future_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # exec from such a module compiles its texts with that flag: the cache would not
    monkeypatch.setitem(vars(dataclasses), "annotations", __future__.annotations)
    inits = _Inits(str(tmp_path / "record.inits"))
    with inits:
        assert unchanged_exec()
        dataclasses.dataclass(dict((s[0], s[1]) for s in SHAPES)["plain"]())
    assert inits.compiled == []
    inits.save()
    assert os.listdir(tmp_path) == []


def _bad_files() -> list[tuple[str, bytes]]:
    code = compile("x = 1", "<string>", "exec", dont_inherit=True)
    good = marshal.dumps({"x = 1": code})
    return [
        ("empty", b""),
        ("magic only, cut short", MAGIC[:2]),
        ("cut short", MAGIC + good[:-5]),
        ("another Python's magic", b"\x00\x0d\x0d\x0a" + good),
        ("no magic", good),
        ("a list", MAGIC + marshal.dumps([code])),
        ("a code not a text", MAGIC + marshal.dumps({code: code})),
        ("a text not a code", MAGIC + marshal.dumps({"x = 1": "x = 1"})),
        ("not marshal", MAGIC + b"\xff\xfe garbled"),
    ]


BAD_FILES = _bad_files()


@pytest.mark.parametrize(("why", "content"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_ignored_and_written_again(tmp_path: Path, why: str, content: bytes) -> None:
    path = tmp_path / "record.inits"
    path.write_bytes(content)
    make = dict((s[0], s[1]) for s in SHAPES)["defaults"]
    plain = dataclasses.dataclass(make())
    inits = _Inits(str(path))
    with inits:
        made = dataclasses.dataclass(make())
    assert len(inits.compiled) == len(generated(plain)) == 3  # __init__, __repr__, __eq__
    assert generated(made) == generated(plain)
    inits.save()
    assert path.read_bytes() != content
    again = _Inits(str(path))
    with again:
        dataclasses.dataclass(make())
    assert again.compiled == []
    assert sorted(os.listdir(tmp_path)) == ["record.inits"]  # no temporary file left


def test_a_file_that_fails_to_load_in_any_way_is_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / "record.inits"
    content = MAGIC + b"[" + (0x7FFFFFFF).to_bytes(4, "little")  # a list of 2**31 items
    path.write_bytes(content)

    class Exhausted:
        """marshal, where that list asks for more memory than there is."""

        @staticmethod
        def loads(data: object) -> object:
            raise MemoryError

    make = dict((s[0], s[1]) for s in SHAPES)["plain"]
    inits = _Inits(str(path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record_module, "marshal", Exhausted)
        with inits:
            made = dataclasses.dataclass(make())
    assert generated(made) == generated(dataclasses.dataclass(make()))

    # The lock is free again: another thread makes a record.
    def enter_and_leave() -> None:
        with inits:
            pass

    other = threading.Thread(target=enter_and_leave)
    other.start()
    other.join(timeout=10)
    assert not other.is_alive()
    # Written again at exit, even with nothing compiled (a later run loads it).
    unused = _Inits(str(path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record_module, "marshal", Exhausted)
        with unused:
            pass
    assert unused.compiled == []
    unused.save()
    assert path.read_bytes() == MAGIC + marshal.dumps({})


def test_nothing_is_written_where_python_writes_no_pyc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make = dict((s[0], s[1]) for s in SHAPES)["keywords"]
    blocked = tmp_path / "a file"
    blocked.write_bytes(b"")
    for path in (blocked / "__pycache__" / "record.inits", tmp_path / "a folder"):
        if path.name == "a folder":
            path.mkdir()  # the file's name taken by a folder
        inits = _Inits(str(path))
        with inits:
            dataclasses.dataclass(make())
        assert inits.compiled
        inits.save()  # raises nothing
    assert sorted(os.listdir(tmp_path)) == ["a file", "a folder"]
    assert os.listdir(tmp_path / "a folder") == []
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    inits = _Inits(str(tmp_path / "record.inits"))
    with inits:
        dataclasses.dataclass(make())
    inits.save()
    assert not (tmp_path / "record.inits").exists()


def test_the_file_keeps_at_most_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_module, "_LIMIT", 2)
    path = str(tmp_path / "record.inits")

    def make(*names: str) -> type[Any]:
        fields = [(n, int) for n in names]
        return dataclasses.make_dataclass("Made", fields, eq=False, repr=False)  # __init__ only

    earlier = _Inits(path)
    with earlier:
        make("a"), make("b")
    earlier.save()
    later = _Inits(path)
    with later:
        make("c"), make("a")  # over the limit with the stored "b": only these two kept
    later.save()
    last = _Inits(path)
    with last:
        make("a"), make("c"), make("b")
    assert len(last.compiled) == 1
    assert "b" in last.compiled[0]


RUN = """
import sys
import biofeedback.models
from biofeedback.models import record as r

@r.record(frozen=True, slots=True)
class Made:
    '''A class of this test's own.'''
    moment_s: float
    names: tuple[str, ...] = ()

Made(1.0)
print(len(r._INITS.compiled), r._INITS.path)
"""


def _limit_memory() -> None:
    import resource

    # 4 GB of address space: a list of 2**31 items (16 GB) cannot be made
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))


def test_a_second_process_compiles_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    package = Path(biofeedback.__file__).parent
    env["PYTHONPATH"] = str(package.parent)

    def run(cache: str | None, *flags: str, limited: bool = False) -> tuple[int, str]:
        if cache is None:
            env.pop("XDG_CACHE_HOME", None)
        else:
            env["XDG_CACHE_HOME"] = cache
        done = subprocess.run(
            [sys.executable, *flags, "-c", RUN],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            preexec_fn=_limit_memory if limited else None,
        )
        compiled, path = done.stdout.split()
        assert done.stderr == ""
        return int(compiled), path

    cached = tmp_path / "cached"
    compiled, path = run(str(cached))
    assert compiled > 20  # the package's models and Made
    # In our user cache folder, one file for this install and Python.
    tag = sys.implementation.cache_tag
    install = f"{zlib.crc32(os.fsencode(str(package))):08x}"
    assert path == str(cached / "biofeedback" / "record-inits" / f"{tag}.opt0.{install}.inits")
    assert os.path.exists(path)
    for made, mode in (
        (path, 0o600),
        (os.path.dirname(path), 0o700),
        (cached / "biofeedback", 0o700),
    ):
        assert stat.S_IMODE(os.stat(made).st_mode) == mode, made
    assert run(str(cached)) == (0, path)
    written = os.stat(path).st_mtime_ns
    assert run(str(cached)) == (0, path)
    assert os.stat(path).st_mtime_ns == written  # nothing compiled: not written again

    # -O compiles other code: a file of its own.
    compiled, optimized = run(str(cached), "-O")
    assert compiled > 20
    assert optimized == path.replace(".opt0.", ".opt1.")
    assert run(str(cached), "-O") == (0, optimized)

    # A file claiming more than memory holds: as if there were none, and written again.
    damaged = MAGIC + b"[" + (0x7FFFFFFF).to_bytes(4, "little")
    Path(path).write_bytes(damaged)
    compiled, _ = run(str(cached), limited=True)
    assert compiled > 20
    assert Path(path).read_bytes() != damaged
    assert run(str(cached)) == (0, path)

    unwritten = tmp_path / "unwritten"
    compiled, path = run(str(unwritten), "-B")
    assert compiled > 20
    assert not os.path.exists(path)
    assert not unwritten.exists()

    # No cache where the folder cannot be worked out.
    assert run("relative/cache") == (compiled, "None")
    assert not (tmp_path / "relative").exists()
