"""Every protocol can be followed with the eyes closed: each step is heard."""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import pytest

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.phrases import (
    Phrase,
    PhraseBook,
    Style,
    build_book,
    number_words,
    spoken_text,
    walk,
)
from biofeedback.audio.score import Kind, Score
from biofeedback.audio.voice import VOICINGS, VoiceSettings, load_voices, ssml
from biofeedback.models import SessionStarted, Zone
from biofeedback.routines.protocols import load_all, load_protocol
from tests.support.audio_mix import words_per_minute

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/test adds it)"
)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[PhraseBook, Score]]:
    cache = tmp_path_factory.mktemp("voice-cache")
    out = {}
    for protocol in load_all():
        book = build_book(protocol)
        voices = load_voices(book, VoiceSettings(cache_dir=cache))
        assert voices.notes == []
        out[protocol.name] = (book, Score(book, voices.clips))
    return out


@pytest.mark.parametrize("name", [p.name for p in load_all()])
@pytest.mark.parametrize("zone", list(Zone))
def test_each_step_of_every_protocol_has_a_spoken_cue_or_a_tone_pattern(
    books: dict[str, tuple[PhraseBook, Score]], name: str, zone: Zone
) -> None:
    book, template = books[name]
    protocol = load_protocol(name)
    yellow, red = load_protocol("breath-partial"), load_protocol("passive-rest")
    steps = walk(protocol, yellow, red, zone, imagery=protocol.regions[:1])
    assert steps[-1].step == "closing-breath"
    score = Score(book, template.speech)
    score.hear(SessionStarted(0.0, "s", name, "sim", zone))
    unheard = []
    for step in steps:
        score.hear(step)
        spoken = [
            c for c in score.clips if c.label == f"cue:{step.step}" and c.planned_at_s == step.t
        ]
        toned = [r for r in score.runs if r.start_s == step.t]
        if not spoken and not toned:
            unheard.append(step.step)
        assert not spoken or spoken[0].kind is Kind.SPEECH
    assert unheard == []


def test_the_phrase_cache_is_keyed_by_text_and_voice(tmp_path: Path) -> None:
    book = build_book(load_protocol("work-reset"))
    first = load_voices(book, VoiceSettings(cache_dir=tmp_path))
    assert first.synthesized == len(book)
    assert first.cached == 0
    again = load_voices(book, VoiceSettings(cache_dir=tmp_path))
    assert again.cached == len(book)
    assert again.synthesized == 0
    other = load_voices(book, VoiceSettings(voice="en-gb", cache_dir=tmp_path))
    assert other.synthesized == len(book)
    for path in tmp_path.iterdir():
        assert path.stat().st_mode & 0o077 == 0


def test_phrases_said_together_are_each_the_phrase_said_alone(tmp_path: Path) -> None:
    texts = [
        "Breathe in.",
        "Let your shoulders drop. Let them stay low and heavy.",
        "...",  # says nothing: the cut finds one piece fewer, so each is said alone
        "Open your hands.",
        "Notice the warmth where the effort was, and let it spread.",
    ]
    words = [Phrase(f"p{i}", text) for i, text in enumerate(texts)]
    together = load_voices(words, VoiceSettings(cache_dir=tmp_path / "together"))
    assert set(together.clips) == set(texts) - {"..."}
    assert len(together.notes) == 1
    assert "p2" in together.notes[0]
    for text, clip in together.clips.items():
        alone = load_voices([Phrase("x", text)], VoiceSettings(cache_dir=tmp_path / "alone"))
        # Same words, so the same length give or take espeak-ng's phrasing.
        assert abs(len(clip) - len(alone.clips[text])) < 0.2 * SAMPLE_RATE_HZ, text


def test_a_batch_is_cut_at_the_breaks_between_phrases(tmp_path: Path) -> None:
    book = build_book(load_protocol("full"))
    phrases = [p for p in book if p.style is Style.RELEASE][:12]
    together = load_voices(phrases, VoiceSettings(cache_dir=tmp_path / "together"))
    assert together.synthesized == len(phrases)
    for phrase in phrases:
        alone = load_voices([phrase], VoiceSettings(cache_dir=tmp_path / phrase.id))
        clip = together.clips[phrase.text]
        assert abs(len(clip) - len(alone.clips[phrase.text])) < 0.2 * SAMPLE_RATE_HZ, phrase.id


def test_speech_is_paced_for_relaxing_by_style(
    books: dict[str, tuple[PhraseBook, Score]],
) -> None:
    paces: dict[str, list[float]] = {}
    for book, score in books.values():
        for style, values in words_per_minute(book, score.speech).items():
            paces.setdefault(style, []).extend(values)
    plain = statistics.median(paces[Style.PLAIN.value])
    release = statistics.median(paces[Style.RELEASE.value])
    soft = statistics.median(paces[Style.SOFT.value])
    # Cues about 130-140 words a minute (pauses between sentences included);
    # releases slower; asides never faster than cues.
    assert 125 <= plain <= 145
    assert release < plain - 10
    assert soft <= plain


def test_figures_are_said_as_words() -> None:
    assert number_words(4.5) == "four and a half"
    assert number_words(6) == "six"
    assert number_words(0.5) == "a half"
    assert number_words(3.7) == "about three and three quarters"
    assert number_words(21) == "twenty-one"
    assert spoken_text("In for 4.5, out for 6.") == "In for four and a half, out for six."
    # Sentences are said with a pause between them, figures as words.
    said = ssml("Breathe in for 4.5. Let go.", VOICINGS[Style.RELEASE])
    assert "four and a half" in said
    assert "4.5" not in said
    assert said.count("<break") == 1
