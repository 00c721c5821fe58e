"""A baseline that cannot be fooled: steady, rising and implausible openings, and
quality with hysteresis."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from biofeedback.models import (
    ArousalEstimate,
    Baseline,
    BaselineHow,
    Quality,
    SessionEvent,
    Zone,
    ZoneChanged,
    event_from_dict,
)
from biofeedback.pacing.controller import PacingController
from biofeedback.routines.protocols import load_protocol
from biofeedback.signals.arousal import ArousalEstimator, EstimatorConfig, QualityGate
from biofeedback.telemetry import RunnerTracker
from biofeedback.ui.state import SessionState
from tests.support.arousal_data import run_stream, samples_from_rr
from tests.support.cli import run_cli


def heart(hr_of_t: object, seconds: float = 400.0, seed: int = 1) -> np.ndarray:
    """RR intervals (ms) of a heart whose rate follows ``hr_of_t`` (bpm), with jitter."""
    rng = np.random.default_rng(seed)
    rr, t = [], 0.0
    while t < seconds:
        value = 60000.0 / hr_of_t(t) + rng.normal(0, 15)  # type: ignore[operator]
        rr.append(value)
        t += value / 1000.0
    return np.asarray(rr)


def rising(rest: float, rise: float, tau_s: float = 15.0, onset_s: float = 0.0) -> object:
    return lambda t: rest + (rise * (1 - math.exp(-(t - onset_s) / tau_s)) if t > onset_s else 0)


def first_baseline(estimates: list[ArousalEstimate]) -> ArousalEstimate:
    return next(e for e in estimates if e.baseline_hr_bpm is not None)


def test_a_steady_opening_is_taken_before_the_settle_ends() -> None:
    est = first_baseline(run_stream(samples_from_rr(heart(lambda t: 62.0)), ArousalEstimator()))
    assert est.baseline_how is BaselineHow.OPENING
    assert est.t_s <= 55
    assert est.baseline_hr_bpm is not None
    assert abs(est.baseline_hr_bpm - 62.0) < 1.5
    assert est.hr_noise_bpm is not None
    assert 2.0 <= est.hr_noise_bpm <= 3.5


def test_an_opening_rising_from_the_start_is_not_taken_as_rest() -> None:
    rr = heart(rising(62.0, 20.0))
    est = first_baseline(run_stream(samples_from_rr(rr), ArousalEstimator()))
    assert est.baseline_how is BaselineHow.RISING
    assert est.baseline_rise_bpm is not None
    assert est.baseline_rise_bpm >= 8
    # The lowest stretch of the opening, not the risen level.
    assert est.baseline_hr_bpm is not None
    assert est.baseline_hr_bpm < 62.0 + 12


def test_a_little_rise_waits_for_a_steady_stretch() -> None:
    # +6 bpm rising through the opening, then steady: taken later, from the steady part.
    rr = heart(rising(62.0, 6.0, tau_s=10.0, onset_s=25.0))
    est = first_baseline(run_stream(samples_from_rr(rr), ArousalEstimator()))
    assert est.baseline_how is BaselineHow.LONGER
    assert est.t_s > 55
    assert est.baseline_hr_bpm is not None
    assert est.baseline_hr_bpm > 66


@dataclass(frozen=True)
class Stored:
    hr_bpm: float


def session(rr: np.ndarray, stored: Stored | None = None) -> list[SessionEvent]:
    controller = PacingController(
        load_protocol("full"),
        yellow=load_protocol("breath-partial"),
        red=load_protocol("passive-rest"),
        stored_baseline=stored,
    )
    events = controller.start(0.0)
    for e in run_stream(samples_from_rr(rr), ArousalEstimator()):
        events += controller.on_estimate(e.t_s, e)
    return events


def test_first_session_rising_from_the_start_steps_down_within_60_s() -> None:
    for rise, tau in ((15.0, 10.0), (15.0, 20.0), (25.0, 15.0)):
        events = session(heart(rising(64.0, rise, tau)))
        baseline = next(e for e in events if isinstance(e, Baseline))
        assert baseline.how is BaselineHow.RISING, (rise, tau, baseline)
        assert baseline.plain
        down = next(e for e in events if isinstance(e, ZoneChanged))
        assert down.to_zone is Zone.YELLOW
        assert down.t <= 60
        assert "start gently" in down.plain


def test_an_implausibly_high_opening_is_judged_against_the_stored_baseline() -> None:
    events = session(heart(lambda t: 82.0), Stored(64.0))
    baseline = next(e for e in events if isinstance(e, Baseline))
    assert baseline.how is BaselineHow.STORED
    assert "64" in baseline.reason
    down = next(e for e in events if isinstance(e, ZoneChanged))
    assert down.to_zone is Zone.YELLOW
    assert down.t - baseline.t <= 10


def test_a_plausible_opening_is_kept_even_with_a_stored_baseline() -> None:
    events = session(heart(lambda t: 66.0), Stored(64.0))
    baseline = next(e for e in events if isinstance(e, Baseline))
    assert baseline.how is BaselineHow.OPENING
    assert not [e for e in events if isinstance(e, ZoneChanged)]


def test_quality_drops_at_once_and_comes_back_only_after_clean_beats() -> None:
    gate = QualityGate(EstimatorConfig())
    assert gate.update(0.0, True, 0.02)
    assert not gate.update(1.0, False, 0.2)
    # Usable again, but 30 s of clean beats are needed: no flapping at the edge.
    flips = [gate.update(float(t), t % 2 == 0, 0.05) for t in range(2, 40)]
    assert not any(flips)
    back = [gate.update(float(t), True, 0.05) for t in range(40, 80)]
    assert not back[0]
    assert back[-1]
    assert back.index(True) >= 29


def test_a_rise_that_levels_off_high_is_not_taken_as_rest() -> None:
    # +10 bpm from 20 s in: the first look at 50 s sees it still rising, and
    # though it then levels off, that level is no resting one.
    rr = heart(rising(62.0, 10.0, tau_s=12.0, onset_s=20.0))
    est = first_baseline(run_stream(samples_from_rr(rr), ArousalEstimator()))
    assert est.baseline_how is BaselineHow.RISING
    assert est.baseline_rise_bpm is not None
    assert est.baseline_rise_bpm >= 6
    assert est.baseline_hr_bpm is not None
    assert est.baseline_hr_bpm < 66


def test_how_the_baseline_was_taken_reaches_the_dashboard_mqtt_and_review(
    tmp_path: Path,
) -> None:
    """A session rising from the start, replayed through the CLI: the dashboard's
    log, the MQTT state and the review all say the baseline was a rising opening's
    lowest stretch (fields added, none renamed)."""
    rr_file = tmp_path / "rising.txt"
    rr_file.write_text("\n".join(f"{v:.1f}" for v in heart(rising(64.0, 20.0), 300.0)) + "\n")
    db = tmp_path / "r.db"
    proc = run_cli(
        "run", "--replay", str(rr_file), "--protocol", "full", "--headless", "--json",
        "--speed", "max", "--db", str(db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    emitted = [json.loads(line) for line in proc.stdout.splitlines()]
    said = next(e for e in emitted if e["type"] == "baseline")
    assert said["how"] == "rising"
    events = [event_from_dict(e) for e in emitted]

    state = SessionState()
    tracker = RunnerTracker()
    for event in events:
        state.apply(event)
        tracker.apply(event)
    logged = next(n.text for n in state.log if n.topic == "baseline")
    assert said["plain"].rstrip(".") in logged
    assert tracker.state.baseline_how == "rising"
    assert tracker.state.to_dict()["baseline_how"] == "rising"
    assert tracker.state.without_measurements().baseline_how == "rising"

    review = run_cli("review", "--db", str(db), "--json")
    assert review.returncode == 0, review.stderr
    baseline = json.loads(review.stdout)["baseline"]
    assert baseline["how"] == "rising"
    assert baseline["reason"] == said["reason"]
    assert baseline["hr_bpm"] == pytest.approx(said["hr_bpm"], abs=0.01)
    text = run_cli("review", "--db", str(db))
    # The plain sentence first, the figures after it (as every text view says a decision).
    assert f"taken as rising: {said['plain']} ({said['reason']})" in text.stdout


def test_an_opening_taken_as_usual_adds_no_words() -> None:
    state = SessionState()
    state.apply(Baseline(50.0, 64.0, 40.0, Quality.OK, how=BaselineHow.OPENING, plain="Thank you."))
    assert [n.text for n in state.log] == ["Baseline: heart rate 64 bpm, RMSSD 40 ms."]
