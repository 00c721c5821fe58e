"""Reading files a person hands us, with a size cap and without surprises.

Every input file (a protocol, a scenario, the config, an RR file to replay)
goes through here, so ``/dev/zero``, a folder, a 2 GB file or a TOML nested a
thousand deep is one clear line instead of an exhausted memory or a traceback.
Errors carry no path: callers add the file and raise their own error class.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from biofeedback import BiofeedbackError, user_folders

# The byte-order mark some editors write first in a UTF-8 file.
UTF8_BOM = b"\xef\xbb\xbf"
# A protocol, a scenario or the config file is a few kB; 1 MiB is generous.
TOML_MAX_BYTES = 1 << 20
# A day of beats written one a line is ~1 MB; a week of CSV with times ~30 MB.
RR_FILE_MAX_BYTES = 256 << 20
# No RR line, plain or CSV, needs more than this.
LINE_MAX_CHARS = 4096


class InputFileError(BiofeedbackError):
    """An input file that cannot be read as asked (the message has no path)."""


class InputMissingError(InputFileError):
    """There is no file by that name."""


def _size_text(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):.0f} MB" if n_bytes >= 1 << 20 else f"{n_bytes} bytes"


def open_bounded(path: Path, limit_bytes: int, *, pipes: bool = False) -> IO[bytes]:
    """Open ``path`` for reading when it is a file of at most ``limit_bytes`` (or,
    with ``pipes``, a pipe such as ``/dev/stdin``).

    Looked at before it is opened: opening a FIFO nobody writes to waits for ever.
    """
    try:
        _check_kind(os.stat(path), pipes=pipes)
    except FileNotFoundError:
        raise InputMissingError("cannot read it (no such file)") from None
    except OSError as exc:
        raise InputFileError(f"cannot read it ({exc.strerror or exc})") from None
    try:
        fh = open(path, "rb")  # noqa: SIM115 - handed to the caller
    except FileNotFoundError:
        raise InputMissingError("cannot read it (no such file)") from None
    except IsADirectoryError:
        raise InputFileError("is a folder, not a file") from None
    except OSError as exc:
        raise InputFileError(f"cannot read it ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fh.fileno())
        _check_kind(info, pipes=pipes)
        if info.st_size > limit_bytes:
            raise InputFileError(
                f"is {_size_text(info.st_size)}; at most {_size_text(limit_bytes)} is read"
            )
    except BaseException:
        fh.close()
        raise
    return fh


def _check_kind(info: os.stat_result, *, pipes: bool) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError("is a folder, not a file")
    if stat.S_ISFIFO(info.st_mode) and not pipes:
        raise InputFileError("is a pipe (FIFO), not a file; give the file itself")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        # /dev/zero, /dev/urandom, a disk, a socket: endless or not ours to read.
        raise InputFileError("is a device, not a file")


def read_bounded(path: Path, limit_bytes: int) -> bytes:
    """The whole of a small file; refused when it is bigger than ``limit_bytes``."""
    with open_bounded(path, limit_bytes) as fh:
        try:
            data = fh.read(limit_bytes + 1)
        except OSError as exc:
            raise InputFileError(f"cannot read it ({exc.strerror or exc})") from None
    if len(data) > limit_bytes:
        raise InputFileError(f"is bigger than {_size_text(limit_bytes)}; that is not read")
    return data


def read_text(path: Path, limit_bytes: int = TOML_MAX_BYTES) -> str:
    """A small UTF-8 text file (a byte-order mark before it left out, as "utf-8-sig"
    reads it: that codec's module, ~0.15 ms, is not loaded for it)."""
    try:
        return read_bounded(path, limit_bytes).removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError("is not UTF-8 text") from None


def parse_toml(text: str) -> dict[str, Any]:
    """TOML to a dict; InputFileError for bad TOML or nesting past the parser's stack."""
    import tomllib  # ~1.2 ms with its patterns: a session whose TOML is cached needs none

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"not valid TOML ({exc})") from None
    except RecursionError:
        raise InputFileError("not valid TOML here (nested too deeply)") from None


def read_toml(path: Path, limit_bytes: int = TOML_MAX_BYTES) -> dict[str, Any]:
    return parse_toml(read_text(path, limit_bytes))


# The package's own TOML (its routines, the simulator's scenarios), parsed, is kept as
# JSON in the user cache folder, a file per TOML file holding its text and what it
# parses to: tomllib's import and parse were ~2 ms of a session's start, json reads
# the same back in ~0.1 ms. Used only when the text is the same to the character (an
# edited or updated file is parsed afresh, and its entry rewritten); a cache that
# cannot be read or written is passed by. Never a person's own files.
SHIPPED_CACHE_FOLDER = "shipped-toml"


