"""Dashboard widgets. Each is fed by setting attributes; none knows the session.

Colours live in app.tcss (component classes); every colour here also has a
word or a shape beside it, so nothing is said by colour alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Digits, Static

from biofeedback.models import StepKind, Zone
from biofeedback.pacing import texts
from biofeedback.ui.state import TrendPoint

# --------------------------------------------------------------------------
# Zone


ZONE_TEXT = {
    Zone.GREEN: ("●", "GREEN", "full practice"),
    Zone.YELLOW: ("▲", "YELLOW", "gentle, breath-led"),
    Zone.RED: ("■", "RED", "rest only"),
}


class ZoneBadge(Static):
    """The zone by shape, name and colour."""

    zone: reactive[Zone | None] = reactive(None)

    def watch_zone(self, zone: Zone | None) -> None:
        for z in Zone:
            self.set_class(zone is z, f"-{z.value}")
        if zone is None:
            self.update("")
            return
        shape, name, meaning = ZONE_TEXT[zone]
        self.update(f"{shape} {name} · {meaning}")


# --------------------------------------------------------------------------
# Countdown


class Countdown(Digits):
    """Seconds left in the step, as large m:ss digits."""

    seconds: reactive[int] = reactive(0)

    def watch_seconds(self, seconds: int) -> None:
        minutes, secs = divmod(max(seconds, 0), 60)
        self.update(f"{minutes}:{secs:02d}")


def whole_seconds_left(remaining_s: float) -> int:
    # A step with 4.2 s left shows 5: the count reaches 0 as the step ends.
    return max(math.ceil(remaining_s - 1e-6), 0)


# --------------------------------------------------------------------------
# Breathing pacer


_EIGHTHS = " ▏▎▍▌▋▊▉█"
PACER_FPS = 12.0


def breath_phase(t_s: float, in_s: float, out_s: float) -> tuple[bool, float, float]:
    """(inhaling, lung fill 0..1, seconds left in this half) at ``t_s`` into the pattern."""
    p = t_s % (in_s + out_s)
    if p < in_s:
        return True, _ease(p / in_s), in_s - p
    return False, 1.0 - _ease((p - in_s) / out_s), in_s + out_s - p


def _ease(x: float) -> float:
    # Breath speeds up and slows down at the turns, like a sine.
    return (1.0 - math.cos(math.pi * min(max(x, 0.0), 1.0))) / 2.0


class StyledLines(Widget):
    """A widget drawn line by line (Textual's line API) from cached strips.

    Drawing strips directly, and only when they change, keeps a live view
    cheap: the pacer redraws many times a second.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._style_cache: dict[str, Style] = {}

    def style_of(self, component: str | None = None) -> Style:
        """The widget's own style, with a component class's on top."""
        key = component or ""
        style = self._style_cache.get(key)
        if style is None:
            style = self.rich_style
            if component:
                style += self.get_component_rich_style(component)
            self._style_cache[key] = style
        return style

    def notify_style_update(self) -> None:
        self._style_cache.clear()
        super().notify_style_update()

    def text_strip(self, text: Text) -> Strip:
        width = self.content_size.width
        segments = list(text.render(self.app.console))
        return Strip(segments).adjust_cell_length(width, self.style_of())


class Pacer(StyledLines):
    """A bar that fills as you breathe in and empties as you breathe out.

    The phase is ``phase_s`` seconds into the pattern at monotonic time ``anchor_s``,
    advancing at ``rate`` pattern seconds per wall second (0 holds it still:
    paused, or time running faster than anyone could breathe). With ``motion``
    off the bar is gone and only the words change.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pacer--in",
        "pacer--out",
        "pacer--track",
        "pacer--label",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.breath: tuple[float, float] | None = None
        self.phase_s = 0.0
        self.anchor_s = time.monotonic()
        self.rate = 0.0
        self.motion = True
        self.idle_text = texts.IDLE_PACER
        self.animating = False
        self._drawn: tuple[bool, int] | None = None
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self._timer = self.set_interval(1.0 / PACER_FPS, self._frame, pause=not self.animating)

    def show(
        self, breath: tuple[float, float] | None, phase_s: float, rate: float, motion: bool
    ) -> None:
        self.breath = breath
        self.phase_s = phase_s
        self.anchor_s = time.monotonic()
        self.rate = rate
        self.motion = motion
        self.animating = motion and breath is not None and rate > 0
        if self._timer is not None:
            if self.animating:
                self._timer.resume()
            else:
                self._timer.pause()
        self._drawn = None
        self.refresh()

    def current_phase_s(self) -> float:
        return self.phase_s + (time.monotonic() - self.anchor_s) * self.rate

    def _now(self) -> tuple[bool, int, float]:
        """(inhaling, bar length in eighths of a cell, seconds left in this half)."""
        assert self.breath is not None
        inhaling, fill, left_s = breath_phase(self.current_phase_s(), *self.breath)
        return inhaling, round(fill * self.content_size.width * 8), left_s

    def _frame(self) -> None:
        if self.breath is None:
            return
        inhaling, eighths, _ = self._now()
        drawn = self._drawn
        if drawn == (inhaling, eighths):
            return
        if drawn is not None and drawn[0] == inhaling:
            # Only the bar moved: redraw its one line.
            self.refresh(Region(0, 1, self.size.width, 1))
        else:
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if self.breath is None:
            if y == 0 and self.idle_text:
                label = self.style_of("pacer--label")
                return self.text_strip(Text().append(self.idle_text, style=label))
            return Strip.blank(width, self.style_of())
        inhaling, eighths, left_s = self._now()
        if y == 0:
            return self._label(inhaling, left_s)
        if y == 1 and self.motion:
            self._drawn = (inhaling, eighths)
            return self._bar(inhaling, eighths, width)
        return Strip.blank(width, self.style_of())

    def _label(self, inhaling: bool, left_s: float) -> Strip:
        assert self.breath is not None
        in_s, out_s = self.breath
        label = self.style_of("pacer--label")
        text = Text()
        text.append("Breathe in" if inhaling else "Breathe out", style=label + _BOLD)
        if not self.motion:
            # Without the bar, the seconds left in this half carry the rhythm.
            text.append(f" · {math.ceil(left_s - 1e-6)} s", style=label + _BOLD)
        text.append(f"   (in {in_s:g} s, out {out_s:g} s)", style=label)
        return self.text_strip(text)

    def _bar(self, inhaling: bool, eighths: int, width: int) -> Strip:
        fill = self.style_of("pacer--in" if inhaling else "pacer--out")
        track = self.style_of("pacer--track")
        full, part = divmod(min(eighths, width * 8), 8)
        segments = [Segment("█" * full, fill)]
        if full < width:
            segments.append(Segment(_EIGHTHS[part], fill + Style(bgcolor=track.bgcolor)))
            segments.append(Segment(" " * (width - full - 1), track))
        return Strip(segments, width)


_BOLD = Style(bold=True)


# --------------------------------------------------------------------------
# Trend plot and the step-kind strip under it


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
            label = "" if group is None else group if run > len(group) else INITIALS[group]
            segments.append(Segment(label[:run].ljust(run), self.shade(group)))
            start = end
        return [Strip(segments, width)]
