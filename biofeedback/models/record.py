"""``record``: ``dataclasses.dataclass`` with ``__eq__``, ``__hash__`` and ``__repr__``
and, frozen, the guard (``__setattr__``, ``__delattr__``) made from shared code
instead of compiled for each class.

Why: ``dataclass`` writes each method it adds as source text and compiles it with
``exec``, one method at a time (Python 3.11): ~0.1 ms a method, more with many
fields. Creating the ~90 dataclasses a session imports was about a quarter of the
CPU of a 900 s simulated session, most of it compiling. A ``record`` class has
``dataclass`` compile only ``__init__``; its other methods are closures over its
field names, made without compiling anything. They behave exactly as the generated
ones (tests/test_record.py checks every record of the package against a dataclass
twin): equality compares the tuples of the compared fields, so a value is equal to
itself (a NaN too) and the fields are compared in order up to the first that
differs; an instance of another class, a subclass included, gives NotImplemented;
the hash is the hash of that tuple (frozen classes; the others stay unhashable);
the repr names the class and the shown fields, with ``...`` where it recurses.
``dataclasses.fields``, ``replace``, ``asdict``, ``__match_args__`` and the
signature are ``dataclass``'s own.

Frozen: ``dataclass`` makes the class mutable (its ``__init__`` stores plainly), and
the class gets dataclass's guard as shared code: setting or deleting any name on an
object of the class, or a field's name on an object of a subclass, raises
FrozenInstanceError with dataclass's words. Its ``__init__`` runs on the object made
an instance of the class's unfrozen twin (``unfrozen``: stores let through), then
of the class again; a ``__post_init__`` still sets fields with
``object.__setattr__``. Slotted, it gets dataclass's ``__getstate__`` and
``__setstate__`` (copies and pickles fill the fields past the guard). What differs:
``__dataclass_params__`` says frozen=False (and eq=False, repr=False: not generated),
so ``dataclasses.dataclass(frozen=True)`` refuses to subclass a frozen record (make
the subclass a record); and on a slotted class a name that is no field raises
FrozenInstanceError, where Python 3.11's dataclass fails with a TypeError (its
guard compares with the class as it was before the slots). A record whose base is
a frozen dataclass of ``dataclass``'s own is frozen by ``dataclass``. While its
``__init__`` and ``__post_init__`` run, the object is the twin: a plain store there
passes where dataclass's would raise, and ``type(self)`` is the twin (a
``__post_init__`` should only check its fields, as the package's three do). A plain
``dataclass`` subclass of a frozen record is refused only when it is built (a
record subclass is refused at once, as dataclass does).

For the same reason every dataclass has a docstring of its own: for a class without
one, ``dataclass`` writes one from ``inspect.signature`` of the class.

A shared method costs 1.3-2.4x a generated one a call (benchmarks/records.py): no
session, replay or dashboard compares, hashes or prints a record on its hot path.
Building a frozen record: ~0.1-0.2 us more with few fields given by name, up to 2.5x
cheaper with many given in order (the plain stores). Figures of the whole session:
benchmarks/cli_help.py.

Compiled once: what ``dataclass`` still compiles for a record (its ``__init__``:
writing and compiling the 84 a 900 s session makes took ~13 ms of its ~209, ~8 of it
compiling) is kept between runs in a file in the user cache folder, beside the
package's parsed TOML (biofeedback/inputs.py): ``$XDG_CACHE_HOME/biofeedback/record-inits/``
(else ``~/.cache/...``, by biofeedback/user_folders.py; no file where that folder cannot
be worked out), the folders 0700 and the file 0600, one file per install and Python
(its name holds the cache tag, ``sys.flags.optimize`` and a checksum of the package's
folder). Not beside record.py's ``.pyc``: ``pip uninstall`` removes only the files it
installed. It maps the exact text ``dataclass`` gives ``exec`` to the code ``exec``
would compile from it (``compile(text, "<string>", "exec")``, no ``__future__`` flags:
dataclasses has none; if it ever has, nothing is cached). While ``record`` runs
``dataclass``, a module global ``exec`` in the ``dataclasses`` namespace (under a lock)
looks the text up and runs the stored code, or compiles it and stores it; between
records the name stays there, bound to the builtin ``exec``, the object it found anyway
(taking the name out again would cost dataclass's own code its specialised global
look-ups: ~10 us a class, ~0.8 % of the 900 s session's instructions). The same text
gives the same code, so a class is what it would be without the file (only no
``compile`` audit event is raised for a stored text). The file is read at the first
record, written at exit only when something was compiled, as Python writes a ``.pyc``
(not with ``sys.dont_write_bytecode``; a temporary file then ``os.replace``; any error
ignored); one that cannot be read, is cut short, has another Python's ``MAGIC_NUMBER``,
holds anything but texts and code or fails to load in any way (a length that asks for
more memory than there is) counts as empty, and is written again at exit. It keeps at
most ``_LIMIT`` texts (past that, only the ones this process used). A Python whose
``dataclasses`` no longer calls ``exec`` by that name compiles as before: nothing is
stored, nothing changes. The 900 s session: 1,198 M -> 1,137 M instructions (0.949x)
with the file, 1,211 M the first run (which writes it). Figures: benchmarks/cli_help.py,
benchmarks/records.py.
"""

