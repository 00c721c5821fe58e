"""Arousal over a whole recording at once (review, benchmarks).

The same cleaner, windows and scoring as the streaming ``ArousalEstimator``,
computed for every tick in one pass.

Memory: beyond its outputs (15 rows of per-tick floats, the cleaned beats), a
call holds little at any moment: scratch the size of the recording goes into
output rows not yet written, and the rest is taken a block of ticks at a time.
This keeps the peak below twice the rows' block, and glibc's allocator then
keeps the pages between calls instead of handing them back (a caseload
reviewed in one process maps no fresh pages after its first call: a fresh page
costs ~1.2 us, ~3,000 of them a third of a call).
"""

from __future__ import annotations

import math

import numpy as np

from biofeedback.models import ArousalEstimate, BaselineHow, Quality
from biofeedback.models.record import record
from biofeedback.signals.arousal import (
    EstimatorConfig,
    Measures,
    measure_windows,
    nan_to_none,
    score,
)
from biofeedback.signals.baseline import BaselineCollector
from biofeedback.signals.hrv import BeatWindows, FlagWindows
from biofeedback.signals.rr_clean import CleanedChunk, RRCleaner, Uneven
from biofeedback.signals.series_windows import (
    MEASURES,
    Sorted,
    Starts,
    ascending,
    blank,
    cumulative,
    measure_series,
    running_count,
)

# What the codes of ``SeriesEstimate.quality`` and ``.baseline_how`` stand for.
QUALITIES = np.array([Quality.OK, Quality.HR_ONLY, Quality.NO_SIGNAL], dtype=object)
BASELINE_HOWS = np.array(["", *BaselineHow], dtype=object)  # "": no baseline yet
_HOW_CODES: dict[BaselineHow | str, int] = {how: i for i, how in enumerate(BASELINE_HOWS)}

# Ticks per block where a series is taken a block at a time (small scratch arrays
# that the allocator reuses, instead of fresh pages the size of the recording).
_BLOCK = 16000


@record(frozen=True, slots=True)
class SeriesEstimate:
    """Per-tick estimates over a recording, plus its cleaned beats.

    Tick arrays hold NaN where the streaming estimator would say None.
    ``quality`` and ``baseline_how`` hold one byte a tick, the place of its value
    in ``QUALITIES`` and ``BASELINE_HOWS`` (``QUALITIES[s.quality]`` decodes them
    all): as numpy strings they took 28-56 bytes, a quarter of a long recording's
    fresh pages.
    """

    t_s: np.ndarray
    hr_bpm: np.ndarray
    hr_fast_bpm: np.ndarray
    hr_10s_bpm: np.ndarray
    rmssd_ms: np.ndarray
    rmssd_60s_ms: np.ndarray
    sdnn_60s_ms: np.ndarray
    artifact_rate: np.ndarray
    quality: np.ndarray
    hr_z: np.ndarray
    rmssd_drop_z: np.ndarray
    arousal: np.ndarray
    reference_ln_rmssd: np.ndarray
    baseline_hr_t: np.ndarray
    baseline_rmssd_t: np.ndarray
    noise_t: np.ndarray
    rise_t: np.ndarray
    baseline_how: np.ndarray
    beats: CleanedChunk

    @property
    def baseline_hr_bpm(self) -> float | None:
        """The baseline as finally taken (None: never)."""
        done = self.baseline_hr_t[np.isfinite(self.baseline_hr_t)]
        return float(done[-1]) if done.size else None

    @property
    def baseline_rmssd_ms(self) -> float | None:
        done = self.baseline_rmssd_t[np.isfinite(self.baseline_rmssd_t)]
        return float(done[-1]) if done.size else None

    @property
    def baseline_from_s(self) -> float | None:
        """When the baseline was taken."""
        done = np.flatnonzero(np.isfinite(self.baseline_hr_t))
        return float(self.t_s[done[0]]) if done.size else None

    @property
    def flagged_share(self) -> float:
        """Share of the raw beats the cleaner flagged."""
        kind = self.beats.kind
        return float(np.count_nonzero(kind) / kind.size) if kind.size else 0.0

    def estimate_at(self, i: int) -> ArousalEstimate:
        """Tick ``i`` as the streaming estimator would have reported it."""
        t = float(self.t_s[i])
        v = {
            name: nan_to_none(float(getattr(self, name)[i]))
            for name in (
                "hr_bpm",
                "hr_fast_bpm",
                "hr_10s_bpm",
                "rmssd_ms",
                "arousal",
                "hr_z",
                "rmssd_drop_z",
                "rmssd_60s_ms",
                "baseline_hr_t",
                "baseline_rmssd_t",
                "noise_t",
                "rise_t",
            )
        }
        ref = float(self.reference_ln_rmssd[i])
        rmssd = v["rmssd_ms"]
        base_hr = v["baseline_hr_t"]
        how = BASELINE_HOWS[self.baseline_how[i]]
        return ArousalEstimate(
            t,
            v["hr_bpm"],
            rmssd,
            v["arousal"],
            QUALITIES[self.quality[i]],
            float(self.artifact_rate[i]),
            hr_delta_bpm=None if base_hr is None or v["hr_bpm"] is None else v["hr_bpm"] - base_hr,
            ln_rmssd_delta=None if rmssd is None or math.isnan(ref) else math.log(rmssd) - ref,
            baseline_hr_bpm=base_hr,
            baseline_rmssd_ms=v["baseline_rmssd_t"],
            hr_z=v["hr_z"],
            rmssd_drop_z=v["rmssd_drop_z"],
            rmssd_60s_ms=v["rmssd_60s_ms"],
            hr_fast_bpm=v["hr_fast_bpm"] if v["hr_bpm"] is not None else None,
            hr_10s_bpm=v["hr_10s_bpm"] if v["hr_bpm"] is not None else None,
            hr_noise_bpm=v["noise_t"],
            baseline_how=how or None,
            baseline_rise_bpm=v["rise_t"],
        )


