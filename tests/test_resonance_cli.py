"""`biofeedback resonance` as a user meets it: the session, its record in review and
history, and later sessions paced at the rate it found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    db = tmp_path_factory.mktemp("resonance") / "sessions.db"
    proc = run_cli(
        "resonance", "--sim", "--headless", "--json", "--speed", "max", "--rates", "6,5",
        "--step", "90", "--db", str(db), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return db, [json.loads(line) for line in proc.stdout.splitlines()]


def test_json_lines_carry_the_live_indicator_and_the_per_rate_scores(
    assessed: tuple[Path, list[dict[str, object]]],
) -> None:
    _, events = assessed
    assert events[0]["type"] == "session_started"
    assert events[0]["protocol"] == "resonance"
    assert events[-1]["type"] == "session_ended"
    steps = [e["step"] for e in events if e["type"] == "step_started"]
    assert steps[1:3] == ["resonance-6", "resonance-5"]
    live = [e for e in events if e["type"] == "resonance"]
    assert live
    assert all(e["estimate"] is True and e["window_s"] == 64 for e in live)
    (result,) = [e for e in events if e["type"] == "resonance_assessed"]
    scores = result["scores"]
    assert isinstance(scores, list)
    assert [s["rate_bpm"] for s in scores] == [6.0, 5.0]
    assert {
        "score",
        "swing_bpm",
        "lf_power_ms2",
        "peak_hz",
        "phase_agreement",
        "smoothness",
    } <= set(scores[0])
    # The calm person's planted rate is 5.5: of 6 and 5 neither is far off, and
    # the refined rate lies between them.
    assert isinstance(result["best_rate_bpm"], float)
    assert 5.0 <= result["best_rate_bpm"] <= 6.0


def test_review_and_history_show_the_assessment(
    assessed: tuple[Path, list[dict[str, object]]],
) -> None:
    db, events = assessed
    (result,) = [e for e in events if e["type"] == "resonance_assessed"]
    text = run_cli("review", "--db", str(db))
    assert text.returncode == 0, text.stderr
    assert f"your heart swung most at {result['best_rate_bpm']:g} breaths a minute" in text.stdout
    as_json = json.loads(run_cli("review", "--json", "--db", str(db)).stdout)
    assert as_json["resonance"]["best_rate_bpm"] == result["best_rate_bpm"]
    assert len(as_json["resonance"]["scores"]) == 2
    history = json.loads(run_cli("history", "--json", "--db", str(db)).stdout)
    assert history["resonance"][0]["best_rate_bpm"] == result["best_rate_bpm"]
    assert history["resonance"][0]["scores"] == result["scores"]
    assert "Resonance assessments" in run_cli("history", "--db", str(db)).stdout


def test_a_second_assessment_is_trended_and_later_sessions_breathe_at_the_rate(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sessions.db"
    for seed in ("3", "4"):
        proc = run_cli(
            "resonance", "--sim", "--headless", "--speed", "max", "--rates", "6,5.5,5",
            "--step", "60", "--seed", seed, "--db", str(db),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "Resonance: your heart swung most at" in proc.stdout
    history = json.loads(run_cli("history", "--json", "--db", str(db)).stdout)
    rates = [a["best_rate_bpm"] for a in history["resonance"]]
    assert len(rates) == 2
    assert "over 2 assessments" in run_cli("history", "--db", str(db)).stdout
    run = run_cli(
        "run", "--sim", "--headless", "--json", "--speed", "max", "--duration", "30",
        "--db", str(db),
    )  # fmt: skip
    settle = next(
        e for e in map(json.loads, run.stdout.splitlines()) if e["type"] == "step_started"
    )
    assert 60.0 / (settle["breath_in_s"] + settle["breath_out_s"]) == pytest.approx(
        rates[0], abs=0.05
    )
    assert settle["breath_out_s"] > settle["breath_in_s"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--rates", "fast"), ["6.5,6"]),
        (("--rates", "6,14"), ["14", "out of range"]),
        (("--step", "20"), ["60 s"]),
        (("--json",), ["--headless"]),
    ],
)
def test_bad_assessment_options_exit_2_with_one_line(
    tmp_path: Path, args: tuple[str, ...], words: list[str]
) -> None:
    proc = run_cli("resonance", "--sim", "--speed", "max", "--db", str(tmp_path / "s.db"), *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0]


def test_resonant_back_care_runs_and_a_routine_without_contractions_is_refused(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "s.db")
    proc = run_cli(
        "run", "--sim", "--protocol", "back-care", "--resonant", "--headless", "--json",
        "--speed", "max", "--duration", "120", "--db", db,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["protocol"] == "back-care-resonant"
    tense = [e for e in events if e["type"] == "step_started" and e["kind"] == "tense"]
    assert tense
    assert all(e["planned_s"] == 4.0 for e in tense)
    refused = run_cli("run", "--sim", "--protocol", "breath-partial", "--resonant", "--db", db)
    assert refused.returncode == 2
    assert "no contractions" in refused.stderr
