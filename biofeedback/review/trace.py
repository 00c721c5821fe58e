"""A series on a panel: as a line, or for a long one its per-pixel envelope."""

from __future__ import annotations

from typing import Any

import numpy as np

from biofeedback.review.decimate import envelope


def draw_trace(
    ax: Any,
    x: np.ndarray,
    y: np.ndarray,
    colour: str,
    columns: int,
    width: float = 0.9,
    **line: Any,
) -> None:
    """``y`` over ``x`` as a line; when it has more points than ``columns``
    pixel columns can show, the mean of each column over a band from its lowest
    to its highest value, so no spike is lost. ``line``: more of the line's style."""
    env = envelope(x, y, columns)
    if env is None:
        ax.plot(x, y, color=colour, linewidth=width, **line)
        return
    # Steps: each column a bar a pixel wide, so a one-second spike keeps its height
    # (a polygon through the columns' tops would narrow it to a sliver).
    ax.fill_between(env.x, env.low, env.high, step="mid", color=colour, alpha=0.25, linewidth=0)
    ax.plot(env.x, env.mean, color=colour, linewidth=0.7, **line)
