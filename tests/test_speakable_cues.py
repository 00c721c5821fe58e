"""Every cue a session can show can be spoken: the phrase book the sound is made
from holds each text the session's own controller produces, for every routine,
with and without a resonance rate stored by an earlier assessment."""

from __future__ import annotations

from pathlib import Path

import pytest

from biofeedback.audio.render import WavSink
from biofeedback.cli import build_parser, plan_session
from biofeedback.models import Action, SessionEvent, StepStarted
from biofeedback.routines.protocols import builtin_names
from tests.support.cli import run_cli

ZONES = ("green", "yellow", "red")


@pytest.fixture(scope="module")
def assessed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding a simulated assessment that found a rate (medium confidence)."""
    db = tmp_path_factory.mktemp("speakable") / "sessions.db"
    proc = run_cli(
        "resonance", "--sim", "--headless", "--speed", "max", "--rates", "6,5", "--step", "90",
        "--db", str(db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Resonance: your heart swung most at" in proc.stdout
    return db


def _shown_cues(args: list[str]) -> tuple[set[str], set[str]]:
    """The cues the session's own controller shows, skipping through every step,
    and the texts of the phrase book its sound was prepared with."""
    plan = plan_session(build_parser().parse_args(args), dashboard=False)
    (wav,) = [s for s in plan.sinks if isinstance(s, WavSink)]
    controller = plan.controller
    events: list[SessionEvent] = list(controller.start(0.0))
    t_s = 0.0
    for n in range(400):
        if controller.finished:
            break
        # Small strides leave every step in; big ones then run past the budget.
        t_s += 1.0 if n < 150 else 600.0
        events += controller.on_action(t_s, Action.SKIP)
    assert controller.finished
    shown = {e.cue for e in events if isinstance(e, StepStarted)}
    return shown, {p.text for p in wav.score.book}


@pytest.mark.parametrize("stored_rate", [False, True], ids=["no-rate", "stored-rate"])
@pytest.mark.parametrize("protocol", builtin_names())
def test_every_cue_a_session_shows_is_in_its_phrase_book(
    tmp_path: Path, assessed_db: Path, protocol: str, stored_rate: bool
) -> None:
    db = assessed_db if stored_rate else tmp_path / "empty.db"
    missing: dict[str, set[str]] = {}
    for zone in ZONES:
        shown, book = _shown_cues(
            [
                "run", "--sim", "--protocol", protocol, "--zone", zone, "--speed", "max",
                "--audio", "tones", "--audio-out", str(tmp_path / f"{zone}.wav"),
                "--db", str(db), "--no-ratings",
            ]
        )  # fmt: skip
        if shown - book:
            missing[zone] = shown - book
    assert not missing
    if stored_rate:
        # The stored rate really paces this session (the opening is not 4 s in, 6 s out).
        assert not [c for c in shown if "in for four, and out slowly for six" in c]
