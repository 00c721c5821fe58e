"""Half-breath evidence (issue 24): a quicker breath counts once its in-breath
is done, half a breath before the whole breath is, and each half is judged
against the same half of the person's opening."""

from __future__ import annotations

import numpy as np

from biofeedback.pacing.breath_evidence import BreathEvidence, BreathEvidenceConfig
from biofeedback.signals.breath_estimate import (
    BreathEstimate,
    BreathEstimator,
    BreathQuality,
    BreathSource,
    Pacer,
)
from tests.support.chest import chest_times as _t
from tests.support.chest import feed_chest as _feed
from tests.support.chest import lung_fill as _fill


def _chest(
    t_s: float,
    half_inhale: bool,
    half_s: float,
    *,
    per_min: float = 15.0,
    depth_mg: float = 10.0,
    paced_in_out_s: tuple[float, float] | None = None,
) -> BreathEstimate:
    """The estimate of a chest whose whole breaths say ``per_min`` and whose last
    completed half was an in-breath (or out-breath) of ``half_s``."""
    ratio = None
    whole_ratio = None
    if paced_in_out_s is not None:
        paced_in_s, paced_out_s = paced_in_out_s
        ratio = (paced_in_s if half_inhale else paced_out_s) / half_s
        whole_ratio = per_min * (paced_in_s + paced_out_s) / 60.0
    return BreathEstimate(
        t_s, BreathQuality.OK, BreathSource.ACC, per_min, 1.0, depth_mg=depth_mg,
        irregularity=0.1, rate_ratio=whole_ratio, recent_per_min=per_min,
        recent_rate_ratio=whole_ratio, recent_depth_mg=depth_mg,
        half_inhale=half_inhale, half_s=half_s, half_rate_ratio=ratio,
    )  # fmt: skip


def _opening(ev: BreathEvidence, paced: tuple[float, float] | None = None) -> None:
    """Fifty seconds of calm: in-breaths of 1.6 s, out-breaths of 2.4 s (15 a
    minute), or the pacer's halves exactly."""
    for k in range(50):
        inhale = k % 4 < 2
        if paced is None:
            half_s = 1.6 if inhale else 2.4
            b = _chest(float(k), inhale, half_s)
        else:
            half_s = paced[0] if inhale else paced[1]
            b = _chest(float(k), inhale, half_s, per_min=60.0 / sum(paced), paced_in_out_s=paced)
        ev.update(float(k), b, paced=paced is not None)


def test_a_quick_in_breath_counts_before_the_whole_breath_is_done() -> None:
    ev = BreathEvidence()
    _opening(ev)
    # The whole breaths still say 15 a minute, but the in-breath just done took
    # 1.0 s against 1.6 s, and it was shallower: crossed, named, in figures.
    reading = ev.update(50.0, _chest(50.0, True, 1.0, depth_mg=6.0), paced=False)
    assert reading.score > 0
    assert reading.crossed[0].startswith("breathing faster (in-breath 1.0 s; 1.6 s at the start")
    assert reading.crossed[1].startswith("breathing shallower (0.60x")
    # Each half against its own: an out-breath of 1.6 s is quick for an
    # out-breath (2.4 s at the start), a usual out-breath crosses nothing.
    quick_out = ev.update(51.0, _chest(51.0, False, 1.6, depth_mg=6.0), paced=False)
    assert quick_out.crossed[0].startswith("breathing faster (out-breath 1.6 s; 2.4 s at")
    usual = ev.update(52.0, _chest(52.0, False, 2.4), paced=False)
    assert usual.crossed == ()
    assert usual.score == 0.0
    # One quick half alone (an out-breath cut short: a swallow, a word) is named
    # but never counts without the depth: a half breath is the least evidence.
    lone = ev.update(53.0, _chest(53.0, False, 1.4), paced=False)
    assert lone.crossed[0].startswith("breathing faster (out-breath 1.4 s;")
    assert lone.score == 0.0
    # Without half breaths (the old way), the same chest shows nothing faster.
    whole = BreathEvidence(BreathEvidenceConfig(half_breaths=False))
    _opening(whole)
    only_depth = whole.update(50.0, _chest(50.0, True, 1.0, depth_mg=6.0), paced=False)
    assert not any(c.startswith("breathing faster") for c in only_depth.crossed)


def test_paced_half_breaths_are_judged_against_the_pace() -> None:
    pace = (4.0, 6.0)
    ev = BreathEvidence()
    # Paced readings are judged only after the pace has settled.
    _opening(ev, pace)
    for k in range(50, 60):
        ev.update(float(k), _chest(float(k), k % 2 == 0, pace[k % 2], per_min=6.0,
                                   paced_in_out_s=pace), paced=True)  # fmt: skip
    reading = ev.update(
        60.0, _chest(60.0, True, 2.5, per_min=6.0, paced_in_out_s=pace, depth_mg=6.0), paced=True
    )
    assert reading.score > 0
    assert reading.crossed[0].startswith("breathing faster (in-breath 2.5 s, 1.60x the pace;")


def test_the_estimator_reports_the_half_breath_done_last() -> None:
    """From the chest: the in-breath (or out-breath) completed last and its length,
    and, with a pacer, the pace's length of that half over it."""
    est = BreathEstimator()
    fill = _fill(_t(70.0), 1.6, 2.4)
    out = _feed(est, fill)
    halves = [(e.half_inhale, e.half_s) for e in out[30:] if e.half_s is not None]
    assert {h[0] for h in halves} == {True, False}
    ins = [s for inhale, s in halves if inhale]
    outs = [s for inhale, s in halves if not inhale]
    assert abs(float(np.median(ins)) - 1.6) < 0.35
    assert abs(float(np.median(outs)) - 2.4) < 0.35
    assert all(e.half_rate_ratio is None for e in out)
    paced = BreathEstimator()
    paced.pace(Pacer(0.0, 2.0, 3.0))
    out = _feed(paced, _fill(_t(70.0), 1.6, 2.4))
    ratios = [e.half_rate_ratio for e in out[30:] if e.half_rate_ratio is not None]
    inhaled = [e.half_rate_ratio for e in out[30:] if e.half_inhale and e.half_rate_ratio]
    assert ratios
    assert abs(float(np.median(inhaled)) - 2.0 / 1.6) < 0.25
