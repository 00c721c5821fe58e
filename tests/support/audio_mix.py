"""A simulated session's whole sound schedule, kept, and what a listener would measure in it.

``ScoreLog`` is a session sink that folds the events into a ``Score`` as the WAV
sink does, and keeps every clip and tone run that was ever heard in its final
form (a cut clip with its cut), so the mix can be measured without writing a
WAV: each source's loudness apart, speech against bells, cues cut short, cue
onsets after their step starts, repeated next-group names.
"""

from __future__ import annotations

import math
import statistics
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.loudness import LoudnessMeter
from biofeedback.audio.mixer import render
from biofeedback.audio.phrases import PhraseBook, build_book
from biofeedback.audio.score import Clip, Kind, Schedule, Score, ToneRun, speech_times
from biofeedback.audio.voice import Samples, VoiceSettings, load_voices
from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.progress import Snapshot
from biofeedback.models import HeartSample, SessionEvent, SessionInfo, StepStarted
from biofeedback.routines.protocols import load_protocol

# A bell or sign nearer to speech than this counts as laid over it.
BELL_CLEAR_S = 0.2
_BLOCK = SAMPLE_RATE_HZ * 4


class ScoreLog:
    """Hears the session like the WAV sink and keeps the whole schedule."""

    name = "score-log"
    queue_size = 1_000_000

    def __init__(self, score: Score) -> None:
        self.score = score
        self.events: list[SessionEvent] = []
        self.clips: dict[tuple[float, str, str, int], Clip] = {}
        self.runs: dict[tuple[float, float], ToneRun] = {}
        # Each step start with the score's step count when it was heard.
        self.steps: list[tuple[int, StepStarted]] = []

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, HeartSample):
            return
        await self.handle_progress(item, None)

    async def handle_progress(self, item: SessionEvent, snapshot: Snapshot | None) -> None:
        """As the WAV sink hears it: each event with the loop's fold after it."""
        self.events.append(item)
        self.score.hear(item, snapshot)
        if isinstance(item, StepStarted):
            self.steps.append((self.score.steps, item))
        now = {(c.start_s, c.label, c.kind.value, c.owner): c for c in self.score.clips}
        # Planned and dropped before it began: never heard.
        for key in [k for k in self.clips if k not in now and k[0] > item.t]:
            del self.clips[key]
        self.clips.update(now)
        runs = {(r.start_s, r.origin_s): r for r in self.score.runs}
        for run_key in [k for k in self.runs if k not in runs and k[0] > item.t]:
            del self.runs[run_key]
        self.runs.update(runs)

    async def stop(self) -> None:
        return None

    def schedule(self) -> Schedule:
        clips = sorted(self.clips.values(), key=lambda c: c.start_s)
        return Schedule(tuple(clips), tuple(self.runs.values()))


@dataclass
class MixReport:
    lufs: dict[str, float]
    bells_near_speech: int
    bells: int
    cues: int
    cues_cut: int
    cue_delays_s: list[float]
    repeated_next: int
    cue_under_bell: int
    problems: list[str] = field(default_factory=list)

    @property
    def speech_to_tones_db(self) -> float:
        return self.lufs["speech"] - self.lufs["tones"]

    @property
    def speech_to_bells_db(self) -> float:
        return self.lufs["speech"] - self.lufs["bells"]


