"""Recorded beats as a heart-rate source (``biofeedback run --replay FILE``).

Reads RR files with one interval in milliseconds a line (the Kubios and Elite
HRV convention; blank lines and ``#`` comments are skipped) and CSV files with
an ``rr_ms`` column (the program's own ``review --csv`` export among them:
its ``sample`` rows, several intervals to a cell). Beat times are the running
sum of the intervals, packed into about one notification a second like a strap
sends them. When the CSV has a time column (``t_s``, ``time_s``, ``arrival_s``...)
it only serves to keep a recording gap (a dropout of the strap) as a gap
instead of closing it up.

Recorded sessions from the store are replayed through ``ReplaySource`` too:
the CLI loads their samples (the store is a higher layer) and hands them over.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import stat
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from biofeedback.inputs import InputFileError, clip, text_blocks
from biofeedback.models import Contact, HeartSample
from biofeedback.models.slots import builder
from biofeedback.sensors import SourceError, SourceItem
from biofeedback.sensors.limits import RR_MAX_MS, RR_MIN_MS

TIME_COLUMNS = ("t_s", "time_s", "arrival_s", "timestamp_s", "time", "t")
# A time column running this far ahead of the summed intervals marks a dropout.
GAP_S = 3.0
NOTIFY_EVERY_S = 1.0
# Looked up once: a notification a second, and reading a member off its enum
# class costs ~0.25 us on Python 3.11.
_UNSUPPORTED = Contact.UNSUPPORTED
# ``HeartSample(t_s, hr_bpm, rr_ms, beat_t_s, contact)``, a notification a second,
# at about half the cost of its frozen ``__init__``.
_notification = builder(HeartSample, "t_s", "hr_bpm", "rr_ms", "beat_t_s", "contact")

__all__ = ["RR_MAX_MS", "RR_MIN_MS", "ReplayError", "ReplaySource", "open_rr_file"]


class ReplayError(SourceError):
    """An RR file that cannot be replayed; names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path} line {line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.line = line
        self.problem = problem


class ReplaySource:
    """Yields prepared samples (and chest motion, see ``replay_acc``) in their own
    (virtual) time.

    ``samples`` is a sequence, or a function giving a fresh iterator, so a
    long file is read as it is replayed instead of held in memory.
    """

    virtual = True

    def __init__(
        self,
        samples: Iterable[SourceItem] | Callable[[], Iterable[SourceItem]],
        description: str,
    ) -> None:
        self.samples = samples
        self.description = description

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._items()

    async def _items(self) -> AsyncIterator[SourceItem]:
        samples = self.samples() if callable(self.samples) else self.samples
        for sample in samples:
            yield sample


def open_rr_file(path: Path | str) -> ReplaySource:
    """A source replaying an RR text or CSV file; ReplayError when it is unusable.

    The file is checked whole first (in constant memory), so a bad line is
    one clear error before the session starts; then it is read again as the
    session replays it.
    """
    path = Path(path)
    if not _is_regular(path):
        # A pipe (`cat rr.txt | biofeedback run --replay /dev/stdin`) can be read
        # only once: its rows are kept (the file cap bounds them).
        blocks = [block for block in _intervals(path) if block[0]]
        if not blocks:
            raise ReplayError(path, None, "no RR intervals in it")
        return ReplaySource(lambda: iter_notifications(_beats(iter(blocks))), f"replay:{path.name}")
    # Every block is read (a bad line further on is refused now, not mid-session).
    if sum(len(rr) for rr, _ in _intervals(path)) == 0:
        raise ReplayError(path, None, "no RR intervals in it")

    def samples() -> Iterator[HeartSample]:
        return iter_notifications(_beats(_intervals(path)))

    return ReplaySource(samples, f"replay:{path.name}")


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # the read itself says what is wrong


def read_rr_file(path: Path | str) -> tuple[list[float], list[float] | None]:
    """The intervals (ms) of an RR file, and its time column when it has one."""
    path = Path(path)
    rr_ms: list[float] = []
    times_s: list[float] = []
    for rr, t_s in _intervals(path):
        rr_ms += rr
        if t_s is not None:
            times_s += t_s
    if not rr_ms:
        raise ReplayError(path, None, "no RR intervals in it")
    return rr_ms, (times_s if times_s else None)


# The intervals (ms) of a stretch of a file, and their times (s) when it has a time column.
_Block = tuple[list[float], list[float] | None]
# Rows of a CSV file gathered into a block (a plain file's blocks are text_blocks').
CSV_BLOCK_ROWS = 4096


def _blocks(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from text_blocks(path)
    except InputFileError as exc:
        raise ReplayError(path, None, str(exc)) from None


def _intervals(path: Path) -> Iterator[_Block]:
    """The file's intervals a block at a time: the first line that is neither blank
    nor a comment says whether it is plain (one interval a line) or a CSV."""
    blocks = _blocks(path)
    for first, lines in blocks:
        for i, line in enumerate(lines):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            number = first + i
            if _number(text) is None:
                rest = itertools.chain(
                    enumerate(lines[i + 1 :], number + 1),
                    (pair for start, more in blocks for pair in enumerate(more, start)),
                )
                yield from _csv_blocks(_csv_rows(path, number, line, rest))
            else:
                yield _plain_block(path, number, lines[i:])
                for start, more in blocks:
                    yield _plain_block(path, start, more)
            return


def _plain_block(path: Path, first: int, lines: list[str]) -> _Block:
    """The intervals of ``lines`` (numbered from ``first``) of a plain file: parsed
    together when each is an interval in range, else line by line (blank lines and
    comments skipped, the error naming its line)."""
    try:
        values = list(map(float, lines))  # float() ignores the whitespace strip() takes
    except ValueError:
        pass
    else:
        # The sum is not finite when one is not (NaN, inf): those go line by line.
        if (
            values
            and math.isfinite(sum(values))
            and min(values) >= RR_MIN_MS
            and max(values) <= RR_MAX_MS
        ):
            return values, None
    out: list[float] = []
    for number, line in enumerate(lines, first):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        out.append(_interval(path, number, text))
    return out, None


def _csv_blocks(rows: Iterator[tuple[int, float, float | None]]) -> Iterator[_Block]:
    """A CSV's rows gathered into blocks (a time column gives each row its time)."""
    while chunk := list(itertools.islice(rows, CSV_BLOCK_ROWS)):
        times = [t for _, _, t in chunk if t is not None]
        yield [rr for _, rr, _ in chunk], (times if len(times) == len(chunk) else None)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _interval(path: Path, line: int, text: str) -> float:
    value = _number(text.strip())
    if value is None:
        raise ReplayError(
            path, line, f"expected an RR interval in ms, found {clip(text.strip())!r}"
        )
    if not RR_MIN_MS <= value <= RR_MAX_MS:
        hint = " (seconds? this reader wants milliseconds)" if 0 < value < 5 else ""
        raise ReplayError(
            path,
            line,
            f"{clip(text.strip())} is not an RR interval in ms (expected {RR_MIN_MS:.0f}"
            f" to {RR_MAX_MS:.0f}){hint}",
        )
    return value


def _csv_rows(
    path: Path, first: int, header_line: str, lines: Iterator[tuple[int, str]]
) -> Iterator[tuple[int, float, float | None]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(header_line, ",;\t")
    except csv.Error:
        dialect = csv.excel
    header = [name.strip().lower() for name in next(csv.reader([header_line], dialect))]
    if "rr_ms" not in header:
        raise ReplayError(
            path,
            first,
            f"expected one RR interval (ms) a line, or a CSV header with an rr_ms column;"
            f" found {clip(header_line.strip())!r}",
        )
    rr_col = header.index("rr_ms")
    t_col = next((header.index(c) for c in TIME_COLUMNS if c in header), None)
    # `review --csv` writes one row per item with its `type`: only `sample` rows
    # carry beats, each the notification's intervals space separated (none: a
    # notification with heart rate only).
    type_col = header.index("type") if "type" in header else None
    last_t_s: float | None = None
    for number, line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        row = next(csv.reader([line], dialect), [])
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(rr_col, t_col or 0, type_col or 0):
            raise ReplayError(path, number, f"expected {len(header)} columns, found {len(row)}")
        cells = [row[rr_col]]
        if type_col is not None:
            if row[type_col].strip() != "sample":
                continue
            cells = row[rr_col].split()
        t_s: float | None = None
        if t_col is not None:
            t_s = _number(row[t_col].strip())
            if t_s is None:
                raise ReplayError(
                    path, number, f"expected a time in seconds, found {clip(row[t_col].strip())!r}"
                )
            if last_t_s is not None and t_s < last_t_s:
                raise ReplayError(path, number, f"time {t_s} goes back (before {last_t_s})")
            last_t_s = t_s
        for cell in cells:
            yield number, _interval(path, number, cell), t_s


def beat_times(rr_ms: Sequence[float], times_s: Sequence[float] | None = None) -> list[float]:
    """When each beat ended: the running sum of the intervals from 0.

    With a time column, a stretch where the file's clock runs more than
    ``GAP_S`` ahead of the sum is a dropout: the sum jumps forward to match.
    """
    times: Iterable[float | None] = times_s if times_s is not None else [None] * len(rr_ms)
    pairs = zip(rr_ms, times, strict=True)
    return [t_s for t_s, _ in iter_beat_times(pairs)]


def iter_beat_times(pairs: Iterable[tuple[float, float | None]]) -> Iterator[tuple[float, float]]:
    """(RR ms, file time s or None) in, (beat end s, RR ms) out, one at a time."""
    total_s = 0.0
    shift_s = 0.0
    offset_s: float | None = None
    for rr, file_t_s in pairs:
        total_s += rr / 1000.0
        t_s = total_s + shift_s
        if file_t_s is not None:
            if offset_s is None:
                offset_s = t_s - file_t_s
            ahead_s = file_t_s + offset_s - t_s
            if ahead_s > GAP_S:
                shift_s += ahead_s
                t_s += ahead_s
        yield t_s, rr


def _beats(blocks: Iterator[_Block]) -> Iterator[tuple[float, float]]:
    """``iter_beat_times`` of a file's blocks: without a time column each beat's end
    is the running sum, worked out a block at a time (the same sums, to the bit)."""
    first = next(blocks, None)
    if first is None:
        return
    blocks = itertools.chain((first,), blocks)
    if first[1] is not None:
        # A time column: a gap in it is kept, beat by beat.
        yield from iter_beat_times(_with_times(blocks))
        return
    total_s = 0.0
    for rr, _ in blocks:
        ends = list(itertools.accumulate([x / 1000.0 for x in rr], initial=total_s))
        total_s = ends[-1]
        yield from zip(ends[1:], rr, strict=True)


def _with_times(blocks: Iterable[_Block]) -> Iterator[tuple[float, float | None]]:
    for rr, times in blocks:
        if times is None:
            yield from ((x, None) for x in rr)
        else:
            yield from zip(rr, times, strict=True)


def pack_beats(
    beat_t_s: Sequence[float], rr_ms: Sequence[float], every_s: float = NOTIFY_EVERY_S
) -> list[HeartSample]:
    """Group beats into notifications at ``every_s``, ``2 * every_s``...: each
    carries the beats that ended since the previous one, as a strap does. A
    notification with no new beat repeats the last heart rate."""
    return list(iter_notifications(zip(beat_t_s, rr_ms, strict=True), every_s))


def iter_notifications(
    beats: Iterable[tuple[float, float]], every_s: float = NOTIFY_EVERY_S
) -> Iterator[HeartSample]:
    """``pack_beats`` one notification at a time, from (beat end s, RR ms) pairs."""
    hr_bpm: float | None = None
    rr: list[float] = []
    times: list[float] = []
    note_s = every_s
    for beat_t_s, rr_ms in beats:
        while beat_t_s > note_s:
            if rr:
                hr_bpm = float(round(60000.0 * len(rr) / sum(rr)))
            if rr or hr_bpm is not None:
                yield _notification(note_s, hr_bpm, tuple(rr), tuple(times), _UNSUPPORTED)
            rr, times = [], []
            note_s += every_s
            if beat_t_s - note_s > GAP_S:
                # A dropout: no notifications until the strap is back.
                note_s = math.ceil(beat_t_s / every_s) * every_s
        rr.append(rr_ms)
        times.append(beat_t_s)
    if rr:
        hr_bpm = float(round(60000.0 * len(rr) / sum(rr)))
        yield _notification(note_s, hr_bpm, tuple(rr), tuple(times), _UNSUPPORTED)


def rr_lines(rr_ms: Iterable[float]) -> str:
    """RR intervals as the text files above read them (ms, up to 3 decimals)."""
    return "".join(f"{_ms_text(rr)}\n" for rr in rr_ms)


def _ms_text(rr_ms: float) -> str:
    text = f"{rr_ms:.3f}".rstrip("0").rstrip(".")
    return text or "0"