def estimate_series(
    rr_ms: np.ndarray,
    t_s: np.ndarray | None = None,
    *,
    ticks_s: np.ndarray | None = None,
    config: EstimatorConfig | None = None,
    baseline_hr_bpm: float | None = None,
    baseline_rmssd_ms: float | None = None,
) -> SeriesEstimate:
    """Estimates once a second (or at ``ticks_s``) over a whole RR recording.

    ``t_s`` are the beat end times (default: the running sum of ``rr_ms``).
    """
    cfg = config or EstimatorConfig()
    rr = np.asarray(rr_ms, float)
    if t_s is None:
        t = np.cumsum(rr)
        t /= 1000.0
    else:
        t = np.asarray(t_s, float)
    beats, uneven = _clean(t, rr, cfg, own_times=t_s is None)
    ticks = np.arange(t[0] + 1.0, t[-1] + 1e-9, 1.0) if ticks_s is None else ticks_s
    # Every per-tick figure is a row of one array: one allocation, not fifteen
    # (a long recording's series are megabytes of fresh pages each).
    rows = np.empty((15, ticks.size))
    raw_at, signal = _ended(t, ticks, ticks_s is None, cfg)
    start_s = float(t[0])
    del t, rr  # (ours, mostly: let go before the windows' sums are made)
    # (the rows after the measures are written only later: the windows' scratch)
    m = measure_series(
        beats, ticks, raw_at, cfg, rows[:7], rows[7:].reshape(-1), uneven
    ) or _measure(beats, ticks, cfg, rows[:7])
    # The measures are rows of our own: blank them in place.
    silent = ~signal
    hr = blank(silent, m.hr_bpm)
    hr_fast = blank(silent, m.hr_fast_bpm)
    hr_mid = blank(silent, m.hr_mid_bpm)
    del raw_at
    ok = _gate_series(ticks, signal, np.isfinite(m.rmssd_ms), m.artifact_rate, cfg)
    rmssd = blank(~ok, m.rmssd_ms)
    rmssd_60 = blank(silent, m.rmssd_60s_ms)
    with np.errstate(divide="ignore", invalid="ignore"):
        # (in rows read before they are written: ln_60 until the reference is
        # taken, ln_rmssd until the score's last step, which reads it first)
        ln_rmssd = np.log(rmssd, out=rows[14])
        ln_60 = np.log(rmssd_60, out=rows[12])
    quality = _quality(silent, ok)
    opening = _opening(
        ticks,
        start_s,
        hr,
        hr_mid,
        hr_fast,
        ln_rmssd,
        signal,
        cfg,
        baseline_hr_bpm,
        baseline_rmssd_ms,
        rows[7:11],
    )
    reference = _series_running_mean(ticks, ln_60, cfg.rmssd_reference_s, rows[11])
    _cap_at_baseline(reference, opening.rmssd_runs)
    hr_z, drop_z, arousal = score(hr, ln_rmssd, opening.hr_bpm, reference, cfg, rows[12:15])
    return SeriesEstimate(
        t_s=ticks,
        hr_bpm=hr,
        hr_fast_bpm=hr_fast,
        hr_10s_bpm=hr_mid,
        rmssd_ms=rmssd,
        rmssd_60s_ms=rmssd_60,
        sdnn_60s_ms=blank(silent, m.sdnn_60s_ms),
        artifact_rate=m.artifact_rate,
        quality=quality,
        hr_z=hr_z,
        rmssd_drop_z=drop_z,
        arousal=arousal,
        reference_ln_rmssd=reference,
        baseline_hr_t=opening.hr_bpm,
        baseline_rmssd_t=opening.rmssd_ms,
        noise_t=opening.noise_bpm,
        rise_t=opening.rise_bpm,
        baseline_how=opening.how,
        beats=beats,
    )


