"""The review figure: HR, RMSSD and arousal over time with zones and steps.

matplotlib is the optional extra ``biofeedback[plot]``; it is imported only
when a plot is asked for.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from biofeedback.loop.progress import fold
from biofeedback.models import Recording, StepExtended, StepKind, StepStarted, Zone, ZoneChanged
from biofeedback.pacing.rules import PacingConfig
from biofeedback.review.breath_plot import breath_legend, draw_breath
from biofeedback.review.series import RecordSeries, ReviewError
from biofeedback.review.summary import SessionSummary
from biofeedback.review.text import local
from biofeedback.review.trace import draw_trace
from biofeedback.signals.median import median

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ZONE_COLOURS = {Zone.GREEN: "#d8f0d8", Zone.YELLOW: "#fbf0c0", Zone.RED: "#f6d0d0"}
ZONE_NAMES = {Zone.GREEN: "green: full", Zone.YELLOW: "yellow: gentle", Zone.RED: "red: rest"}
HR_COLOUR = "#b03030"
RMSSD_COLOUR = "#3050a0"
AROUSAL_COLOUR = "#404040"
THRESHOLD_COLOUR = "#7a3b8a"
# Tense steps in a strong orange, dashed; every other step start thin and grey.
TENSE_COLOUR = "#d9731a"
STEP_COLOUR = "#b8b8b8"
GAP_COLOUR = "#e4e4e4"
# Labels stay readable over the lines they sit on.
LABEL_BOX = {"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 0.5}
# More tense steps than this and their names would overlap.
MAX_REGION_LABELS = 60


# More markers than this would paint the whole plot: leave them out.
MAX_MARKERS = 400
DPI = 100
# A fixed layout, in inches (what constrained layout chose for this figure,
# without its cost: it measured every label, and drew the figure twice to do
# so). The right margin holds half of a three-digit tick label at the end of
# the axis; the bottom, the x label and the legend's rows.
LEFT_IN, RIGHT_IN, TOP_IN, GAP_IN = 0.75, 0.15, 0.3, 0.13
BOTTOM_IN, LEGEND_ROW_IN, LEGEND_COLUMNS = 0.56, 0.167, 6


def _fixed_layout(fig: Figure, ratios: Sequence[int], legend_rows: int) -> None:
    """The panels stacked with fixed margins, for ``legend_rows`` rows of legend."""
    width_in, height_in = fig.get_size_inches()
    bottom_in = BOTTOM_IN + legend_rows * LEGEND_ROW_IN
    n = len(ratios)
    mean_in = (height_in - TOP_IN - bottom_in - (n - 1) * GAP_IN) / n
    fig.subplots_adjust(
        left=LEFT_IN / width_in,
        right=1 - RIGHT_IN / width_in,
        bottom=bottom_in / height_in,
        top=1 - TOP_IN / height_in,
        hspace=GAP_IN / mean_in,
    )


def _marker_lines(times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Vertical lines from bottom to top at ``times``, as one polyline."""
    x = np.repeat(np.asarray(times, float), 3)
    y = np.tile([0.0, 1.0, np.nan], len(times))
    return x, y


def _runs_of(flags: np.ndarray, t_s: np.ndarray, tick_s: float) -> list[tuple[float, float]]:
    """(start, width) of each run of True in ``flags`` sampled at ``t_s``."""
    if not flags.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    starts, stops = edges[::2], edges[1::2] - 1
    return [
        (float(t_s[a]) - tick_s, float(t_s[b] - t_s[a]) + tick_s)
        for a, b in zip(starts, stops, strict=True)
    ]


def _merged(runs: Sequence[tuple[float, float]], closer_than: float) -> list[tuple[float, float]]:
    """(start, width) runs, those less than ``closer_than`` apart joined into one."""
    merged: list[list[float]] = []
    for start, width in runs:
        if merged and start - (merged[-1][0] + merged[-1][1]) < closer_than:
            merged[-1][1] = start + width - merged[-1][0]
        else:
            merged.append([start, width])
    return [(start, width) for start, width in merged]


def _spans_path(spans: Sequence[tuple[float, float]]) -> Any:
    """One compound path of a rectangle from y 0 to 1 per (start, width) span.

    Drawn as one patch, so its hatch is filled once per panel; as a collection of
    one rectangle each (``broken_barh``) Agg hatched every one on its own, about
    0.35 ms a rectangle: a second of the PNG of a day with 900 dropouts."""
    from matplotlib.path import Path

    x0 = np.array([a for a, _ in spans], float)
    x1 = x0 + np.array([w for _, w in spans], float)
    zeros, ones = np.zeros_like(x0), np.ones_like(x0)
    # Per span: move to its lower left, around its corners, close.
    xs = np.stack((x0, x1, x1, x0, x0), axis=1).ravel()
    ys = np.stack((zeros, zeros, ones, ones, zeros), axis=1).ravel()
    one = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
    return Path(np.column_stack((xs, ys)), np.tile(np.array(one, np.uint8), len(spans)))


