"""Speech clips for a phrase book: a person's own recordings, else espeak-ng.

A voice folder holds WAV files named by phrase id (``full.feet-tense.wav``);
a file there wins over the synthetic voice. Any PCM will do (``wavfile``):
16, 24 or 32-bit, integer or float, any rate, mono or stereo; every clip,
recorded or synthetic, is set to one loudness (``loudness.SPEECH_LUFS``).
espeak-ng is called as a separate program and its output cached in the
user's cache dir, keyed by text, voice, rate and style, so editing a text
re-renders just that phrase. Without either the session has tones and bells
only. Every problem is one line in ``notes``;
none of them stops a session.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import platformdirs

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.loudness import SPEECH_LUFS, normalise
from biofeedback.audio.phrases import Phrase, PhraseBook, Style, spoken_text
from biofeedback.audio.wavfile import read_any_wav, to_our_rate
from biofeedback.models.record import record

Samples = npt.NDArray[np.float32]

ESPEAK = "espeak-ng"
HOW_TO_GET_A_VOICE = (
    "install espeak-ng (sudo apt-get install espeak-ng) or set voice_folder in"
    " [audio] of config.toml to your own recordings"
)
_TIMEOUT_S = 20.0


@record(frozen=True)
class VoiceSettings:
    """How cues are spoken: espeak-ng's voice and rate (or a folder of recordings),
    where the clips are cached, and which espeak-ng to run."""

    voice: str = "en-us"
    rate_wpm: int = 150
    folder: Path | None = None
    cache_dir: Path | None = None
    # None: look espeak-ng up on PATH.
    espeak: str | None = None


@record
class Voices:
    """Clips by phrase text, and one line for each thing that went wrong."""

    clips: dict[str, Samples] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    from_folder: int = 0
    synthesized: int = 0
    cached: int = 0
    # The texts read from the voice folder (set to the voice's loudness on load).
    recorded: list[str] = field(default_factory=list)


def cache_dir() -> Path:
    return platformdirs.user_cache_path("biofeedback") / "voice"


def load_voices(book: PhraseBook | Iterable[Phrase], settings: VoiceSettings) -> Voices:
    """A clip for every phrase that can have one."""
    phrases = list(book)
    out = Voices()
    missing = _from_folder(phrases, settings.folder, out)
    if missing:
        _synthesize_missing(missing, settings, out)
    # Every voice at one loudness: a recording made close to the microphone
    # and a quiet synthetic one sound alike.
    # (Synthetic clips are set once, before they are cached.)
    for text in out.recorded:
        out.clips[text] = normalise(out.clips[text], SPEECH_LUFS)
    return out


def _synthesize_missing(missing: list[Phrase], settings: VoiceSettings, out: Voices) -> None:
    espeak = settings.espeak or shutil.which(ESPEAK)
    if espeak is None:
        if settings.folder is None:
            out.notes.append(f"audio: no voice, so tones and bells only; {HOW_TO_GET_A_VOICE}")
        else:
            out.notes.append(
                f"audio: {len(missing)} phrases have no file in {settings.folder} and"
                f" espeak-ng is not installed, so those are silent; {HOW_TO_GET_A_VOICE}"
            )
        return
    _synthesize(missing, espeak, settings, out)


def _from_folder(phrases: list[Phrase], folder: Path | None, out: Voices) -> list[Phrase]:
    if folder is None:
        return phrases
    if not folder.is_dir():
        out.notes.append(
            f"audio: voice folder {folder} does not exist; using the synthetic voice"
            " (set voice_folder in [audio] of config.toml to a folder of WAV files)"
        )
        return phrases
    missing: list[Phrase] = []
    broken: list[str] = []
    for phrase in phrases:
        path = folder / f"{phrase.id}.wav"
        if not path.exists():
            missing.append(phrase)
            continue
        try:
            out.clips[phrase.text] = read_wav(path)
            out.recorded.append(phrase.text)
            out.from_folder += 1
        except (OSError, EOFError, wave.Error, ValueError) as exc:
            broken.append(f"{path.name} ({exc})")
            missing.append(phrase)
    if broken:
        out.notes.append(
            f"audio: {len(broken)} file(s) in {folder} cannot be read, the synthetic voice"
            f" says those instead: {', '.join(broken[:3])}{' ...' if len(broken) > 3 else ''}"
            " (save them as PCM WAV)"
        )
    elif missing and out.from_folder:
        out.notes.append(
            f"audio: {len(missing)} of {len(phrases)} phrases have no file in {folder};"
            " the synthetic voice says those (`biofeedback phrases` lists their ids)"
        )
    return missing


def _synthesize(phrases: list[Phrase], espeak: str, settings: VoiceSettings, out: Voices) -> None:
    folder = settings.cache_dir or cache_dir()
    try:
        _private_dir(folder)
    except OSError as exc:
        out.notes.append(f"audio: cannot use the voice cache {folder} ({exc}); no speech")
        return
    todo: list[tuple[Phrase, Path]] = []
    for phrase in phrases:
        path = folder / f"{cache_key(phrase, settings)}.wav"
        try:
            out.clips[phrase.text] = read_wav(path)
            out.cached += 1
        except (OSError, EOFError, wave.Error, ValueError):
            todo.append((phrase, path))
    if not todo:
        return
    failures: list[str] = []

    def batch(items: list[tuple[Phrase, Path]]) -> list[tuple[Phrase, Samples | str]]:
        """Each phrase's clip, or why it has none."""
        try:
            clips = _espeak_batch(espeak, [phrase for phrase, _ in items], settings)
        except (OSError, subprocess.SubprocessError, wave.Error, EOFError, ValueError) as exc:
            return [(phrase, str(exc)) for phrase, _ in items]
        said: list[tuple[Phrase, Samples | str]] = []
        for (phrase, path), clip in zip(items, clips, strict=True):
            if clip is None:
                said.append((phrase, f"no sound for {phrase.id}"))
                continue
            clip = normalise(clip, SPEECH_LUFS)
            said.append((phrase, clip))
            with contextlib.suppress(OSError):  # not cached: said again next time
                _write_cache(path, clip)
        return said

    # Starting espeak-ng costs more than saying most phrases (it maps its data
    # anew each time), so each process says a batch of phrases of one style;
    # a few processes at once keep both cores busy.
    with ThreadPoolExecutor(max_workers=min(max(os.cpu_count() or 1, 2), 4)) as pool:
        for said in pool.map(batch, _batches(todo)):
            for phrase, clip in said:
                if isinstance(clip, str):
                    failures.append(clip)
                else:
                    out.clips[phrase.text] = clip
                    out.synthesized += 1
    if failures:
        out.notes.append(
            f"audio: espeak-ng failed on {len(failures)} phrase(s), those are silent: {failures[0]}"
        )


