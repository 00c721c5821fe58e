"""Looking back at recorded sessions: summaries, history, plots and exports.

No UI code and no store access: the CLI (or a UI screen) loads a
``Recording`` from the store and hands it here. ``summary`` measures one
session, ``history`` lists many, ``export`` writes files for other tools and
``plot`` draws the figure (matplotlib, imported only when asked for).
"""

from biofeedback.review.export import CSV_COLUMNS, write_csv, write_rr
from biofeedback.review.history import (
    TREND_SESSIONS,
    History,
    HistoryEntry,
    Trend,
    build_history,
    format_history,
)
from biofeedback.review.plot import render_plot
from biofeedback.review.series import ReviewError, clean_rr, flagged_share
from biofeedback.review.summary import (
    BEFORE_STEP_S,
    CHANGE_TYPES,
    FINAL_WINDOW_S,
    RegionResponse,
    SessionSummary,
    Vitals,
    describe_change,
    format_summary,
    summarize,
    summary_json,
)
from biofeedback.review.text import clock

__all__ = [
    "BEFORE_STEP_S",
    "CHANGE_TYPES",
    "CSV_COLUMNS",
    "FINAL_WINDOW_S",
    "TREND_SESSIONS",
    "History",
    "HistoryEntry",
    "RegionResponse",
    "ReviewError",
    "SessionSummary",
    "Trend",
    "Vitals",
    "build_history",
    "clean_rr",
    "clock",
    "describe_change",
    "flagged_share",
    "format_history",
    "format_summary",
    "render_plot",
    "summarize",
    "summary_json",
    "write_csv",
    "write_rr",
]
