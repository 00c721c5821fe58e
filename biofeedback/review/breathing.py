"""The breath in a recorded session, with the pacer beside it: what review shows.

Only a session whose breath was seen on the chest has one: its breaths
(``Recording.breaths``), holds (``breath_held``) and the chest's rate in the
estimates. A rate read from the heart's rhythm alone is less sure and stays in
the record (estimates, events) without being summarised, so a session without
chest motion reviews exactly as before.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from biofeedback.models import (
    BREATH_SOURCE_ORDER,
    BreathHeld,
    BreathReminder,
    ColumnRows,
    PaceChanged,
    Recording,
    SessionEnded,
    StepEnded,
    StepStarted,
)
from biofeedback.models.record import record
from biofeedback.review.text import clock, num, rounded

_ACC = BREATH_SOURCE_ORDER.index("acc")


# Where a span's breathed rate comes from (review --json's ``from``).
FROM_BREATHS = "breaths"
FROM_ESTIMATES = "estimates"


@record(frozen=True, slots=True)
class PacedSpan:
    """One stretch with one pace: the step, the paced and the breathed rate
    (breaths a minute).

    Breathed: 60 over the median length of the ``breaths`` whose in-breath began
    in the span (``source`` FROM_BREATHS). Only where no breath of the record
    began in it (the central copy keeps no breaths table) is it the median of
    the chest's running rate over the span's second half (FROM_ESTIMATES), a
    rate that lags a breath or two.
    """

    start_s: float
    end_s: float
    step: str
    paced_per_min: float
    breathed_per_min: float | None
    glide: bool  # set by a pace_changed (meeting a fast breather, gliding down)
    step_per_min: float  # the step's own pace, which a glide ends on
    breaths: int = 0
    source: str = FROM_ESTIMATES


@record(frozen=True, slots=True)
class BreathsTaken:
    """Medians over each breath seen on the chest (the record's breaths table)."""

    count: int
    inhale_s: float
    exhale_s: float
    depth_mg: float


@record(frozen=True, slots=True)
class BreathSummary:
    """The breath over a whole session: the chest's rate (median), holds, reminders,
    and the pacer beside the rate breathed.

    ``taken`` (each breath's halves and depth) is shown in the text only; each
    paced span's breathed rate says where it came from (``from``): the breaths
    taken in it, or the running rate where none began there.
    """

    per_min: float | None
    holds: tuple[BreathHeld, ...]
    reminders: int
    paced: tuple[PacedSpan, ...]
    taken: BreathsTaken | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": "acc",
            "per_min": rounded(self.per_min, 1),
            "holds": [{"started_t": h.started_t, "duration_s": h.duration_s} for h in self.holds],
            "reminders": self.reminders,
            "paced": [
                {
                    "start_t": rounded(p.start_s),
                    "end_t": rounded(p.end_s),
                    "step": p.step,
                    "paced_per_min": rounded(p.paced_per_min, 1),
                    "breathed_per_min": rounded(p.breathed_per_min, 1),
                    "glide": p.glide,
                    "step_paced_per_min": rounded(p.step_per_min, 1),
                    "from": p.source,
                    "breaths": p.breaths,
                }
                for p in self.paced
            ],
        }


def chest_rate(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, breaths a minute) of the estimates whose rate came from the chest."""
    rows = rec.estimate_rows
    if isinstance(rows, ColumnRows):
        block = rows.columns()
        if not len(block):
            return np.zeros(0), np.zeros(0)
        chest = block[:, 7] == _ACC
        return block[chest, 0].copy(), block[chest, 6].copy()
    pairs = [(row[0], row[6]) for row in rows if row[7] == "acc" and row[6] is not None]
    return np.array([p[0] for p in pairs], float), np.array([p[1] for p in pairs], float)


def summarize_breath(rec: Recording, end_s: float) -> BreathSummary | None:
    """The session's breath, or None when it was never seen on the chest."""
    holds = tuple(e for e in rec.events if isinstance(e, BreathHeld))
    est_t, est_rate = chest_rate(rec)
    if not holds and not est_t.size:
        return None
    breaths = rec.breaths
    taken = (
        BreathsTaken(
            len(breaths),
            statistics.median(b.inhale_s for b in breaths),
            statistics.median(b.exhale_s for b in breaths),
            statistics.median(b.depth_mg for b in breaths),
        )
        if breaths
        else None
    )
    return BreathSummary(
        per_min=_median(est_rate.tolist()),
        holds=holds,
        reminders=sum(isinstance(e, BreathReminder) for e in rec.events),
        paced=_paced_spans(rec, est_t, est_rate, end_s),
        taken=taken,
    )


