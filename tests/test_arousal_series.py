"""The batch estimator (review, history, benchmarks) decides exactly as the live one:
on every case of the series corpus (the real recordings, with artifacts, ramps late
and from the start, slow rises in the opening, gaps, a baseline handed over)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.arousal_data import run_stream
from tests.support.series_corpus import SeriesCase, build_series_corpus

CORPUS = build_series_corpus()
FIELDS = (
    "hr_bpm",
    "rmssd_ms",
    "rmssd_60s_ms",
    "hr_z",
    "rmssd_drop_z",
    "arousal",
    "artifact_rate",
    "hr_fast_bpm",
    "hr_10s_bpm",
    "baseline_hr_bpm",
    "baseline_rmssd_ms",
    "hr_noise_bpm",
    "baseline_rise_bpm",
)


def _column(estimates: list, name: str) -> np.ndarray:  # type: ignore[type-arg]
    return np.array([math.nan if getattr(e, name) is None else getattr(e, name) for e in estimates])


@pytest.mark.parametrize("case", CORPUS, ids=[c.label for c in CORPUS])
def test_batch_decides_as_live(case: SeriesCase) -> None:
    batch = case.estimate()
    live = run_stream(case.samples(), case.live(), batch.t_s)
    judged = [batch.estimate_at(i) for i in range(batch.t_s.size)]
    assert [e.quality for e in live] == [e.quality for e in judged]
    assert [e.baseline_how for e in live] == [e.baseline_how for e in judged]
    for name in FIELDS:
        np.testing.assert_allclose(
            _column(live, name), _column(judged, name), rtol=1e-9, atol=1e-12, err_msg=name
        )
