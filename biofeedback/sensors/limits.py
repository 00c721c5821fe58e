"""What a heart sample may hold: the boundary every source's numbers cross.

Pure. A sample outside these limits is not a heart (a 1e308 heart rate, a
quarter of a million beats in one message): the session counts it and drops
it, so it never reaches the estimator or the store.

The limits are wide on purpose: artifacts inside them (an ectopic beat, a
missed one) are the cleaner's job, not the boundary's.
"""

from __future__ import annotations

import math

from biofeedback.models import HeartSample

# Resting to maximal human heart rates with a wide margin (a newborn reaches ~220).
HR_MIN_BPM = 20.0
HR_MAX_BPM = 300.0
# 300 to 15 bpm as one beat's interval.
RR_MIN_MS = 200.0
RR_MAX_MS = 4000.0
# A strap notifies about once a second; even a broker that batches a few
# seconds of beats stays far below this.
RR_PER_SAMPLE_MAX = 32
# A JSON heart-rate message is about 60 bytes; a 0x2A37 one at most 512.
PAYLOAD_MAX_BYTES = 4096


def implausible(sample: HeartSample) -> str | None:
    """Why ``sample`` cannot be heart data (naming the field), or None when it can."""
    if not math.isfinite(sample.t_s):
        return "t_s is not a finite time"
    hr = sample.hr_bpm
    if hr is not None and not (math.isfinite(hr) and HR_MIN_BPM <= hr <= HR_MAX_BPM):
        return f"hr_bpm {hr:g} is outside {HR_MIN_BPM:g}-{HR_MAX_BPM:g}"
    if len(sample.rr_ms) > RR_PER_SAMPLE_MAX:
        return f"rr_ms holds {len(sample.rr_ms)} intervals (at most {RR_PER_SAMPLE_MAX})"
    for rr in sample.rr_ms:
        if not (math.isfinite(rr) and RR_MIN_MS <= rr <= RR_MAX_MS):
            return f"rr_ms {rr:g} is outside {RR_MIN_MS:g}-{RR_MAX_MS:g}"
    for t_s in sample.beat_t_s:
        if not math.isfinite(t_s):
            return "beat_t_s is not a finite time"
    return None
