"""The opening baseline, and how far it can be trusted.

A baseline taken while arousal is climbing would hide the arousal for the whole
session, so the opening is accepted only when it is steady: the 10 s heart rate
of its last third is no more than ``trend_max_bpm`` above its first seconds.

- Steady: the median of the opening's per-second HR (and ln RMSSD) readings.
- Rising a little: the baseline waits (the settle goes on) and is retaken over
  the latest ``baseline_window_s`` until that is steady; by ``baseline_max_s``
  it gives up and takes the lowest stretch of the opening.
- Rising by ``rise_alarm_bpm`` or more: the lowest stretch of the opening at
  once, marked ``rising``, so pacing can start gently.

Also measured here, over the accepted readings: the person's own resting noise
of the 10 s heart rate (robust SD around the median), the unit of the step-down
detector's evidence.

Pure and streaming: ``offer`` one reading per second with its elapsed time.
"""

from __future__ import annotations

import math

from biofeedback.models import BaselineHow
from biofeedback.models.record import record
from biofeedback.signals.list_median import median


@record(frozen=True, slots=True)
class BaselineConfig:
    """How the opening baseline is taken: its windows, timings and limits."""

    hr_window_s: float = 12.0
    """Readings are taken once the HR window is full."""
    hr_fast_window_s: float = 5.0
    hr_mid_window_s: float = 10.0
    rmssd_window_s: float = 30.0
    baseline_s: float = 50.0
    """When the opening baseline is first decided (before the 60 s settle ends)."""
    baseline_min_ticks: int = 20
    """Fewest per-second readings a baseline is taken from (HR; half that for RMSSD)."""
    trend_max_bpm: float = 4.0
    rise_alarm_bpm: float = 8.0
    plateau_alarm_bpm: float = 6.0
    """A rising opening that has levelled off is not a resting level when it is
    this far above the opening's lowest stretch: the heart rose and stayed up."""
    baseline_window_s: float = 40.0
    baseline_max_s: float = 100.0
    noise_default_bpm: float = 3.0
    noise_min_bpm: float = 2.0
    noise_max_bpm: float = 3.5
    """The resting noise is clamped: a very steady opening (a few quiet breaths)
    must not make ordinary wander look like a rise, nor a restless one hide it."""
    lowest_run: int = 10
    """Readings in the "lowest stretch" (a rolling median) of a rising opening."""


