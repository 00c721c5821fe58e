"""The event streams `biofeedback run` prints for the simulated people, as digests.

``tests/data/scenario_streams.json`` holds the digests the code gave before the
session wiring was rebuilt around ``SessionRequest``; ``tests/test_streams.py``
checks that today's code prints the same streams. Regenerate the file only for a
change that is meant to alter what sessions do, and say why in the commit:

    python -m tests.support.streams > tests/data/scenario_streams.json
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from biofeedback.cli import main
from simulators.scenario import scenario_names

SEEDS = (1, 2, 3)
DURATION_S = 420.0
# Sessions beside the plain runs: other routines and zones, and the assessment.
EXTRA_RUNS: dict[str, tuple[str, ...]] = {
    "back-care": ("run", "--sim", "anxious", "--protocol", "back-care"),
    "full-sides": ("run", "--sim", "ectopy", "--protocol", "full", "--sides"),
    "yellow-start": ("run", "--sim", "panic", "--zone", "yellow"),
    "resonant": ("run", "--sim", "calm", "--resonant", "--imagery", "neck"),
    "no-profile-gentle": ("run", "--sim", "calm", "--no-profile", "--gentle"),
    "resonance": ("resonance", "--sim", "calm", "--rates", "6,5", "--step", "60"),
    "profiled": ("run", "--sim", "anxious", "--seed", "5"),
}
# The profile the "profiled" run is made with (its plan event says what it changed).
PROFILE = ("setup", "--tension-starts", "shoulders", "--gentle-joints", "--painful", "neck")


def runs() -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every stream checked: each scenario with each seed, then the extra runs."""
    for scenario in scenario_names():
        for seed in SEEDS:
            yield f"{scenario}-{seed}", ("run", "--sim", scenario, "--seed", str(seed))
    yield from EXTRA_RUNS.items()


def stream(argv: Sequence[str], db: Path) -> list[str]:
    """The JSON Lines a headless `--speed max` run of ``argv`` prints, without the
    session id (a fresh random one each run)."""
    out = io.StringIO()
    args = [
        *argv,
        *("--headless", "--json", "--speed", "max", "--duration", str(DURATION_S)),
        *("--audio", "off", "--db", str(db)),
    ]
    if argv[0] == "run":
        args.append("--no-ratings")
    profiled = db.stem == "profiled"
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        if profiled:
            assert main(PROFILE) == 0
        try:
            with contextlib.redirect_stdout(out):
                code = main(args)
        finally:
            if profiled:
                main(["setup", "--reset"])
    text = out.getvalue()
    assert code == 0, f"{' '.join(args)} exited {code}: {err.getvalue()}"
    lines = []
    for line in text.splitlines():
        event = json.loads(line)
        event.pop("session_id", None)
        lines.append(json.dumps(event, sort_keys=True))
    return lines


def digest(lines: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    """Each run's digest, each on a store of its own (earlier sessions would adapt
    later ones)."""
    return {name: digest(stream(argv, folder / f"{name}.db")) for name, argv in runs()}


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as home:
        # Like the tests: no real config, profile or store is read.
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[var] = str(Path(home) / var.lower())
        json.dump(digests(Path(home)), sys.stdout, indent=1, sort_keys=True)
        print()
