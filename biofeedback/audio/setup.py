"""From settings to sinks: what sound a session gets, and one line for each problem.

``run`` asks for audio ``on`` (speech, tones, bells), ``tones`` (no speech) or
``off``; sound is played live when a card can be opened and the session runs
in real time, and written to ``--audio-out`` when asked. Nothing here can stop
a session except an ``--audio-out`` path that cannot be written (a bad
command line).
"""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biofeedback.audio import SAMPLE_RATE_HZ, AudioOutError
from biofeedback.models.record import record
from biofeedback.pacing.speaking import SpeechTimes

if TYPE_CHECKING:
    # The sound library, the resampler and the voices are loaded where sound is made:
    # a session without sound (headless at --speed max, --audio off) never pays them,
    # nor the phrases and the score (sound's timeline).
    from biofeedback.audio.device import Device
    from biofeedback.audio.render import WavSink
    from biofeedback.audio.score import Score
    from biofeedback.audio.sink import AudioSink, Player
    from biofeedback.audio.voice import Samples
    from biofeedback.config import AudioConfig
    from biofeedback.models import SessionEvent
    from biofeedback.pacing.rules import PacingConfig
    from biofeedback.routines.protocols import Routine

# "null" plays into nothing at real-time pace (tests, benchmarks, headless boxes).
BACKEND_ENV = "BIOFEEDBACK_AUDIO_BACKEND"


@record
class AudioPlan:
    """A session's sound as prepared: its sinks and player, and what was said about it."""

    sinks: list[Any] = field(default_factory=list)
    player: Player | None = None
    notes: list[str] = field(default_factory=list)
    speech: dict[str, Samples] = field(default_factory=dict)
    live: AudioSink | None = None
    # What the person hears, in words, for the dashboard's status line.
    status: str = ""
    # A score of the speech alone, to know when each cue has been said.
    ear: Score | None = None

    def speech_times(self) -> SpeechTimes:
        """What the controller leaves room for in each step (nothing without speech)."""
        if not self.speech:
            return SpeechTimes()
        from biofeedback.audio.score import speech_times

        return speech_times(self.speech)

    def heard_after(self, event: SessionEvent) -> float:
        """Seconds until a listener has heard ``event``'s cue (0: nothing spoken).

        Every event is to be given, in order: a cue can wait for what is said
        before it (an announcement, the bell), as the session's own score places it.
        """
        from biofeedback.audio.phrases import Phrase, PhraseBook
        from biofeedback.audio.score import Score
        from biofeedback.models import StepStarted

        if self.ear is None:
            said = {text: Phrase(str(n), text) for n, text in enumerate(self.speech)}
            self.ear = Score(PhraseBook(said, {}), self.speech, tones=False)
        self.ear.hear(event)
        if isinstance(event, StepStarted) and event.cue in self.speech:
            label = f"cue:{event.step}"
            for clip in self.ear.clips:
                if clip.label == label and clip.owner == self.ear.steps:
                    return max(clip.end_s - event.t, 0.0)
            return len(self.speech[event.cue]) / SAMPLE_RATE_HZ
        return 0.0


def prepare(
    protocol: Routine,
    cfg: AudioConfig,
    *,
    mode: str | None = None,
    out_path: Path | None = None,
    real_time: bool = True,
    tell_missing: bool = False,
    yellow: Routine | None = None,
    red: Routine | None = None,
    config: PacingConfig | None = None,
) -> AudioPlan:
    """The audio sinks for a session of ``protocol``; raises only for ``out_path``."""
    # Asked for by name (flag or config) or with a person at the dashboard: a
    # missing sound output is worth a line. A piped run without it stays quiet.
    named = mode is not None or cfg.mode is not None
    asked = named or tell_missing
    mode = mode or cfg.mode or "on"
    plan = AudioPlan()
    wav: WavSink | None = None
    if mode == "off" and out_path is not None:
        # Off is off for the track as for the speaker: nothing would be in it.
        raise AudioOutError(
            f"--audio off makes no sound, so --audio-out {out_path} would hold nothing;"
            " use --audio on (speech, tones, bells) or --audio tones"
        )
    if out_path is not None:
        from biofeedback.audio.phrases import PhraseBook
        from biofeedback.audio.render import WavSink
        from biofeedback.audio.score import Score

        wav = WavSink(out_path, Score(PhraseBook({}, {})))  # opened now: a bad path is exit 2
    if mode == "off" and wav is None:
        plan.status = "sound off"
        return plan
    device: Device | None = None
    player: Player | None = None
    if mode != "off" and real_time:
        from biofeedback.audio.device import Device, NoDeviceError
        from biofeedback.audio.sink import Player

        player = Player(cfg.volume)
        try:
            device = Device(player.render, backend=os.environ.get(BACKEND_ENV, "auto"))
        except NoDeviceError as exc:
            player = None
            if asked:
                plan.notes.append(
                    f"audio: {exc}, so the session goes on silently"
                    " (--audio-out FILE.wav still records it; --audio off hides this line)"
                )
            plan.status = "no sound: no speaker or headphones found"
    elif mode != "off" and named and wav is None:
        plan.notes.append(
            "audio: live sound needs real time (--speed 1); --audio-out FILE.wav makes a track"
        )
    if device is None and wav is None:
        return plan
    from biofeedback.audio.phrases import build_book
    from biofeedback.audio.score import Score

    # The controller's own routines and config: the cues at a personal rate differ.
    book = build_book(protocol, yellow=yellow, red=red, config=config)
    speech: dict[str, Samples] = {}
    if mode != "tones":
        from biofeedback.audio.voice import VoiceSettings, load_voices

        voices = load_voices(book, VoiceSettings(cfg.voice, cfg.rate, cfg.voice_folder))
        speech = voices.clips
        plan.notes += voices.notes
    plan.speech = speech
    if device is not None:
        if speech:
            plan.status = "sound: voice, breath tones and bells"
        elif mode == "tones":
            plan.status = "sound: tones and bells, no voice"
        else:
            plan.status = "sound: tones and bells (no voice installed)"
    if wav is not None:
        wav.score = Score(book, speech, tones=cfg.tones)
        plan.sinks.append(wav)
    if device is not None and player is not None:
        from biofeedback.audio.sink import AudioSink

        live = AudioSink(Score(book, speech, tones=cfg.tones), player, device)
        plan.sinks.append(live)
        plan.live = live
        plan.player = player
    return plan
