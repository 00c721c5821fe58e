"""What `run --keep-raw` costs: store bytes an hour for the chest motion kept raw,
and for the breaths table every session with chest motion keeps.

The simulated breath-holder (its chest at 25, 50 and 200 Hz) is recorded by the
CLI twice per rate, with and without --keep-raw, into fresh stores; the figures
are the stores' sizes once closed (SQLite pages, after its log is folded in),
scaled to an hour, beside the payload (int16 x, y, z, zlib-compressed; 6 bytes
a sample before) and the CSV the
same motion makes as an ACC file (`--replay-acc`'s format), the usual peer
format. Also the session's wall time with and without (the recorder's share).

Run: .venv/bin/python benchmarks/keep_raw.py [--quick]
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import load_line, parse_args, runs_of, spread  # noqa: E402

SCENARIO = (ROOT / "simulators" / "scenarios" / "breath-holder.toml").read_text()


def record(folder: Path, rate_hz: int, seconds: int, keep_raw: bool) -> tuple[Path, float]:
    person = folder / f"holder-{rate_hz}.toml"
    person.write_text(SCENARIO.replace("acc_rate_hz = 50", f"acc_rate_hz = {rate_hz}"))
    db = folder / f"{rate_hz}-{'raw' if keep_raw else 'plain'}.db"
    argv = [sys.executable, "-m", "biofeedback", "run", "--sim", str(person), "--headless"]
    argv += ["--speed", "max", "--audio", "off", "--duration", str(seconds), "--db", str(db)]
    argv += ["--no-ratings", "--no-profile"] + (["--keep-raw"] if keep_raw else [])
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    return db, time.perf_counter() - start


def main() -> None:
    args = parse_args(__doc__)
    seconds = 60 if args.quick else 600
    rates = (50,) if args.quick else (25, 50, 200)
    print(load_line())
    print(f"breath-holder, {seconds} s a session, figures scaled to one hour")
    print(
        "rate | motion kept (store) | payload compressed (int16) | as ACC CSV | breaths table"
        " | session wall time plain / --keep-raw"
    )
    per_h = 3600.0 / seconds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rate in rates:
            plain, plain_s = record(folder, rate, seconds, keep_raw=False)
            raw, raw_s = record(folder, rate, seconds, keep_raw=True)
            with sqlite3.connect(raw) as db:
                payload, batches = db.execute(
                    "SELECT sum(length(xyz)), count(*) FROM motion"
                ).fetchone()
                samples = len(_samples(db))
                breaths = db.execute("SELECT count(*) FROM breaths").fetchone()[0]
                csv_bytes = sum(len(f"{t:.3f},{x},{y},{z}\n") for t, x, y, z in _samples(db))
            kept = raw.stat().st_size - plain.stat().st_size
            table = _breaths_bytes(plain)
            print(
                f"{rate:>4} Hz | {kept * per_h / 1e6:.2f} MB/h ({batches * per_h:.0f} rows/h)"
                f" | {payload * per_h / 1e6:.2f} MB/h ({6 * samples * per_h / 1e6:.2f})"
                f" | {csv_bytes * per_h / 1e6:.2f} MB/h"
                f" | {table * per_h / 1e3:.0f} kB/h ({breaths * per_h:.0f} breaths/h)"
                f" | {plain_s:.1f} s / {raw_s:.1f} s"
            )
    print("store sizes are whole pages (4 KiB), so short runs round up")
    _packing(rates, 20 if args.quick else 2000)


def _packing(rates: tuple[int, ...], runs: int) -> None:
    """The recorder's own work a second of motion: packing one batch for the store."""
    import numpy as np

    from biofeedback.models import ChestMotion
    from biofeedback.store.rows import pack_motion

    rng = np.random.default_rng(0)
    for rate in rates:
        axes = (tuple((rng.normal(0.0, 3.0, rate) + g).tolist()) for g in (0.0, -980.0, 120.0))
        motion = ChestMotion(1.0, float(rate), *axes)
        wall = runs_of(lambda m=motion: pack_motion(m), runs)  # type: ignore[misc]
        print(f"packing a second at {rate} Hz: {spread(wall, 1e6, 'us')}")


def _breaths_bytes(path: Path) -> int:
    """What the breaths table takes: the store compacted, with and without it."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # The store is in WAL mode: the file has its new size once the log is folded in.
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with_table = path.stat().st_size
        db.execute("DELETE FROM breaths")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return with_table - path.stat().st_size
    finally:
        db.close()


def _samples(db: sqlite3.Connection) -> list[tuple[float, int, int, int]]:
    import numpy as np

    out: list[tuple[float, int, int, int]] = []
    for t_s, rate_hz, blob in db.execute("SELECT t_s, rate_hz, xyz FROM motion ORDER BY seq"):
        xyz = np.frombuffer(zlib.decompress(blob), "<i2").reshape(-1, 3)
        n = len(xyz)
        for i, (x, y, z) in enumerate(xyz.tolist()):
            out.append((t_s - (n - 1 - i) / rate_hz, x, y, z))
    return out


if __name__ == "__main__":
    main()
