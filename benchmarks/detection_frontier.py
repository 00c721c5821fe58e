"""How fast any simple rule could step down on the detection corpus, at what false-alarm cost.

benchmarks/detection.py measures this program; this script asks what is
possible at all on the same corpus, free of the program's constraints (the
strap's delivery and the cleaner's one-beat lag, the tensing allowance, paced
breaths). For each rule it prints the median onset -> alarm per ramp size and
the false alarms per hour on calm sessions, for corpus seeds 1 and 2:

- a level reading: the heart rate over the last W seconds of beats (beats
  within 20 % of the median of their 11 neighbours); over the heart's own
  breath period (the peak of its spectrum in the opening), which cancels the
  breath's swing; or the end of a line plus the breath's sine fitted to the
  last 10 s (no swing, little lag, more noise);
- minus a reference: the median of the 10 s heart rate 15-55 s earlier, kept
  within -3/+8 bpm of the opening's median; or the 10 s rate 14 s earlier (a
  rise judged against the recent past);
- either in bpm, or in units of the person's own swing of that difference,
  learned as an exponentially weighted RMS (300 s) of readings 30 s old;
  optionally plus half the short RMSSD's drop (12 beats, learned units): the
  corpus ramps halve the breath swing and the beat jitter;
- alarm when it stays at or above a threshold for ``hold`` seconds, re-armed
  after a minute below;
- and, for comparison on the same cases, this program as it is and without its
  tensing allowance (the corpus hearts have no pressor bump).

On the corpus of December 2026, at about one false alarm per hour on "2 %
artifacts + wander" the best of these reached +15 bpm in 16-18 s and +25 in
10-13 s (medians, seeds 1 and 2); none caught most +8 ramps at that cost. The
breath-period level, the fitted level and the recent-past reference trade speed
for false alarms along the same line (a fitted level held 3 s: +15 in 15.8 /
16.2 s at 1.1 / 1.5 false per hour); the RMSSD drop helps the +8 and +10 ramps
by 1-5 s and the larger ones by under a second. The wander itself sets the
limit: the corpus' calm hearts drift by 2-3 bpm over 30 s with time constants
of 30-90 s, so a rise of +8 bpm within 10-15 s of onset is within what calm
does a few times an hour. The program sits 4-6 s behind these rules; without
its tensing allowance 1.5-3 s behind (+15 in 20.8 / 19.2 s).

Run: .venv/bin/python benchmarks/detection_frontier.py
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.detection_corpus import (
    RISES_BPM,
    Case,
    Run,
    build_corpus,
    few_of_each,
    latency,
    run_program,
)
from biofeedback.pacing.rules import PacingConfig

Series = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Signals:
    """Per-second readings of one case (index k is second k + 1)."""

    windows: dict[int | str, Series]
    """Heart rate over the last W seconds, and the other level readings by name:
    ``breath`` (over the heart's own breath period), ``fit`` (the end of a line
    plus the breath's sine fitted to the last 10 s), ``near`` (the 5 s rate
    against the 10 s rate 14 s earlier, not against ``reference``)."""
    reference: Series
    rmssd_drop: Series
    """ln RMSSD of the last 12 beats below the opening's, in learned units."""


def _beats(case: Case) -> tuple[Series, Series]:
    t = np.concatenate([np.asarray(s.beat_t_s, dtype=float) for s in case.samples])
    rr = np.concatenate([np.asarray(s.rr_ms, dtype=float) for s in case.samples])
    near = np.array([np.median(rr[max(0, i - 5) : i + 6]) for i in range(rr.size)])
    ok = np.abs(rr - near) < 0.2 * near
    return t[ok], 60000.0 / rr[ok]


def breath_hz(t: Series, hr: Series) -> float:
    """The breathing rate a heart shows over its opening minute: the peak of its
    heart rate's spectrum between 4 and 24 breaths a minute."""
    keep = (t > 5) & (t < 65)
    if keep.sum() < 20:
        return 0.2
    grid = np.arange(5.0, 65.0, 0.25)
    x = np.interp(grid, t[keep], hr[keep])
    x = x - np.polyval(np.polyfit(grid, x, 1), grid)
    freq = np.fft.rfftfreq(grid.size, 0.25)
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    band = (freq >= 0.07) & (freq <= 0.4)
    return float(freq[band][np.argmax(power[band])])


