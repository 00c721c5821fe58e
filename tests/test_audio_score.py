"""The score (events to a timeline of sound) and the mixer, on small hand-made sessions."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.mixer import render
from biofeedback.audio.phrases import EXTEND_RELEASE, build_book
from biofeedback.audio.score import ANNOUNCE_LEAD_S, GAP_S, Kind, Score
from biofeedback.models import (
    Action,
    Advice,
    SignalLost,
    SignalRestored,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.pacing.protocols import load_protocol
from biofeedback.pacing.texts import STOP_RULES, ZONE_ADVICE


def _clip(seconds: float) -> np.ndarray:
    return np.full(int(seconds * SAMPLE_RATE_HZ), 0.2, dtype=np.float32)


@pytest.fixture
def score() -> Score:
    book = build_book(load_protocol("work-reset"))
    return Score(book, {p.text: _clip(1.0) for p in book})


def breath(t: float, cue: str = "Breathe in for four, and out slowly for six.") -> StepStarted:
    return StepStarted(t, "settle", StepKind.BREATH, None, cue, 60.0, 4.0, 6.0)


def test_a_step_down_is_announced_and_the_new_cue_follows(score: Score) -> None:
    score.hear(
        StepStarted(
            0.0, "jaw-tense", StepKind.TENSE, "jaw", "Clench your teeth lightly together.", 5.0
        )
    )
    advice = ZONE_ADVICE[(Zone.GREEN, Zone.YELLOW)]
    score.hear(ZoneChanged(3.0, Zone.GREEN, Zone.YELLOW, "arousal"))
    score.hear(Advice(3.0, advice))
    score.hear(
        StepStarted(
            3.0, "breath-1", StepKind.BREATH, None, next(iter(score.book)).text, 20.0, 4.0, 6.0
        )
    )
    speech = [c for c in score.clips if c.kind is Kind.SPEECH]
    assert [c.label for c in speech] == ["cue:jaw-tense", "advice", "cue:breath-1"]
    assert speech[0].end_s == pytest.approx(1.0)  # finished before the change: not cut
    assert speech[1].start_s == 3.0
    assert speech[2].start_s == pytest.approx(4.0 + GAP_S)


# A release whose next group (the shoulders) is announced ahead of its end.
JAW_RELEASE = StepStarted(
    0.0,
    "jaw-release",
    StepKind.RELEASE,
    "jaw",
    "Let your jaw drop open a little. Tongue soft.",
    20.0,
    next_kind=StepKind.TENSE,
    next_cue="Pull your shoulders up toward your ears.",
)


def test_a_step_down_during_a_release_is_heard_before_the_next_group_was_due(
    score: Score,
) -> None:
    # The release has planned its "next: shoulders" for later; the step-down's
    # words must not queue behind that plan (the new step would then drop them).
    score.hear(JAW_RELEASE)
    assert [c.label for c in score.clips] == ["cue:jaw-release", "next:shoulders"]
    score.hear(ZoneChanged(10.0, Zone.GREEN, Zone.YELLOW, "arousal"))
    score.hear(Advice(10.0, ZONE_ADVICE[(Zone.GREEN, Zone.YELLOW)]))
    score.hear(breath(10.0, next(iter(score.book)).text))
    speech = [(c.label, c.start_s) for c in score.clips if c.kind is Kind.SPEECH]
    # (the release's own cue, long over, is forgotten)
    assert speech == [("advice", 10.0), ("cue:settle", pytest.approx(11.0 + GAP_S))]


def test_new_speech_takes_the_place_of_a_phrase_only_planned(score: Score) -> None:
    score.hear(JAW_RELEASE)
    planned = next(c for c in score.clips if c.label == "next:shoulders")
    score.hear(Advice(planned.start_s - 0.5, STOP_RULES))
    speech = [(c.label, c.start_s) for c in score.clips if c.kind is Kind.SPEECH]
    # Said at once, and the announcement it would talk over gives way.
    assert speech == [("advice", planned.start_s - 0.5)]


def test_a_new_step_cuts_old_speech_and_drops_what_it_planned(score: Score) -> None:
    score.speech["Let your jaw drop open a little. Tongue soft."] = _clip(8.0)
    score.hear(JAW_RELEASE)
    assert [c.label for c in score.clips] == ["cue:jaw-release", "next:shoulders"]
    score.hear(breath(5.0))
    labels = {c.label: c for c in score.clips}
    assert "next:shoulders" not in labels
    assert labels["cue:jaw-release"].end_s == pytest.approx(4.9)


def test_an_extension_is_said_once_and_the_step_goes_on(score: Score) -> None:
    score.hear(JAW_RELEASE)
    score.hear(StepExtended(20.0, "jaw-release", 5.0, "not settled"))
    score.hear(StepExtended(25.0, "jaw-release", 5.0, "not settled"))
    extends = [c for c in score.clips if c.label == "extend"]
    assert len(extends) == 1
    assert extends[0].samples is score.speech[EXTEND_RELEASE]


def test_pause_silences_and_resume_keeps_the_breath_phase(score: Score) -> None:
    score.hear(breath(0.0))
    score.hear(UserActed(12.0, Action.PAUSE))
    assert all(r.stop_s <= 12.0 for r in score.runs)
    score.hear(UserActed(20.0, Action.RESUME))
    resumed = score.runs[-1]
    # 12 s of breathing done before the pause: the pattern goes on from there.
    assert resumed.start_s == 20.0
    assert resumed.origin_s == pytest.approx(8.0)
    quiet = render(score.schedule(), int(13 * SAMPLE_RATE_HZ), SAMPLE_RATE_HZ * 6)
    assert np.abs(quiet).max() == 0.0


def test_signs_bells_and_the_stop_rules_once(score: Score) -> None:
    score.hear(
        StepStarted(
            0.0, "jaw-tense", StepKind.TENSE, "jaw", "Clench your teeth lightly together.", 5.0
        )
    )
    score.hear(
        StepStarted(
            5.0,
            "jaw-release",
            StepKind.RELEASE,
            "jaw",
            "Let your jaw drop open a little. Tongue soft.",
            20.0,
        )
    )
    score.hear(SignalLost(6.0, "no data"))
    score.hear(SignalRestored(7.0, "data again"))
    score.hear(Advice(8.0, STOP_RULES))
    score.hear(Advice(9.0, STOP_RULES))
    kinds = [(c.kind, c.label) for c in score.clips]
    assert (Kind.BELL, "bell") in kinds
    assert (Kind.SIGN, "signal_lost") in kinds
    assert (Kind.SIGN, "signal_restored") in kinds
    assert [c.start_s for c in score.clips if c.label == "advice"] == [8.0]


def test_blocks_render_the_same_samples_as_one_piece(score: Score) -> None:
    score.hear(breath(0.0))
    schedule = score.schedule()
    whole = render(schedule, 0, SAMPLE_RATE_HZ * 12)
    parts = np.concatenate([render(schedule, i, 661) for i in range(0, SAMPLE_RATE_HZ * 12, 661)])
    assert np.allclose(whole, parts[: len(whole)], atol=1e-6)


def test_a_lengthened_release_names_the_next_group_again_before_its_new_end(
    score: Score,
) -> None:
    score.hear(JAW_RELEASE)  # planned 20 s: "next: shoulders" ends 1.5 s before that
    score.hear(StepExtended(20.0, "jaw-release", 5.0, "not settled"))
    speech = [(c.label, c.start_s) for c in score.clips if c.kind is Kind.SPEECH]
    # Said once before the old end, then the word on the longer release, then
    # the next group again, finishing 1.5 s before the new end (25 s).
    assert speech[-3:] == [
        ("next:shoulders", pytest.approx(17.5)),
        ("extend", 20.0),
        ("next:shoulders", pytest.approx(25.0 - ANNOUNCE_LEAD_S - 1.0)),
    ]
    score.hear(StepExtended(25.0, "jaw-release", 5.0, "not settled"))
    again = [c.start_s for c in score.clips if c.label == "next:shoulders"]
    # The one already said stays; the new end gets its own.
    assert again[-2:] == [pytest.approx(22.5), pytest.approx(30.0 - ANNOUNCE_LEAD_S - 1.0)]
    # A step-down before then drops what was planned for the release.
    score.hear(breath(26.0))
    assert [c.start_s for c in score.clips if c.label == "next:shoulders"] == [pytest.approx(22.5)]
