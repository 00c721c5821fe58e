"""Dashboard widgets. Each is fed by setting attributes; none knows the session.

Colours live in app.tcss (component classes); every colour here also has a
word or a shape beside it, so nothing is said by colour alone.
"""

from __future__ import annotations

import math
import time
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

from biofeedback.models import Zone
from biofeedback.pacing.breath import breath_phase
from biofeedback.routines import texts

# --------------------------------------------------------------------------
# Zone


ZONE_TEXT = {
    Zone.GREEN: ("●", "GREEN", "full practice"),
    Zone.YELLOW: ("▲", "YELLOW", "gentle, breath-led"),
    Zone.RED: ("■", "RED", "rest only"),
}


class ZoneBadge(Static):
    """The person's zone (as recorded) by shape, name and colour; a routine gentler
    than that zone (rest chosen in Green, the resonance assessment) is said in words
    beside it, so the badge never names a zone the record does not."""

    shown: reactive[tuple[Zone | None, Zone | None]] = reactive((None, None))

    def show(self, zone: Zone | None, routine_zone: Zone | None) -> None:
        self.shown = (zone, routine_zone)

    def watch_shown(self, shown: tuple[Zone | None, Zone | None]) -> None:
        zone, routine_zone = shown
        zone = zone or routine_zone
        for z in Zone:
            self.set_class(zone is z, f"-{z.value}")
        if zone is None:
            self.update("")
            return
        shape, name, meaning = ZONE_TEXT[zone]
        if routine_zone is not None and _ZONE_ORDER.index(routine_zone) > _ZONE_ORDER.index(zone):
            meaning = f"this routine: {ZONE_TEXT[routine_zone][2]}"
        self.update(f"{shape} {name} · {meaning}")


_ZONE_ORDER = (Zone.GREEN, Zone.YELLOW, Zone.RED)


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
        # The breath taken, beside the paced one (``ui.breath_view``); "" for none.
        self.taken = ""
        # The pace shown is one that met a fast breather and glides down.
        self.gliding = False
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
                idle = Text().append(self.idle_text, style=label)
                if self.taken:
                    idle.append(f"  {self.taken}", style=label)
                return self.text_strip(idle)
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
        # A glided pace is no whole number of seconds: a tenth is enough to read.
        slowing = ", slowing" if self.gliding else ""
        text.append(
            f"   (in {round(in_s, 1):g} s, out {round(out_s, 1):g} s{slowing})", style=label
        )
        if self.taken:
            text.append(f"  {self.taken}", style=label)
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