def cache_key(phrase: Phrase, settings: VoiceSettings) -> str:
    raw = f"espeak-ng|{_VOICING}|{settings.voice}|{settings.rate_wpm}|{phrase.style}|{phrase.text}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


# Phrases said by one espeak-ng process.
_BATCH = 24
# Between two phrases of a batch: silence this long at 150 words a minute (longer
# when slower), cut where the quiet lasts half of it. The longest pause inside
# one phrase is a sentence break (``Voicing.sentence_gap_ms``) and espeak-ng's
# own pause at a full stop, well under half of it.
_SEPARATOR_S = 3.0
_QUIET = 0.01
# The way phrases are voiced; a change here re-renders the cache.
_VOICING = "v3"


@record(frozen=True)
class Voicing:
    """How espeak-ng says phrases of one style: paced for relaxing, not reading."""

    rate: float  # of the ``rate`` setting (espeak-ng's own speed, which runs fast
    # on short phrases: 0.92 of 150 is about 135 words a minute, measured)
    pitch: int  # 0-99; espeak-ng's default is 50
    pitch_range: str  # SSML prosody range: how far the pitch moves
    amplitude: int
    word_gap: int  # extra pause between words, 10 ms units
    sentence_gap_ms: int


VOICINGS = {
    # Cues: unhurried, with a melody (a flat voice sounds like a machine reading).
    Style.PLAIN: Voicing(0.92, 45, "x-high", 100, 1, 700),
    # Releases: slower and lower, on the out-breath.
    Style.RELEASE: Voicing(0.8, 32, "high", 95, 2, 900),
    # Asides (the next group, a longer release): soft, never faster than a cue.
    Style.SOFT: Voicing(0.88, 40, "high", 80, 1, 700),
}


def _batches(todo: list[tuple[Phrase, Path]]) -> list[list[tuple[Phrase, Path]]]:
    by_style: dict[Style, list[tuple[Phrase, Path]]] = {}
    for item in todo:
        by_style.setdefault(item[0].style, []).append(item)
    return [
        items[i : i + _BATCH] for items in by_style.values() for i in range(0, len(items), _BATCH)
    ]