def _skip_setter_docs() -> None:
    """Load matplotlib without writing the docs of its artists' ``set`` methods.

    Each artist class, as it is defined, inspects every setter it has and writes
    a signature and a docstring listing them for ``help()``: a third of loading
    matplotlib (~0.1 s of CPU), for text no review shows. Once its classes
    exist this changes nothing (nor anything drawn); a matplotlib without these
    hooks is left as it is."""
    import sys

    if "matplotlib.figure" in sys.modules:
        return
    import matplotlib.artist

    base = matplotlib.artist.Artist
    if not hasattr(base, "_update_set_signature_and_docstring") or not hasattr(
        matplotlib.artist, "kwdoc"
    ):
        return

    def mark_only(cls: Any) -> None:
        # What matplotlib's own hook leaves besides the text: the flag that lets
        # a subclass get its own ``set``.
        cls.set._autogenerated_signature = True  # noqa: SLF001

    def no_doc(artist: Any) -> str:
        return ""

    base._update_set_signature_and_docstring = classmethod(mark_only)  # noqa: SLF001
    matplotlib.artist.kwdoc = no_doc


def build_figure(rec: Recording, summary: SessionSummary) -> Figure:
    """HR, RMSSD and arousal over time, with named zone bands, the resting
    baseline, the controller's thresholds, step markers (tense steps named by
    body region) and shaded signal gaps, and a legend saying which is which."""
    try:
        _skip_setter_docs()
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch, PathPatch
    except ImportError:
        raise ReviewError("plots need matplotlib: pip install 'biofeedback[plot]'") from None
    series = RecordSeries.of(rec)
    end_s = max(summary.duration_s, 1.0)
    hours = end_s > 2 * 3600
    scale, unit = (3600.0, "h") if hours else (60.0, "min")
    x = series.est_t_s / scale
    rules = PacingConfig()

    # A fourth panel for the breath, only when it was seen on the chest.
    breath = summary.breath
    fig = Figure(figsize=(11, 7.5 if breath is None else 9.5), dpi=DPI)
    ratios = (3, 2, 2, 2)[: 3 + bool(breath)]
    axes = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)
    hr_ax, rmssd_ax, arousal_ax = axes[:3]
    # The panels' width in pixels (the fixed layout's, set at the end).
    columns = round((fig.get_figwidth() - LEFT_IN - RIGHT_IN) * DPI)
    draw_trace(hr_ax, x, series.est_hr_bpm, HR_COLOUR, columns)
    hr_ax.set_ylabel("heart rate (bpm)")
    draw_trace(rmssd_ax, x, series.est_rmssd_ms, RMSSD_COLOUR, columns)
    rmssd_ax.set_ylabel("RMSSD (ms)")
    draw_trace(arousal_ax, x, series.est_arousal, AROUSAL_COLOUR, columns)
    arousal_ax.set_ylabel("arousal\n(x your resting swing)")
    axes[-1].set_xlabel(f"session time ({unit})")
    if breath is not None:
        draw_breath(axes[3], rec, breath, scale, columns)
    arousal_ax.axhline(0.0, color="#909090", linewidth=0.5)
    # The thresholds stay in view even when arousal never came near them.
    low, high = arousal_ax.get_ylim()
    arousal_ax.set_ylim(min(low, -1.0), max(high, rules.step_down_above + 0.6))
    for level, style, words in (
        (rules.extend_above, "--", "release extended above"),
        (rules.step_down_above, "-.", "steps down above (if it lasts)"),
    ):
        arousal_ax.axhline(level, color=THRESHOLD_COLOUR, linewidth=0.8, linestyle=style)
        arousal_ax.annotate(
            f"{words} {level:g}",
            (1.0, level),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 2),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=7,
            color=THRESHOLD_COLOUR,
            bbox=LABEL_BOX,
        )
    for ax, value, label, colour in (
        (hr_ax, summary.baseline.hr_bpm, "resting baseline {:.0f} bpm", HR_COLOUR),
        (rmssd_ax, summary.baseline.rmssd_ms, "resting baseline {:.0f} ms", RMSSD_COLOUR),
    ):
        if value is None:
            continue
        ax.axhline(value, color=colour, linewidth=0.8, linestyle=":")
        ax.annotate(
            label.format(value),
            (0.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(4, 2),
            textcoords="offset points",
            fontsize=7,
            color=colour,
            bbox=LABEL_BOX,
        )

    spans = fold(rec.events).zones_until(end_s)
    steps = [e for e in rec.events if isinstance(e, StepStarted)]
    tense = [e for e in steps if e.kind is StepKind.TENSE]
    others = [e.t / scale for e in steps if e.kind is not StepKind.TENSE]
    changes = [e.t / scale for e in rec.events if isinstance(e, StepExtended | ZoneChanged)]
    marked = len(steps) <= MAX_MARKERS
    if not marked:
        tense, others = [], []
        changes = [e.t / scale for e in rec.events if isinstance(e, ZoneChanged)]
    tick_s = median(np.diff(series.est_t_s)) if series.est_t_s.size > 1 else 1.0
    # Gaps a quarter of a pixel column apart are one shape (the path stays a few
    # shapes a column however many dropouts a day has). Not a whole column: that
    # hatched the signal between gaps that stood apart as bars a pixel wide.
    gaps = _merged(
        [(a / scale, w / scale) for a, w in _runs_of(series.est_no_signal, series.est_t_s, tick_s)],
        end_s / scale / columns / 4,
    )
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
        if gaps:
            # As an artist, not a patch: the x limits are set below, and a patch's
            # limits are found by walking its path segment by segment.
            ax.add_artist(
                PathPatch(
                    _spans_path(gaps),
                    transform=ax.get_xaxis_transform(),
                    facecolor=GAP_COLOUR,
                    hatch="////",
                    edgecolor="#a0a0a0",
                    linewidth=0,
                    zorder=0.5,
                    # Each gap's edges on whole pixels, as the collection drew them
                    # (left to itself, Agg does not snap a path of this many vertices).
                    snap=True,
                )
            )
        # One NaN-separated line per kind: a day has thousands of steps, and a
        # collection of that many segments draws ten times slower.
        ax.plot(
            *_marker_lines(others),
            transform=ax.get_xaxis_transform(),
            color=STEP_COLOUR,
            linewidth=0.4,
            zorder=1,
        )
        ax.plot(
            *_marker_lines([e.t / scale for e in tense]),
            transform=ax.get_xaxis_transform(),
            color=TENSE_COLOUR,
            linewidth=0.9,
            linestyle=(0, (3, 2)),
            zorder=1,
        )
    # Zone names on their bands, where a band is wide enough to hold one.
    for zone, a, b in spans:
        if (b - a) / end_s >= 0.06:
            hr_ax.text(
                (a + b) / 2 / scale,
                0.97,
                ZONE_NAMES[zone],
                transform=hr_ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=8,
                color="#505050",
                zorder=3,
            )
    if len(tense) <= MAX_REGION_LABELS:
        for step in tense:
            if step.region:
                rmssd_ax.text(
                    step.t / scale,
                    0.97,
                    f" {step.region}",
                    transform=rmssd_ax.get_xaxis_transform(),
                    rotation=90,
                    ha="left",
                    va="top",
                    fontsize=6.5,
                    color=TENSE_COLOUR,
                    zorder=3,
                    bbox=LABEL_BOX,
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

    legend = [
        Line2D([], [], color=HR_COLOUR, label="heart rate"),
        Line2D([], [], color=RMSSD_COLOUR, label="RMSSD"),
        Line2D([], [], color=AROUSAL_COLOUR, label="arousal"),
        Line2D([], [], color="#606060", linestyle=":", label="resting baseline"),
        Line2D([], [], color=THRESHOLD_COLOUR, linestyle="--", label="arousal thresholds"),
        *(Patch(facecolor=ZONE_COLOURS[z], label=f"zone {ZONE_NAMES[z]}") for z in Zone),
        Patch(facecolor=GAP_COLOUR, hatch="////", edgecolor="#a0a0a0", label="no signal"),
    ]
    if breath is not None:
        legend += breath_legend()
    if marked:
        legend += [
            Line2D([], [], color=TENSE_COLOUR, linestyle=(0, (3, 2)), label="tense step starts"),
            Line2D([], [], color=STEP_COLOUR, label="other step starts"),
            Line2D(
                [], [], color="#202020", marker="v", linestyle="", label="extension or zone change"
            ),
        ]
    else:
        legend.append(
            Line2D([], [], color="#202020", marker="v", linestyle="", label="zone change")
        )
    _fixed_layout(fig, ratios, -(-len(legend) // LEGEND_COLUMNS))
    fig.legend(handles=legend, loc="lower center", ncol=LEGEND_COLUMNS, fontsize=7, frameon=False)
    status = "  (unfinished)" if not summary.finished else ""
    steps_note = "" if marked else f"; {len(steps)} steps, too many to mark"
    fig.suptitle(
        f"{summary.protocol} session {summary.session_id},"
        f" {local(summary.started_at_unix_s)}{status}{steps_note}",
        fontsize=9,
        y=1 - 0.042 / fig.get_figheight(),
    )
    return fig


def render_plot(rec: Recording, summary: SessionSummary, fmt: str) -> bytes:
    """``build_figure`` as the bytes of a ``fmt`` ("png", "pdf", "svg") file."""
    try:
        fig = build_figure(rec, summary)
    except ReviewError:
        raise ReviewError(f"--{fmt} needs matplotlib: pip install 'biofeedback[plot]'") from None
    out = io.BytesIO()
    if fmt == "png":
        # The Agg canvas straight away (savefig finds it by the format, a detour).
        # Light compression: a third of the encoding time, a slightly larger file.
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.print_png(out, pil_kwargs={"compress_level": 1})  # type: ignore[no-untyped-call]
    else:
        fig.savefig(out, format=fmt, dpi=DPI)
    return out.getvalue()
