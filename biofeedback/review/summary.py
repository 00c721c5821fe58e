"""What happened in one recorded session, as numbers a reader can check and as text."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, field
from typing import Any

import numpy as np

from biofeedback.loop.progress import CHANGE_TYPES as CHANGE_TYPES
from biofeedback.loop.progress import Progress, fold, said_then_figures
from biofeedback.models import (
    Baseline,
    PlanChosen,
    Recording,
    SessionEnded,
    SessionEvent,
    StepKind,
    StepStarted,
    Zone,
)
from biofeedback.models.record import record
from biofeedback.pacing.frame import Part
from biofeedback.review.breathing import BreathSummary, breath_lines, summarize_breath
from biofeedback.review.frame import parts_line, plan_lines, plan_of, time_in_parts
from biofeedback.review.series import (
    RecordSeries,
    clean_rr,
    flagged_share,
    mean_hr,
    median_of,
)
from biofeedback.review.text import clock, iso, local, num, rounded
from biofeedback.signals.median import median

FINAL_WINDOW_S = 120.0
BEFORE_STEP_S = 10.0


@record(frozen=True, slots=True)
class Vitals:
    """Heart rate and RMSSD over a stretch (None without data)."""

    hr_bpm: float | None
    rmssd_ms: float | None


@record(frozen=True, slots=True)
class RegionResponse:
    """How the heart answered work on one body region (means of beat HR).

    ``before`` is the 10 s before the region's first step, ``rise`` is
    tensing minus before, ``settle`` is release minus before. ``rounds``
    counts how often the region came up (it can return after a zone change).
    """

    region: str
    rounds: int
    before_hr_bpm: float | None
    tense_hr_bpm: float | None
    release_hr_bpm: float | None
    rise_bpm: float | None
    settle_bpm: float | None
    extended_s: float


@record(frozen=True, slots=True)
class SessionSummary:
    """What a review shows of one session: where it came from, how it went and ended,
    and its figures."""

    session_id: str
    started_at_unix_s: float
    protocol: str
    source: str
    device: str | None
    software_version: str
    finished: bool
    end_reason: str | None
    duration_s: float
    start_zone: Zone | None
    final_zone: Zone | None
    baseline: Vitals
    final: Vitals
    time_in_zone_s: Mapping[Zone, float]
    steps: int
    extended_s: float
    changes: tuple[SessionEvent, ...]
    regions: tuple[RegionResponse, ...]
    samples: int
    beats: int
    no_signal_s: float
    artifact_rate: float
    # What the session's estimator reported each second (share of flagged beats
    # over its last minute): the mean and the worst minute, None without signal.
    measured_artifact_rate: float | None = None
    peak_artifact_rate: float | None = None
    final_window_s: float = FINAL_WINDOW_S
    # The frame (Recognise, Reduce, Restore) and what the profile changed.
    time_in_part_s: Mapping[Part, float] = field(default_factory=dict)
    plan: PlanChosen | None = None
    # Samples left out at the boundary as impossible heart data (never stored).
    rejected_samples: int = 0
    # Gaps in the heart data too short to be announced as a signal loss.
    brief_signal_gaps: int = 0
    # Broker messages the source skipped, by why (never stored themselves).
    skipped_messages: Mapping[str, int] = field(default_factory=dict)
    # The session's ``baseline`` event: how the baseline was taken (opening,
    # rising, stored...) and why; zones were judged against it.
    baseline_said: Baseline | None = None
    # The breath seen on the chest, with the pacer beside it (None: not seen;
    # then the outputs are as they were before breath was recorded).
    breath: BreathSummary | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "session_id": self.session_id,
            "started_at_unix_s": self.started_at_unix_s,
            "started_at": iso(self.started_at_unix_s),
            "protocol": self.protocol,
            "source": self.source,
            "device": self.device,
            "software_version": self.software_version,
            "status": "finished" if self.finished else "unfinished",
            "finished": self.finished,
            "end_reason": self.end_reason,
            "duration_s": rounded(self.duration_s),
            "start_zone": self.start_zone.value if self.start_zone else None,
            "final_zone": self.final_zone.value if self.final_zone else None,
            "baseline": {
                **_vitals_dict(self.baseline),
                "how": _how(self.baseline_said),
                "reason": "" if self.baseline_said is None else self.baseline_said.reason,
            },
            "final": {**_vitals_dict(self.final), "window_s": self.final_window_s},
            "change": _vitals_dict(_difference(self.final, self.baseline)),
            "time_in_zone_s": {z.value: rounded(s) for z, s in self.time_in_zone_s.items()},
            "steps": self.steps,
            "extended_s": rounded(self.extended_s),
            "changes": [e.to_dict() for e in self.changes],
            "regions": [
                {k: rounded(v) if isinstance(v, float) else v for k, v in asdict(r).items()}
                for r in self.regions
            ],
            "samples": self.samples,
            "beats": self.beats,
            "no_signal_s": rounded(self.no_signal_s),
            "artifact_rate": rounded(self.artifact_rate),
            "measured_artifact_rate": rounded(self.measured_artifact_rate),
            "peak_artifact_rate": rounded(self.peak_artifact_rate),
            "time_in_part_s": {p.value: rounded(s) for p, s in self.time_in_part_s.items()},
            "plan": None if self.plan is None else self.plan.to_dict(),
            "rejected_samples": self.rejected_samples,
            "skipped_messages": dict(self.skipped_messages),
            "brief_signal_gaps": self.brief_signal_gaps,
        }
        if self.breath is not None:
            out["breath"] = self.breath.to_dict()
        return out


def _how(baseline: Baseline | None) -> str | None:
    return None if baseline is None or baseline.how is None else baseline.how.value


def _vitals_dict(v: Vitals) -> dict[str, float | None]:
    return {"hr_bpm": rounded(v.hr_bpm), "rmssd_ms": rounded(v.rmssd_ms)}


def _difference(a: Vitals, b: Vitals) -> Vitals:
    def minus(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else x - y

    return Vitals(minus(a.hr_bpm, b.hr_bpm), minus(a.rmssd_ms, b.rmssd_ms))


# --------------------------------------------------------------------------
# Summarising


def summarize(rec: Recording) -> SessionSummary:
    """What happened in one recorded session, as numbers a reader can check."""
    s = rec.session
    series = RecordSeries.of(rec)
    # The live loop's fold over the stored events: the zones and steps as they
    # ran, the extensions and the signal losses, read as every live view reads them.
    course = fold(rec.events)
    end_s = s.length_s
    if series.est_t_s.size:
        end_s = max(end_s, float(series.est_t_s[-1]))

    baseline = next((e for e in rec.events if isinstance(e, Baseline)), None)
    base = (
        Vitals(baseline.hr_bpm, baseline.rmssd_ms)
        if baseline is not None
        else Vitals(s.baseline_hr_bpm, s.baseline_rmssd_ms)
    )
    tail = series.est_t_s > end_s - FINAL_WINDOW_S
    final = Vitals(median_of(series.est_hr_bpm[tail]), median_of(series.est_rmssd_ms[tail]))

    zones = course.zones_until(end_s)
    time_in_zone = {z: 0.0 for z in Zone}
    for zone, start, stop in zones:
        time_in_zone[zone] += stop - start

    beats = clean_rr(series.rr_ms, series.beat_t_s)
    with np.errstate(divide="ignore"):
        beat_hr = 60000.0 / beats.nn_ms
    steps = course.steps_until(end_s)
    regions = _region_responses(course, steps, beats.t_s, beat_hr)
    measured = series.est_artifact_rate[~series.est_no_signal]
    measured = measured[~np.isnan(measured)]
    tick_s = median(np.diff(series.est_t_s)) if series.est_t_s.size > 1 else 1.0
    return SessionSummary(
        session_id=s.session_id,
        started_at_unix_s=s.started_at_unix_s,
        protocol=s.protocol,
        source=s.source,
        device=s.device,
        software_version=s.software_version,
        finished=s.finished,
        end_reason=s.end_reason,
        duration_s=end_s,
        start_zone=s.start_zone,
        final_zone=zones[-1][0] if zones else s.start_zone,
        baseline=base,
        baseline_said=baseline,
        final=final,
        time_in_zone_s=time_in_zone,
        steps=course.steps_started,
        extended_s=course.extended_s,
        changes=tuple(e for e in rec.events if e.type in CHANGE_TYPES),
        regions=regions,
        samples=len(rec.sample_rows),
        beats=int(series.rr_ms.size),
        # Estimates say "no signal" only once the window runs dry; the lost and
        # restored events count every link loss, however short.
        no_signal_s=max(float(series.est_no_signal.sum()) * tick_s, course.no_signal_until(end_s)),
        artifact_rate=flagged_share(beats),
        measured_artifact_rate=float(measured.mean()) if measured.size else None,
        peak_artifact_rate=float(measured.max()) if measured.size else None,
        time_in_part_s=time_in_parts(steps),
        plan=plan_of(rec.events),
        rejected_samples=sum(e.rejected_samples for e in rec.events if isinstance(e, SessionEnded)),
        skipped_messages=_skipped(rec.events),
        brief_signal_gaps=_brief_gaps(series.est_t_s, series.est_no_signal, tick_s),
        breath=summarize_breath(rec, end_s),
    )


def _brief_gaps(t_s: np.ndarray, no_signal: np.ndarray, tick_s: float) -> int:
    """Runs of estimates without usable data shorter than a loss is announced after
    (a run lasts from its first estimate to the first with data again; a run the
    session ended in is not counted)."""
    if not no_signal.any():
        return 0  # without loading the pacing rules
    from biofeedback.pacing.rules import PacingConfig

    hold_s = PacingConfig().signal_loss_hold_s
    edges = np.diff(no_signal.astype(np.int8), prepend=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    lasted_s = t_s[ends] - t_s[starts[: ends.size]]
    return int(np.count_nonzero(lasted_s < hold_s + tick_s / 2))


def _skipped(events: Sequence[SessionEvent]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        if isinstance(event, SessionEnded):
            for reason, n in event.skipped_messages.items():
                counts[reason] = counts.get(reason, 0) + int(n)
    return counts


@record
class _Round:
    """One round of work on a body region: when it began, and its tense and release
    stretches (start, end)."""

    region: str
    start_s: float
    tense: list[tuple[float, float]] = field(default_factory=list)
    release: list[tuple[float, float]] = field(default_factory=list)


def _region_responses(
    course: Progress,
    steps: Sequence[tuple[StepStarted, float, float]],
    beat_t_s: np.ndarray,
    beat_hr: np.ndarray,
) -> tuple[RegionResponse, ...]:
    rounds: list[_Round] = []
    region_of: dict[str, str] = {}
    for step, start, stop in steps:
        if step.region is None:
            continue
        region_of[step.step] = step.region
        if not rounds or rounds[-1].region != step.region:
            rounds.append(_Round(step.region, start))
        if step.kind is StepKind.TENSE:
            rounds[-1].tense.append((start, stop))
        elif step.kind is StepKind.RELEASE:
            rounds[-1].release.append((start, stop))

    def mean_over(spans: list[tuple[float, float]]) -> float | None:
        values = [mean_hr(beat_t_s, beat_hr, a, b) for a, b in spans]
        known = [v for v in values if v is not None]
        return statistics.fmean(known) if known else None

    extended: dict[str, float] = {}
    for event in course.extensions:
        if event.step in region_of:
            region = region_of[event.step]
            extended[region] = extended.get(region, 0.0) + event.by_s

    by_region: dict[str, list[tuple[float | None, float | None, float | None]]] = {}
    for r in rounds:
        before = mean_hr(beat_t_s, beat_hr, r.start_s - BEFORE_STEP_S, r.start_s)
        by_region.setdefault(r.region, []).append(
            (before, mean_over(r.tense), mean_over(r.release))
        )

    def avg(values: Iterable[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.fmean(known) if known else None

    def diff(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    out = []
    for region, values in by_region.items():
        before = avg(v[0] for v in values)
        tense = avg(v[1] for v in values)
        release = avg(v[2] for v in values)
        out.append(
            RegionResponse(
                region=region,
                rounds=len(values),
                before_hr_bpm=before,
                tense_hr_bpm=tense,
                release_hr_bpm=release,
                rise_bpm=diff(tense, before),
                settle_bpm=diff(release, before),
                extended_s=extended.get(region, 0.0),
            )
        )
    return tuple(out)


def describe_change(event: SessionEvent) -> str:
    """One line saying what changed and why."""
    data = event.to_dict()
    # The plain sentence the person was given first, the figures after it.
    reason = said_then_figures(data.get("plain"), data.get("reason"))
    why = f": {reason}" if reason else ""
    match event.type:
        case "step_extended":
            return f"extended {data['step']} by {data['by_s']:g} s{why}"
        case "zone_changed":
            return f"zone {data['from']} -> {data['to']}{why}"
        case "user_action":
            return f"you chose {data['action']}"
        case "advice":
            return f"advice: {data['text']}"
        case _:
            return f"{event.type.replace('_', ' ')}{why}"


def format_summary(summary: SessionSummary) -> str:
    s = summary
    lines = [f"Session {s.session_id}  {local(s.started_at_unix_s)}"]
    if s.finished:
        lines.append(f"  finished ({s.end_reason}) after {clock(s.duration_s)}")
    else:
        lines.append(
            f"  UNFINISHED: no end was recorded (the program stopped abruptly, or it is"
            f" still running); the record reaches {clock(s.duration_s)}"
        )
    lines.append(f"  protocol {s.protocol}, source {s.source}")
    zones = ", ".join(f"{z.value} {clock(t)}" for z, t in s.time_in_zone_s.items())
    start = s.start_zone.value if s.start_zone else "-"
    final = s.final_zone.value if s.final_zone else "-"
    lines.append(f"  zone: started {start}, ended {final}; time in {zones}")
    if s.time_in_part_s:
        lines.append(f"  {parts_line(s.time_in_part_s)}")
    lines += plan_lines(s.plan)
    change = _difference(s.final, s.baseline)
    lines.append(
        f"  baseline          HR {num(s.baseline.hr_bpm, 'bpm')}"
        f"   RMSSD {num(s.baseline.rmssd_ms, 'ms')}"
    )
    said = s.baseline_said
    if said is not None and not said.as_usual and said.reason:
        lines.append(f"    taken as {_how(said)}: {said_then_figures(said.plain, said.reason)}")
    lines.append(
        f"  final {s.final_window_s / 60:g} minutes   HR {num(s.final.hr_bpm, 'bpm')}"
        f"   RMSSD {num(s.final.rmssd_ms, 'ms')}"
        f"   (change: HR {num(change.hr_bpm, 'bpm', sign=True)},"
        f" RMSSD {num(change.rmssd_ms, 'ms', sign=True)})"
    )
    lines.append(
        f"  {s.steps} steps, extended by {s.extended_s:g} s in all;"
        f" no signal for {clock(s.no_signal_s)}"
    )
    artifacts = f"  {s.beats} beats, {100 * s.artifact_rate:.1f} % corrected"
    if s.measured_artifact_rate is not None and s.peak_artifact_rate is not None:
        artifacts += (
            f" (during the session: {100 * s.measured_artifact_rate:.1f} % a minute on"
            f" average, {100 * s.peak_artifact_rate:.1f} % at worst)"
        )
    lines.append(artifacts)
    if s.rejected_samples:
        lines.append(
            f"  {s.rejected_samples} samples from the source could not be heart data"
            " (out of range) and were left out"
        )
    if s.brief_signal_gaps:
        lines.append(
            f"  {s.brief_signal_gaps} brief gaps in the heart data (too short to announce)"
        )
    if s.skipped_messages:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(s.skipped_messages.items()))
        lines.append(
            f"  {sum(s.skipped_messages.values())} broker messages were skipped ({reasons})"
        )
    if s.breath is not None:
        lines += breath_lines(s.breath)
    if s.changes:
        lines.append("  changes:")
        lines += [f"    {clock(e.t)}  {describe_change(e)}" for e in s.changes]
    else:
        lines.append("  changes: none")
    if s.regions:
        lines.append("  heart rate per body region (before -> tensing -> release):")
        for r in s.regions:
            lines.append(
                f"    {r.region:<12} {num(r.before_hr_bpm, 'bpm')} ->"
                f" {num(r.tense_hr_bpm, 'bpm')} ({num(r.rise_bpm, 'bpm', sign=True)}) ->"
                f" {num(r.release_hr_bpm, 'bpm')} ({num(r.settle_bpm, 'bpm', sign=True)})"
                + (f", release extended {r.extended_s:g} s" if r.extended_s else "")
            )
    return "\n".join(lines)


def summary_json(summary: SessionSummary) -> str:
    return json.dumps(summary.to_dict(), indent=2)
