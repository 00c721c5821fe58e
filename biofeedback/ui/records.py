"""Looking back: one recorded session (review) and all of them (history).

The CLI reads the store and the review layer and hands in plain data: a
``Recording`` (models) with the review's text summary, and a history whose
shape is described here by protocols, so this package never imports them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from biofeedback.models import Recording
from biofeedback.models.record import record
from biofeedback.ui.messages import ReviewRequested
from biofeedback.ui.state import TrendPoint, recording_trend
from biofeedback.ui.trend_widgets import KindStrip, TrendPlot


def local_time(unix_s: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(unix_s))


def minutes(t_s: float) -> str:
    whole_minutes, seconds = divmod(round(t_s), 60)
    return f"{whole_minutes}:{seconds:02d}"


# --------------------------------------------------------------------------
# Review


@record(frozen=True)
class ReviewView:
    """One recorded session and the review layer's summary of it, as text."""

    recording: Recording
    summary: str


def _range(points: Sequence[TrendPoint], field: str, unit: str, fmt: str = ".0f") -> str:
    values = [v for p in points if (v := getattr(p, field)) is not None]
    if not values:
        return "no data"
    return f"{min(values):{fmt}}–{max(values):{fmt}} {unit}".strip()


class ReviewScreen(Screen[None]):
    """Heart rate, RMSSD and arousal over the whole session in zone bands,
    the steps under them, and the summary."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "close", "Close", id="review.close"),
    ]

    def __init__(self, view: ReviewView) -> None:
        super().__init__(id="review")
        self.view = view
        self.points = recording_trend(view.recording)

    def compose(self) -> ComposeResult:
        session = self.view.recording.session
        status = (session.end_reason or "ended") if session.finished else "unfinished"
        yield Static(
            f"Review · {session.session_id} · {local_time(session.started_at_unix_s)}"
            f" · {session.protocol} · {minutes(session.length_s)} · {status}",
            id="review-title",
        )
        points = self.points
        with Horizontal(id="review-plots"):
            with Vertical(id="review-labels"):
                yield Static(f"Heart rate\n{_range(points, 'hr_bpm', 'bpm')}", id="label-hr")
                yield Static(f"RMSSD\n{_range(points, 'rmssd_ms', 'ms')}", id="label-rmssd")
                yield Static(f"Arousal\n{_range(points, 'arousal', '', '+.1f')}", id="label-ar")
                yield Static("Zone", classes="strip-label")
                yield Static("Steps", classes="strip-label")
            with Vertical(id="review-series"):
                yield TrendPlot("hr_bpm", 8.0, band="zone", id="review-hr")
                yield TrendPlot("rmssd_ms", 10.0, band="zone", id="review-rmssd")
                yield TrendPlot("arousal", 2.0, band="zone", digits=1, id="review-arousal")
                yield KindStrip(band="zone", id="review-zones")
                yield KindStrip(band="kind", id="review-steps")
        with VerticalScroll(id="review-summary"):
            yield Static(self.view.summary, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        points = self.points
        # The whole session, from its first estimate to its last.
        window_s = max(points[-1].t_s - points[0].t_s, 1.0) if points else 1.0
        for plot in self.query(TrendPlot):
            plot.show(points, window_s)
        for strip in self.query(KindStrip):
            strip.show(points, window_s)

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()


# --------------------------------------------------------------------------
# History


class EntryLike(Protocol):
    """One past session as the review layer lists it (review.HistoryEntry)."""

    @property
    def session_id(self) -> str: ...

    @property
    def started_at_unix_s(self) -> float: ...

    @property
    def protocol(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    @property
    def end_reason(self) -> str | None: ...

    @property
    def duration_s(self) -> float: ...

    @property
    def resting_hr_bpm(self) -> float | None: ...

    @property
    def resting_rmssd_ms(self) -> float | None: ...


class TrendLike(Protocol):
    """A change between recent and earlier sessions (review.Trend)."""

    @property
    def recent(self) -> float: ...

    @property
    def change(self) -> float: ...

    @property
    def recent_sessions(self) -> int: ...

    @property
    def earlier_sessions(self) -> int: ...


class HistoryLike(Protocol):
    """Past sessions, newest first, with trends (review.History)."""

    @property
    def entries(self) -> Sequence[EntryLike]: ...

    @property
    def hr_trend(self) -> TrendLike | None: ...

    @property
    def rmssd_trend(self) -> TrendLike | None: ...

    @property
    def trend_includes_virtual(self) -> bool: ...


OpenReview = Callable[[str], ReviewView]
"""Loads one session for the review screen, by id."""


def _num(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{value:.1f} {unit}"


NO_TREND = (
    "no trend yet; it needs two sessions that reached their resting baseline (the"
    " first minute), your own strap's first, simulated or replayed ones only"
    " while you have fewer than two"
)
# Enough of an id to tell sessions apart on screen (`biofeedback history` prints them whole).
ID_SHOWN = 8
_END_WORDS = {
    "completed": "done",
    "duration reached": "time up",
    "stopped by user": "stopped",
}


def _short(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def source_word(source: str) -> str:
    """One word for where the heart data came from."""
    kind = source.split(":", 1)[0]
    return {"simulator": "sim", "replay": "replay", "mqtt": "mqtt"}.get(kind, "strap")


def end_word(finished: bool, reason: str | None) -> str:
    if not finished:
        return "unfinished"
    return _END_WORDS.get(reason or "completed", (reason or "ended")[:10])


def trend_text(label: str, trend: TrendLike | None, unit: str) -> str:
    if trend is None:
        return f"{label}: {NO_TREND}."
    latest = f"{label}: {trend.recent:.1f} {unit} over the latest {trend.recent_sessions}"
    earlier = f"the {trend.earlier_sessions} before"
    if round(trend.change, 1) == 0:
        return f"{latest}, about the same as {earlier}."
    direction = "lower" if trend.change < 0 else "higher"
    return f"{latest}, {abs(trend.change):.1f} {unit} {direction} than {earlier}."


class HistoryScreen(Screen[None]):
    """Past sessions, newest first, with resting heart rate and RMSSD over time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Review", priority=True, id="history.open"),
        Binding("q,escape", "close", "Close", id="history.close"),
    ]

    def __init__(self, history: HistoryLike, open_review: OpenReview | None) -> None:
        super().__init__(id="history")
        self.history = history
        self.open_review = open_review

    def compose(self) -> ComposeResult:
        history = self.history
        count = len(history.entries)
        yield Static(f"History · {count} session{'s' if count != 1 else ''}", id="history-title")
        # Oldest first, so the line reads left to right as time goes on.
        oldest_first = list(reversed(history.entries))
        for label, unit, values in (
            ("Resting HR", "bpm", [e.resting_hr_bpm for e in oldest_first]),
            ("RMSSD", "ms", [e.resting_rmssd_ms for e in oldest_first]),
        ):
            known = [v for v in values if v is not None]
            span = f"{min(known):.0f}–{max(known):.0f} {unit}" if known else "no data"
            with Horizontal(classes="history-trend"):
                yield Static(f"{label}\n{span}", classes="trend-label")
                yield Sparkline(known)
        notes = [
            trend_text("Resting heart rate", history.hr_trend, "bpm"),
            trend_text("Resting RMSSD", history.rmssd_trend, "ms"),
        ]
        if history.trend_includes_virtual:
            notes.append("These trends include simulated or replayed sessions.")
        yield Static("\n".join(notes), id="history-notes")
        table: DataTable[str] = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Every column fits 80 terminal columns: units in the headers, short words.
        for key, label in (
            ("when", "When"),
            ("id", "Session"),
            ("length", "Length"),
            ("hr", "HR bpm"),
            ("rmssd", "RMSSD ms"),
            ("protocol", "Protocol"),
            ("source", "Source"),
            ("status", "Ended"),
        ):
            table.add_column(label, key=key)
        for e in self.history.entries:
            table.add_row(
                time.strftime("%m-%d %H:%M", time.localtime(e.started_at_unix_s)),
                e.session_id[:ID_SHOWN],
                minutes(e.duration_s),
                _short(e.resting_hr_bpm),
                _short(e.resting_rmssd_ms),
                e.protocol,
                source_word(e.source),
                end_word(e.finished, e.end_reason),
                key=e.session_id,
            )
        if not self.history.entries:
            self.query_one("#history-notes", Static).update(
                "No sessions recorded yet. Try one with: biofeedback run --sim"
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.open_review is not None and bool(self.history.entries)
        return True

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        self.post_message(ReviewRequested(str(row_key.value)))

    @on(DataTable.RowSelected)
    def _clicked(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_close(self) -> None:
        self.app.exit()
