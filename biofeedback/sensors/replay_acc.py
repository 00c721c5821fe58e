"""Recorded chest motion beside replayed beats (``run --replay RR --replay-acc ACC.csv``).

An ACC file is CSV with the header ``t_s,x_mg,y_mg,z_mg``: seconds from the
first RR beat (session time 0 of the replay), then acceleration in milli-g,
at any steady rate from 25 to 200 Hz. It is checked whole before the session
(one clear line naming the line at fault), then read again as the session
replays it, in batches of about a second interleaved with the heart samples in
time order.
"""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from biofeedback.inputs import InputFileError, clip, text_lines
from biofeedback.models import ChestMotion
from biofeedback.sensors import SourceItem
from biofeedback.sensors.replay import ReplayError

HEADER = ("t_s", "x_mg", "y_mg", "z_mg")
RATE_MIN_HZ = 25.0
RATE_MAX_HZ = 200.0
# A logger's clock wobbles: a nominal 25 Hz file may measure 24 Hz.
RATE_SLACK = 0.1
# Far beyond any strap's range (H10: 8 g); a bigger number is not an acceleration.
ACC_MAX_MG = 16_000.0
BATCH_S = 1.0
# Intervals the rate is measured over: enough for a steady median, bounded in memory.
RATE_SAMPLE = 2000
# A pause longer than this many sample periods starts a new batch (a logger gap).
GAP_PERIODS = 1.5

Row = tuple[int, float, float, float, float]


class AccFile:
    """A checked ACC file: its rate, and its motion in batches (read afresh each time)."""

    def __init__(self, path: Path, rate_hz: float, samples: int) -> None:
        self.path = path
        self.rate_hz = rate_hz
        self.samples = samples

    def motions(self, batch_s: float = BATCH_S) -> Iterator[ChestMotion]:
        return batches(_rows(self.path), self.rate_hz, batch_s)


def open_acc_file(path: Path | str) -> AccFile:
    """Check an ACC file whole (in constant memory); ReplayError when it is unusable."""
    path = Path(path)
    count = 0
    first: list[float] = []
    for _, t_s, *_xyz in _rows(path):
        count += 1
        if len(first) <= RATE_SAMPLE:
            first.append(t_s)
    if count < 2:
        raise ReplayError(path, None, "fewer than two chest-motion samples in it")
    intervals = [b - a for a, b in itertools.pairwise(first)]
    step_s = statistics.median(intervals)
    rate_hz = 1.0 / step_s
    if not RATE_MIN_HZ * (1 - RATE_SLACK) <= rate_hz <= RATE_MAX_HZ * (1 + RATE_SLACK):
        raise ReplayError(
            path,
            None,
            f"samples every {step_s * 1000:.3g} ms ({rate_hz:.3g} Hz);"
            f" chest motion is read at {RATE_MIN_HZ:g}-{RATE_MAX_HZ:g} Hz",
        )
    return AccFile(path, rate_hz, count)


def _rows(path: Path) -> Iterator[Row]:
    """(line, t_s, x_mg, y_mg, z_mg) for each sample, checked as it is read."""
    try:
        lines = text_lines(path)
        columns: tuple[int, ...] | None = None
        last_t_s = -math.inf
        for number, line in lines:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            cells = [c.strip() for c in next(csv.reader([text]))]
            if columns is None:
                columns = _header(path, number, cells)
                continue
            if len(cells) <= max(columns):
                raise ReplayError(
                    path, number, f"expected {len(HEADER)} columns, found {len(cells)}"
                )
            t_s, x, y, z = (
                _value(path, number, HEADER[k], cells[c]) for k, c in enumerate(columns)
            )
            if t_s < 0:
                raise ReplayError(path, number, f"time {t_s:g} is before the first RR beat (0)")
            if t_s <= last_t_s:
                raise ReplayError(path, number, f"time {t_s:g} does not come after {last_t_s:g}")
            for name, mg in (("x_mg", x), ("y_mg", y), ("z_mg", z)):
                if abs(mg) > ACC_MAX_MG:
                    raise ReplayError(
                        path, number, f"{name} {mg:g} is not an acceleration in milli-g"
                    )
            last_t_s = t_s
            yield number, t_s, x, y, z
        if columns is None:
            raise ReplayError(path, None, f"empty; expected the header {','.join(HEADER)}")
    except InputFileError as exc:
        raise ReplayError(path, None, str(exc)) from None


def _header(path: Path, line: int, cells: list[str]) -> tuple[int, ...]:
    names = [c.lower() for c in cells]
    if not all(name in names for name in HEADER):
        raise ReplayError(
            path,
            line,
            f"expected the header {','.join(HEADER)}; found {clip(','.join(cells))!r}",
        )
    return tuple(names.index(name) for name in HEADER)


def _value(path: Path, line: int, name: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ReplayError(path, line, f"expected a number for {name}, found {clip(cell)!r}")
    return value


def batches(rows: Iterable[Row], rate_hz: float, batch_s: float = BATCH_S) -> Iterator[ChestMotion]:
    """Samples grouped into ChestMotion of about ``batch_s``; a logger gap starts a new one."""
    gap_s = GAP_PERIODS / rate_hz
    times: list[float] = []
    xyz: list[tuple[float, float, float]] = []
    for _, t_s, x, y, z in rows:
        if times and (t_s - times[-1] > gap_s or t_s - times[0] >= batch_s):
            yield _motion(times[-1], rate_hz, xyz)
            times, xyz = [], []
        times.append(t_s)
        xyz.append((x, y, z))
    if times:
        yield _motion(times[-1], rate_hz, xyz)


def _motion(t_s: float, rate_hz: float, xyz: list[tuple[float, float, float]]) -> ChestMotion:
    x, y, z = zip(*xyz, strict=True)
    return ChestMotion(t_s=t_s, rate_hz=rate_hz, x_mg=x, y_mg=y, z_mg=z)


def interleave(
    hearts: Iterable[SourceItem], motions: Iterable[ChestMotion]
) -> Iterator[SourceItem]:
    """Both in time order. Chest motion after the last heart sample is left out, so
    a replay still ends with its heart data."""
    rest = iter(motions)
    pending = next(rest, None)
    for sample in hearts:
        while pending is not None and pending.t_s <= sample.t_s:
            yield pending
            pending = next(rest, None)
        yield sample


def with_motion(
    samples: Iterable[SourceItem] | Callable[[], Iterable[SourceItem]], acc: AccFile
) -> Callable[[], Iterator[SourceItem]]:
    """A replay's items with ``acc``'s chest motion between them (fresh on every call)."""

    def items() -> Iterator[SourceItem]:
        hearts = samples() if callable(samples) else samples
        return interleave(hearts, acc.motions())

    return items