def ssml(text: str, voicing: Voicing) -> str:
    """One phrase as espeak-ng's SSML: numbers as words, a pause between sentences."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(spoken_text(text).split()))
    pause = f'<break time="{voicing.sentence_gap_ms}ms"/>'
    body = pause.join(html.escape(s) for s in sentences if s)
    return f'<prosody range="{voicing.pitch_range}">{body}</prosody>'


def _espeak_batch(
    espeak: str, phrases: list[Phrase], settings: VoiceSettings
) -> list[Samples | None]:
    """Each phrase's clip (None: no sound), from one espeak-ng process.

    espeak-ng reads stdin a line at a time and says each line on its own; each
    line is one phrase followed by a long SSML break, and the sound is cut at
    those breaks. Should the cut not give one piece per phrase (a voice whose
    pauses are longer than we allow for), each phrase is said by a process of
    its own instead.
    """
    voicing = VOICINGS[phrases[0].style]
    rate = max(round(settings.rate_wpm * voicing.rate), 80)
    separator_s = _SEPARATOR_S * max(1.0, 150 / rate)
    lines = "".join(
        f'<speak>{ssml(p.text, voicing)}<break time="{separator_s * 1000:.0f}ms"/></speak>\n'
        for p in phrases
    )
    args = [
        espeak,
        *("-v", settings.voice, "-s", str(rate), "-p", str(voicing.pitch)),
        *("-a", str(voicing.amplitude), "-g", str(voicing.word_gap)),
    ]
    done = subprocess.run(
        [*args, "-m", "--stdout"],
        input=lines.encode(),
        check=True,
        capture_output=True,
        timeout=_TIMEOUT_S,
    )
    samples = _decode(done.stdout)
    if len(phrases) == 1:
        clip = _trim(samples)
        return [clip if len(clip) else None]
    pieces = _split(samples, round(separator_s / 2 * SAMPLE_RATE_HZ))
    if len(pieces) == len(phrases):
        return list(pieces)
    return [_espeak_batch(espeak, [p], settings)[0] for p in phrases]


def _decode(wav_bytes: bytes) -> Samples:
    """espeak-ng's --stdout WAV (its header does not know the length) as samples."""
    with wave.open(io.BytesIO(wav_bytes), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())  # to the end, whatever the header says
    return _to_samples(raw, width, channels, rate)


def _split(samples: Samples, quiet_frames: int) -> list[Samples]:
    """The sounds in ``samples`` that quiet of ``quiet_frames`` or more keeps apart."""
    loud = np.flatnonzero(np.abs(samples) > _QUIET)
    if len(loud) == 0:
        return []
    gaps = np.flatnonzero(np.diff(loud) > quiet_frames)
    starts = [int(loud[0]), *(int(loud[g + 1]) for g in gaps)]
    ends = [*(int(loud[g]) + 1 for g in gaps), int(loud[-1]) + 1]
    return [samples[a:b].copy() for a, b in zip(starts, ends, strict=True)]


def _write_cache(path: Path, clip: Samples) -> None:
    """``clip`` as a 16-bit WAV at ``path``, the user's only, whole or not at all."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh, wave.open(fh, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE_HZ)
            out.writeframes((np.clip(clip, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_wav(path: Path) -> Samples:
    """A WAV file (any PCM or float, any rate) as mono float samples at our rate,
    quiet ends trimmed."""
    samples, rate = read_any_wav(path)
    samples = _trim(to_our_rate(samples, rate))
    if len(samples) == 0:
        raise ValueError("no sound in it")
    return samples


def _to_samples(raw: bytes, width: int, channels: int, rate: int) -> Samples:
    decode: dict[int, Callable[[bytes], npt.NDArray[np.float32]]] = {
        1: lambda b: (np.frombuffer(b, np.uint8).astype(np.float32) - 128.0) / 128.0,
        2: lambda b: np.frombuffer(b, "<i2").astype(np.float32) / 32768.0,
        4: lambda b: np.frombuffer(b, "<i4").astype(np.float32) / 2147483648.0,
    }
    if width not in decode:
        raise ValueError(f"{width * 8}-bit samples; use 8, 16 or 32-bit PCM")
    raw = raw[: len(raw) // (width * channels) * (width * channels)]
    samples = decode[width](raw)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return to_our_rate(samples, rate)


def _trim(samples: Samples, threshold: float = 0.01) -> Samples:
    # A clip that starts with silence would start late; the score places its
    # first sound on the event.
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if len(loud) == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]


def _private_dir(folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