from __future__ import annotations
import __future__

import atexit
import builtins
import contextlib
import dataclasses
import functools
import marshal
import os
import sys
import threading
import zlib
from collections.abc import Callable
from itertools import islice
from operator import attrgetter
from types import CodeType
from typing import Any, TypeVar, dataclass_transform, overload

from biofeedback import user_folders

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
        # Frozen: made mutable, then guarded by shared code (below), unless a base is
        # a frozen dataclass of dataclass's own (dataclass lets no mutable class
        # inherit from it).
        guarded = frozen and not _dataclass_frozen_base(cls)
        if guarded:
            _check_guarded(cls)
        elif not frozen and any(b in _GUARDED for b in cls.__mro__[1:]):
            raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
        with _INITS:  # its __init__'s code found stored, when its text is (docstring)
            cls = dataclasses.dataclass(  # type: ignore[assignment]
                cls, frozen=frozen and not guarded, slots=slots, eq=False, repr=False
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
        for method in (cls.__eq__, cls.__repr__, cls.__hash__):
            if method is not None:  # a traceback names the class, as dataclass's do
                method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        if guarded:
            _guard(cls, tuple(f.name for f in fields), slots)
        return cls

    return make if cls is None else make(cls)


# The frozen records guarded by shared code (their ``__dataclass_params__`` says
# frozen=False: ``dataclass`` made them mutable), and each class's unfrozen twin.
_GUARDED: set[type] = set()
_TWINS: dict[type, type] = {}


def _dataclass_frozen_base(cls: type) -> bool:
    params = [getattr(b, "__dataclass_params__", None) for b in cls.__mro__[1:]]
    return any(p is not None and p.frozen for p in params)


def _check_guarded(cls: type) -> None:
    """What ``dataclass(frozen=True)`` refuses, refused the same."""
    for name in ("__setattr__", "__delattr__"):
        if name in cls.__dict__:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    bases = [b for b in cls.__mro__[1:] if hasattr(b, "__dataclass_fields__")]
    if bases and not any(b in _GUARDED for b in bases):
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")


def unfrozen(cls: type) -> type:
    """``cls``'s twin: a subclass that adds no slot and lets attributes be set and
    deleted as on a plain object (a store into a slot is then a plain store, ~10x
    cheaper than a call of a setter). Python lets an object switch between the two
    (``obj.__class__ = ...``) because they lay objects out the same. Its name is
    ``cls``'s: a message made while an object is the twin reads the same."""
    twin = _TWINS.get(cls)
    if twin is None:
        namespace = {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
        }
        twin = _TWINS.setdefault(cls, type(cls)(cls.__name__, (cls,), namespace))
    return twin


def _guard(cls: Any, names: tuple[str, ...], slots: bool) -> None:
    """Make ``cls`` frozen as ``dataclass(frozen=True)`` does, without compiling
    anything: its ``__setattr__`` and ``__delattr__`` raise FrozenInstanceError, with
    dataclass's message, for any name on an object of ``cls`` itself and for a field's
    name on an object of a subclass (which may add attributes of its own); its
    ``__init__`` (dataclass's, for a mutable class: plain stores) runs on the object
    made its twin; and, slotted, pickling and copying set the fields past the guard."""

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    init = cls.__init__
    set_class = object.__setattr__

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kind = self.__class__  # cls, or a subclass that inherits this __init__
        set_class(self, "__class__", _TWINS.get(kind) or unfrozen(kind))
        try:
            init(self, *args, **kwargs)
        finally:
            self.__class__ = kind

    for method in (__setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    cls.__setattr__ = __setattr__
    cls.__delattr__ = __delattr__
    cls.__init__ = __init__
    # dataclass's own, for a frozen slotted class: no __dict__ to fill past the guard.
    if slots:
        if "__getstate__" not in cls.__dict__:
            cls.__getstate__ = _getstate
        if "__setstate__" not in cls.__dict__:
            cls.__setstate__ = _setstate
    _GUARDED.add(cls)


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=False):
        object.__setattr__(self, f.name, value)


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


# Texts the file of compiled __init__s keeps (~90 on a session's path, ~1.8 kB each).
_LIMIT = 256
_ABSENT = object()

_MAGIC: bytes | None
try:  # the import system's own (importlib.util's MAGIC_NUMBER), loaded at every start
    from _frozen_importlib_external import MAGIC_NUMBER as _MAGIC
except ImportError:  # not CPython: nothing is cached
    _MAGIC = None


class _Inits:
    """The code ``dataclass`` compiles while ``record`` runs it, kept in the file at
    ``path`` (None: in this process only). ``with inits:`` puts its ``exec`` in the
    ``dataclasses`` namespace for the block (see the module's docstring)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.compiled: list[str] = []  # texts this process compiled (not found stored)
        self._stored: dict[str, CodeType] | None = None  # the file's, read at first use
        self._damaged = False  # the file is there but could not be used: write it again
        self._used: dict[str, CodeType] = {}  # what this process looked up, in order
        self._lock = threading.RLock()
        # dataclasses' "exec" before each entry, put back at the matching exit (a
        # record made while another is made: nested, in this thread under the lock)
        self._outer: list[object] = []
        # exec from dataclasses' frame compiles with its module's __future__ flags.
        self._exact = not any(
            vars(dataclasses).get(name) is getattr(__future__, name)
            for name in __future__.all_feature_names
        )

    def __enter__(self) -> None:
        if self._stored is None:
            stored = self._read()  # never raises: a cache that cannot be used is empty
            with self._lock:
                if self._stored is None:
                    self._stored = stored
        self._lock.acquire()
        namespace = vars(dataclasses)
        self._outer.append(namespace.get("exec", _ABSENT))
        if self._exact:
            namespace["exec"] = self.exec

    def __exit__(self, *exc: object) -> None:
        namespace = vars(dataclasses)
        outer = self._outer.pop()
        # The name stays (see the module's docstring): the builtin, if none was there.
        namespace["exec"] = builtins.exec if outer is _ABSENT else outer
        self._lock.release()

    def exec(self, source: Any, /, *args: Any, **kwargs: Any) -> None:
        """``exec``, with a text's code looked up before it is compiled."""
        builtins.exec(self.code(source) if type(source) is str else source, *args, **kwargs)

    def code(self, text: str) -> CodeType:
        """What ``exec(text)`` compiles from a module without ``__future__`` imports."""
        code = self._used.get(text)
        if code is None and self._stored is not None:
            code = self._stored.get(text)
        if code is None:
            code = compile(text, "<string>", "exec", dont_inherit=True)
            self.compiled.append(text)
        self._used[text] = code
        return code

    def _read(self) -> dict[str, CodeType]:
        if self.path is None or _MAGIC is None:
            return {}
        try:
            with open(self.path, "rb") as file:
                data = file.read()
        except OSError:  # none yet, or not readable
            return {}
        try:
            if data[: len(_MAGIC)] != _MAGIC:
                raise ValueError("another Python's file")
            stored = marshal.loads(memoryview(data)[len(_MAGIC) :])
            if type(stored) is not dict:
                raise TypeError("not a dict")
            if not all(type(t) is str and type(c) is CodeType for t, c in stored.items()):
                raise TypeError("not texts and code")
        except Exception:  # cut short, garbled, too big to load (MemoryError): a cache
            self._damaged = True
            return {}
        return stored

    def save(self) -> None:
        """Write the file if this process compiled anything or found it damaged, as Python
        writes a .pyc."""
        if not (self.compiled or self._damaged) or self.path is None or _MAGIC is None:
            return
        if sys.dont_write_bytecode:
            return
        entries = {**(self._stored or {}), **self._used}
        if len(entries) > _LIMIT:
            entries = dict(islice(self._used.items(), _LIMIT))
        temporary = f"{self.path}.{os.getpid()}"
        try:
            folder = os.path.dirname(self.path)
            for made in (os.path.dirname(folder), folder):  # ours: private, as the data
                os.makedirs(made, 0o700, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as file:
                file.write(_MAGIC + marshal.dumps(entries))
            os.replace(temporary, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


# The records' cache: a folder in ours in the user cache folder.
INITS_FOLDER = "record-inits"


def _inits_path() -> str | None:
    """The file for this install of the package and this Python, in our user cache
    folder (None where that cannot be worked out, or without a cache tag): named by
    the cache tag, the optimisation level (``compile`` drops asserts with ``-O``) and
    a checksum of the package's folder (zlib: loaded by dataclasses' own imports)."""
    folder = user_folders.cache_folder()
    tag = sys.implementation.cache_tag
    if folder is None or tag is None:
        return None
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    install = zlib.crc32(os.fsencode(package))
    name = f"{tag}.opt{sys.flags.optimize}.{install:08x}.inits"
    return os.path.join(folder, INITS_FOLDER, name)


_INITS = _Inits(_inits_path())
atexit.register(_INITS.save)
