"""The score (events to a timeline of sound) and the mixer, on small hand-made sessions."""

from __future__ import annotations

from dataclasses import replace

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
from biofeedback.routines.protocols import load_protocol
from biofeedback.routines.texts import STOP_RULES, ZONE_ADVICE


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


JAW_TENSE = StepStarted(
    0.0, "jaw-tense", StepKind.TENSE, "jaw", "Clench your teeth lightly together.", 5.0
)
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


def test_a_new_step_lets_old_speech_finish_and_drops_what_it_planned(score: Score) -> None:
    score.speech["Let your jaw drop open a little. Tongue soft."] = _clip(8.0)
    score.hear(JAW_RELEASE)
    assert [c.label for c in score.clips] == ["cue:jaw-release", "next:shoulders"]
    score.hear(breath(5.0, next(iter(score.book)).text))
    labels = {c.label: c for c in score.clips}
    assert "next:shoulders" not in labels
    # Not cut by the pacing: the new cue follows it.
    assert labels["cue:jaw-release"].end_s == pytest.approx(8.0)
    assert labels["cue:settle"].start_s == pytest.approx(8.0 + GAP_S)


def test_a_skip_cuts_what_is_being_said(score: Score) -> None:
    score.speech["Let your jaw drop open a little. Tongue soft."] = _clip(8.0)
    score.hear(JAW_RELEASE)
    score.hear(UserActed(5.0, Action.SKIP))
    score.hear(breath(5.0, next(iter(score.book)).text))
    labels = {c.label: c for c in score.clips}
    assert labels["cue:jaw-release"].end_s == pytest.approx(4.9)
    assert labels["cue:settle"].start_s == 5.0


def test_an_extension_is_said_once_and_the_step_goes_on(score: Score) -> None:
    score.hear(replace(JAW_TENSE, t=-5.0))
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
    score.hear(SignalLost(9.0, "no data"))
    kinds = [(c.kind, c.label) for c in score.clips]
    score.hear(SignalRestored(11.0, "data again"))
    score.hear(Advice(12.0, STOP_RULES))
    score.hear(Advice(13.0, STOP_RULES))
    kinds += [(c.kind, c.label) for c in score.clips]
    assert (Kind.BELL, "bell") in kinds
    assert (Kind.SIGN, "signal_lost") in kinds
    assert (Kind.SIGN, "signal_restored") in kinds
    assert [c.start_s for c in score.clips if c.label == "advice"] == [12.0]


def test_blocks_render_the_same_samples_as_one_piece(score: Score) -> None:
    score.hear(breath(0.0))
    schedule = score.schedule()
    whole = render(schedule, 0, SAMPLE_RATE_HZ * 12)
    parts = np.concatenate([render(schedule, i, 661) for i in range(0, SAMPLE_RATE_HZ * 12, 661)])
    assert np.allclose(whole, parts[: len(whole)], atol=1e-6)


def test_a_lengthened_release_names_the_next_group_once(score: Score) -> None:
    score.hear(JAW_RELEASE)  # planned 20 s: "next: shoulders" ends 1.5 s before that
    heard: dict[tuple[str, float], None] = {}
    for t in (20.0, 25.0, 30.0):
        score.hear(StepExtended(t, "jaw-release", 5.0, "not settled"))
        heard.update({(c.label, c.start_s): None for c in score.clips if c.kind is Kind.SPEECH})
    # Said before the old end, then the word on the longer release; no repeat.
    assert list(heard)[-2:] == [("next:shoulders", pytest.approx(17.5)), ("extend", 20.0)]


def test_a_name_not_yet_said_moves_to_before_the_new_end(score: Score) -> None:
    score.hear(JAW_RELEASE)
    score.hear(StepExtended(10.0, "jaw-release", 5.0, "not settled"))
    score.hear(StepExtended(16.0, "jaw-release", 5.0, "not settled"))
    named = [c.start_s for c in score.clips if c.label == "next:shoulders"]
    assert named == [pytest.approx(30.0 - ANNOUNCE_LEAD_S - 1.0)]
    # A step-down before then drops what was planned for the release.
    score.hear(breath(26.0))
    assert not [c for c in score.clips if c.label == "next:shoulders"]


def test_the_bell_rings_before_the_release_cue_and_no_sign_lies_over_speech(
    score: Score,
) -> None:
    score.hear(JAW_TENSE)
    score.hear(replace(JAW_RELEASE, t=5.0))
    bell = next(c for c in score.clips if c.label == "bell")
    cue = next(c for c in score.clips if c.label == "cue:jaw-release")
    assert bell.start_s == 5.0
    assert cue.start_s >= bell.end_s + 0.2
    # Lost while the cue is said: the sign waits until the cue is over.
    score.hear(SignalLost(cue.start_s + 0.3, "no data"))
    lost = next(c for c in score.clips if c.label == "signal_lost")
    assert lost.start_s >= cue.end_s + 0.2
    # Back before the sign was heard: neither sign sounds.
    score.hear(SignalRestored(cue.start_s + 0.6, "data again"))
    assert not [c for c in score.clips if c.kind is Kind.SIGN]


def test_without_speech_each_moment_has_its_own_sign() -> None:
    book = build_book(load_protocol("work-reset"))
    score = Score(book, {})
    heard = {}
    for event in (
        JAW_TENSE,
        ZoneChanged(3.0, Zone.GREEN, Zone.YELLOW, "arousal"),
        ZoneChanged(30.0, Zone.YELLOW, Zone.GREEN, "settled"),
    ):
        score.hear(event)
        heard.update({(c.label, c.start_s): c for c in score.clips})
    signs = list(heard)
    assert signs == [("sign:tense", 0.0), ("sign:step_down", 3.0), ("sign:step_up", 30.0)]
    sounds = {label: c.samples for (label, _), c in heard.items()}
    # Three distinct sounds (and the bell is the release's).
    assert len({s.tobytes() for s in [*sounds.values(), score.sounds.bell]}) == 4


def test_breath_led_steps_without_a_pace_keep_the_last_breath_tones(score: Score) -> None:
    yellow = Zone.YELLOW
    score.hear(replace(breath(0.0), routine_zone=yellow))
    soften = StepStarted(
        20.0, "jaw-soften", StepKind.RELEASE, "jaw", "Soften.", 25.0, routine_zone=yellow
    )
    score.hear(soften)
    assert [(r.start_s, r.in_s, r.out_s) for r in score.runs][-1] == (20.0, 4.0, 6.0)
    scan = StepStarted(45.0, "closing-scan", StepKind.SCAN, None, "Scan.", 45.0)
    score.hear(scan)
    assert score.runs[-1].start_s == 45.0
    # A Green release (after tensing) has no tone: the person rests with the words.
    score.hear(replace(JAW_RELEASE, t=90.0, routine_zone=Zone.GREEN))
    assert all(r.stop_s <= 90.0 for r in score.runs)
