"""Synthetic estimates and a controller built as a session builds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from biofeedback.models import ArousalEstimate, Quality, Zone
from biofeedback.pacing.controller import PacingConfig, PacingController, StartZone
from biofeedback.routines.protocols import load_protocol

BASE_HR = 60.0


@dataclass(frozen=True)
class RestingBaseline:
    """Stands in for the store's resting baseline of earlier sessions."""

    hr_bpm: float
    rmssd_ms: float | None = None


HR_PER_UNIT = 3.0  # the synthetic person's hr delta per unit of arousal


def estimate(
    t: float,
    arousal: float | None = 0.0,
    *,
    quality: Quality = Quality.OK,
    baseline: bool = True,
    hr_delta: float | None = None,
    baseline_hr: float = BASE_HR,
    rmssd_drop_z: float | None = None,
) -> ArousalEstimate:
    if quality is Quality.NO_SIGNAL:
        return ArousalEstimate(t, None, None, None, quality, 0.0)
    if not baseline:
        return ArousalEstimate(t, BASE_HR, 40.0, None, quality, 0.0)
    delta = hr_delta if hr_delta is not None else (arousal or 0.0) * HR_PER_UNIT
    return ArousalEstimate(
        t,
        baseline_hr + delta,
        40.0,
        arousal,
        quality,
        0.0,
        hr_delta_bpm=delta if arousal is not None else None,
        ln_rmssd_delta=None if arousal is None else -0.1 * arousal,
        baseline_hr_bpm=baseline_hr,
        baseline_rmssd_ms=40.0,
        hr_z=None if arousal is None else delta / 3.0,
        rmssd_drop_z=rmssd_drop_z,
    )


def make(
    protocol: str = "full",
    *,
    start_zone: StartZone = Zone.GREEN,
    config: PacingConfig | None = None,
    stored: RestingBaseline | None = None,
    imagery: Sequence[str] = (),
    sides: bool = False,
) -> PacingController:
    return PacingController(
        load_protocol(protocol, sides=sides),
        config=config,
        start_zone=start_zone,
        stored_baseline=stored,
        imagery_regions=imagery,
    )
