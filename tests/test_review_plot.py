"""The review figure names what it shows (issue 18, item 10): a legend, named zone
bands, a labelled baseline and thresholds, body regions on tense steps, and
shaded signal gaps. Read from the matplotlib figure itself."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.models import Recording, StepKind, StepStarted, ZoneChanged
from biofeedback.pacing.rules import PacingConfig
from biofeedback.review import render_plot, summarize
from biofeedback.review.plot import ZONE_NAMES, build_figure
from biofeedback.store import Store
from tests.support.cli import run_cli

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


def test_signal_gaps_are_shaded(dropouts: Recording) -> None:
    from matplotlib.collections import PolyCollection

    fig = build_figure(dropouts, summarize(dropouts))
    hr_ax = fig.axes[0]
    hatched = [c for c in hr_ax.collections if isinstance(c, PolyCollection) and c.get_hatch()]
    assert len(hatched) == 1
    quality = np.array([row[4] == "no_signal" for row in dropouts.estimate_rows])
    runs = int(np.sum(np.diff(np.concatenate(([0], quality.astype(int), [0]))) == 1))
    # The scenario's strap goes silent three times.
    assert runs >= 3
    assert len(hatched[0].get_paths()) == runs


def test_png_is_written_with_changes_marked(dropouts: Recording) -> None:
    png = render_plot(dropouts, summarize(dropouts), "png")
    assert png.startswith(b"\x89PNG")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1100, 750)
    changes = [e for e in dropouts.events if isinstance(e, ZoneChanged)]
    fig = build_figure(dropouts, summarize(dropouts))
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "v"]
    assert len(markers) == (1 if changes or summarize(dropouts).extended_s else 0)
