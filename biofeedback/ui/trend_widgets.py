"""The trend widgets: a plot of one series over time and the strip naming each
stretch under it (step kind on the live screen, zone in a review).

Colours live in app.tcss (component classes); each band also has a word or a
letter, so nothing is said by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from biofeedback.models import StepKind, Zone
from biofeedback.ui.state import TrendPoint
from biofeedback.ui.widgets import StyledLines

KIND_GROUP = {
    StepKind.TENSE: "tense",
    StepKind.RELEASE: "release",
    StepKind.MASSAGE: "release",
    StepKind.BREATH: "breath",
    StepKind.REST: "rest",
    StepKind.SCAN: "rest",
    StepKind.IMAGERY: "rest",
}
KIND_GROUPS = ("tense", "release", "breath", "rest")
# A stretch too short for its word shows one character (the review's help lists them):
# rest gets a dot, so R always means release.
INITIALS = {
    "tense": "T",
    "release": "R",
    "breath": "B",
    "rest": "·",
    "green": "G",
    "yellow": "Y",
    "red": "R",
}
ZONE_GROUPS = tuple(z.value for z in Zone)


def kind_group(point: TrendPoint) -> str | None:
    return None if point.kind is None else KIND_GROUP[point.kind]


def zone_group(point: TrendPoint) -> str | None:
    return None if point.zone is None else point.zone.value


BANDS = {"kind": kind_group, "zone": zone_group}

_BLOCKS = " ▁▂▃▄▅▆▇█"
# An empty stretch shorter than this is only binning, not missing data.
_CARRY_S = 3.0


def time_window(points: Sequence[TrendPoint], max_s: float, min_s: float = 60.0) -> float:
    """Seconds the plots span: ``min_s`` at first, growing with the session up to ``max_s``."""
    if not points:
        return min_s
    return min(max(points[-1].t_s - points[0].t_s, min_s), max_s)


def columns(points: Sequence[TrendPoint], n: int, window_s: float) -> list[list[TrendPoint]]:
    """The points falling in each of ``n`` equal slices of the window ending now.

    A slice with no point of its own borrows the one before it when that is
    recent, so a window wider than one point a column has no false gaps.
    """
    out: list[list[TrendPoint]] = [[] for _ in range(n)]
    if not points:
        return out
    # Until the window is full the trace grows from the left edge; then it scrolls.
    start = max(points[0].t_s, points[-1].t_s - window_s)
    for point in points:
        if point.t_s >= start:
            out[min(int((point.t_s - start) / window_s * n), n - 1)].append(point)
    last: TrendPoint | None = None
    for i, column in enumerate(out):
        column_start = start + i * window_s / n
        if column:
            last = column[-1]
        elif last is not None and column_start - last.t_s < _CARRY_S:
            out[i] = [last]
    return out


def column_groups(
    points: Sequence[TrendPoint], width: int, window_s: float, band: str = "kind"
) -> list[str | None]:
    """The band (step kind group, or zone) of each column: its latest point's."""
    group_of = BANDS[band]
    groups: list[str | None] = []
    for column in columns(points, width, window_s):
        tagged = [g for p in column if (g := group_of(p)) is not None]
        groups.append(tagged[-1] if tagged else None)
    return groups