class BaselineCollector:
    """Per-second readings over the opening; the baseline once it can be trusted."""

    def __init__(
        self, cfg: BaselineConfig, hr_bpm: float | None = None, rmssd_ms: float | None = None
    ) -> None:
        self.cfg = cfg
        self.hr_bpm = hr_bpm
        self.ln_rmssd = math.log(rmssd_ms) if rmssd_ms else None
        self.how: BaselineHow | None = BaselineHow.GIVEN if hr_bpm is not None else None
        self.rise_bpm: float | None = None
        self.noise_bpm: float | None = cfg.noise_default_bpm if hr_bpm is not None else None
        self._hr: list[tuple[float, float]] = []
        self._mid: list[tuple[float, float]] = []
        self._ln: list[float] = []
        self._early: list[float] = []
        self._postponed = False

    @property
    def rmssd_ms(self) -> float | None:
        return math.exp(self.ln_rmssd) if self.ln_rmssd is not None else None

    @property
    def rmssd_readings(self) -> int:
        """RMSSD readings offered so far (the baseline needs ``baseline_min_ticks // 2``)."""
        return len(self._ln)

    def offer(
        self,
        elapsed_s: float,
        hr_bpm: float,
        hr_mid_bpm: float,
        ln_rmssd: float,
        hr_fast_bpm: float = math.nan,
    ) -> None:
        """One second's readings: HR over 12 s (the baseline), 10 s (trend, noise)
        and 5 s (the very first seconds, before the 10 s window has filled)."""
        cfg = self.cfg
        if self.hr_bpm is None:
            if elapsed_s >= cfg.hr_window_s and not math.isnan(hr_bpm):
                self._hr.append((elapsed_s, hr_bpm))
            if elapsed_s >= cfg.hr_mid_window_s and not math.isnan(hr_mid_bpm):
                self._mid.append((elapsed_s, hr_mid_bpm))
            early = cfg.hr_fast_window_s <= elapsed_s < cfg.hr_mid_window_s
            if early and not math.isnan(hr_fast_bpm):
                self._early.append(hr_fast_bpm)
        if self.ln_rmssd is None and elapsed_s >= cfg.rmssd_window_s and not math.isnan(ln_rmssd):
            self._ln.append(ln_rmssd)
        if elapsed_s < cfg.baseline_s:
            return
        if self.hr_bpm is None and len(self._hr) >= cfg.baseline_min_ticks:
            self._decide_hr(elapsed_s)
        if (
            self.ln_rmssd is None
            and self.hr_bpm is not None
            and len(self._ln) >= cfg.baseline_min_ticks // 2
        ):
            self.ln_rmssd = float(median(self._ln))

    def _decide_hr(self, elapsed_s: float) -> None:
        cfg = self.cfg
        first = self.how is None and not self._postponed
        since = -math.inf if first else elapsed_s - cfg.baseline_window_s
        mid = [v for t, v in self._mid if t > since]
        rise = _rise(mid)
        if first and rise > cfg.trend_max_bpm and len(self._early) >= 3 and len(mid) >= 9:
            # A heart rising from the very start is partly risen by the time the
            # 10 s window has filled: its first seconds (5 s HR) show how much.
            from_start = median(mid[-(len(mid) // 3) :]) - median(self._early)
            rise = max(rise, float(from_start))
        self.rise_bpm = rise
        if rise <= cfg.trend_max_bpm:
            hr = [v for t, v in self._hr if t > since]
            level = float(median(hr))
            lowest = None if first else self._lowest_of_opening()
            if lowest is not None and level - lowest >= cfg.plateau_alarm_bpm:
                self.hr_bpm = lowest
                self.rise_bpm = level - lowest
                self.noise_bpm = cfg.noise_default_bpm
                self.how = BaselineHow.RISING
                return
            self.hr_bpm = level
            self.noise_bpm = _noise(mid, cfg)
            self.how = BaselineHow.OPENING if first else BaselineHow.LONGER
            return
        if rise >= cfg.rise_alarm_bpm or elapsed_s >= cfg.baseline_max_s:
            self.hr_bpm = _lowest_stretch([v for _, v in self._mid], cfg.lowest_run)
            self.noise_bpm = cfg.noise_default_bpm
            self.how = BaselineHow.RISING
            return
        self._postponed = True

    def _lowest_of_opening(self) -> float:
        """The opening's lowest stretch, or its very first seconds if lower (a heart
        rising from the start was lower there)."""
        lowest = _lowest_stretch([v for _, v in self._mid], self.cfg.lowest_run)
        if len(self._early) >= 3:
            lowest = min(lowest, float(median(self._early)))
        return lowest


def _rise(values: list[float], first: int = 5) -> float:
    """Median of the last third minus the median of the ``first`` readings (0 when too
    few): a heart rising from the very start shows in its first seconds."""
    n = len(values) // 3
    if n < first:
        return 0.0
    return float(median(values[-n:]) - median(values[:first]))


def _noise(values: list[float], cfg: BaselineConfig) -> float:
    if len(values) < 5:
        return cfg.noise_default_bpm
    mid = median(values)
    mad = median(abs(v - mid) for v in values)
    return min(max(1.4826 * mad, cfg.noise_min_bpm), cfg.noise_max_bpm)


def _lowest_stretch(values: list[float], run: int) -> float:
    if len(values) <= run:
        return float(median(values))
    return float(min(median(values[i : i + run]) for i in range(len(values) - run)))
