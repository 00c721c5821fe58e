"""The review figure names what it shows (issue 18, item 10): a legend, named zone
bands, a labelled baseline and thresholds, body regions on tense steps, and
shaded signal gaps. Read from the matplotlib figure itself. A long session is
drawn per pixel column, its spikes kept, in a fixed layout (issue 28)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from biofeedback.models import Quality, Recording, StepKind, StepStarted, ZoneChanged
from biofeedback.models.records import EstimateRow
from biofeedback.pacing.rules import PacingConfig
from biofeedback.review import render_plot, summarize
from biofeedback.review.plot import ZONE_NAMES, build_figure
from biofeedback.review.series import RecordSeries
from biofeedback.store import Store
from tests.support.cli import run_cli
from tests.support.figure import assert_laid_out

pytest.importorskip("matplotlib", reason="the plot extra is not installed")


@pytest.fixture(scope="module")
def dropouts(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """A simulated session whose strap drops out three times, with an anxious turn."""
    db = tmp_path_factory.mktemp("plot") / "p.db"
    proc = run_cli(
        "run", "--sim", "dropouts", "--headless", "--speed", "max", "--duration", "300",
        "--db", str(db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with Store(db) as store:
        return store.load("latest")


def texts(fig: object) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]  # type: ignore[attr-defined]


def test_the_figure_has_a_legend_for_every_mark(dropouts: Recording) -> None:
    fig = build_figure(dropouts, summarize(dropouts))
    (legend,) = fig.legends
    labels = {t.get_text() for t in legend.get_texts()}
    assert {
        "heart rate",
        "RMSSD",
        "arousal",
        "resting baseline",
        "arousal thresholds",
        "no signal",
        "tense step starts",
        "other step starts",
        "extension or zone change",
    } <= labels
    assert {f"zone {name}" for name in ZONE_NAMES.values()} <= labels


def test_bands_baseline_thresholds_regions_and_units_are_named(dropouts: Recording) -> None:
    summary = summarize(dropouts)
    fig = build_figure(dropouts, summary)
    words = texts(fig)
    hr_ax, rmssd_ax, arousal_ax = fig.axes
    assert "bpm" in hr_ax.get_ylabel()
    assert "ms" in rmssd_ax.get_ylabel()
    assert "resting swing" in arousal_ax.get_ylabel()
    assert summary.baseline.hr_bpm is not None
    assert f"resting baseline {summary.baseline.hr_bpm:.0f} bpm" in words
    rules = PacingConfig()
    assert any(w.endswith(f" {rules.step_down_above:g}") and "steps down" in w for w in words)
    assert any(w.endswith(f" {rules.extend_above:g}") and "extended" in w for w in words)
    # The start zone's band is wide enough to carry its name.
    assert ZONE_NAMES[dropouts.session.start_zone] in words  # type: ignore[index]
    tense = [
        e.region for e in dropouts.events if isinstance(e, StepStarted) and e.kind is StepKind.TENSE
    ]
    assert tense
    regions = [t.get_text().strip() for t in rmssd_ax.texts if t.get_rotation() == 90]
    assert regions == tense


def hatched_spans(ax: Any) -> list[tuple[float, float]]:
    """The (start, end) x of each shape of the one hatched artist on ``ax``."""
    hatched = [a for a in [*ax.patches, *ax.collections] if a.get_hatch()]
    assert len(hatched) == 1, hatched
    (artist,) = hatched
    paths = artist.get_paths() if hasattr(artist, "get_paths") else [artist.get_path()]
    # One path, hatched in one pass: a path per gap took seconds for a day of dropouts.
    (path,) = paths
    spans = []
    for shape in path.to_polygons(closed_only=False):
        # Each shape spans the panel's height.
        assert shape[:, 1].min() == 0.0
        assert shape[:, 1].max() == 1.0
        spans.append((float(shape[:, 0].min()), float(shape[:, 0].max())))
    return spans


def test_signal_gaps_are_shaded(dropouts: Recording) -> None:
    """Every second without a signal is under the hatched shape of every panel,
    and no second with one is (gaps are drawn as one shape a panel, issue 28)."""
    fig = build_figure(dropouts, summarize(dropouts))
    t_s = np.array([row[0] for row in dropouts.estimate_rows]) / 60.0
    silent = np.array([row[4] == "no_signal" for row in dropouts.estimate_rows])
    runs = int(np.sum(np.diff(np.concatenate(([0], silent.astype(int), [0]))) == 1))
    # The scenario's strap goes silent three times.
    assert runs >= 3
    tick = float(np.median(np.diff(t_s)))
    # An estimate stands for the tick before it: the middle of that tick is shaded.
    middles = t_s - tick / 2
    for ax in fig.axes:
        spans = hatched_spans(ax)
        covered = np.zeros(middles.size, bool)
        for a, b in spans:
            covered |= (middles > a) & (middles < b)
        np.testing.assert_array_equal(covered, silent)


def test_png_is_written_with_changes_marked(dropouts: Recording) -> None:
    png = render_plot(dropouts, summarize(dropouts), "png")
    assert png.startswith(b"\x89PNG")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1100, 750)
    changes = [e for e in dropouts.events if isinstance(e, ZoneChanged)]
    fig = build_figure(dropouts, summarize(dropouts))
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "v"]
    assert len(markers) == (1 if changes or summarize(dropouts).extended_s else 0)


def test_a_short_session_is_drawn_point_for_point_in_a_fixed_layout(dropouts: Recording) -> None:
    fig = build_figure(dropouts, summarize(dropouts))
    series = RecordSeries.of(dropouts)
    # Fewer points than pixels: every estimate is on the line, as before issue 28.
    line = fig.axes[0].lines[0]
    np.testing.assert_array_equal(line.get_xdata(), series.est_t_s / 60.0)
    np.testing.assert_array_equal(line.get_ydata(), series.est_hr_bpm)
    assert fig.get_layout_engine() is None
    assert_laid_out(fig)


def day_of(rec: Recording, spikes: dict[int, float]) -> Recording:
    """``rec``'s estimates repeated to a day (86,400 one-second rows; the copies
    with a signal throughout: hatching thousands of gaps is slow), with the heart
    rate of the rows at ``spikes`` set to their values."""
    rows = list(rec.estimate_rows)
    period = len(rows)
    day: list[EstimateRow] = rows + [
        (row[0] + period * (n // period), row[1], row[2], row[3], Quality.OK, *row[5:])
        for n, row in ((n, rows[n % period]) for n in range(period, 86_400))
    ]
    for n, hr_bpm in spikes.items():
        t_s, _, rmssd_ms, arousal, quality, artifacts, rate, source = day[n]
        day[n] = (t_s, hr_bpm, rmssd_ms, arousal, quality, artifacts, rate, source)
    return dataclasses.replace(rec, estimate_rows=day)


def test_a_day_is_drawn_per_pixel_column_and_keeps_its_spikes(dropouts: Recording) -> None:
    """A spike one second wide, in the middle and in the very last second (the
    old buckets left out the samples after the last whole one), reaches its
    height in the drawn band and colours its pixel column."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection

    last = 86_399
    day = day_of(dropouts, {40_000: 180.0, last: 200.0})
    summary = dataclasses.replace(summarize(dropouts), duration_s=86_400.0)
    fig = build_figure(day, summary)
    hr_ax = fig.axes[0]
    # The band is the one translucent patch (zone bands and gaps are opaque).
    (band,) = [c for c in hr_ax.collections if isinstance(c, PolyCollection) and c.get_alpha()]
    (mean,) = [line for line in hr_ax.lines if line.get_linewidth() == 0.7]
    canvas: Any = FigureCanvasAgg(fig)  # matplotlib's canvas is untyped
    canvas.draw()
    pixels: np.ndarray = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    panel = hr_ax.get_window_extent()
    # One point per pixel column of the panel (a day is 86,400 estimates).
    assert np.asarray(mean.get_xdata()).size <= panel.width + 1
    edge: np.ndarray = np.asarray(band.get_paths()[0].vertices)
    t_s = np.array([row[0] for row in day.estimate_rows])
    for n, hr_bpm in ((40_000, 180.0), (last, 200.0)):
        near = np.abs(edge[:, 0] - t_s[n] / 3600.0) <= 86_400 / 3600.0 / panel.width
        assert edge[near, 1].max() == hr_bpm
        # In the picture: the spike's column is tinted just under its top, where
        # its neighbours five pixels away show the zone band alone.
        top = edge[near & (edge[:, 1] == hr_bpm), 0].mean()
        x, y = hr_ax.transData.transform((top, hr_bpm - 2.0))
        row = pixels.shape[0] - 1 - round(y)
        column = min(round(x), round(panel.x1) - 1)
        assert np.abs(pixels[row, column] - pixels[row, column - 5]).sum() > 30
    assert_laid_out(fig)


