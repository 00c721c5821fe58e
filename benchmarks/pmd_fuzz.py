"""Fuzz the PMD frame decoder: 10^6 random and mutated frames, 0 unhandled exceptions.

Half the frames are random bytes (0-250 long), half are real frames (plain ACC,
compressed ACC, ECG) with 1-8 bytes changed and sometimes cut short. Every
frame must decode or raise one of our PmdError subclasses; anything else is
counted as unhandled and printed.

Then bleakheart's frame handler (the peer, when installed) gets 10^5 frames of
the same kind, and what it raises is counted: anything but a clean refusal is
what a strap's stray frame would do to a program built on it.

Run: .venv/bin/python benchmarks/pmd_fuzz.py [N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biofeedback.sensors.pmd import (
    MeasurementType,
    PmdError,
    decode_frame,
    encode_frame,
)

N = 1_000_000
PEER_N = 100_000


def seeds(rng: random.Random) -> list[bytes]:
    acc = MeasurementType.ACC
    out: list[bytes] = []
    for _ in range(20):
        samples = [
            (rng.randrange(-2000, 2000), rng.randrange(-2000, 2000), rng.randrange(-2000, 2000))
            for _ in range(rng.randrange(1, 60))
        ]
        out.append(encode_frame(acc, rng.getrandbits(64), samples))
        out.append(encode_frame(acc, rng.getrandbits(64), samples, compressed=True))
        ecg = [(rng.randrange(-4000, 4000),) for _ in range(rng.randrange(1, 73))]
        out.append(encode_frame(MeasurementType.ECG, rng.getrandbits(64), ecg))
    return out


def frames(rng: random.Random, pool: list[bytes], n: int) -> Iterator[bytes]:
    for i in range(n):
        if i % 2:
            yield rng.randbytes(rng.randrange(0, 251))
        else:
            buf = bytearray(rng.choice(pool))
            for _ in range(rng.randrange(1, 9)):
                buf[rng.randrange(len(buf))] = rng.getrandbits(8)
            if rng.random() < 0.3:
                del buf[rng.randrange(len(buf) + 1) :]
            yield bytes(buf)


def peer(n: int) -> None:
    """bleakheart's frame handler on the same kind of frames: what it raises."""
    try:
        from bleakheart import PolarMeasurementData  # type: ignore[import-untyped]
    except ImportError:
        print("bleakheart is not installed: no peer figures")
        return
    import asyncio

    def drop(_item: object) -> None:
        return None

    pmd = PolarMeasurementData(None, callback=drop)
    rng = random.Random(24)
    pool = seeds(rng)
    raised: Counter[str] = Counter()

    async def run() -> None:
        for raw in frames(rng, pool, n):
            try:
                await pmd._pmd_data_handler(None, bytearray(raw))  # noqa: SLF001 (the peer's frame handler)
                raised["handled"] += 1
            except Exception as exc:  # what the comparison counts
                raised[type(exc).__name__] += 1

    start = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - start
    print(f"peer bleakheart, same kind of frames: {n} in {elapsed:.1f} s")
    for name, count in raised.most_common():
        print(f"  {name:<24} {count}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", nargs="?", type=int, default=N, help=f"how many (default {N:,})")
    parser.add_argument("--quick", action="store_true", help="10,000 frames: a smoke test")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.frames
    rng = random.Random(24)
    pool = seeds(rng)
    outcomes: Counter[str] = Counter()
    unhandled: list[str] = []
    start = time.perf_counter()
    for raw in frames(rng, pool, n):
        try:
            decode_frame(raw)
            outcomes["decoded"] += 1
        except PmdError as exc:
            outcomes[type(exc).__name__] += 1
        except Exception as exc:  # what the fuzz looks for
            outcomes["UNHANDLED"] += 1
            if len(unhandled) < 5:
                unhandled.append(f"{type(exc).__name__}: {exc} ({raw.hex()})")
    elapsed = time.perf_counter() - start
    print(f"frames: {n}   time: {elapsed:.1f} s   rate: {n / elapsed:,.0f} frames/s")
    for name, count in outcomes.most_common():
        print(f"  {name:<24} {count}")
    print(f"unhandled exceptions: {outcomes['UNHANDLED']}")
    for line in unhandled:
        print("  " + line)
    peer(min(n, PEER_N))
    return 1 if outcomes["UNHANDLED"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