def breath_lengths(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """(onset s, length s: in and out) of each breath, in onset order: the one place
    review reads the breaths table for the paced spans."""
    onsets = np.array([b.onset_t_s for b in rec.breaths], float)
    lengths = np.array([b.inhale_s + b.exhale_s for b in rec.breaths], float)
    order = np.argsort(onsets, kind="stable")
    return onsets[order], lengths[order]


def _paced_spans(
    rec: Recording, est_t: np.ndarray, est_rate: np.ndarray, end_s: float
) -> tuple[PacedSpan, ...]:
    onsets, lengths = breath_lengths(rec)
    spans: list[PacedSpan] = []
    # start, step, paced, glide, the step's own pace
    open_: tuple[float, str, float, bool, float] | None = None

    def close(at_s: float) -> None:
        if open_ is None or at_s <= open_[0]:
            return
        start, step, paced, glide, own = open_
        lo, hi = np.searchsorted(onsets, (start, at_s), side="left")
        if hi > lo:
            breathed = 60.0 / float(np.median(lengths[lo:hi]))
            spans.append(
                PacedSpan(
                    start, at_s, step, paced, breathed, glide, own, int(hi - lo), FROM_BREATHS
                )
            )
            return
        # The chest's rate lags a breath or two: it is read from the span's second half.
        inside = (est_t >= (start + at_s) / 2) & (est_t <= at_s)
        spans.append(
            PacedSpan(start, at_s, step, paced, _median(est_rate[inside].tolist()), glide, own)
        )

    for event in rec.events:
        if isinstance(event, StepStarted):
            close(event.t)
            open_ = None
            if event.breath_in_s and event.breath_out_s:
                paced = 60.0 / (event.breath_in_s + event.breath_out_s)
                open_ = (event.t, event.step, paced, False, paced)
        elif isinstance(event, PaceChanged):
            close(event.t)
            own = open_[4] if open_ is not None else math.nan
            paced = 60.0 / (event.breath_in_s + event.breath_out_s)
            open_ = (event.t, event.step, paced, True, own)
        elif isinstance(event, StepEnded | SessionEnded):
            close(event.t)
            open_ = None
    close(end_s)
    return tuple(spans)


def breath_csv_rows(rec: Recording) -> list[tuple[float, list[Any]]]:
    """(onset, cells) of a ``breath`` row in the CSV export for each breath seen on the
    chest: the halves, depth and the rate it stands for, as JSON in ``detail``; and
    (start, cells) of a ``paced`` row for each paced span of a session whose breath
    was seen on the chest, with what review --json says of it in ``detail``."""
    return _breath_rows(rec) + _paced_rows(rec)


def _paced_rows(rec: Recording) -> list[tuple[float, list[Any]]]:
    summary = summarize_breath(rec, _end_s(rec))
    if summary is None:
        return []
    rows: list[tuple[float, list[Any]]] = []
    for span in summary.to_dict()["paced"]:
        start = span.pop("start_t")
        rows.append((start, [start, "paced", *([""] * 6), json.dumps(span, separators=(",", ":"))]))
    return rows


def _end_s(rec: Recording) -> float:
    """How far the record reaches, as review's summary reckons it."""
    end_s = rec.session.length_s
    rows = rec.estimate_rows
    if isinstance(rows, ColumnRows):
        block = rows.columns()
        if len(block):
            end_s = max(end_s, float(block[-1, 0]))
    elif len(rows):
        end_s = max(end_s, float(rows[-1][0]))
    return end_s


def _breath_rows(rec: Recording) -> list[tuple[float, list[Any]]]:
    return [
        (
            b.onset_t_s,
            [
                b.onset_t_s,
                "breath",
                *([""] * 6),
                json.dumps(
                    {
                        "inhale_s": round(b.inhale_s, 2),
                        "exhale_s": round(b.exhale_s, 2),
                        "depth_mg": round(b.depth_mg, 1),
                        "per_min": round(b.per_min, 1),
                    },
                    separators=(",", ":"),
                ),
            ],
        )
        for b in rec.breaths
    ]


def chest_detail(breath_per_min: float | None, breath_source: str | None) -> str:
    """An estimate's ``detail`` in the CSV export: its breath when seen on the chest."""
    if breath_source != "acc" or breath_per_min is None:
        return ""
    return json.dumps(
        {"breath_per_min": breath_per_min, "breath_source": breath_source}, separators=(",", ":")
    )


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def breath_lines(b: BreathSummary) -> list[str]:
    """The review's lines for the breath."""
    first = f"  breath (seen on the chest): {num(b.per_min, 'a minute')} (median)"
    if b.taken is not None:
        t = b.taken
        first += (
            f"; {t.count} breaths, in {t.inhale_s:.1f} s, out {t.exhale_s:.1f} s,"
            f" depth {t.depth_mg:.1f} mg"
        )
    lines = [first]
    if b.holds:
        longest = max(h.duration_s for h in b.holds)
        total = sum(h.duration_s for h in b.holds)
        lines.append(
            f"    held {len(b.holds)} times (longest {longest:g} s, {total:.1f} s in all);"
            f" reminded {b.reminders} times"
        )
    else:
        lines.append(f"    no breath held; reminded {b.reminders} times")
    if b.paced:
        lines.append("    paced and breathed (a minute), step by step:")
        lines += [_step_line(group) for group in _by_step(b.paced)]
    return lines


def _by_step(spans: Sequence[PacedSpan]) -> list[list[PacedSpan]]:
    groups: list[list[PacedSpan]] = []
    for span in spans:
        if groups and groups[-1][-1].step == span.step and span.glide:
            groups[-1].append(span)
        else:
            groups.append([span])
    return groups


def _rate(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"


def _step_line(group: list[PacedSpan]) -> str:
    """One step: its pace, and the glide when the pacer met the person; what they
    breathed at first and at the end."""
    first, last = group[0], group[-1]
    paced = f"paced {_rate(first.step_per_min)}"
    glides = [p for p in group if p.glide]
    if glides:
        paced += f", met at {glides[0].paced_per_min:.1f} and glided to {last.paced_per_min:.1f}"
    breathed = _rate(first.breathed_per_min)
    if len(group) > 1:
        breathed += f" -> {_rate(last.breathed_per_min)}"
    return (
        f"      {clock(first.start_s)}  {first.step:<14} {paced}; breathed {breathed}{_from(group)}"
    )


def _from(group: list[PacedSpan]) -> str:
    """What the breathed rates stand on: the breaths taken, or the running rate."""
    count = sum(p.breaths for p in group)
    running = [p for p in group if p.source == FROM_ESTIMATES and p.breathed_per_min is not None]
    if not running:
        return f" ({count} breaths)" if count else ""
    if not count:
        return " (running rate: no whole breath)"
    return f" ({count} breaths; running rate where none)"
