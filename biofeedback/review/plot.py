"""The review figure: HR, RMSSD and arousal over time with zones and steps.

matplotlib is the optional extra ``biofeedback[plot]``; it is imported only
when a plot is asked for.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from biofeedback.models import Recording, StepExtended, StepKind, StepStarted, Zone, ZoneChanged
from biofeedback.review.series import RecordSeries, ReviewError, zone_spans
from biofeedback.review.summary import SessionSummary
from biofeedback.review.text import local

ZONE_COLOURS = {Zone.GREEN: "#d8f0d8", Zone.YELLOW: "#fbf0c0", Zone.RED: "#f6d0d0"}


PLOT_BUCKETS = 2000
# More markers than this would paint the whole plot: leave them out.
MAX_MARKERS = 400


def _trace(ax: Any, x: np.ndarray, y: np.ndarray, colour: str) -> None:
    """A line, or for long records (a day has 86,400 estimates; a figure is
    about 1,000 pixels wide) the mean of each bucket over a band from its
    minimum to its maximum, so no peak is lost."""
    if x.size <= 2 * PLOT_BUCKETS:
        ax.plot(x, y, color=colour, linewidth=0.9)
        return
    per = -(-x.size // PLOT_BUCKETS)
    usable = x.size // per * per
    xb = x[:usable].reshape(-1, per)[:, 0]
    yb = y[:usable].reshape(-1, per)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bucket stays NaN
        low, mean, high = np.nanmin(yb, axis=1), np.nanmean(yb, axis=1), np.nanmax(yb, axis=1)
    ax.fill_between(xb, low, high, color=colour, alpha=0.25, linewidth=0)
    ax.plot(xb, mean, color=colour, linewidth=0.7)


def _marker_lines(times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Vertical lines from bottom to top at ``times``, as one polyline."""
    x = np.repeat(np.asarray(times, float), 3)
    y = np.tile([0.0, 1.0, np.nan], len(times))
    return x, y


def render_plot(rec: Recording, summary: SessionSummary, fmt: str) -> bytes:
    """HR, RMSSD and arousal over time, with zone bands and step markers, as
    the bytes of a ``fmt`` ("png", "pdf", "svg") file."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ReviewError(f"--{fmt} needs matplotlib: pip install 'biofeedback[plot]'") from None
    series = RecordSeries.of(rec)
    end_s = max(summary.duration_s, 1.0)
    hours = end_s > 2 * 3600
    scale, unit = (3600.0, "h") if hours else (60.0, "min")
    x = series.est_t_s / scale

    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    hr_ax, rmssd_ax, arousal_ax = axes
    _trace(hr_ax, x, series.est_hr_bpm, "#b03030")
    hr_ax.set_ylabel("HR (bpm)")
    _trace(rmssd_ax, x, series.est_rmssd_ms, "#3050a0")
    rmssd_ax.set_ylabel("RMSSD (ms)")
    _trace(arousal_ax, x, series.est_arousal, "#505050")
    arousal_ax.axhline(0.0, color="#909090", linewidth=0.5)
    arousal_ax.set_ylabel("arousal")
    arousal_ax.set_xlabel(f"session time ({unit})")
    if summary.baseline.hr_bpm is not None:
        hr_ax.axhline(summary.baseline.hr_bpm, color="#b03030", linewidth=0.6, linestyle=":")
    if summary.baseline.rmssd_ms is not None:
        rmssd_ax.axhline(summary.baseline.rmssd_ms, color="#3050a0", linewidth=0.6, linestyle=":")

    spans = zone_spans(rec.events, rec.session.start_zone, end_s)
    steps = [e for e in rec.events if isinstance(e, StepStarted)]
    tense = [e.t / scale for e in steps if e.kind is StepKind.TENSE]
    others = [e.t / scale for e in steps if e.kind is not StepKind.TENSE]
    changes = [e.t / scale for e in rec.events if isinstance(e, StepExtended | ZoneChanged)]
    marked = len(steps) <= MAX_MARKERS
    if not marked:
        tense, others = [], []
        changes = [e.t / scale for e in rec.events if isinstance(e, ZoneChanged)]
    for ax in axes:
        for zone in Zone:
            bars = [(a / scale, (b - a) / scale) for z, a, b in spans if z is zone]
            if bars:
                ax.broken_barh(
                    bars,
                    (0, 1),
                    transform=ax.get_xaxis_transform(),
                    facecolor=ZONE_COLOURS[zone],
                    zorder=0,
                )
        # One NaN-separated line per kind: a day has thousands of steps, and a
        # collection of that many segments draws ten times slower.
        for times, colour in ((others, "#c0c0c0"), (tense, "#8a6d3b")):
            ax.plot(
                *_marker_lines(times),
                transform=ax.get_xaxis_transform(),
                color=colour,
                linewidth=0.4,
                zorder=1,
            )
    if changes:
        hr_ax.plot(
            changes,
            [1.0] * len(changes),
            "v",
            color="#202020",
            markersize=4,
            transform=hr_ax.get_xaxis_transform(),
            clip_on=False,
        )
    hr_ax.set_xlim(0, end_s / scale)
    status = "" if summary.finished else "  (unfinished)"
    fig.suptitle(
        f"{summary.protocol} session {summary.session_id}, {local(summary.started_at_unix_s)}"
        f"{status}: zones green/yellow/red as bands, "
        + (
            "step starts as lines (brown: tense), ▼ extension or zone change"
            if marked
            else f"{len(steps)} steps (too many to mark), ▼ zone change"
        ),
        fontsize=9,
    )
    out = io.BytesIO()
    # Light PNG compression: a third of the encoding time, a slightly larger file.
    if fmt == "png":
        fig.savefig(out, format=fmt, dpi=100, pil_kwargs={"compress_level": 1})
    else:
        fig.savefig(out, format=fmt, dpi=100)
    return out.getvalue()