def parse_shipped_toml(text: str, name: str) -> dict[str, Any]:
    """``parse_toml(text)`` for the text of a file shipped in the package; ``name``
    names its entry in the cache (e.g. ``protocol-full``)."""
    entry = shipped_entry(name)
    if entry is not None:
        try:
            # Read as an input (a FIFO or a device there would never end a read).
            cached = json.loads(read_bounded(entry, 4 * TOML_MAX_BYTES))
            if cached["text"] == text and isinstance(cached["data"], dict):
                return cached["data"]
        except Exception:  # none yet, or not ours to trust (nested too deep...): a cache
            pass  # parsed below
    data = parse_toml(text)
    if entry is not None:
        _keep_shipped(entry, text, data)
    return data


def shipped_entry(name: str) -> Path | None:
    """Where ``name``'s parse is kept: in $XDG_CACHE_HOME/biofeedback (else
    ~/.cache/biofeedback) on Linux; None where that folder cannot be worked out (there
    the TOML is parsed each time)."""
    folder = user_folders.cache_folder()
    if folder is None:
        return None
    return Path(folder, SHIPPED_CACHE_FOLDER, f"{name}.json")


def _keep_shipped(entry: Path, text: str, data: dict[str, Any]) -> None:
    try:
        kept = json.dumps({"text": text, "data": data})
    except (TypeError, ValueError):
        return  # a TOML date or time: JSON has none, so this file is parsed each time
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        for folder in (entry.parent.parent, entry.parent):
            if not folder.is_dir():
                folder.mkdir(mode=0o700, parents=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(kept)
        os.replace(tmp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def text_lines(
    path: Path, limit_bytes: int = RR_FILE_MAX_BYTES, line_max: int = LINE_MAX_CHARS
) -> Iterator[tuple[int, str]]:
    """A big text file one numbered line at a time, in constant memory.

    A line longer than ``line_max`` (a one-line 50 MB file, binary junk) ends
    the read with an error naming its number, without holding it whole.
    """
    for first, lines in text_blocks(path, limit_bytes, line_max):
        yield from enumerate(lines, first)


# Lines a block of ``text_blocks`` holds at most (~25 kB of RR intervals).
BLOCK_LINES = 4096


def text_blocks(
    path: Path,
    limit_bytes: int = RR_FILE_MAX_BYTES,
    line_max: int = LINE_MAX_CHARS,
    block_lines: int = BLOCK_LINES,
) -> Iterator[tuple[int, list[str]]]:
    """``text_lines`` a block at a time: (the first line's number, its lines).

    The same lines, and the same error at the same line after the lines before it:
    a block of plain short UTF-8 lines is checked and decoded in one go (a day of
    beats is 112,000 lines, and a step a line cost more than parsing them); a block
    with anything else in it goes line by line.
    """
    with open_bounded(path, limit_bytes, pipes=True) as raw:
        readline = raw.readline
        total = 0
        number = 0
        while True:
            chunks: list[bytes] = []
            failure: InputFileError | None = None
            try:
                for _ in range(block_lines):
                    chunk = readline(line_max + 3)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except OSError as exc:
                failure = InputFileError(f"cannot read it ({exc.strerror or exc})")
            if not chunks:
                if failure is not None:
                    raise failure
                return
            first = number + 1
            size = sum(map(len, chunks))
            lines = None
            if total + size <= limit_bytes and max(map(len, chunks)) <= line_max:
                lines = _decoded(chunks, first == 1)
            if lines is not None:
                number += len(chunks)
                total += size
            else:
                lines = []
                for chunk in chunks:
                    number += 1
                    total += len(chunk)
                    try:
                        lines.append(_line(chunk, number, total, limit_bytes, line_max))
                    except InputFileError as exc:
                        failure = exc
                        break
            if lines:
                yield first, lines
            if failure is not None:
                raise failure
            if len(chunks) < block_lines:
                return


def _decoded(chunks: list[bytes], first: bool) -> list[str] | None:
    """Whole lines (each ending in a newline but perhaps the last), as ``_line``
    gives them, decoded together; None when one is not UTF-8 (``_line`` says which)."""
    try:
        text = b"".join(chunks).decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if chunks[-1].endswith(b"\n"):
        lines.pop()  # after the last newline: no line
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    return lines


def _line(chunk: bytes, number: int, total: int, limit_bytes: int, line_max: int) -> str:
    """Line ``number`` as read (up to ``line_max + 3`` bytes, ``total`` read so far)."""
    if total > limit_bytes:
        raise InputFileError(f"is bigger than {_size_text(limit_bytes)}; that is not read")
    content = chunk.rstrip(b"\r\n")
    if len(content) > line_max:
        raise InputFileError(f"line {number} is longer than {line_max} characters")
    try:
        return content.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"line {number} is not UTF-8 text") from None


def clip(text: str, limit: int = 60) -> str:
    """``text`` cut for a one-line message (a bad line can be 200 kB)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
