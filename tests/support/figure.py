"""Checks of a drawn review figure's layout (the layout is fixed, not measured)."""

from __future__ import annotations

import itertools
from typing import Any


def assert_laid_out(fig: Any) -> None:
    """Every text lies inside the figure, no panel overlaps the next, and the
    legend sits below the x label, which sits below the panels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas: Any = FigureCanvasAgg(fig)  # matplotlib's canvas is untyped
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = canvas.get_width_height()
    # Tick labels are measured with their panel (which counts only the ticks drawn).
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for t in axis.findobj(Text)}
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes] + [
        text.get_window_extent(renderer)
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text() and id(text) not in ticks
    ]
    for box in boxes:
        assert box.x0 >= -0.5, box
        assert box.y0 >= -0.5, box
        assert box.x1 <= width + 0.5, box
        assert box.y1 <= height + 0.5, box
    panels = [ax.get_window_extent(renderer) for ax in fig.axes]
    for upper, lower in itertools.pairwise(panels):
        assert lower.y1 < upper.y0
    # Each panel's labels stay clear of the panel below it.
    for ax, lower in zip(fig.axes, panels[1:], strict=False):
        assert ax.get_tightbbox(renderer).y0 > lower.y1 - 1
    xlabel = fig.axes[-1].xaxis.label.get_window_extent(renderer)
    (legend,) = fig.legends
    assert legend.get_window_extent(renderer).y1 < xlabel.y0
    title = fig._suptitle.get_window_extent(renderer)  # noqa: SLF001
    assert title.y0 > max(ax.get_tightbbox(renderer).y1 for ax in fig.axes[:1]) - 1
