"""Rebuilding how sessions are wired must not change what they do.

``tests/data/scenario_streams.json`` was printed by the code before the session
wiring moved to ``SessionRequest`` and ``build_session`` (see
``tests/support/streams.py``): every simulated person with three seeds, other
routines and zones, a profile, and the resonance assessment, each run headless at
``--speed max`` for a fixed time. Today's code must print the same events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.streams import digest, runs, stream

EXPECTED = Path(__file__).parent / "data" / "scenario_streams.json"


def expected() -> dict[str, str]:
    loaded: dict[str, str] = json.loads(EXPECTED.read_text())
    return loaded


def test_the_fixture_covers_every_run() -> None:
    assert sorted(expected()) == sorted(name for name, _ in runs())


@pytest.mark.parametrize(("name", "argv"), list(runs()), ids=[name for name, _ in runs()])
def test_the_event_stream_is_the_one_recorded_before(
    name: str, argv: tuple[str, ...], tmp_path: Path
) -> None:
    lines = stream(argv, tmp_path / f"{name}.db")
    assert len(lines) > 100, "a session of this length has a few hundred events"
    assert digest(lines) == expected()[name], f"{name}: the events differ from before"
