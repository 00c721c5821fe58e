"""Audio: the phrase cache, rendering a track, and live sound on the null backend.

Prints:
- the mix, per rendered protocol and scenario (all eight protocols with the
  anxious person, the full routine with the calm, panic, non-responder and
  dropouts people): integrated loudness (LUFS) of speech, tones and bells
  (with the signs) apart; speech-to-tone and speech-to-bell differences (goal:
  tones >= 10 dB under speech; no bell or sign within 0.2 s of speech); cues
  cut short (goal 0); how long after its step starts each cue begins (median
  and max, announcements included); words per minute per style;
- the phrase cache for all eight protocols, cold (empty cache: espeak-ng runs)
  and warm (every clip read back), goal <= 2 s cold and ~0 warm;
- rendering a 14.5-minute session to WAV at --speed max (time, and the share
  of it the audio costs against the same session without it);
- a real-time session on miniaudio's null backend (simulated anxious person,
  sessions back to back for --minutes, default 60): buffer underruns (goal 0:
  a block delivered after the card, holding PERIODS blocks, had played all
  before it; also how many blocks were asked for late and the longest gap),
  the audio's CPU share of one core (callback rendering plus the sink's event
  handling, goal <= 2 %), and how long after an extension, a zone change or a
  step start its sound was rendered into the output (goal <= 50 ms; a real
  card adds its own buffer, BUFFER_MS).

    .venv/bin/python benchmarks/audio.py [--minutes 60] [--skip-live] [--mix-only]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.device import BUFFER_MS, PERIODS, Device
from biofeedback.audio.phrases import build_book
from biofeedback.audio.render import WavSink
from biofeedback.audio.score import Score
from biofeedback.audio.sink import AudioSink, Player
from biofeedback.audio.voice import Samples, VoiceSettings, load_voices
from biofeedback.cli import SessionRequest, build_session
from biofeedback.loop.session import SessionPlan, Sink, VirtualClock
from biofeedback.models import HeartSample, SessionEvent
from biofeedback.routines.protocols import load_all, load_protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.audio_mix import (
    fmt_lufs,
    load_speech,
    measure,
    run_logged,
    spread,
    words_per_minute,
)

SOUNDING = {"step_started", "step_extended", "advice", "signal_lost", "signal_restored"}
PROTOCOLS = ("full", "anxiety-downshift", "back-care", "work-reset", "bedtime", "pelvic-release")


MIX_RUNS = [(name, "anxious") for name in (*PROTOCOLS, "breath-partial", "passive-rest")] + [
    ("full", scenario) for scenario in ("calm", "panic", "non-responder", "dropouts")
]


async def mix(cache: Path, runs: Sequence[tuple[str, str]] = MIX_RUNS) -> None:
    delays_all: list[float] = []
    paces: dict[str, list[float]] = {}
    print(
        "mix per protocol/scenario (seed 1): LUFS speech/tones/bells;"
        " speech-tones, speech-bells (dB); bells+signs within 0.2 s of speech;"
        " cues cut; cue onset after step start (s); next-group names repeated"
    )
    for name, scenario in runs:
        speech = load_speech(name, str(cache))
        log = await run_logged(name, speech, scenario=scenario, seed=1)
        r = measure(log)
        delays_all += r.cue_delays_s
        for style, values in words_per_minute(log.score.book, speech).items():
            paces.setdefault(style, []).extend(values)
        lufs = r.lufs
        delay = (
            f"median {statistics.median(r.cue_delays_s):.2f} max {max(r.cue_delays_s):.2f}"
            if r.cue_delays_s
            else "none"
        )
        print(
            f"  {name:17s} {scenario:13s} {fmt_lufs(lufs['speech'])}/{fmt_lufs(lufs['tones'])}"
            f"/{fmt_lufs(lufs['bells'])} LUFS; {r.speech_to_tones_db:+.1f},"
            f" {r.speech_to_bells_db:+.1f} dB; {r.bells_near_speech} of {r.bells} near speech;"
            f" {r.cues_cut} of {r.cues} cues cut; onset {delay};"
            f" {r.repeated_next} repeated",
            flush=True,
        )
    print(f"cue onset after step start, all runs: {spread(delays_all)} s")
    for style, values in sorted(paces.items()):
        print(
            f"words per minute, {style}: n={len(values)} median {statistics.median(values):.0f}"
            f" (range {min(values):.0f}-{max(values):.0f})"
        )


def phrase_cache(rounds: int = 3) -> dict[str, dict[str, Samples]]:
    """Cold and warm builds, ``rounds`` times each in a fresh cache (median, range)."""
    took: dict[str, list[float]] = {"cold": [], "warm": []}
    counts: dict[str, tuple[int, int]] = {}
    clips: dict[str, dict[str, Samples]] = {}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            settings = VoiceSettings(cache_dir=Path(tmp))
            for label in ("cold", "warm"):
                began = time.perf_counter()
                phrases = synthesized = 0
                for protocol in load_all():
                    book = build_book(protocol)
                    voices = load_voices(book, settings)
                    clips[protocol.name] = voices.clips
                    phrases += len(book)
                    synthesized += voices.synthesized
                took[label].append(time.perf_counter() - began)
                counts[label] = (phrases, synthesized)
    for label, values in took.items():
        phrases, synthesized = counts[label]
        print(
            f"phrase cache, 8 protocols one after another, {label}: median"
            f" {np.median(values):.2f} s ({min(values):.2f}-{max(values):.2f} s, {rounds} runs;"
            f" {phrases} phrases, {synthesized} synthesized by espeak-ng)"
        )
    return clips


def session(
    name: str,
    scenario: str,
    seed: int,
    sinks: Sequence[Sink],
    folder: Path,
    *,
    sides: bool = False,
    speed: float | None = None,
    duration_s: float | None = None,
) -> SessionPlan:
    """`run --sim SCENARIO --protocol NAME --no-profile --audio off` as `run` wires it,
    with ``sinks`` (this benchmark's own sound) and a store of its own in ``folder``."""
    request = SessionRequest(
        sim=scenario,
        seed=seed,
        protocol=name,
        sides=sides,
        speed=speed,
        duration_s=duration_s,
        audio="off",
        use_profile=False,
        db=str(folder / "sessions.db"),
        record=False,
    )
    return build_session(request, sinks=sinks, session_id="bench")


async def render_track(speech: dict[str, Samples]) -> None:
    protocol = load_protocol("full", sides=True)
    book = build_book(protocol)
    times = []
    for with_audio in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            sinks: list[Sink] = (
                [WavSink(Path(tmp) / "t.wav", Score(book, speech))] if with_audio else []
            )
            plan = session("full", "anxious", 2, sinks, Path(tmp), sides=True)
            began = time.perf_counter()
            result = await plan.run()
            times.append(time.perf_counter() - began)
    print(
        f"track: {result.duration_s / 60:.1f}-minute session to WAV at --speed max:"
        f" {times[1]:.2f} s ({times[0]:.2f} s without audio; the audio adds"
        f" {times[1] - times[0]:.2f} s, {result.duration_s / max(times[1], 1e-9):.0f}x real time)"
    )


class TimedPlayer(Player):
    """A player that notes when each block was asked for and what it held."""

    def __init__(self) -> None:
        super().__init__(volume=0.8)
        self.blocks: list[tuple[float, int, int]] = []

    def render(self, frames: int) -> npt.NDArray[np.float32]:
        called = time.monotonic()
        with self._lock:
            start = self._device_frame - self._offset
        block = super().render(frames)
        self.blocks.append((called, start, frames))
        return block


class TimedSink(AudioSink):
    def __init__(self, score: Score, player: TimedPlayer, device: Device) -> None:
        super().__init__(score, player, device)
        self.handle_s = 0.0
        self.sounded: list[tuple[SessionEvent, float]] = []

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        began = time.perf_counter()
        before = len(self.lateness.by_type.get(getattr(item, "type", ""), []))
        await super().handle(item)
        if isinstance(item, SessionEvent) and item.type in SOUNDING:
            after = self.lateness.by_type.get(item.type, [])
            if len(after) > before:
                self.sounded.append((item, item.t + after[-1]))
        self.handle_s += time.perf_counter() - began


async def live(minutes: float, speech: dict[str, dict[str, Samples]]) -> None:
    deadline = time.monotonic() + minutes * 60
    underruns = callbacks = late = 0
    busy_s = handle_s = wall_s = cpu_s = silent_s = max_gap_s = max_busy_s = 0.0
    paces: list[float] = []
    latencies: dict[str, list[float]] = {}
    sessions = 0
    while time.monotonic() < deadline - 5:
        name = PROTOCOLS[sessions % len(PROTOCOLS)]
        sessions += 1
        protocol = load_protocol(name)
        book = build_book(protocol)
        player = TimedPlayer()
        device = Device(player.render, backend="null")
        sink = TimedSink(Score(book, speech[name]), player, device)
        began, cpu_began = time.monotonic(), time.process_time()
        left_s = deadline - began
        with tempfile.TemporaryDirectory() as tmp:
            plan = session(
                name, "anxious", sessions, [sink], Path(tmp), speed=1.0, duration_s=left_s
            )
            clock = plan.clock
            assert isinstance(clock, VirtualClock)
            await plan.run()
        wall_s += time.monotonic() - began
        cpu_s += time.process_time() - cpu_began
        stats = device.stats
        underruns += stats.underruns
        callbacks += stats.callbacks
        late += stats.late
        silent_s += stats.silent_s
        max_gap_s = max(max_gap_s, stats.max_gap_s)
        max_busy_s = max(max_busy_s, stats.max_busy_s)
        paces.append(_pace(player))
        busy_s += stats.busy_s
        handle_s += sink.handle_s
        _latencies(player, sink, clock, latencies)
        print(
            f"  session {sessions} ({name}): {stats.callbacks} blocks,"
            f" {stats.underruns} underruns, {stats.late} late, longest gap"
            f" {1000 * stats.max_gap_s:.0f} ms, {len(sink.sounded)} sounding events",
            flush=True,
        )
    print(
        f"live on the null backend: {wall_s / 60:.1f} min of real-time sessions"
        f" ({sessions} back to back), {callbacks} blocks of {BUFFER_MS} ms;"
        f" underruns (a card holding {PERIODS} blocks runs dry): {underruns},"
        f" {silent_s * 1000:.0f} ms of gap in all"
    )
    print(
        f"  blocks asked for over half a block late: {late}; longest time between two"
        f" blocks {1000 * max_gap_s:.0f} ms (a card holding {PERIODS} runs dry after"
        f" {PERIODS * BUFFER_MS} ms);"
        f" slowest block rendered in {1000 * max_busy_s:.1f} ms;"
        f" the null card's pace {min(paces):.4f}-{max(paces):.4f} x the sample rate"
    )
    print(
        f"audio CPU: rendering {100 * busy_s / wall_s:.2f} % + event handling"
        f" {100 * handle_s / wall_s:.3f} % of one core"
        f" (the whole process, simulator and pacing included: {100 * cpu_s / wall_s:.1f} %)"
    )
    for kind, values in sorted(latencies.items()):
        ms = np.array(values) * 1000
        print(
            f"event -> sound rendered, {kind}: n={len(ms)} median {np.median(ms):.1f} ms,"
            f" p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms"
        )


def _pace(player: TimedPlayer) -> float:
    """Frames asked for per second of wall time, over the sample rate (1: real time)."""
    frames = sum(b[2] for b in player.blocks[:-1])
    span_s = player.blocks[-1][0] - player.blocks[0][0]
    return frames / max(span_s, 1e-9) / SAMPLE_RATE_HZ


def _latencies(
    player: TimedPlayer, sink: TimedSink, clock: VirtualClock, out: dict[str, list[float]]
) -> None:
    """Wall time from each sounding event to the block that first held its sound."""
    starts = np.array([b[1] for b in player.blocks])
    for event, at_s in sink.sounded:
        frame = round(at_s * SAMPLE_RATE_HZ)
        i = int(np.searchsorted(starts, frame, side="right")) - 1
        if i < 0 or i >= len(player.blocks):
            continue
        called, start, _ = player.blocks[i]
        heard = called + (frame - start) / SAMPLE_RATE_HZ
        # VirtualClock(1.0) puts session time t at wall time start + t.
        emitted = clock.wall_start_s + event.t
        out.setdefault(event.type, []).append(heard - emitted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--mix-only", action="store_true", help="print the mix figures only")
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run: a smoke test")
    args = parser.parse_args()
    if args.quick:
        # The phrase cache and the render; live audio runs at real speed.
        args.skip_live = True
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(mix(Path(tmp), runs=MIX_RUNS[:1] if args.quick else MIX_RUNS))
    if args.mix_only:
        return
    clips = phrase_cache(1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        book = build_book(load_protocol("full", sides=True))
        full = load_voices(book, VoiceSettings(cache_dir=Path(tmp)))
    asyncio.run(render_track(full.clips))
    if not args.skip_live:
        asyncio.run(live(args.minutes, clips))


if __name__ == "__main__":
    main()
