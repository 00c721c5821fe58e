"""Where the store lives and how its files are kept private (0600 in 0700)."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from biofeedback.store.errors import StoreError

ENV_DB = "BIOFEEDBACK_DB"


def default_db_path() -> Path:
    """``$BIOFEEDBACK_DB``, else ``sessions.db`` in the user data dir (XDG)."""
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    from biofeedback.config import data_dir

    return data_dir() / "sessions.db"


def resolve_db_path(option: str | None) -> Path:
    """``--db`` beats the environment, which beats the default."""
    return Path(option).expanduser() if option else default_db_path()


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents as 0700; existing ones are left alone."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)


def tighten(db_path: Path) -> None:
    """Make an existing store 0600, and our own default folder 0700.

    SQLite gives the -wal and -shm files the database's mode, so a store
    copied in or made by an older version would spill health data into files
    others can read. A folder the user chose is theirs and is left alone.
    """
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, 0o600)
    if os.environ.get(ENV_DB) is None and db_path == default_db_path():
        with contextlib.suppress(OSError):
            os.chmod(db_path.parent, 0o700)


def open_private(path: Path, mode: str = "w", *, newline: str | None = None) -> IO[Any]:
    """Open a file for writing that only the user can read (0600), even if it existed."""
    path = Path(path)
    if is_database(path):
        # An export aimed at a store by mistake would truncate every session in it.
        raise StoreError(f"{path} is a database; choose another file to export to")
    try:
        make_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8", newline=newline)


@contextlib.contextmanager
def exporting(path: Path, *, binary: bool = False, newline: str | None = None) -> Iterator[IO[Any]]:
    """Write an export whole or not at all: a private temp file, fsync, rename.

    A crash or a full disk leaves the old file (or none), never half of one.
    The folder must exist: an export never creates folders on its own. A
    target that is not a regular file (a pipe, ``/dev/stdout``) is written
    in place, since it cannot be renamed over.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"cannot write {path}: it is a folder; name a file")
    if not path.parent.is_dir():
        raise StoreError(f"cannot write {path}: there is no folder {path.parent}; create it first")
    in_place = path.exists() and not path.is_file()
    if not in_place and is_database(path):
        # An export aimed at a store by mistake would replace every session in it.
        raise StoreError(f"{path} is a database; choose another file to export to")
    temp = path if in_place else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if not in_place:
        _sweep_stale_temps(path)
    try:
        flags = os.O_WRONLY | (os.O_TRUNC if in_place else os.O_CREAT | os.O_EXCL)
        fd = os.open(temp, flags, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with _signals_end_cleanly():
            mode = "wb" if binary else "w"
            encoding = None if binary else "utf-8"
            with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
                yield fh
                fh.flush()
                if not in_place:
                    os.fsync(fh.fileno())
            if not in_place:
                os.replace(temp, path)
                _fsync_dir(path.parent)
    except OSError as exc:
        if not in_place:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        if not in_place:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise


@contextlib.contextmanager
def _signals_end_cleanly() -> Iterator[None]:
    """While an export is written, SIGTERM and SIGHUP end the program through
    Python (SystemExit), so the temp file with its heart data is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, leave) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _sweep_stale_temps(path: Path) -> None:
    """Remove the temp files of earlier exports to ``path`` whose process is gone
    (killed with SIGKILL, or a power cut): they hold heart data nobody will finish."""
    prefix, suffix = f".{path.name}.", ".tmp"
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(suffix)):
                continue
            pid = name[len(prefix) : -len(suffix)]
            # Our own pid here is a dead process's that had it before: ours is not made yet.
            stale = pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid)))
            if stale and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: not ours to judge
    return True


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# The first bytes of SQLite's write-ahead log (either byte order).
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")


def is_database(path: Path) -> bool:
    """A database or its write-ahead log: ours or anyone's, never to be overwritten."""
    if not path.is_file():  # reading a pipe to find out would consume (or block on) it
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return head == b"SQLite format 3\x00" or head[:4] in _WAL_MAGIC


def is_store_file(path: Path) -> bool:
    """True when ``path`` is an SQLite database (ours or not: opening tells).

    Only a regular file can be: a pipe (``/dev/stdin``) is never opened here,
    as reading its first bytes would take them from whoever reads it next.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
