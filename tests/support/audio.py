"""Running a simulated session with its sound written to a WAV, and finding onsets in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.phrases import PhraseBook, build_book
from biofeedback.audio.render import WavSink, read_session_wav
from biofeedback.audio.score import Score, speech_times
from biofeedback.audio.voice import Samples, VoiceSettings, load_voices
from biofeedback.cli import SessionRequest, build_session
from biofeedback.models import HeartSample, SessionEvent, SessionInfo
from biofeedback.routines.protocols import load_protocol

HOP = 110
HOP_S = HOP / SAMPLE_RATE_HZ  # about 5 ms


class EventLog:
    name = "events"
    queue_size = 1_000_000

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if not isinstance(item, HeartSample):
            self.events.append(item)

    async def stop(self) -> None:
        return None


@dataclass
class Rendered:
    events: list[SessionEvent]
    samples: npt.NDArray[np.float32]
    speech: dict[str, Samples]
    book: PhraseBook
    notes: list[str] = field(default_factory=list)


async def render_session(
    wav: Path,
    cache: Path,
    *,
    scenario: str = "anxious",
    seed: int = 8,
    protocol: str = "full",
    sides: bool = True,
    tones: bool = True,
    speech: bool = True,
) -> Rendered:
    routine = load_protocol(protocol, sides=sides)
    book = build_book(routine)
    voices = load_voices(book, VoiceSettings(cache_dir=cache)) if speech else None
    clips = voices.clips if voices else {}
    log = EventLog()
    # The session as `run` wires it; the sound is this test's own (its voices and cache).
    request = SessionRequest(
        sim=scenario,
        seed=seed,
        protocol=protocol,
        sides=sides,
        zone="green",
        speed=None,
        audio="off",
        use_profile=False,
        # Beside the track: a module's fixture runs before the per-test private dirs.
        db=str(wav.with_suffix(".db")),
    )
    sound = WavSink(wav, Score(book, clips, tones=tones))
    await build_session(
        request, sinks=[log, sound], session_id="test", speech=speech_times(clips)
    ).run()
    return Rendered(log.events, read_session_wav(wav), clips, book, voices.notes if voices else [])


def envelope(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """RMS over 10 ms, every ``HOP_S``."""
    hop = HOP
    n = len(samples) // hop
    frames = samples[: n * hop].astype(np.float64).reshape(n, hop) ** 2
    power = frames.mean(axis=1)
    smooth = (power + np.concatenate([[0.0], power[:-1]])) / 2
    out: npt.NDArray[np.float64] = np.sqrt(smooth)
    return out


def onsets(env: npt.NDArray[np.float64], *, floor: float = 0.01) -> list[float]:
    """Times where a sound starts from near silence (60 ms quieter than ``floor`` / 4)
    and reaches ``floor`` within 100 ms."""
    quiet = floor / 4
    before = round(0.06 / HOP_S)
    rise = round(0.1 / HOP_S)
    padded = np.concatenate([np.zeros(before), env])
    out: list[float] = []
    for i in range(len(env)):
        if (
            env[i] >= quiet
            and padded[i : i + before].max() < quiet
            and env[i : i + rise].max() >= floor
        ):
            out.append(i * HOP_S)
    return out


def zero_cross_hz(samples: npt.NDArray[np.float32], start_s: float, span_s: float) -> float:
    a = int(start_s * SAMPLE_RATE_HZ)
    b = a + int(span_s * SAMPLE_RATE_HZ)
    part = samples[a:b]
    crossings = np.count_nonzero(np.diff(np.signbit(part)))
    return crossings / 2 / span_s
