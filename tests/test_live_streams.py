"""The live estimators' streams, to the bit (issue 28: speed without changing a figure).

Every field of every ``ArousalEstimate`` and every ``BreathEstimate`` the live
estimators give on the real recordings (tests/data/rr) and on a series full of
artifacts, notification sizes and gaps is hashed from its ``repr`` (a float's
repr is exact). The digests were printed by the code of main 4fed2a8, before
the per-tick work was cut; a change that moves any figure by one bit fails here.
Regenerate only for a change meant to alter the estimates, and say why:

    python -m tests.test_live_streams
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from biofeedback.models import Contact, HeartSample
from biofeedback.signals.arousal import ArousalEstimator
from biofeedback.signals.breath_estimate import BreathEstimator, Pacer
from tests.support.arousal_data import (
    SHARED_RR,
    beat_times,
    inject_artifacts,
    inject_ramp,
    load_rr,
    samples_from_rr,
)

# The breath digests re-pinned for the closed-form line fit (signals/line_fit.py) after every
# field was shown the same before/after but for last bits (<= 3.3e-15 relative).
EXPECTED = {
    # ok and hr_only, a rising opening, rr_only and no_signal breath, paced and not.
    "hour-ramp-artifacts": ("44ecaeb8a9da9317", "53f399373792be7a"),
    # no_signal, rebuilt beat times, lost contact, HR without RR.
    "slow-breathing-odd-samples": ("30dc27cf58e2ef2c", "f2be9861b27e269f"),
    "pvc-given-baseline": ("54ae412db541c11a", "6fa006e6d15ad5b9"),
    # missed, extra and premature beats; a longer opening; empty notifications.
    "synthetic-artifacts-gaps": ("225ff3a0e3b79882", "0909c74e7a507143"),
}


def _odd(samples: list[HeartSample]) -> list[HeartSample]:
    """What straps do besides clean notifications: times left out (rebuilt from the
    arrival), lost contact, HR without RR, and a stretch of silence (no signal)."""
    out = []
    for k, s in enumerate(samples):
        if 100 <= k < 120:
            continue  # silence: no_signal, then the estimate comes back
        if k % 17 == 0:
            s = HeartSample(s.t_s, s.hr_bpm, s.rr_ms, (), s.contact)
        elif k % 29 == 0:
            s = HeartSample(s.t_s, s.hr_bpm, s.rr_ms, s.beat_t_s, Contact.NOT_DETECTED)
        elif 200 <= k < 215:
            s = HeartSample(s.t_s, s.hr_bpm, (), (), s.contact)
        out.append(s)
    return out


def _synthetic() -> list[HeartSample]:
    """Twenty minutes of RSA with 8 % artifacts, 0-5 beats a notification, and gaps."""
    rng = np.random.default_rng(28)
    base = 850 + 90 * np.sin(np.arange(1400) / 3.0) + rng.normal(0, 30, 1400)
    rr, _ = inject_artifacts(base, 0.08, rng)
    t = beat_times(rr)
    for gap_at in rng.integers(100, rr.size, 3):
        t[gap_at:] += float(rng.uniform(2.0, 12.0))
    out, at = [], 0
    while at < rr.size:
        size = int(rng.integers(0, 6))
        beats = slice(at, at + size)
        arrival = float(t[min(at + size, rr.size) - 1]) + float(rng.uniform(0.0, 0.3))
        hr = round(60000.0 / float(rr[at]))
        out.append(HeartSample(arrival, hr, tuple(rr[beats].tolist()), tuple(t[beats].tolist())))
        at += size
    return out


def streams(folder: Path = SHARED_RR) -> Iterator[tuple[str, list[HeartSample], dict[str, float]]]:
    rng = np.random.default_rng(5)
    hour = inject_ramp(load_rr("nsrdb_pyhrv_60min_nni.txt", folder), 1800.0, 20.0)
    hour, _ = inject_artifacts(hour, 0.03, rng)
    yield "hour-ramp-artifacts", samples_from_rr(hour), {}
    slow = samples_from_rr(load_rr("polar_h10_slow_breathing_rr.csv", folder))
    yield "slow-breathing-odd-samples", _odd(slow), {}
    pvc = samples_from_rr(load_rr("polar_h10_pvc_isolated_rr.csv", folder))
    yield "pvc-given-baseline", pvc, {"hr_bpm": 72.0, "rmssd_ms": 35.0}
    yield "synthetic-artifacts-gaps", _synthetic(), {}


def digests(samples: list[HeartSample], given: dict[str, float]) -> tuple[str, str]:
    """Both estimators fed in time order, asked twice a second (every other tick
    has no new beat), the breath estimator under a pacer now and then."""
    arousal = ArousalEstimator(
        baseline_hr_bpm=given.get("hr_bpm"), baseline_rmssd_ms=given.get("rmssd_ms")
    )
    breath = BreathEstimator()
    seen_a, seen_b = hashlib.sha256(), hashlib.sha256()
    i = 0
    end = samples[-1].t_s + 2.0
    for now in np.arange(0.5, end, 0.5).tolist():
        while i < len(samples) and samples[i].t_s <= now:
            arousal.add_sample(samples[i])
            breath.add_sample(samples[i])
            i += 1
        if now % 120.0 == 0.0:
            paced = (now // 120.0) % 2 == 1
            breath.pace(Pacer(now, 4.0, 6.0) if paced else None)
        seen_a.update(repr(arousal.estimate(now)).encode())
        seen_b.update(repr(breath.estimate(now)).encode())
    return seen_a.hexdigest()[:16], seen_b.hexdigest()[:16]


def test_the_live_streams_are_the_ones_before_to_the_bit(shared_rr: Path) -> None:
    got = {name: digests(samples, given) for name, samples, given in streams(shared_rr)}
    assert got == EXPECTED


if __name__ == "__main__":
    for name, samples, given in streams():
        print(f"    {name!r}: {digests(samples, given)!r},")