def _clean(
    t_s: np.ndarray, rr_ms: np.ndarray, cfg: EstimatorConfig, *, own_times: bool
) -> tuple[CleanedChunk, Uneven]:
    """The cleaned beats and which raw beats were split or merged, the cleaner's
    buffers let go at once (the windows' scratch then takes their pages instead
    of fresh ones); ``own_times``: ``t_s`` is ours to hand over (the raw times
    are then that array)."""
    cleaner = RRCleaner(cfg.cleaner)
    cleaner.push(t_s, rr_ms, own_times=own_times)
    return cleaner.process(final=True), cleaner.uneven


def _ended(
    t_s: np.ndarray, ticks_s: np.ndarray, grid: bool, cfg: EstimatorConfig
) -> tuple[np.ndarray, np.ndarray]:
    """How many beats had ended by each tick, and whether there was signal then
    (a beat ended within ``no_signal_after_s`` before it); ``grid``: the ticks
    are an even grid."""
    if ascending(t_s):
        beats = Sorted(t_s)
        ended = beats.on_grid(ticks_s) if grid else t_s.searchsorted(ticks_s, side="right")
        last_s = beats.before(ended)
    else:
        ended = np.searchsorted(t_s, ticks_s, side="right")
        last_s = np.where(ended > 0, t_s[np.maximum(ended - 1, 0)], -np.inf)
    since_s = np.subtract(ticks_s, last_s, out=last_s)  # (ours: in place)
    signal: np.ndarray = since_s <= cfg.no_signal_after_s
    return ended, signal