class _TrendLines(StyledLines):
    """Base of the trend widgets: lines rebuilt only when data or size change.

    ``band`` says what shades the columns: the step kind (a live session) or
    the zone (a review).
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"trendplot--{g}" for g in (*KIND_GROUPS, *ZONE_GROUPS)
    }

    def __init__(self, *, band: str = "kind", id: str | None = None) -> None:
        super().__init__(id=id)
        self.band = band
        self.points: tuple[TrendPoint, ...] = ()
        self.window_s = 60.0
        self._lines: list[Strip] = []
        self._lines_key: tuple[int, int] | None = None

    def show(self, points: tuple[TrendPoint, ...], window_s: float) -> None:
        self.points = points
        self.window_s = window_s
        self._lines_key = None
        self.refresh()

    def notify_style_update(self) -> None:
        self._lines_key = None
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size.width, self.content_size.height
        if self._lines_key != (width, height):
            self._lines = self.build(width, height) if width > 0 and height > 0 else []
            self._lines_key = (width, height)
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, self.style_of())

    def build(self, width: int, height: int) -> list[Strip]:
        raise NotImplementedError

    def shade(self, group: str | None) -> Style:
        return self.style_of(f"trendplot--{group}" if group else None)


def _runs(cells: list[tuple[str, Style]], width: int) -> Strip:
    """One strip from (character, style) cells, neighbours of one style merged."""
    segments: list[Segment] = []
    for char, style in cells:
        if segments and segments[-1].style is style:
            segments[-1] = Segment(segments[-1].text + char, style)
        else:
            segments.append(Segment(char, style))
    return Strip(segments, width)


class TrendPlot(_TrendLines):
    """One series over the last minutes as a filled area, coloured by step kind."""

    COMPONENT_CLASSES: ClassVar[set[str]] = _TrendLines.COMPONENT_CLASSES | {
        "trendplot--area",
        "trendplot--scale",
    }

    def __init__(
        self,
        field: str,
        min_span: float,
        *,
        band: str = "kind",
        digits: int = 0,
        id: str | None = None,
    ) -> None:
        super().__init__(band=band, id=id)
        self.field = field
        self.min_span = min_span
        self.digits = digits
        # The values at the top and bottom of the plot, once drawn.
        self.scale: tuple[float, float] | None = None

    def heights(self, width: int, levels: int) -> list[int | None]:
        """Filled height of each column in 0..levels (None: no data there)."""
        values: list[float | None] = []
        for column in columns(self.points, width, self.window_s):
            got = [v for p in column if (v := getattr(p, self.field)) is not None]
            values.append(sum(got) / len(got) if got else None)
        present = [v for v in values if v is not None]
        if not present:
            return [None] * width
        lo, hi = min(present), max(present)
        if hi - lo < self.min_span:
            mid = (hi + lo) / 2
            lo, hi = mid - self.min_span / 2, mid + self.min_span / 2
        self.scale = (lo, hi)
        # The lowest value still shows as a sliver, so the area never vanishes.
        floor = lo - (hi - lo) * 0.1
        return [
            None if v is None else max(1, round((v - floor) / (hi - floor) * levels))
            for v in values
        ]

    def build(self, width: int, height: int) -> list[Strip]:
        self.scale = None
        heights = self.heights(width, height * 8)
        groups = column_groups(self.points, width, self.window_s, self.band)
        area = self.style_of("trendplot--area")
        styles = [area + self.shade(g) if g else area for g in groups]
        # The scale on the left edge (the oldest data; the newest is on the right):
        # the top row's value and the bottom row's.
        labels: dict[int, str] = {}
        if self.scale is not None and height >= 2:
            lo, hi = self.scale
            labels = {0: f"{hi:.{self.digits}f}", height - 1: f"{lo:.{self.digits}f}"}
        scale_style = self.style_of("trendplot--scale")
        lines = []
        for row in range(height):
            below = (height - 1 - row) * 8
            cells = [
                (_BLOCKS[0 if h is None else min(max(h - below, 0), 8)], styles[col])
                for col, h in enumerate(heights)
            ]
            label = labels.get(row)
            if label and len(label) < width:
                cells[: len(label) + 1] = [(c, scale_style) for c in f"{label} "]
            lines.append(_runs(cells, width))
        return lines


class KindStrip(_TrendLines):
    """One row under the plots naming each stretch's band: step kind or zone (word or initial)."""

    def build(self, width: int, height: int) -> list[Strip]:
        groups = column_groups(self.points, width, self.window_s, self.band)
        segments: list[Segment] = []
        start = 0
        while start < width:
            group = groups[start]
            end = start
            while end < width and groups[end] == group:
                end += 1
            run = end - start
            label = "" if group is None else INITIALS[group]
            if group is not None:
                # A word keeps a blank from its neighbours on both sides, so two
                # bands never read as one word ("Yred"); else the initial.
                lead = " " if start > 0 else ""
                room = run - (1 if end < width else 0)
                if room >= len(lead) + len(group):
                    label = lead + group
            segments.append(Segment(label[:run].ljust(run), self.shade(group)))
            start = end
        return [Strip(segments, width)]
