"""Driving a simulated person through a scripted session, and measuring what comes out.

The metrics are the project's own (``biofeedback.signals.hrv``, checked against
NeuroKit2 in tests/test_arousal.py), so the same code measures the real
recordings and the simulator.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biofeedback.models import (
    ChestMotion,
    HeartSample,
    SessionEvent,
    SourceStatus,
    StepKind,
    StepStarted,
)
from biofeedback.signals.hrv import mean_hr_bpm, rmssd_ms
from simulators.source import SimulatedSource
from tests.support import arousal_data


@dataclass
class Run:
    source: SimulatedSource
    samples: list[HeartSample] = field(default_factory=list)
    statuses: list[SourceStatus] = field(default_factory=list)
    motion: list[ChestMotion] = field(default_factory=list)

    @property
    def rr_ms(self) -> np.ndarray:
        return np.array([rr for s in self.samples for rr in s.rr_ms])

    @property
    def beat_t_s(self) -> np.ndarray:
        return np.array([t for s in self.samples for t in s.beat_t_s])

    def rr_between(self, start_s: float, end_s: float) -> np.ndarray:
        t = self.beat_t_s
        return self.rr_ms[(t >= start_s) & (t < end_s)]

    def hr_between(self, start_s: float, end_s: float) -> float:
        return mean_hr_bpm(self.rr_between(start_s, end_s))


def drive(source: SimulatedSource, until_s: float, events: Iterable[SessionEvent] = ()) -> Run:
    """Pull items up to ``until_s``; the person hears each event once the stream
    has reached its time, as in a session."""
    script = sorted(events, key=lambda e: e.t)
    run = Run(source)
    i = 0
    for item in source.items():
        while i < len(script) and script[i].t <= item.t_s:
            source.observe(script[i])
            i += 1
        if item.t_s > until_s:
            return run
        if isinstance(item, HeartSample):
            run.samples.append(item)
        elif isinstance(item, ChestMotion):
            run.motion.append(item)
        else:
            run.statuses.append(item)
    raise AssertionError("the simulated stream ended")


def step(t_s: float, kind: StepKind, breath: tuple[float, float] | None = None) -> StepStarted:
    breath_in, breath_out = breath if breath else (None, None)
    return StepStarted(t_s, f"{kind}-{t_s:g}", kind, None, "", 0.0, breath_in, breath_out)


def tense_release(
    start_s: float, end_s: float, tense_s: float = 5.0, release_s: float = 15.0
) -> list[SessionEvent]:
    """Tense and release in turn, as the full routine does."""
    events: list[SessionEvent] = []
    t = start_s
    while t < end_s:
        events.append(step(t, StepKind.TENSE))
        events.append(step(t + tense_s, StepKind.RELEASE))
        t += tense_s + release_s
    return events


# --------------------------------------------------------------------------
# Metrics


def window_spread(rr_ms: np.ndarray, window_s: float) -> tuple[float, float]:
    """SD across consecutive ``window_s`` windows of (mean HR, ln RMSSD)."""
    t = np.cumsum(rr_ms) / 1000.0
    hrs, lns = [], []
    for start in np.arange(0.0, t[-1] - window_s, window_s):
        rr = rr_ms[(t >= start) & (t < start + window_s)]
        if len(rr) >= 5:
            hrs.append(mean_hr_bpm(rr))
            lns.append(np.log(rmssd_ms(rr)))
    return float(np.std(hrs)), float(np.std(lns))


def swing_ms(rr_ms: np.ndarray, window_s: float = 30.0) -> float:
    """SD of RR around its own moving mean: the breathing-band swing, without the
    slow wandering of heart rate that would otherwise dominate a few minutes' SD."""
    t = np.cumsum(rr_ms) / 1000.0
    local = np.array([rr_ms[np.abs(t - ti) <= window_s / 2].mean() for ti in t])
    return float(np.std(rr_ms - local))


def spectral_peak_hz(rr_ms: np.ndarray, low_hz: float = 0.04, high_hz: float = 0.4) -> float:
    """Frequency of the largest peak of the RR tachogram (4 Hz resampling, Hann window)."""
    t = np.cumsum(rr_ms) / 1000.0
    grid = np.arange(t[0], t[-1], 0.25)
    x = np.interp(grid, t, rr_ms)
    x = (x - x.mean()) * np.hanning(len(x))
    freqs = np.fft.rfftfreq(len(x), 0.25)
    power = np.abs(np.fft.rfft(x)) ** 2
    band = (freqs >= low_hz) & (freqs <= high_hz)
    return float(freqs[band][np.argmax(power[band])])


def load_rr(path: Path) -> np.ndarray:
    """RR (ms) from a shared recording: one value a line, or CSV with rr_ms last."""
    return arousal_data.load_rr(path.name, path.parent)


def intervals(run: Run) -> set[tuple[int, int]]:
    """Every reported interval as (start, end) in strap ticks (1/1024 s)."""
    out = set()
    for t_s, rr in zip(run.beat_t_s, run.rr_ms, strict=True):
        end = round(t_s * 1024)
        out.add((end - round(rr * 1.024), end))
    return out


def all_in(values: Sequence[float], low: float, high: float) -> bool:
    return all(low <= v <= high for v in values)


def scripted_step(
    t_s: float, n: int, kind: StepKind, planned_s: float, **breath: float
) -> StepStarted:
    """Step ``s{n}`` of a scripted session (``breath_in_s`` and ``breath_out_s`` for a
    paced breath)."""
    return StepStarted(t_s, f"s{n}", kind, None, "cue", planned_s, **breath)  # type: ignore[arg-type]


def exact_text(value: object) -> str:
    """``value`` as text with every float exact (``float.hex``), a dataclass as its
    class's name and its fields in order: for digests that pin a stream to the bit."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, tuple | list):
        return "(" + ",".join(exact_text(v) for v in value) + ")"
    if hasattr(value, "__dataclass_fields__"):
        fields = value.__dataclass_fields__
        return type(value).__name__ + exact_text([getattr(value, name) for name in fields])
    return repr(value)


def truth_lines(source: SimulatedSource) -> Iterator[str]:
    """Everything the simulated strap ``source`` kept as truth, each as exact text."""
    truth = source.truth
    yield exact_text(truth.beat_t_s)
    yield exact_text(truth.hr_bpm)
    yield exact_text(truth.arousal_bpm)
    yield exact_text(truth.vagal)
    yield exact_text([str(label) for label in truth.rr_labels])
    yield exact_text(truth.breaths)
    yield exact_text(truth.motion)