def _quality(silent: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The quality's code at every tick: how many of "not ok" and "no signal"
    hold (``ok`` holds only with signal), ``QUALITIES``' order."""
    code: np.ndarray = np.add(~ok, silent, dtype=np.uint8)
    return code


def _measure(
    beats: CleanedChunk, ticks: np.ndarray, cfg: EstimatorConfig, into: np.ndarray
) -> Measures:
    """The general path, for beat times out of order (copied into ``into``'s rows,
    in ``measure_series``'s order)."""
    windows = BeatWindows()
    windows.extend(beats.t_s, beats.nn_ms, beats.available_s)
    flags = FlagWindows()
    flags.extend(beats.raw_t_s, beats.kind != 0, beats.raw_available_s)
    m = measure_windows(windows, flags.rate(ticks, cfg.artifact_window_s), ticks, cfg)
    for row, name in zip(into, MEASURES, strict=True):
        row[:] = getattr(m, name)
    return Measures(*into)


@record(frozen=True, slots=True)
class _Opening:
    """The opening baseline at every tick of a recording (HR, RMSSD, noise, rise and
    how it was taken), and the stretches with an RMSSD baseline."""

    hr_bpm: np.ndarray
    rmssd_ms: np.ndarray
    noise_bpm: np.ndarray
    rise_bpm: np.ndarray
    how: np.ndarray
    # (first tick, end, RMSSD baseline) of each stretch of ticks with one.
    rmssd_runs: list[tuple[int, int, float]]


def _opening(
    ticks_s: np.ndarray,
    start_s: float,
    hr: np.ndarray,
    hr_mid: np.ndarray,
    hr_fast: np.ndarray,
    ln_rmssd: np.ndarray,
    signal: np.ndarray,
    cfg: EstimatorConfig,
    hr_bpm: float | None,
    rmssd_ms: float | None,
    into: np.ndarray,
) -> _Opening:
    """The baseline at every tick, as the streaming estimator's collector takes it.

    The collector itself judges the opening, but it is offered only the ticks that
    can change it: every tick with signal until the HR baseline is decided (the
    opening, at most ``baseline_max_s`` of readings), then only the ticks that add an
    RMSSD reading, up to the one that decides it. Once both are taken the baseline
    never changes, so the rest of the recording is filled in one step.
    """
    opening = cfg.opening
    collector = BaselineCollector(opening, hr_bpm, rmssd_ms)
    n = ticks_s.size
    changes: list[tuple[int, _State]] = [(0, _state(collector))]

    def offer(i: int) -> None:
        collector.offer(
            float(ticks_s[i] - start_s),
            float(hr[i]),
            float(hr_mid[i]),
            float(ln_rmssd[i]),
            float(hr_fast[i]),
        )
        state = _state(collector)
        if state != changes[-1][1]:
            changes.append((i, state))

    ticks = np.flatnonzero(signal)
    k = 0
    while collector.hr_bpm is None and k < ticks.size:
        offer(int(ticks[k]))
        k += 1
    if collector.ln_rmssd is None and collector.hr_bpm is not None and k < ticks.size:
        held = collector.rmssd_readings
        # The deciding tick is nearly always among the first few after the HR
        # baseline: look there first, then at four times as many, and so on.
        size = 256
        while True:
            rest = ticks[k : k + size]
            elapsed_s = ticks_s[rest] - start_s
            reading = (elapsed_s >= opening.rmssd_window_s) & np.isfinite(ln_rmssd[rest])
            enough = np.cumsum(reading) + held >= opening.baseline_min_ticks // 2
            decides = np.flatnonzero(enough & (elapsed_s >= opening.baseline_s))
            if decides.size or k + size >= ticks.size:
                break
            size *= 4
        stop = int(decides[0]) + 1 if decides.size else rest.size
        for j in np.flatnonzero(reading[:stop]):
            offer(int(rest[j]))
        if decides.size and collector.ln_rmssd is None:
            offer(int(rest[decides[0]]))
    out = dict(zip(("hr", "rmssd", "noise", "rise"), into, strict=True))
    how = np.empty(n, np.uint8)
    runs: list[tuple[int, int, float]] = []
    bounds = [i for i, _ in changes[1:]] + [n]
    for (lo, state), hi in zip(changes, bounds, strict=True):
        for key, value in zip(("hr", "rmssd", "noise", "rise"), state[:4], strict=True):
            out[key][lo:hi] = np.nan if value is None else value
        how[lo:hi] = _HOW_CODES[state[4]]
        if state[1] is not None and hi > lo:
            runs.append((lo, hi, state[1]))
    return _Opening(out["hr"], out["rmssd"], out["noise"], out["rise"], how, runs)


def _cap_at_baseline(reference: np.ndarray, rmssd_runs: list[tuple[int, int, float]]) -> None:
    """The reference (in place: the running mean of ln RMSSD until now) never
    above the baseline's log, and NaN without a baseline: ``np.fmin`` of it and
    the baseline's log at every tick, taken run by run (the baseline is one value
    for long stretches)."""
    done = 0
    for lo, hi, rmssd_ms in rmssd_runs:
        reference[done:lo] = np.nan
        base_ln = np.log(np.float64(rmssd_ms))
        if np.isnan(base_ln):
            reference[lo:hi] = np.nan
        else:
            np.fmin(base_ln, reference[lo:hi], out=reference[lo:hi])
        done = hi
    reference[done:] = np.nan


_State = tuple[float | None, float | None, float | None, float | None, BaselineHow | str]


def _state(c: BaselineCollector) -> _State:
    return (c.hr_bpm, c.rmssd_ms, c.noise_bpm, c.rise_bpm, c.how or "")


def _gate_series(
    t_s: np.ndarray,
    signal: np.ndarray,
    hrv_usable: np.ndarray,
    rate: np.ndarray,
    cfg: EstimatorConfig,
) -> np.ndarray:
    """``QualityGate.update`` at every tick with signal, at once (False without signal).

    The gate is ok from a *trigger* until the first tick whose HRV is unusable. A
    trigger is the first usable tick if it is clean, or any tick ending ``ok_after_s``
    of consecutive clean ticks (ticks without signal are not offered to the gate, so
    they neither break nor extend a run). So within each stretch of usable ticks the
    gate opens at the stretch's first trigger and stays open to its end. Stretches
    (of clean ticks, of usable ones) are few: each tick is given its stretch's
    first place by repeating the few, where running maxima over every tick cost
    as much as a cumulative sum each.
    """
    whole = bool(signal.all())  # signal throughout: no need to pick the ticks
    idx = None if whole else np.flatnonzero(signal)
    n = t_s.size if idx is None else idx.size
    if n == 0:
        return np.zeros(t_s.size, bool)
    t = t_s if idx is None else t_s[idx]
    usable = hrv_usable if idx is None else hrv_usable[idx]
    clean = usable & ((rate if idx is None else rate[idx]) <= cfg.ok_artifact_rate)
    starts, lengths = _stretches(clean)
    run_s = t[np.repeat(starts, lengths)]  # (each clean tick's run's first time)
    np.subtract(t, run_s, out=run_s)
    trigger = run_s >= cfg.ok_after_s
    del run_s
    trigger &= clean
    first_usable = int(usable.argmax())
    if usable[first_usable] and clean[first_usable]:
        trigger[first_usable] = True
    starts, lengths = _stretches(usable)
    triggers = np.flatnonzero(trigger)
    # The first trigger at or after each stretch's start (n: none): the gate is
    # open from it on to the stretch's end (a trigger is usable: one past a
    # stretch's end, or in another, is past every tick of the stretch).
    first = np.append(triggers, n)[np.searchsorted(triggers, starts)]
    gate: np.ndarray = np.greater_equal(np.arange(n), np.repeat(first, lengths))
    if idx is None:
        return gate
    ok = np.zeros(t_s.size, bool)
    ok[idx] = gate
    return ok


def _stretches(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each stretch of equal ``flags`` (not empty) starts, and its length."""
    starts = np.flatnonzero(flags[1:] != flags[:-1])
    starts += 1
    starts = np.concatenate((np.zeros(1, starts.dtype), starts))
    lengths = np.diff(starts, append=flags.size)
    return starts, lengths


def _series_running_mean(
    t_s: np.ndarray, values: np.ndarray, span_s: float, into: np.ndarray | None = None
) -> np.ndarray:
    """``_RunningMean`` at every tick: mean of the finite values in ``(t - span, t]``
    (into ``into`` if given)."""
    size = t_s.size
    mean = np.empty(size) if into is None else into
    # The finite values (0 for the others) summed, by way of the mean's place.
    ok = np.isfinite(values)
    mean.fill(0.0)
    np.copyto(mean, values, where=ok)
    sums = cumulative(mean)
    counts = running_count(ok)
    del ok
    # Strictly ascending: each tick's own count among the ticks is its place + 1,
    # and a window's start nearly always an earlier tick (``Starts``), whose sum
    # and count are then read a fixed number of places back. Else every start is
    # searched.
    grid = bool(size and (t_s[1:] > t_s[:-1]).all())
    fewest = max(span_s / 2, 1)
    # A block of ticks at a time (small scratch), each window's sum and count
    # read into the place of its result.
    for b in range(0, size, _BLOCK):
        e = min(b + _BLOCK, size)
        if grid:
            start = Starts(t_s, t_s, span_s, b, e)
            # (the sums and counts of the ticks up to each: from index 1)
            lo = start.odd_counts
            n = start.at_starts(counts[1:], 0, counts[lo])
            before = start.at_starts(sums[1:], 0, sums[lo])
        else:
            lo = np.searchsorted(t_s, t_s[b:e] - span_s, side="right")
            n = np.take(counts, lo)
            before = np.take(sums, lo)
        n = np.subtract(counts[b + 1 : e + 1], n)
        part = mean[b:e]
        np.subtract(sums[b + 1 : e + 1], before, out=part)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(part, n, out=part)
        # Too few readings, including none (whose 0/0 would be another NaN's bits).
        part[n < fewest] = np.nan
    return mean