# A small figure of each kind of artist review draws, as PNG bytes on stdout.
_DRAW = """
import io, sys
import numpy as np
if sys.argv[1] == "light":
    from biofeedback.review.plot import _skip_setter_docs
    _skip_setter_docs()
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
# The light load skipped the docs (and the as-shipped one wrote them).
assert (Line2D.set.__doc__ is None) == (sys.argv[1] == "light")
fig = Figure(figsize=(4, 3), dpi=50)
ax = fig.subplots()
ax.plot(np.arange(50.0), np.sin(np.arange(50.0)), color="#b03030")
ax.fill_between(np.arange(50.0), -1, 0, color="#3050a0")
ax.broken_barh([(5, 10)], (0, 1), transform=ax.get_xaxis_transform(), facecolor="#d8f0d8")
ax.annotate("thresholds", (1.0, 0.5), xycoords=("axes fraction", "data"), fontsize=7)
text = ax.text(10, 0.5, "face", rotation=90)
text.set(color="#d9731a", fontsize=6.5)  # a subclass's set still takes its properties
fig.legend(handles=[Line2D([], [], label="heart rate"), Patch(hatch="////", label="gap")])
out = io.BytesIO()
FigureCanvasAgg(fig).print_png(out, metadata={"Software": None})
sys.stdout.buffer.write(out.getvalue())
"""


def test_matplotlib_without_setter_docs_draws_the_same_pixels() -> None:
    import subprocess
    import sys

    drawn = [
        subprocess.run(
            [sys.executable, "-c", _DRAW, how], capture_output=True, check=True, timeout=60
        ).stdout
        for how in ("light", "as-shipped")
    ]
    assert drawn[0].startswith(b"\x89PNG")
    assert drawn[0] == drawn[1]