def _fitted_ends(t: Series, hr: Series, secs: Series, omega: float, span_s: float) -> Series:
    """Per second, the level now of a line plus a sine at ``omega`` fitted to the
    beats of the last ``span_s``: no breath swing, and little lag, but noisier."""
    out = np.full(secs.size, np.nan)
    lo_all = np.searchsorted(t, secs - span_s, side="right")
    hi_all = np.searchsorted(t, secs, side="right")
    for k in range(secs.size):
        lo, hi = lo_all[k], hi_all[k]
        if hi - lo < 6:
            continue
        tt = t[lo:hi] - secs[k]
        design = np.column_stack([np.ones_like(tt), tt, np.sin(omega * tt), np.cos(omega * tt)])
        beta = np.linalg.lstsq(design, hr[lo:hi], rcond=None)[0]
        out[k] = beta[0]
    return out


def _rmssd_drop(t: Series, hr: Series, secs: Series, beats: int = 12) -> Series:
    rr = 60000.0 / hr
    diffs = np.diff(rr)
    td = t[1:]
    keep = np.abs(diffs) < 200
    diffs, td = diffs[keep], td[keep]
    hi = np.searchsorted(td, secs, side="right")
    lo = np.maximum(hi - beats, 0)
    squares = np.concatenate([[0.0], np.cumsum(diffs * diffs)])
    n = hi - lo
    mean_sq = (squares[hi] - squares[lo]) / np.maximum(n, 1)
    ln_rmssd = np.where(n >= 6, np.log(np.sqrt(mean_sq) + 1e-6), np.nan)
    drop = float(np.nanmedian(ln_rmssd[10:60])) - ln_rmssd
    return learned_units(np.nan_to_num(drop, nan=0.0))


def signals(case: Case, windows: tuple[int, ...]) -> Signals:
    t, hr = _beats(case)
    secs = np.arange(1, int(case.duration_s) + 1, dtype=float)
    sums = np.concatenate([[0.0], np.cumsum(hr)])
    out: dict[int | str, Series] = {}
    hi = np.searchsorted(t, secs, side="right")
    omega = 2 * math.pi * breath_hz(t, hr)
    spans: dict[int | str, float] = {w: float(w) for w in {*windows, 5, 10}}
    spans["breath"] = 2 * math.pi / omega
    for key, span in spans.items():
        lo = np.searchsorted(t, secs - span, side="right")
        n = hi - lo
        mean = (sums[hi] - sums[lo]) / np.maximum(n, 1)
        out[key] = np.where(n >= 2, mean, np.nan)
    out["fit"] = _fitted_ends(t, hr, secs, omega, 10.0)
    ten = out[10]
    base = float(np.nanmedian(ten[10:60]))
    ref = np.full(secs.size, base)
    for k in range(61, secs.size):
        past = ten[max(k - 55, 10) : max(k - 15, 11)]
        if np.isfinite(past).any():
            ref[k] = min(max(float(np.nanmedian(past)), base - 3.0), base + 8.0)
    lag = 14
    earlier = np.concatenate([np.full(lag, np.nan), ten[:-lag]])
    # Against the recent past instead of the reference: ``evaluate`` subtracts
    # ``reference``, so the difference to it is folded in here.
    out["near"] = out[5] - earlier + ref
    return Signals(out, ref, _rmssd_drop(t, hr, secs))


def learned_units(d: Series, tau_s: float = 300.0, delay_s: int = 30) -> Series:
    """``d`` in units of its own RMS, learned from readings ``delay_s`` old."""
    out = np.full(d.size, np.nan)
    var = 9.0
    a = math.exp(-1.0 / tau_s)
    for k in range(d.size):
        j = k - delay_s
        if j >= 61 and math.isfinite(d[j]):
            var = a * var + (1.0 - a) * min(float(d[j]) ** 2, 9.0 * var)
        out[k] = d[k] / max(math.sqrt(var), 1.0)
    return out


def alarms(x: Series, threshold: float, hold_s: int, start: int = 61) -> list[int]:
    out: list[int] = []
    held = 0
    armed = True
    for k in range(start, x.size):
        high = bool(x[k] >= threshold)
        held = held + 1 if high else 0
        if not high and out and k - out[-1] >= 60:
            armed = True
        if armed and held >= hold_s:
            out.append(k)
            armed = False
    return out


@dataclass(frozen=True, slots=True)
class Rule:
    label: str
    window_s: int | str
    learned: bool
    threshold: float
    hold_s: int
    rmssd_weight: float = 0.0
    """Add this much of the short RMSSD's drop (learned units, 0-3) to the reading."""


