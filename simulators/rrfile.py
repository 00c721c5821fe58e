"""RR files from a simulated person, in the formats ``biofeedback run --replay`` reads.

The person sits through the scenario with no session cues (breathing on their
own), with every episode, artifact and gap the scenario holds. ``lines`` is one
interval in whole milliseconds a line, as strap apps export them; it cannot
hold a gap, so intervals simply stop and resume. ``csv`` (``arrival_s,rr_ms``,
like tests/data/rr/polar_h10_slow_breathing_rr.csv) keeps the notification
times, and so the gaps.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from biofeedback.models import HeartSample
from simulators import SimulatorError
from simulators.source import SimulatedSource

FORMATS = ("lines", "csv")


class RRFileError(SimulatorError):
    """The RR file cannot be written where asked."""


def simulated_rr(source: SimulatedSource, duration_s: float) -> Iterator[tuple[float, float]]:
    """(arrival time, RR ms) for every interval the strap reports within ``duration_s``."""
    for item in source.items():
        if item.t_s > duration_s:
            return
        if isinstance(item, HeartSample):
            for rr_ms in item.rr_ms:
                yield item.t_s, rr_ms


def write_rr(path: str | Path, rows: Iterable[tuple[float, float]], fmt: str = "lines") -> int:
    """Write ``rows`` to ``path`` (``-``: standard output) as ``fmt``; return the
    number of intervals written.

    A new file is private (0600): RR files usually hold someone's heart, and a
    simulated one should not teach a different habit.
    """
    if fmt not in FORMATS:
        raise RRFileError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if str(path) == "-":
        return _write(rows, fmt, sys.stdout.write)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise RRFileError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        try:
            return _write(rows, fmt, out.write)
        except OSError as exc:
            raise RRFileError(f"cannot write {path}: {exc.strerror}") from None


def _write(rows: Iterable[tuple[float, float]], fmt: str, write: Callable[[str], object]) -> int:
    count = 0
    if fmt == "csv":
        write("arrival_s,rr_ms\n")
        for arrival_s, rr_ms in rows:
            write(f"{arrival_s:.3f},{round(rr_ms)}\n")
            count += 1
    else:
        for _, rr_ms in rows:
            write(f"{round(rr_ms)}\n")
            count += 1
    return count
