"""The render test's checks over many simulated sessions (seeds), not just the test's few.

Each seed is the anxious person on the full routine one side at a time,
rendered to WAV at --speed max; the checks are the ones
tests/test_audio_render.py makes: every spoken cue within 50 ms of its event,
every breath tone turning where the pacer turns. Prints one line per seed and
the pass count, and how many seeds held an extension, a step-down and a step-up.

    .venv/bin/python benchmarks/audio_seeds.py [--seeds 20] [--scenario anxious]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biofeedback.models import SessionEnded
from tests.support.audio import render_session
from tests.test_audio_render import has_extension_step_down_and_up, late_cues, tone_turns


async def sweep(seeds: int, scenario: str) -> None:
    passed = full = 0
    took: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            began = time.perf_counter()
            r = await render_session(
                Path(tmp) / "s.wav", Path(tmp) / "cache", scenario=scenario, seed=seed
            )
            took.append(time.perf_counter() - began)
            late = late_cues(r)
            checked, wrong = tone_turns(r)
            ended = next(e.t for e in r.events if isinstance(e, SessionEnded))
            has_all = has_extension_step_down_and_up(r)
            ok = not late and not wrong and checked >= 15
            passed += ok
            full += has_all
            print(
                f"seed {seed:2d}: {ended / 60:4.1f} min,"
                f" {'extension+down+up' if has_all else 'not all of ext/down/up'},"
                f" {len(late)} late cues, {len(wrong)} of {checked} tone turns off"
                f" -> {'pass' if ok else 'FAIL'} {late[:2] or ''}{wrong[:2] or ''}",
                flush=True,
            )
    print(
        f"render checks, {scenario} person: {passed} of {seeds} seeds pass;"
        f" {full} hold an extension, a step-down and a step-up;"
        f" render {sorted(took)[len(took) // 2]:.2f} s median"
        f" ({min(took):.2f}-{max(took):.2f} s; the first builds the phrase cache)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--scenario", default="anxious", help="a simulated person")
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    args = parser.parse_args()
    asyncio.run(sweep(1 if args.quick else args.seeds, args.scenario))


if __name__ == "__main__":
    main()
