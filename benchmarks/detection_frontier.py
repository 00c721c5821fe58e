"""How fast any simple rule could step down on the detection corpus, at what false-alarm cost.

benchmarks/detection.py measures this program; this script asks what is
possible at all on the same corpus, free of the program's constraints (the
strap's delivery and the cleaner's one-beat lag, the tensing allowance, paced
breaths). For each rule it prints the median onset -> alarm per ramp size and
the false alarms per hour on calm sessions, for corpus seeds 1 and 2:

- the heart rate over the last W seconds of beats (beats within 20 % of the
  median of their 11 neighbours), minus a reference: the median of the 10 s
  heart rate 15-55 s earlier, kept within -3/+8 bpm of the opening's median;
- either in bpm, or in units of the person's own swing of that difference,
  learned as an exponentially weighted RMS (300 s) of readings 30 s old;
- alarm when it stays at or above a threshold for ``hold`` seconds, re-armed
  after a minute below.

On the corpus of December 2026 the best of these at about one false alarm per
hour on "2 % artifacts + wander" (5 s window, learned units, z >= 3 held 2-3 s)
reached +15 bpm in 16-18 s and +25 in 10-13 s (medians, seeds 1 and 2), and
none caught most +8 ramps at that cost: read the program's figures (+15 in
~22 s, +25 in ~16 s, +8 in ~47 s) against these.

Run: .venv/bin/python benchmarks/detection_frontier.py
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.detection_corpus import RISES_BPM, Case, build_corpus

Series = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Signals:
    """Per-second readings of one case (index k is second k + 1)."""

    windows: dict[int, Series]
    reference: Series


def _beats(case: Case) -> tuple[Series, Series]:
    t = np.concatenate([np.asarray(s.beat_t_s, dtype=float) for s in case.samples])
    rr = np.concatenate([np.asarray(s.rr_ms, dtype=float) for s in case.samples])
    near = np.array([np.median(rr[max(0, i - 5) : i + 6]) for i in range(rr.size)])
    ok = np.abs(rr - near) < 0.2 * near
    return t[ok], 60000.0 / rr[ok]


def signals(case: Case, windows: tuple[int, ...]) -> Signals:
    t, hr = _beats(case)
    secs = np.arange(1, int(case.duration_s) + 1, dtype=float)
    sums = np.concatenate([[0.0], np.cumsum(hr)])
    out: dict[int, Series] = {}
    for w in {*windows, 10}:
        lo = np.searchsorted(t, secs - w, side="right")
        hi = np.searchsorted(t, secs, side="right")
        n = hi - lo
        mean = (sums[hi] - sums[lo]) / np.maximum(n, 1)
        out[w] = np.where(n >= 2, mean, np.nan)
    ten = out[10]
    base = float(np.nanmedian(ten[10:60]))
    ref = np.full(secs.size, base)
    for k in range(61, secs.size):
        past = ten[max(k - 55, 10) : max(k - 15, 11)]
        if np.isfinite(past).any():
            ref[k] = min(max(float(np.nanmedian(past)), base - 3.0), base + 8.0)
    return Signals(out, ref)


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
    window_s: int
    learned: bool
    threshold: float
    hold_s: int


RULES = (
    Rule("5 s, bpm", 5, False, 9.0, 2),
    Rule("10 s, bpm", 10, False, 8.0, 2),
    Rule("10 s, bpm (naive-like)", 10, False, 8.0, 5),
    Rule("5 s, learned z", 5, True, 3.0, 2),
    Rule("5 s, learned z", 5, True, 3.0, 3),
    Rule("5 s, learned z", 5, True, 3.5, 2),
    Rule("8 s, learned z", 8, True, 3.0, 2),
    Rule("10 s, learned z", 10, True, 3.0, 2),
)


def evaluate(rule: Rule, cases: list[Case], sigs: list[Signals]) -> str:
    latencies: dict[float, list[float]] = {r: [] for r in RISES_BPM}
    counts = {"wander 2 %": [0, 0.0], "generated": [0, 0.0]}
    groups: dict[str, Callable[[Case], bool]] = {
        "wander 2 %": lambda c: "wander" in c.tags and "art2%" in c.tags,
        "generated": lambda c: "real" not in c.tags,
    }
    for case, sig in zip(cases, sigs, strict=True):
        if case.kind == "start":
            continue
        d = sig.windows[rule.window_s] - sig.reference
        x = learned_units(d) if rule.learned else d
        fired = alarms(x, rule.threshold, rule.hold_s)
        if case.kind == "ramp":
            onset = case.onset_s or 0.0
            after = [k + 1 - onset for k in fired if onset <= k + 1 <= onset + 120]
            assert case.rise_bpm is not None
            latencies[case.rise_bpm].append(after[0] if after else math.inf)
        else:
            for name, keep in groups.items():
                if keep(case):
                    counts[name][0] += len(fired)
                    counts[name][1] += (case.duration_s - 61) / 3600
    ramps = " ".join(f"+{r:.0f} {float(np.median(v)):5.1f}" for r, v in latencies.items())
    false = " ".join(f"{name} {n / h:4.2f}/h" for name, (n, h) in counts.items())
    return f"{ramps}  | false: {false}"


def main() -> None:
    for seed in (1, 2):
        t0 = time.perf_counter()
        cases = build_corpus(seed)
        windows = tuple(sorted({r.window_s for r in RULES}))
        sigs = [signals(c, windows) for c in cases]
        print(f"\n== corpus seed {seed} ({time.perf_counter() - t0:.0f} s to prepare)")
        print("  rule                              median onset -> alarm, s     false alarms")
        for rule in RULES:
            unit = "z" if rule.learned else "bpm"
            name = f"{rule.label} >= {rule.threshold:g} {unit} for {rule.hold_s} s"
            print(f"  {name:40} {evaluate(rule, cases, sigs)}")


if __name__ == "__main__":
    main()