RULES = (
    Rule("5 s, bpm", 5, False, 9.0, 2),
    Rule("10 s, bpm", 10, False, 8.0, 2),
    Rule("10 s, bpm (naive-like)", 10, False, 8.0, 5),
    Rule("5 s, learned z", 5, True, 3.0, 2),
    Rule("5 s, learned z", 5, True, 3.0, 3),
    Rule("5 s, learned z", 5, True, 3.5, 2),
    Rule("8 s, learned z", 8, True, 3.0, 2),
    Rule("10 s, learned z", 10, True, 3.0, 2),
    Rule("breath period, learned z", "breath", True, 3.0, 2),
    Rule("breath period, learned z", "breath", True, 3.0, 3),
    Rule("line + breath sine, learned z", "fit", True, 3.0, 3),
    Rule("line + breath sine, learned z", "fit", True, 4.0, 2),
    Rule("5 s vs 14 s earlier, learned z", "near", True, 3.0, 2),
    Rule("5 s vs 14 s earlier, learned z", "near", True, 3.5, 2),
    Rule("5 s + 0.5 RMSSD drop, learned z", 5, True, 3.0, 3, rmssd_weight=0.5),
    Rule("5 s + 0.5 RMSSD drop, learned z", 5, True, 3.5, 2, rmssd_weight=0.5),
)


def evaluate(rule: Rule, cases: list[Case], sigs: list[Signals]) -> str:
    runs = []
    for case, sig in zip(cases, sigs, strict=True):
        if case.kind == "start":  # not scored
            runs.append(Run([], None))
            continue
        d = sig.windows[rule.window_s] - sig.reference
        x = learned_units(d) if rule.learned else d
        if rule.rmssd_weight:
            x = x + rule.rmssd_weight * np.clip(sig.rmssd_drop, 0.0, 3.0)
        # Reading k is second k + 1; the reference exists from second 61.
        runs.append(Run([k + 1.0 for k in alarms(x, rule.threshold, rule.hold_s)], 61.0))
    return tally(cases, runs)


def tally(cases: list[Case], runs: list[Run]) -> str:
    """Median onset -> alarm per ramp size and false alarms per hour, in one line."""
    latencies: dict[float, list[float]] = {r: [] for r in RISES_BPM}
    counts = {"wander 2 %": [0, 0.0], "generated": [0, 0.0]}
    groups: dict[str, Callable[[Case], bool]] = {
        "wander 2 %": lambda c: "wander" in c.tags and "art2%" in c.tags,
        "generated": lambda c: "real" not in c.tags,
    }
    for case, run in zip(cases, runs, strict=True):
        if case.kind == "ramp":
            assert case.rise_bpm is not None
            latencies[case.rise_bpm].append(latency(run, case.onset_s or 0.0))
        elif case.kind == "calm":
            hours = (case.duration_s - (run.judged_from_s or case.duration_s)) / 3600
            for name, keep in groups.items():
                if keep(case):
                    counts[name][0] += len(run.step_downs_s)
                    counts[name][1] += hours
    ramps = " ".join(f"+{r:.0f} {float(np.median(v)):5.1f}" for r, v in latencies.items())
    false = " ".join(f"{name} {n / h:4.2f}/h" for name, (n, h) in counts.items())
    return f"{ramps}  | false: {false}"


def program_rows(cases: list[Case]) -> list[str]:
    """This program on the same cases, as it is and without the tensing allowance
    (the corpus hearts have no pressor bump, so there the allowance only costs)."""
    rows = []
    for label, config in (
        ("this program", PacingConfig()),
        ("this program, no tensing allowance", PacingConfig(tense_allowance_bpm=0.0)),
    ):
        judged = [c for c in cases if c.kind != "start"]
        runs = [run_program(c, config=config) for c in judged]
        rows.append(f"  {label:50} {tally(judged, runs)}")
    return rows


def main() -> None:
    quick = _quick()
    for seed in (1,) if quick else (1, 2):
        t0 = time.perf_counter()
        cases = build_corpus(seed, 2 if quick else 24)
        if quick:
            cases = few_of_each(cases)
        windows = tuple(sorted({r.window_s for r in RULES if isinstance(r.window_s, int)}))
        sigs = [signals(c, windows) for c in cases]
        print(f"\n== corpus seed {seed} ({time.perf_counter() - t0:.0f} s to prepare)")
        print(f"  {'rule':50} median onset -> alarm, s            false alarms")
        for rule in RULES:
            unit = "z" if rule.learned else "bpm"
            name = f"{rule.label} >= {rule.threshold:g} {unit} for {rule.hold_s} s"
            print(f"  {name:50} {evaluate(rule, cases, sigs)}")
        print("\n".join(program_rows(cases)))


def _quick() -> bool:
    """``--quick``: tiny inputs, one run (tests/test_benchmarks.py runs it so)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    return bool(parser.parse_args().quick)


if __name__ == "__main__":
    main()
