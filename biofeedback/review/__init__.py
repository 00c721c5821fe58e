"""Looking back at recorded sessions: summaries, history, plots and exports.

No UI code and no store access: the CLI (or a UI screen) loads a
``Recording`` from the store and hands it here. ``summary`` measures one
session, ``history`` lists many, ``export`` writes files for other tools and
``plot`` draws the figure (matplotlib, imported only when asked for).

Each name below is loaded when first used (PEP 562): a command that needs one part
(`run` asks the resonance module whether an assessment found a rate) does not
load the summaries, exports and plots with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

# Which module of the package holds each public name.
_WHERE = {
    "BEFORE_STEP_S": "summary",
    "CHANGE_TYPES": "summary",
    "CSV_COLUMNS": "export",
    "FINAL_WINDOW_S": "summary",
    "History": "history",
    "HistoryEntry": "history",
    "RegionResponse": "summary",
    "ReviewError": "series",
    "SessionSummary": "summary",
    "TREND_SESSIONS": "history",
    "Trend": "history",
    "Vitals": "summary",
    "build_history": "history",
    "clean_rr": "series",
    "clock": "text",
    "describe_change": "summary",
    "flagged_share": "series",
    "format_history": "history",
    "format_summary": "summary",
    "render_plot": "plot",
    "summarize": "summary",
    "summary_json": "summary",
    "write_csv": "export",
    "write_rr": "export",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


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
