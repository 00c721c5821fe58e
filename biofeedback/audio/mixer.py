"""A schedule turned into samples (pure): any block of frames, in any order.

Every sample is a function of its frame number and the schedule alone, so a
block rendered live (a few ms at a time, the schedule changing between
blocks) and a whole session rendered to a file hold the same sound.

Breath tones: one soft tone per half breath, rising in pitch as the lungs fill
and falling as they empty, the fill given by the pacer's own phase function;
each half starts from silence, so its start is heard as the turn of the breath.
Tones fade out around speech (ducked to silence), so they never talk over it,
and sit ``TONE_UNDER_SPEECH_DB`` under the voice: TONE_GAIN is set so a run of
tones reads TONE_LUFS (tests/test_audio_levels.py measures it).

``render_stems`` gives speech, tones and bells (with the signs) apart, so a
track's loudness can be measured per source; ``render`` is their sum.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ
from biofeedback.audio.loudness import SPEECH_LUFS
from biofeedback.audio.score import Clip, Kind, Schedule, ToneRun
from biofeedback.pacing.breath import breath_phase, fill_integral

Samples = npt.NDArray[np.float32]

LOW_HZ = 196.0  # G3 at empty lungs
HIGH_HZ = 294.0  # D4 at full lungs
TONE_UNDER_SPEECH_DB = 12.0
TONE_LUFS = SPEECH_LUFS - TONE_UNDER_SPEECH_DB
# A run of tones at gain 1 reads -3.9 LUFS (K-weighted, 4 s in, 6 s out).
TONE_GAIN = 10 ** ((TONE_LUFS + 3.9) / 20)
STEMS = ("speech", "tones", "bells")
ATTACK_S = 0.06
RELEASE_S = 0.35
CUT_FADE_S = 0.03
# Tones give way to speech this long before it starts and after it ends.
DUCK_BEFORE_S = 0.15
DUCK_AFTER_S = 0.4
DUCK_RAMP_S = 0.1


def render(schedule: Schedule, start_frame: int, frames: int) -> Samples:
    """Frames ``start_frame`` to ``start_frame + frames`` of the schedule, in -1..1."""
    stems = render_stems(schedule, start_frame, frames)
    return mix(stems)


def mix(stems: dict[str, Samples]) -> Samples:
    out = stems["speech"] + stems["tones"] + stems["bells"]
    np.clip(out, -1.0, 1.0, out=out)
    return out


def render_stems(schedule: Schedule, start_frame: int, frames: int) -> dict[str, Samples]:
    """The same frames as ``render``, speech, tones and bells (with signs) apart."""
    stems = {name: np.zeros(frames, dtype=np.float32) for name in STEMS}
    end_frame = start_frame + frames
    for clip in schedule.clips:
        _add_clip(
            stems["speech" if clip.kind is Kind.SPEECH else "bells"], clip, start_frame, end_frame
        )
    if schedule.tones:
        t0 = start_frame / SAMPLE_RATE_HZ
        t1 = end_frame / SAMPLE_RATE_HZ
        runs = [r for r in schedule.tones if r.start_s < t1 and r.stop_s > t0]
        if runs:
            times = (start_frame + np.arange(frames)) / SAMPLE_RATE_HZ
            tone = np.zeros(frames)
            for run in runs:
                tone += _tone_run(run, times)
            tone *= _speech_gate(schedule.clips, times)
            stems["tones"] += (TONE_GAIN * tone).astype(np.float32)
    return stems


def _add_clip(out: Samples, clip: Clip, start_frame: int, end_frame: int) -> None:
    first = round(clip.start_s * SAMPLE_RATE_HZ)
    last = first + len(clip.samples)
    cut = math.inf if math.isinf(clip.stop_s) else round(clip.stop_s * SAMPLE_RATE_HZ)
    last = int(min(last, cut))
    lo, hi = max(first, start_frame), min(last, end_frame)
    if lo >= hi:
        return
    part = clip.samples[lo - first : hi - first] * clip.gain
    if last == cut:
        # A cut sound fades quickly instead of clicking off.
        fade = int(CUT_FADE_S * SAMPLE_RATE_HZ)
        left = (last - np.arange(lo, hi)) / fade
        part = part * np.clip(left, 0.0, 1.0)
    out[lo - start_frame : hi - start_frame] += part


def _tone_run(run: ToneRun, times: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = np.zeros(len(times))
    i = 0
    while i < len(times):
        # The pacer's phase function says which half of the breath this is and
        # how long is left of it; the samples to its end follow from there.
        inhaling, _, left_s = breath_phase(times[i] - run.origin_s, run.in_s, run.out_s)
        n = max(min(math.ceil(left_s * SAMPLE_RATE_HZ - 1e-6), len(times) - i), 1)
        half = run.in_s if inhaling else run.out_s
        tau = (half - left_s) + (times[i : i + n] - times[i])
        out[i : i + n] = _half_breath(tau, half, inhaling)
        i += n
    # A run that begins mid-breath (after a pause) fades in; a stopped one fades out.
    env = np.minimum(
        np.clip((times - run.start_s) / ATTACK_S, 0, 1),
        np.clip((run.stop_s - times) / CUT_FADE_S, 0, 1),
    )
    env = np.where((times >= run.start_s) & (times < run.stop_s), env, 0.0)
    result: npt.NDArray[np.float64] = out * env
    return result


def _half_breath(
    tau: npt.NDArray[np.float64], half_s: float, inhaling: bool
) -> npt.NDArray[np.float64]:
    """One half breath's tone, ``tau`` seconds into it: pitch follows the lung fill."""
    x = np.clip(tau / half_s, 0.0, 1.0)
    # The phase is the integral of the pitch, which follows the pacer's fill curve.
    rise = half_s * (HIGH_HZ - LOW_HZ) * fill_integral(x)
    cycles = LOW_HZ * tau + rise if inhaling else HIGH_HZ * tau - rise
    wave = np.sin(2 * np.pi * cycles) + 0.15 * np.sin(4 * np.pi * cycles)
    env = np.minimum(np.clip(tau / ATTACK_S, 0, 1), np.clip((half_s - tau) / RELEASE_S, 0, 1))
    result: npt.NDArray[np.float64] = wave * np.sin(env * np.pi / 2) ** 2
    return result


def _speech_gate(
    clips: tuple[Clip, ...], times: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    gate = np.ones(len(times))
    t0, t1 = times[0], times[-1]
    for clip in clips:
        if clip.kind is not Kind.SPEECH:
            continue
        lo, hi = clip.start_s - DUCK_BEFORE_S, clip.end_s + DUCK_AFTER_S
        if hi + DUCK_RAMP_S < t0 or lo - DUCK_RAMP_S > t1:
            continue
        outside = np.maximum(lo - times, times - hi)
        gate = np.minimum(gate, np.clip(outside / DUCK_RAMP_S, 0.0, 1.0))
    return gate