def measure(log: ScoreLog, *, loudness: bool = True) -> MixReport:
    schedule = log.schedule()
    speech = [c for c in schedule.clips if c.kind is Kind.SPEECH]
    others = [c for c in schedule.clips if c.kind is not Kind.SPEECH]
    near = 0
    under = 0
    problems: list[str] = []
    for b in others:
        hit = [
            s
            for s in speech
            if s.start_s < b.end_s + BELL_CLEAR_S and s.end_s > b.start_s - BELL_CLEAR_S
        ]
        if hit:
            near += 1
            under += sum(1 for s in hit if s.label.startswith("cue:"))
            problems.append(
                f"{b.label} at {b.start_s:.2f} s by {hit[0].label} {hit[0].start_s:.2f}"
            )
    cues = [c for c in speech if c.label.startswith("cue:")]
    cut = [c for c in cues if c.stop_s < c.natural_end_s - 1e-6]
    problems += [
        f"{c.label} at {c.start_s:.2f} s cut after {c.end_s - c.start_s:.2f} s" for c in cut
    ]
    delays: list[float] = []
    for owner, step in log.steps:
        said = [c for c in cues if c.owner == owner and c.label == f"cue:{step.step}"]
        if said:
            delays.append(min(c.start_s for c in said) - step.t)
    by_owner: dict[int, int] = {}
    for c in speech:
        if c.label.startswith("next:"):
            by_owner[c.owner] = by_owner.get(c.owner, 0) + 1
    repeated = sum(n - 1 for n in by_owner.values() if n > 1)
    lufs = stem_loudness(schedule) if loudness else {}
    return MixReport(
        lufs, near, len(others), len(cues), len(cut), delays, repeated, under, problems
    )


def stem_loudness(schedule: Schedule) -> dict[str, float]:
    """Speech, tones and bells (with signs) measured apart, each rendered alone
    (the tones still give way to the speech they would meet)."""
    end_s = max([c.end_s for c in schedule.clips] + [0.0]) + 0.5
    speech = tuple(c for c in schedule.clips if c.kind is Kind.SPEECH)
    stems = {
        "speech": Schedule(speech, ()),
        "tones": Schedule(tuple(replace(c, gain=0.0) for c in speech), schedule.tones),
        "bells": Schedule(tuple(c for c in schedule.clips if c.kind is not Kind.SPEECH), ()),
    }
    meters = {name: LoudnessMeter() for name in stems}
    frames = int(end_s * SAMPLE_RATE_HZ)
    for start in range(0, frames, _BLOCK):
        n = min(_BLOCK, frames - start)
        for name, part in stems.items():
            meters[name].add(render(part, start, n))
    return {name: m.integrated_lufs() for name, m in meters.items()}


def words_per_minute(book: PhraseBook, clips: dict[str, Samples]) -> dict[str, list[float]]:
    """Each phrase's pace, words over its length (pauses included), by style."""
    out: dict[str, list[float]] = {}
    for phrase in book:
        clip = clips.get(phrase.text)
        if clip is None or len(clip) == 0:
            continue
        words = len(phrase.text.split())
        out.setdefault(phrase.style.value, []).append(words / (len(clip) / SAMPLE_RATE_HZ) * 60)
    return out


def load_speech(protocol: str, cache: str | None, *, sides: bool = False) -> dict[str, Samples]:
    from pathlib import Path

    book = build_book(load_protocol(protocol, sides=sides))
    settings = VoiceSettings(cache_dir=None if cache is None else Path(cache))
    return load_voices(book, settings).clips


async def run_logged(
    protocol: str,
    speech: dict[str, Samples],
    *,
    scenario: str = "anxious",
    seed: int = 1,
    sides: bool = False,
    tones: bool = True,
) -> ScoreLog:
    routine = load_protocol(protocol, sides=sides)
    book = build_book(routine)
    log = ScoreLog(Score(book, speech, tones=tones))
    # A store of its own: a module's fixture (and a benchmark) runs outside the
    # per-test private dirs, and an earlier session could make this one gentler.
    with tempfile.TemporaryDirectory() as folder:
        # The session as `run` wires it; the sound is this log's own (its voices).
        request = SessionRequest(
            sim=scenario,
            seed=seed,
            protocol=protocol,
            sides=sides,
            speed=None,
            audio="off",
            use_profile=False,
            db=str(Path(folder) / "sessions.db"),
            record=False,
        )
        plan = build_session(request, sinks=[log], session_id="test", speech=speech_times(speech))
        await plan.run()
    return log


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"median {statistics.median(values):.2f}, p90 {float(np.percentile(values, 90)):.2f},"
        f" max {max(values):.2f}"
    )


def fmt_lufs(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "silent"
