"""The arousal estimate on real recordings: agreement with NeuroKit2, no false
alarms at rest, fast detection, what slow breathing and tensing do, quality."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest

from biofeedback.models import Contact, HeartSample, Quality
from biofeedback.pacing.controller import PacingConfig
from biofeedback.signals.arousal import ArousalEstimator
from biofeedback.signals.arousal_series import QUALITIES, estimate_series
from tests.support.arousal_data import (
    RESTING,
    alarm_stats,
    beat_times,
    crossing_latency,
    inject_artifacts,
    inject_ramp,
    load_rr,
    ramp_onsets,
    run_stream,
    samples_from_rr,
)

STRAP_AT_REST = "polar_h10_slow_breathing_rr.csv"
STEP_DOWN = PacingConfig().step_down_above


def arousal_of(estimates: list) -> np.ndarray:  # type: ignore[type-arg]
    return np.array([math.nan if e.arousal is None else e.arousal for e in estimates])


def neurokit_time(rr_ms: np.ndarray) -> tuple[float, float, float]:
    """(mean HR, SDNN, RMSSD) of these intervals, by NeuroKit2."""
    peaks = nk.intervals_to_peaks(rr_ms, sampling_rate=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns that short windows are short
        h = nk.hrv_time(peaks, sampling_rate=1000)
    return 60000.0 / float(h["HRV_MeanNN"][0]), float(h["HRV_SDNN"][0]), float(h["HRV_RMSSD"][0])


def test_windowed_metrics_agree_with_neurokit2_over_clean_windows(shared_rr: Path) -> None:
    compared = 0
    for name in RESTING:
        rr = load_rr(name, shared_rr)
        s = estimate_series(rr)
        beats = s.beats
        for i in range(70, s.t_s.size, 47):
            now = s.t_s[i]
            for span, ours in ((12.0, "hr"), (30.0, "rmssd"), (60.0, "sdnn_rmssd")):
                inside = (
                    (beats.raw_t_s > now - span)
                    & (beats.raw_t_s <= now)
                    & (beats.raw_available_s <= now)
                )
                if beats.kind[inside].any():
                    continue  # clean windows only
                hr, sdnn, rmssd = neurokit_time(beats.raw_rr_ms[inside])
                if ours == "hr":
                    assert s.hr_bpm[i] == pytest.approx(hr, rel=0.01)
                elif ours == "rmssd":
                    assert s.rmssd_ms[i] == pytest.approx(rmssd, rel=0.01)
                else:
                    assert s.sdnn_60s_ms[i] == pytest.approx(sdnn, rel=0.01)
                    assert s.rmssd_60s_ms[i] == pytest.approx(rmssd, rel=0.01)
                compared += 1
    assert compared > 150


def test_no_false_alarms_at_rest_on_the_strap_with_artifacts(shared_rr: Path) -> None:
    rng = np.random.default_rng(11)
    rr, _ = inject_artifacts(load_rr(STRAP_AT_REST, shared_rr), 0.02, rng)
    estimates = run_stream(samples_from_rr(rr), ArousalEstimator())
    stats = alarm_stats(arousal_of(estimates), STEP_DOWN)
    assert stats.monitored_s > 500
    assert stats.above_share < 0.01
    assert stats.held_10s == 0


def test_ambulatory_holter_alarm_share_is_what_the_report_says(shared_rr: Path) -> None:
    """The NSRDB Holter extracts wander by +10 bpm for 20 s and more now and then
    (a real rise, as fast as the injected ramps): any index that catches a
    +15 bpm ramp within 15 s also rises there. This pins the measured shares so
    a change that makes them worse is seen (benchmarks/arousal.py prints them)."""
    rng = np.random.default_rng(12)
    # The baseline now closes at 50 s (before the settle ends): the 5-min extract's
    # shorter opening sits a little lower, so a little more time is above.
    expected = {"nsrdb_pyhrv_5min_nni.txt": 0.18, "nsrdb_pyhrv_60min_nni.txt": 0.06}
    for name, bound in expected.items():
        rr, _ = inject_artifacts(load_rr(name, shared_rr), 0.02, rng)
        stats = alarm_stats(estimate_series(rr).arousal, STEP_DOWN)
        assert stats.above_share < bound, name


def test_an_arousal_ramp_is_caught_within_15_s(shared_rr: Path) -> None:
    rng = np.random.default_rng(13)
    rr = load_rr(STRAP_AT_REST, shared_rr)
    medians = {}
    for rise in (10.0, 15.0, 20.0):
        latencies = []
        for onset in ramp_onsets(rr, 24, rng):
            s = estimate_series(inject_ramp(rr, onset, rise))
            latencies.append(crossing_latency(s.t_s, s.arousal, onset, STEP_DOWN))
        medians[rise] = float(np.median(latencies))
    assert medians[15.0] <= 15.0
    assert medians[20.0] <= medians[15.0] <= medians[10.0] < 30.0


def test_rmssd_rising_never_raises_arousal(shared_rr: Path) -> None:
    rr = load_rr(STRAP_AT_REST, shared_rr)
    # From 120 s on, an extra beat-to-beat alternation: RMSSD up, HR the same.
    wobbly = rr.copy()
    later = np.flatnonzero(beat_times(rr) > 120.0)
    wobbly[later] += np.where(later % 2 == 0, 25.0, -25.0)
    calm = estimate_series(rr)
    vagal = estimate_series(wobbly, ticks_s=calm.t_s)
    judged = np.isfinite(calm.arousal) & np.isfinite(vagal.arousal) & (calm.t_s > 160.0)
    assert judged.sum() > 300
    assert np.all(vagal.rmssd_drop_z[judged] < calm.rmssd_drop_z[judged] - 1.0)
    # Whatever rise there is comes from HR (the alternation shifts beats across
    # window edges by a few ms), never from RMSSD.
    hr_part = 0.7 * (vagal.hr_z[judged] - calm.hr_z[judged])
    assert np.all(vagal.arousal[judged] - calm.arousal[judged] <= hr_part + 1e-9)
    assert np.all(np.abs(vagal.hr_bpm[judged] - calm.hr_bpm[judged]) < 1.0)
    # With RMSSD above its reference, arousal is the HR part alone.
    up = judged & (vagal.rmssd_drop_z < 0)
    assert up.sum() > 100
    np.testing.assert_allclose(vagal.arousal[up], 0.7 * vagal.hr_z[up])


def test_tensing_shows_in_hr_alone_and_stays_below_step_down(shared_rr: Path) -> None:
    rr = load_rr(STRAP_AT_REST, shared_rr)
    t = beat_times(rr)
    tense = rr.copy()
    during = (t > 200.0) & (t <= 205.0)
    tense[during] = 60000.0 / (60000.0 / rr[during] + 6.0)  # +6 bpm for 5 s
    base = estimate_series(rr)
    s = estimate_series(tense, t, ticks_s=base.t_s)
    near = (s.t_s > 200.0) & (s.t_s < 220.0)
    assert np.max(s.hr_z[near] - base.hr_z[near]) > 0.5
    # Tensing is not vagal withdrawal: RMSSD does not fall with it.
    assert np.max(s.rmssd_drop_z[near] - base.rmssd_drop_z[near]) < 0.2
    assert np.nanmax(s.arousal[near]) < STEP_DOWN


def test_streaming_replays_exactly_like_the_batch(shared_rr: Path) -> None:
    rr = load_rr("nsrdb_pyhrv_5min_nni.txt", shared_rr)
    samples = samples_from_rr(rr)
    ticks = np.arange(samples[0].t_s + 3.0, samples[-1].t_s)  # after the strap-HR start
    live = run_stream(samples, ArousalEstimator(), ticks)
    batch = estimate_series(rr, ticks_s=ticks)
    for field in ("hr_bpm", "rmssd_ms", "rmssd_60s_ms", "hr_z", "rmssd_drop_z", "arousal"):
        got = np.array([math.nan if getattr(e, field) is None else getattr(e, field) for e in live])
        np.testing.assert_allclose(got, getattr(batch, field), rtol=1e-9, err_msg=field)
    assert [e.quality.value for e in live] == list(QUALITIES[batch.quality])
    assert batch.estimate_at(100) == live[100]


def sample(t_s: float, hr: float | None, rr: tuple[float, ...] = (), contact=Contact.DETECTED):  # type: ignore[no-untyped-def]
    return HeartSample(t_s, hr, rr, (), contact)


def test_quality_waiting_lost_and_no_contact() -> None:
    est = ArousalEstimator()
    assert est.estimate(1.0).quality is Quality.HR_ONLY  # the strap is still starting
    for t in range(1, 20):
        est.add_sample(sample(float(t), 60.0, (1000.0,)))
    assert est.estimate(19.0).quality is Quality.OK
    assert est.estimate(19.0).hr_bpm == pytest.approx(60.0)
    # Samples without skin contact are shown elsewhere, never judged here.
    for t in range(20, 30):
        est.add_sample(sample(float(t), 190.0, (310.0,), Contact.NOT_DETECTED))
    lost = est.estimate(25.0)
    assert lost.quality is Quality.NO_SIGNAL
    assert lost.hr_bpm is None
    assert lost.arousal is None
    est.add_sample(sample(30.0, 60.0, (1000.0,)))
    back = est.estimate(30.0)
    assert back.quality is not Quality.NO_SIGNAL
    assert back.hr_bpm == pytest.approx(60.0)


def test_frequent_ectopy_falls_back_to_hr_only() -> None:
    est = ArousalEstimator()
    rng = np.random.default_rng(3)
    t = 0.0
    for i in range(120):
        rr = 1000.0 + rng.normal(0, 20)
        if i >= 50 and i % 4 == 0:
            rr = 560.0  # premature...
        elif i >= 50 and i % 4 == 1:
            rr = 1440.0  # ...and its pause: half the beats abnormal
        t += rr / 1000.0
        est.add_sample(HeartSample(t, 60.0, (rr,), (t,), Contact.DETECTED))
    out = est.estimate(t)
    assert out.artifact_rate > 0.15
    assert out.quality is Quality.HR_ONLY
    assert out.rmssd_ms is None
    assert out.hr_bpm == pytest.approx(60.0, abs=2.0)


def test_a_baseline_from_earlier_sessions_is_used_at_once() -> None:
    est = ArousalEstimator(baseline_hr_bpm=55.0, baseline_rmssd_ms=40.0)
    assert est.baseline_ready
    for t in range(1, 16):
        est.add_sample(sample(float(t), 61.0, (60000.0 / 61.0,)))
    out = est.estimate(15.0)
    assert out.baseline_hr_bpm == 55.0
    assert out.hr_delta_bpm == pytest.approx(6.0, abs=0.1)
    assert out.arousal is not None
    assert out.arousal > 1.0


def test_a_strap_without_rr_still_gives_hr() -> None:
    est = ArousalEstimator()
    for t in range(1, 80):
        est.add_sample(sample(float(t), 70.0 if t < 70 else 85.0))
        out = est.estimate(float(t))
    assert out.quality is Quality.HR_ONLY
    assert out.baseline_hr_bpm == pytest.approx(70.0)
    assert out.hr_bpm is not None
    assert out.hr_bpm > 75.0
    assert out.arousal is not None
    assert out.arousal > 1.0
