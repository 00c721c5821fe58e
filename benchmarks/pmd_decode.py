"""PMD frame decoding: our decoder's cost per frame, beside bleakheart's on the same frames.

Frames as an H10 sends them at a 232-byte MTU: ACC at 200 Hz, 36 samples a
frame (plain int16, and delta-compressed), ECG at 130 Hz, 73 samples a frame.
For each kind: microseconds per frame over 15 rounds of 2,000 frames (median,
p90, range), and whether bleakheart (PyPI, when installed: the `test` extra
has it) decodes the same frames to the same values.

Run: .venv/bin/python benchmarks/pmd_decode.py
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biofeedback.sensors.pmd import MeasurementType, decode_frame, encode_frame

ROUNDS = 15
PER_ROUND = 2_000


def breath_acc(rng: random.Random, n: int, k: int) -> list[tuple[int, int, int]]:
    """Sitting posture, a 0.25 Hz breath of ~20 mg, sensor noise."""
    out = []
    for i in range(n):
        t = (k * n + i) / 200.0
        b = 20 * math.sin(2 * math.pi * 0.25 * t)
        out.append(
            (
                round(30 + b * 0.3 + rng.gauss(0, 3)),
                round(-990 + rng.gauss(0, 3)),
                round(120 + b + rng.gauss(0, 3)),
            )
        )
    return out


def frames(rng: random.Random) -> dict[str, list[bytes]]:
    acc = MeasurementType.ACC
    plain, packed, ecg = [], [], []
    for k in range(PER_ROUND):
        samples = breath_acc(rng, 36, k)
        plain.append(encode_frame(acc, 10**12 + k * 180_000_000, samples))
        packed.append(encode_frame(acc, 10**12 + k * 180_000_000, samples, compressed=True))
        uv = [(round(800 * math.sin(i / 3) + rng.gauss(0, 20)),) for i in range(73)]
        ecg.append(encode_frame(MeasurementType.ECG, 10**12 + k * 561_538_461, uv))
    return {"ACC plain (36)": plain, "ACC delta (36)": packed, "ECG (73)": ecg}


def per_frame_us(decode: Callable[[bytes], object], batch: list[bytes]) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for raw in batch:
            decode(raw)
        times.append((time.perf_counter() - start) / len(batch) * 1e6)
    return times


def spread(us: list[float]) -> str:
    q = statistics.quantiles(us, n=10)
    median = statistics.median(us)
    return f"median {median:6.1f}  p90 {q[-1]:6.1f}  range {min(us):.1f}-{max(us):.1f}"


def bleakheart_decoders() -> dict[str, Callable[[bytes], object]] | None:
    try:
        from bleakheart import PolarMeasurementData  # type: ignore[import-untyped]
    except ImportError:
        return None
    pmd = PolarMeasurementData(None, callback=print)
    # The peer's decoders are private methods: the only way to time them alone.
    return {
        "ACC plain (36)": lambda raw: pmd._decode_acc_data(bytearray(raw)),  # noqa: SLF001
        "ECG (73)": lambda raw: pmd._decode_ecg_data(bytearray(raw)),  # noqa: SLF001
    }


def ours(raw: bytes) -> list[tuple[int, ...]] | list[int]:
    frame = decode_frame(raw)
    if frame.stream == MeasurementType.ECG:
        return [s[0] for s in frame.samples]
    return list(frame.samples)


def main() -> None:
    global ROUNDS, PER_ROUND
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three rounds of 100 frames")
    if parser.parse_args().quick:
        ROUNDS, PER_ROUND = 3, 100
    batches = frames(random.Random(24))
    peer = bleakheart_decoders()
    if peer is None:
        print("bleakheart is not installed: our figures only (pip install bleakheart)")
    print(f"µs per frame, {ROUNDS} rounds of {PER_ROUND} frames")
    for kind, batch in batches.items():
        us = per_frame_us(ours, batch)
        print(f"{kind:<16} ours        {spread(us)}")
        if kind.startswith("ACC"):
            # A live H10 at 200 Hz sends 200 / 36 frames a second.
            share = statistics.median(us) * 1e-6 * 200 / 36 * 100
            print(f"{'':<16} at 200 Hz live: {share:.4f} % of a core")
        if peer is None:
            continue
        theirs = peer.get(kind)
        if theirs is None:
            print(f"{'':<16} bleakheart  not decoded (handed on as raw bytes)")
            continue
        print(f"{'':<16} bleakheart  {spread(per_frame_us(theirs, batch))}")
        same = sum(1 for raw in batch if ours(raw) == theirs(raw))
        print(f"{'':<16} same values on {same}/{len(batch)} frames")


if __name__ == "__main__":
    main()
