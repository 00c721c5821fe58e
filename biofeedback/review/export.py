"""Exports of a recording for other tools: one CSV table, and RR interval files.

Each file is opened by the caller (private, 0600).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from typing import IO, Any

from biofeedback.models import Recording
from biofeedback.review.breathing import breath_csv_rows, chest_detail
from biofeedback.review.series import clean_rr
from biofeedback.sensors.replay import rr_lines

CSV_COLUMNS = (
    "t_s",
    "type",
    "hr_bpm",
    "rr_ms",
    "contact",
    "rmssd_ms",
    "arousal",
    "quality",
    "detail",
)


def write_csv(rec: Recording, out: IO[str]) -> None:
    """Samples, estimates and events in one table, in time order.

    ``sample`` rows carry the strap's HR, contact and the RR intervals of that
    notification (space separated, ms); ``estimate`` rows the estimator's
    view (and its breath in ``detail`` when seen on the chest); ``breath`` rows
    each breath seen on the chest, at its onset; every other row is an event with
    its fields as JSON in ``detail``.
    """
    rows: list[tuple[float, int, list[Any]]] = []
    for s in rec.samples:
        rr = " ".join(_fmt(r) for r in s.rr_ms)
        rows.append((s.t_s, 0, [s.t_s, "sample", s.hr_bpm, rr, s.contact.value, "", "", "", ""]))
    for est in rec.estimates:
        rows.append(
            (
                est.t,
                1,
                [
                    est.t,
                    "estimate",
                    est.hr_bpm,
                    "",
                    "",
                    est.rmssd_ms,
                    est.arousal,
                    est.quality.value,
                    chest_detail(est.breath_per_min, est.breath_source),
                ],
            )
        )
    for event in rec.events:
        data = event.to_dict()
        del data["t"], data["type"]
        detail = json.dumps(data, separators=(",", ":"))
        rows.append((event.t, 2, [event.t, event.type, "", "", "", "", "", "", detail]))
    rows += [(t_s, 3, cells) for t_s, cells in breath_csv_rows(rec)]
    rows.sort(key=lambda row: (row[0], row[1]))
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for _, _, row in rows:
        writer.writerow(["" if v is None else _fmt(v) if isinstance(v, float) else v for v in row])


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}".rstrip("0").rstrip(".")


def write_rr(rec: Recording, out: IO[str], *, corrected: bool = False) -> int:
    """One RR interval (ms) a line; raw as the strap sent them unless ``corrected``.

    Raw is what Kubios and Elite HRV expect (they apply their own correction);
    ``corrected`` writes the beats as the session's estimator cleaned them (a
    missed beat split, an extra one merged). Returns the number of lines.
    """
    values: Iterable[float] = (
        clean_rr(rec.rr_ms, rec.beat_t_s).nn_ms.tolist() if corrected else list(rec.rr_ms)
    )
    text = rr_lines(values)
    out.write(text)
    return text.count("\n")
