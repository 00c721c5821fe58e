"""The review figure's breath panel: the breath taken beside the breath paced,
and each held breath (drawn only for a session whose breath was seen on the chest)."""

from __future__ import annotations

from typing import Any

import numpy as np

from biofeedback.models import Recording
from biofeedback.review.breathing import BreathSummary, chest_rate
from biofeedback.review.trace import draw_trace

BREATH_COLOUR = "#2a8a6a"
PACED_COLOUR = "#303030"
HOLD_COLOUR = "#e0b0e0"


def draw_breath(ax: Any, rec: Recording, breath: BreathSummary, scale: float, columns: int) -> None:
    """Each breath's rate (dots; the chest's running rate as a line), the pacer's
    rate as steps (a glide shows as its stairs down) with the rate breathed in
    each paced span beside it (a broad band, as review's text gives it), and
    holds shaded. The
    running rate is thinned to ``columns`` pixel columns' lows and highs."""
    est_t, est_rate = chest_rate(rec)
    if est_t.size:
        draw_trace(ax, est_t / scale, est_rate, BREATH_COLOUR, columns, width=0.8, alpha=0.6)
    if rec.breaths:
        onset = np.array([b.onset_t_s for b in rec.breaths]) / scale
        ax.plot(onset, [b.per_min for b in rec.breaths], ".", color=BREATH_COLOUR, markersize=3)
    for p in breath.paced:
        ax.plot(
            [p.start_s / scale, p.end_s / scale],
            [p.paced_per_min] * 2,
            color=PACED_COLOUR,
            linewidth=1.4,
            linestyle="--" if p.glide else "-",
        )
        if p.breathed_per_min is not None:
            # What the text and --json say was breathed in the span, beside the pace.
            ax.plot(
                [p.start_s / scale, p.end_s / scale],
                [p.breathed_per_min] * 2,
                color=BREATH_COLOUR,
                linewidth=3.0,
                alpha=0.5,
                solid_capstyle="butt",
            )
    if breath.holds:
        ax.broken_barh(
            [(h.started_t / scale, h.duration_s / scale) for h in breath.holds],
            (0, 1),
            transform=ax.get_xaxis_transform(),
            facecolor=HOLD_COLOUR,
            zorder=0.8,
        )
    ax.set_ylabel("breaths a minute")
    _, high = ax.get_ylim()
    ax.set_ylim(0.0, max(high, 12.0))


def breath_legend() -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    return [
        Line2D([], [], color=BREATH_COLOUR, marker=".", label="breath taken (chest)"),
        Line2D([], [], color=BREATH_COLOUR, linewidth=3.0, alpha=0.5, label="breathed while paced"),
        Line2D([], [], color=PACED_COLOUR, label="breath paced"),
        Line2D([], [], color=PACED_COLOUR, linestyle="--", label="pacer gliding down"),
        Patch(facecolor=HOLD_COLOUR, label="breath held"),
    ]
