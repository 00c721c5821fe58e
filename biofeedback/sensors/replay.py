"""Recorded beats as a heart-rate source (``biofeedback run --replay FILE``).

Reads RR files with one interval in milliseconds a line (the Kubios and Elite
HRV convention; blank lines and ``#`` comments are skipped) and CSV files with
an ``rr_ms`` column. Beat times are the running sum of the intervals, packed
into about one notification a second like a strap sends them. When the CSV has
a time column (``t_s``, ``time_s``, ``arrival_s``...) it only serves to keep a
recording gap (a dropout of the strap) as a gap instead of closing it up.

Recorded sessions from the store are replayed through ``ReplaySource`` too:
the CLI loads their samples (the store is a higher layer) and hands them over.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from biofeedback.models import Contact, HeartSample
from biofeedback.sensors import SourceError

RR_MIN_MS = 200.0
RR_MAX_MS = 4000.0
TIME_COLUMNS = ("t_s", "time_s", "arrival_s", "timestamp_s", "time", "t")
# A time column running this far ahead of the summed intervals marks a dropout.
GAP_S = 3.0
NOTIFY_EVERY_S = 1.0


class ReplayError(SourceError):
    """An RR file that cannot be replayed; names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path} line {line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.line = line
        self.problem = problem


class ReplaySource:
    """Yields prepared samples in their own (virtual) time."""

    virtual = True

    def __init__(self, samples: Sequence[HeartSample], description: str) -> None:
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

    def __aiter__(self) -> AsyncIterator[HeartSample]:
        return self._items()

    async def _items(self) -> AsyncIterator[HeartSample]:
        for sample in self.samples:
            yield sample


def open_rr_file(path: Path | str) -> ReplaySource:
    """A source replaying an RR text or CSV file; ReplayError when it is unusable."""
    path = Path(path)
    rr_ms, times_s = read_rr_file(path)
    return ReplaySource(pack_beats(beat_times(rr_ms, times_s), rr_ms), f"replay:{path.name}")


def read_rr_file(path: Path | str) -> tuple[list[float], list[float] | None]:
    """The intervals (ms) of an RR file, and its time column when it has one."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReplayError(path, None, f"cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReplayError(path, None, "not a text file of RR intervals") from None
    lines = text.splitlines()
    first = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
        None,
    )
    if first is None:
        raise ReplayError(path, None, "no RR intervals in it")
    if _number(lines[first].strip()) is None:
        return _read_csv(path, lines, first)
    return _read_plain(path, lines), None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _interval(path: Path, line: int, text: str) -> float:
    value = _number(text.strip())
    if value is None:
        raise ReplayError(path, line, f"expected an RR interval in ms, found {text.strip()!r}")
    if not RR_MIN_MS <= value <= RR_MAX_MS:
        hint = " (seconds? this reader wants milliseconds)" if 0 < value < 5 else ""
        raise ReplayError(
            path,
            line,
            f"{text.strip()} is not an RR interval in ms (expected {RR_MIN_MS:.0f}"
            f" to {RR_MAX_MS:.0f}){hint}",
        )
    return value


def _read_plain(path: Path, lines: Sequence[str]) -> list[float]:
    rr_ms = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        rr_ms.append(_interval(path, number, text))
    return rr_ms


def _read_csv(
    path: Path, lines: Sequence[str], first: int
) -> tuple[list[float], list[float] | None]:
    header_line = lines[first]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(header_line, ",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO("\n".join(lines[first:])), dialect)
    header = [name.strip().lower() for name in next(rows)]
    if "rr_ms" not in header:
        raise ReplayError(
            path,
            first + 1,
            f"expected one RR interval (ms) a line, or a CSV header with an rr_ms column;"
            f" found {lines[first].strip()[:60]!r}",
        )
    rr_col = header.index("rr_ms")
    t_col = next((header.index(c) for c in TIME_COLUMNS if c in header), None)
    rr_ms: list[float] = []
    times_s: list[float] = []
    for offset, row in enumerate(rows, start=1):
        number = first + 1 + offset
        if not row or not any(cell.strip() for cell in row):
            continue
        if row[0].lstrip().startswith("#"):
            continue
        if len(row) <= max(rr_col, t_col or 0):
            raise ReplayError(path, number, f"expected {len(header)} columns, found {len(row)}")
        rr_ms.append(_interval(path, number, row[rr_col]))
        if t_col is not None:
            t_s = _number(row[t_col].strip())
            if t_s is None:
                raise ReplayError(
                    path, number, f"expected a time in seconds, found {row[t_col].strip()!r}"
                )
            if times_s and t_s < times_s[-1]:
                raise ReplayError(path, number, f"time {t_s} goes back (before {times_s[-1]})")
            times_s.append(t_s)
    if not rr_ms:
        raise ReplayError(path, None, "no RR intervals in it")
    return rr_ms, (times_s if t_col is not None else None)


def beat_times(rr_ms: Sequence[float], times_s: Sequence[float] | None = None) -> list[float]:
    """When each beat ended: the running sum of the intervals from 0.

    With a time column, a stretch where the file's clock runs more than
    ``GAP_S`` ahead of the sum is a dropout: the sum jumps forward to match.
    """
    out: list[float] = []
    total_s = 0.0
    shift_s = 0.0
    offset_s: float | None = None
    for i, rr in enumerate(rr_ms):
        total_s += rr / 1000.0
        t_s = total_s + shift_s
        if times_s is not None:
            if offset_s is None:
                offset_s = t_s - times_s[0]
            ahead_s = times_s[i] + offset_s - t_s
            if ahead_s > GAP_S:
                shift_s += ahead_s
                t_s += ahead_s
        out.append(t_s)
    return out


def pack_beats(
    beat_t_s: Sequence[float], rr_ms: Sequence[float], every_s: float = NOTIFY_EVERY_S
) -> list[HeartSample]:
    """Group beats into notifications at ``every_s``, ``2 * every_s``...: each
    carries the beats that ended since the previous one, as a strap does. A
    notification with no new beat repeats the last heart rate."""
    samples: list[HeartSample] = []
    hr_bpm: float | None = None
    i = 0
    n = len(rr_ms)
    if n == 0:
        return samples
    note_s = every_s
    while i < n:
        if beat_t_s[i] - note_s > GAP_S:
            # A dropout: no notifications until the strap is back.
            note_s = math.ceil(beat_t_s[i] / every_s) * every_s
        rr: list[float] = []
        times: list[float] = []
        while i < n and beat_t_s[i] <= note_s:
            rr.append(rr_ms[i])
            times.append(beat_t_s[i])
            i += 1
        if rr:
            hr_bpm = float(round(60000.0 * len(rr) / sum(rr)))
        if rr or hr_bpm is not None:
            samples.append(
                HeartSample(note_s, hr_bpm, tuple(rr), tuple(times), Contact.UNSUPPORTED)
            )
        note_s += every_s
    return samples


def rr_lines(rr_ms: Iterable[float]) -> str:
    """RR intervals as the text files above read them (ms, up to 3 decimals)."""
    return "".join(f"{_ms_text(rr)}\n" for rr in rr_ms)


def _ms_text(rr_ms: float) -> str:
    text = f"{rr_ms:.3f}".rstrip("0").rstrip(".")
    return text or "0"
