"""Looking back at recorded sessions: summaries, history, plots and exports.

No UI code and no store access: the CLI (or a UI screen) loads a
``Recording`` from the store and hands it here. Plots need matplotlib, which
is the optional extra ``biofeedback[plot]``; it is imported only when a plot
is asked for.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import IO, Any

import numpy as np

from biofeedback import BiofeedbackError
from biofeedback.models import (
    Baseline,
    Recording,
    SessionEnded,
    SessionEvent,
    SignalLost,
    SignalRestored,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    StoredSession,
    Zone,
    ZoneChanged,
)
from biofeedback.sensors.replay import rr_lines

FINAL_WINDOW_S = 120.0
BEFORE_STEP_S = 10.0
# Offline correction: a beat more than this far from the median of the beats
# around it is an artifact (missed, extra or ectopic beat).
CORRECT_TOLERANCE = 0.25
CORRECT_WINDOW_BEATS = 11
# Events a reader of the record wants to see: decisions and what caused them.
CHANGE_TYPES = frozenset(
    {"step_extended", "zone_changed", "signal_lost", "signal_restored", "user_action", "advice"}
)


class ReviewError(BiofeedbackError):
    """A review or export that cannot be made as asked."""


# --------------------------------------------------------------------------
# The summary


@dataclass(frozen=True, slots=True)
class Vitals:
    hr_bpm: float | None
    rmssd_ms: float | None


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class SessionSummary:
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
    final_window_s: float = FINAL_WINDOW_S
    # Samples left out at the boundary as impossible heart data (never stored).
    rejected_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "started_at_unix_s": self.started_at_unix_s,
            "started_at": _iso(self.started_at_unix_s),
            "protocol": self.protocol,
            "source": self.source,
            "device": self.device,
            "software_version": self.software_version,
            "status": "finished" if self.finished else "unfinished",
            "finished": self.finished,
            "end_reason": self.end_reason,
            "duration_s": _r(self.duration_s),
            "start_zone": self.start_zone.value if self.start_zone else None,
            "final_zone": self.final_zone.value if self.final_zone else None,
            "baseline": _vitals_dict(self.baseline),
            "final": {**_vitals_dict(self.final), "window_s": self.final_window_s},
            "change": _vitals_dict(_difference(self.final, self.baseline)),
            "time_in_zone_s": {z.value: _r(s) for z, s in self.time_in_zone_s.items()},
            "steps": self.steps,
            "extended_s": _r(self.extended_s),
            "changes": [e.to_dict() for e in self.changes],
            "regions": [
                {k: _r(v) if isinstance(v, float) else v for k, v in asdict(r).items()}
                for r in self.regions
            ],
            "samples": self.samples,
            "beats": self.beats,
            "no_signal_s": _r(self.no_signal_s),
            "artifact_rate": _r(self.artifact_rate),
            "rejected_samples": self.rejected_samples,
        }


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def _vitals_dict(v: Vitals) -> dict[str, float | None]:
    return {"hr_bpm": _r(v.hr_bpm), "rmssd_ms": _r(v.rmssd_ms)}


def _difference(a: Vitals, b: Vitals) -> Vitals:
    def minus(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else x - y

    return Vitals(minus(a.hr_bpm, b.hr_bpm), minus(a.rmssd_ms, b.rmssd_ms))


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------
# Arrays from a recording


@dataclass(frozen=True)
class _Series:
    """The recording as numpy columns, each in time order."""

    est_t_s: np.ndarray
    est_hr_bpm: np.ndarray
    est_rmssd_ms: np.ndarray
    est_arousal: np.ndarray
    est_no_signal: np.ndarray
    est_artifact_rate: np.ndarray
    beat_t_s: np.ndarray
    rr_ms: np.ndarray

    @classmethod
    def of(cls, rec: Recording) -> _Series:
        n = len(rec.estimate_rows)
        t, hr, rmssd, arousal, quality, artifacts = (
            zip(*rec.estimate_rows, strict=True) if n else ((),) * 6
        )
        # None becomes NaN in a float array.
        return cls(
            est_t_s=np.array(t, float),
            est_hr_bpm=np.array(hr, float),
            est_rmssd_ms=np.array(rmssd, float),
            est_arousal=np.array(arousal, float),
            est_no_signal=np.array([q == "no_signal" for q in quality], bool),
            est_artifact_rate=np.array(artifacts, float),
            beat_t_s=np.array(rec.beat_t_s, float),
            rr_ms=np.array(rec.rr_ms, float),
        )


def correct_rr(rr_ms: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offline artifact correction: (corrected intervals, flagged mask).

    A beat more than 25 % away from the median of the 11 beats centred on it
    is replaced by that median. The number of beats is kept.
    """
    rr = np.asarray(rr_ms, float)
    if rr.size < 3:
        return rr.copy(), np.zeros(rr.size, bool)
    half = CORRECT_WINDOW_BEATS // 2
    padded = np.pad(rr, half, mode="reflect") if rr.size > half else np.pad(rr, half, "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, CORRECT_WINDOW_BEATS)
    median = np.median(windows, axis=1)
    flagged = np.abs(rr - median) > CORRECT_TOLERANCE * median
    return np.where(flagged, median, rr), flagged


def _median(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(np.median(values)) if values.size else None


def _mean_hr(
    beat_t_s: np.ndarray, hr_bpm: np.ndarray, start_s: float, end_s: float
) -> float | None:
    lo, hi = np.searchsorted(beat_t_s, [start_s, end_s], side="right")
    return float(hr_bpm[lo:hi].mean()) if hi > lo else None


# --------------------------------------------------------------------------
# Summarising


def summarize(rec: Recording) -> SessionSummary:
    """What happened in one recorded session, as numbers a reader can check."""
    s = rec.session
    series = _Series.of(rec)
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
    final = Vitals(_median(series.est_hr_bpm[tail]), _median(series.est_rmssd_ms[tail]))

    zones = _zone_spans(rec.events, s.start_zone, end_s)
    time_in_zone = {z: 0.0 for z in Zone}
    for zone, start, stop in zones:
        time_in_zone[zone] += stop - start

    corrected, flagged = correct_rr(series.rr_ms)
    with np.errstate(divide="ignore"):
        beat_hr = 60000.0 / corrected
    regions = _region_responses(rec.events, series.beat_t_s, beat_hr, end_s)
    tick_s = float(np.median(np.diff(series.est_t_s))) if series.est_t_s.size > 1 else 1.0
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
        final=final,
        time_in_zone_s=time_in_zone,
        steps=sum(isinstance(e, StepStarted) for e in rec.events),
        extended_s=sum((e.by_s for e in rec.events if isinstance(e, StepExtended)), 0.0),
        changes=tuple(e for e in rec.events if e.type in CHANGE_TYPES),
        regions=regions,
        samples=len(rec.sample_rows),
        beats=int(series.rr_ms.size),
        # Estimates say "no signal" only once the window runs dry; the lost and
        # restored events count every link loss, however short.
        no_signal_s=max(
            float(series.est_no_signal.sum()) * tick_s, _signal_lost_s(rec.events, end_s)
        ),
        artifact_rate=float(flagged.mean()) if flagged.size else 0.0,
        rejected_samples=sum(e.rejected_samples for e in rec.events if isinstance(e, SessionEnded)),
    )


def _signal_lost_s(events: Sequence[SessionEvent], end_s: float) -> float:
    """Seconds between each signal_lost and the signal_restored after it."""
    total_s = 0.0
    lost_at_s: float | None = None
    for event in events:
        if isinstance(event, SignalLost) and lost_at_s is None:
            lost_at_s = event.t
        elif isinstance(event, SignalRestored) and lost_at_s is not None:
            total_s += event.t - lost_at_s
            lost_at_s = None
    if lost_at_s is not None:
        total_s += max(end_s - lost_at_s, 0.0)
    return total_s


def _zone_spans(
    events: Sequence[SessionEvent], start_zone: Zone | None, end_s: float
) -> list[tuple[Zone, float, float]]:
    """(zone, from, to) for the whole session, in order."""
    if start_zone is None:
        return []
    spans: list[tuple[Zone, float, float]] = []
    zone, since = start_zone, 0.0
    for event in events:
        if isinstance(event, ZoneChanged):
            spans.append((zone, since, event.t))
            zone, since = event.to_zone, event.t
    spans.append((zone, since, max(end_s, since)))
    return [span for span in spans if span[2] > span[1]] or spans[-1:]


@dataclass
class _Round:
    region: str
    start_s: float
    tense: list[tuple[float, float]] = field(default_factory=list)
    release: list[tuple[float, float]] = field(default_factory=list)


def _step_spans(
    events: Sequence[SessionEvent], end_s: float
) -> list[tuple[StepStarted, float, float]]:
    """Each step with the time it started and the time it really ended."""
    out: list[tuple[StepStarted, float, float]] = []
    open_step: StepStarted | None = None
    for event in events:
        if isinstance(event, StepStarted):
            if open_step is not None:
                out.append((open_step, open_step.t, event.t))
            open_step = event
        elif (
            isinstance(event, StepEnded) and open_step is not None and event.step == open_step.step
        ):
            out.append((open_step, open_step.t, event.t))
            open_step = None
    if open_step is not None:
        out.append((open_step, open_step.t, max(end_s, open_step.t)))
    return out


def _region_responses(
    events: Sequence[SessionEvent], beat_t_s: np.ndarray, beat_hr: np.ndarray, end_s: float
) -> tuple[RegionResponse, ...]:
    rounds: list[_Round] = []
    region_of: dict[str, str] = {}
    for step, start, stop in _step_spans(events, end_s):
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
        values = [_mean_hr(beat_t_s, beat_hr, a, b) for a, b in spans]
        known = [v for v in values if v is not None]
        return statistics.fmean(known) if known else None

    extended: dict[str, float] = {}
    for event in events:
        if isinstance(event, StepExtended) and event.step in region_of:
            region = region_of[event.step]
            extended[region] = extended.get(region, 0.0) + event.by_s

    by_region: dict[str, list[tuple[float | None, float | None, float | None]]] = {}
    for r in rounds:
        before = _mean_hr(beat_t_s, beat_hr, r.start_s - BEFORE_STEP_S, r.start_s)
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


# --------------------------------------------------------------------------
# Text


def clock(t_s: float) -> str:
    """mm:ss, or h:mm:ss from an hour on."""
    total = round(t_s)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def _num(value: float | None, unit: str, fmt: str = ".1f", sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:{'+' if sign else ''}{fmt}} {unit}"


def _local(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).strftime("%Y-%m-%d %H:%M")


def describe_change(event: SessionEvent) -> str:
    """One line saying what changed and why."""
    data = event.to_dict()
    reason = data.get("reason")
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
    lines = [f"Session {s.session_id}  {_local(s.started_at_unix_s)}"]
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
    change = _difference(s.final, s.baseline)
    lines.append(
        f"  baseline          HR {_num(s.baseline.hr_bpm, 'bpm')}"
        f"   RMSSD {_num(s.baseline.rmssd_ms, 'ms')}"
    )
    lines.append(
        f"  final {s.final_window_s / 60:g} minutes   HR {_num(s.final.hr_bpm, 'bpm')}"
        f"   RMSSD {_num(s.final.rmssd_ms, 'ms')}"
        f"   (change: HR {_num(change.hr_bpm, 'bpm', sign=True)},"
        f" RMSSD {_num(change.rmssd_ms, 'ms', sign=True)})"
    )
    lines.append(
        f"  {s.steps} steps, extended by {s.extended_s:g} s in all;"
        f" {s.beats} beats, {100 * s.artifact_rate:.1f} % corrected;"
        f" no signal for {clock(s.no_signal_s)}"
    )
    if s.rejected_samples:
        lines.append(
            f"  {s.rejected_samples} samples from the source could not be heart data"
            " (out of range) and were left out"
        )
    if s.changes:
        lines.append("  changes:")
        lines += [f"    {clock(e.t)}  {describe_change(e)}" for e in s.changes]
    else:
        lines.append("  changes: none")
    if s.regions:
        lines.append("  heart rate per body region (before -> tensing -> release):")
        for r in s.regions:
            lines.append(
                f"    {r.region:<12} {_num(r.before_hr_bpm, 'bpm')} ->"
                f" {_num(r.tense_hr_bpm, 'bpm')} ({_num(r.rise_bpm, 'bpm', sign=True)}) ->"
                f" {_num(r.release_hr_bpm, 'bpm')} ({_num(r.settle_bpm, 'bpm', sign=True)})"
                + (f", release extended {r.extended_s:g} s" if r.extended_s else "")
            )
    return "\n".join(lines)


def summary_json(summary: SessionSummary) -> str:
    return json.dumps(summary.to_dict(), indent=2)


# --------------------------------------------------------------------------
# History


@dataclass(frozen=True, slots=True)
class Trend:
    """Median of the latest sessions against the median of the ones before."""

    recent: float
    earlier: float
    change: float
    recent_sessions: int
    earlier_sessions: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    session_id: str
    started_at_unix_s: float
    protocol: str
    source: str
    virtual: bool
    finished: bool
    end_reason: str | None
    duration_s: float
    resting_hr_bpm: float | None
    resting_rmssd_ms: float | None


@dataclass(frozen=True, slots=True)
class History:
    entries: tuple[HistoryEntry, ...]
    hr_trend: Trend | None
    rmssd_trend: Trend | None
    trend_includes_virtual: bool

    def to_dict(self) -> dict[str, Any]:
        def trend(t: Trend | None) -> dict[str, Any] | None:
            if t is None:
                return None
            return {k: _r(v) if isinstance(v, float) else v for k, v in asdict(t).items()}

        return {
            "sessions": [
                {
                    **{k: _r(v) if isinstance(v, float) else v for k, v in asdict(e).items()},
                    "started_at": _iso(e.started_at_unix_s),
                }
                for e in self.entries
            ],
            "trend": {
                "resting_hr_bpm": trend(self.hr_trend),
                "resting_rmssd_ms": trend(self.rmssd_trend),
                "includes_simulated": self.trend_includes_virtual,
            },
        }


TREND_SESSIONS = 5


def build_history(sessions: Sequence[StoredSession]) -> History:
    """Sessions newest first, with trends of the resting values (the baselines)."""
    entries = tuple(
        HistoryEntry(
            session_id=s.session_id,
            started_at_unix_s=s.started_at_unix_s,
            protocol=s.protocol,
            source=s.source,
            virtual=s.virtual,
            finished=s.finished,
            end_reason=s.end_reason,
            duration_s=s.length_s,
            resting_hr_bpm=s.baseline_hr_bpm,
            resting_rmssd_ms=s.baseline_rmssd_ms,
        )
        for s in sessions
    )
    live = [e for e in entries if not e.virtual]
    pool, includes_virtual = (live, False) if len(live) >= 2 else (list(entries), bool(entries))
    includes_virtual = includes_virtual and any(e.virtual for e in pool)
    return History(
        entries,
        _trend([e.resting_hr_bpm for e in pool]),
        _trend([e.resting_rmssd_ms for e in pool]),
        includes_virtual,
    )


def _trend(newest_first: Sequence[float | None]) -> Trend | None:
    known = [v for v in newest_first if v is not None]
    if len(known) < 2:
        return None
    recent = known[: min(TREND_SESSIONS, len(known) // 2 or 1)]
    earlier = known[len(recent) : len(recent) + TREND_SESSIONS]
    r, e = statistics.median(recent), statistics.median(earlier)
    return Trend(r, e, r - e, len(recent), len(earlier))


def format_history(history: History) -> str:
    if not history.entries:
        return "No sessions recorded yet. Try one with: biofeedback run --sim"
    lines = [
        f"{'when':<16}  {'session':<12}  {'protocol':<14}  {'length':>7}  "
        f"{'rest HR':>8}  {'RMSSD':>8}  status / source"
    ]
    for e in history.entries:
        status = (e.end_reason or "finished") if e.finished else "UNFINISHED"
        lines.append(
            f"{_local(e.started_at_unix_s):<16}  {e.session_id:<12}  {e.protocol:<14}  "
            f"{clock(e.duration_s):>7}  {_num(e.resting_hr_bpm, 'bpm'):>8}  "
            f"{_num(e.resting_rmssd_ms, 'ms'):>8}  {status} / {e.source}"
        )
    for label, trend, unit in (
        ("resting HR", history.hr_trend, "bpm"),
        ("resting RMSSD", history.rmssd_trend, "ms"),
    ):
        if trend is None:
            continue
        lines.append(
            f"Trend of {label}: {trend.recent:.1f} {unit} over the latest"
            f" {trend.recent_sessions} session(s), {trend.change:+.1f} {unit} against the"
            f" {trend.earlier_sessions} before"
        )
    if history.trend_includes_virtual:
        lines.append("(the trends include simulated or replayed sessions)")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Exports (each file opened by the caller, private)

CSV_COLUMNS = (
    "t_s",
    "type",
    "hr_bpm",
    "rr_ms",
    "contact",
    "rmssd_ms",
    "arousal",
    "quality",
    "detail",
)


def write_csv(rec: Recording, out: IO[str]) -> None:
    """Samples, estimates and events in one table, in time order.

    ``sample`` rows carry the strap's HR, contact and the RR intervals of that
    notification (space separated, ms); ``estimate`` rows the estimator's
    view; every other row is an event with its fields as JSON in ``detail``.
    """
    rows: list[tuple[float, int, list[Any]]] = []
    for s in rec.samples:
        rr = " ".join(_fmt(r) for r in s.rr_ms)
        rows.append((s.t_s, 0, [s.t_s, "sample", s.hr_bpm, rr, s.contact.value, "", "", "", ""]))
    for est in rec.estimates:
        rows.append(
            (
                est.t,
                1,
                [
                    est.t,
                    "estimate",
                    est.hr_bpm,
                    "",
                    "",
                    est.rmssd_ms,
                    est.arousal,
                    est.quality.value,
                    "",
                ],
            )
        )
    for event in rec.events:
        data = event.to_dict()
        del data["t"], data["type"]
        detail = json.dumps(data, separators=(",", ":"))
        rows.append((event.t, 2, [event.t, event.type, "", "", "", "", "", "", detail]))
    rows.sort(key=lambda row: (row[0], row[1]))
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for _, _, row in rows:
        writer.writerow(["" if v is None else _fmt(v) if isinstance(v, float) else v for v in row])


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}".rstrip("0").rstrip(".")


def write_rr(rec: Recording, out: IO[str], *, corrected: bool = False) -> int:
    """One RR interval (ms) a line; raw as the strap sent them unless ``corrected``.

    Raw is what Kubios and Elite HRV expect (they apply their own correction);
    ``corrected`` replaces artifacts as ``correct_rr`` does. Returns the count.
    """
    rr = list(rec.rr_ms)
    values: Iterable[float] = correct_rr(rr)[0].tolist() if corrected else rr
    text = rr_lines(values)
    out.write(text)
    return len(rr)


# --------------------------------------------------------------------------
# Plots

ZONE_COLOURS = {Zone.GREEN: "#d8f0d8", Zone.YELLOW: "#fbf0c0", Zone.RED: "#f6d0d0"}


PLOT_BUCKETS = 2000
# More markers than this would paint the whole plot: leave them out.
MAX_MARKERS = 400


def _trace(ax: Any, x: np.ndarray, y: np.ndarray, colour: str) -> None:
    """A line, or for long records (a day has 86,400 estimates; a figure is
    about 1,000 pixels wide) the mean of each bucket over a band from its
    minimum to its maximum, so no peak is lost."""
    if x.size <= 2 * PLOT_BUCKETS:
        ax.plot(x, y, color=colour, linewidth=0.9)
        return
    per = -(-x.size // PLOT_BUCKETS)
    usable = x.size // per * per
    xb = x[:usable].reshape(-1, per)[:, 0]
    yb = y[:usable].reshape(-1, per)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bucket stays NaN
        low, mean, high = np.nanmin(yb, axis=1), np.nanmean(yb, axis=1), np.nanmax(yb, axis=1)
    ax.fill_between(xb, low, high, color=colour, alpha=0.25, linewidth=0)
    ax.plot(xb, mean, color=colour, linewidth=0.7)


def _marker_lines(times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Vertical lines from bottom to top at ``times``, as one polyline."""
    x = np.repeat(np.asarray(times, float), 3)
    y = np.tile([0.0, 1.0, np.nan], len(times))
    return x, y


def render_plot(rec: Recording, summary: SessionSummary, fmt: str) -> bytes:
    """HR, RMSSD and arousal over time, with zone bands and step markers, as
    the bytes of a ``fmt`` ("png", "pdf", "svg") file."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ReviewError(f"--{fmt} needs matplotlib: pip install 'biofeedback[plot]'") from None
    series = _Series.of(rec)
    end_s = max(summary.duration_s, 1.0)
    hours = end_s > 2 * 3600
    scale, unit = (3600.0, "h") if hours else (60.0, "min")
    x = series.est_t_s / scale

    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    hr_ax, rmssd_ax, arousal_ax = axes
    _trace(hr_ax, x, series.est_hr_bpm, "#b03030")
    hr_ax.set_ylabel("HR (bpm)")
    _trace(rmssd_ax, x, series.est_rmssd_ms, "#3050a0")
    rmssd_ax.set_ylabel("RMSSD (ms)")
    _trace(arousal_ax, x, series.est_arousal, "#505050")
    arousal_ax.axhline(0.0, color="#909090", linewidth=0.5)
    arousal_ax.set_ylabel("arousal")
    arousal_ax.set_xlabel(f"session time ({unit})")
    if summary.baseline.hr_bpm is not None:
        hr_ax.axhline(summary.baseline.hr_bpm, color="#b03030", linewidth=0.6, linestyle=":")
    if summary.baseline.rmssd_ms is not None:
        rmssd_ax.axhline(summary.baseline.rmssd_ms, color="#3050a0", linewidth=0.6, linestyle=":")

    spans = _zone_spans(rec.events, rec.session.start_zone, end_s)
    steps = [e for e in rec.events if isinstance(e, StepStarted)]
    tense = [e.t / scale for e in steps if e.kind is StepKind.TENSE]
    others = [e.t / scale for e in steps if e.kind is not StepKind.TENSE]
    changes = [e.t / scale for e in rec.events if isinstance(e, StepExtended | ZoneChanged)]
    marked = len(steps) <= MAX_MARKERS
    if not marked:
        tense, others = [], []
        changes = [e.t / scale for e in rec.events if isinstance(e, ZoneChanged)]
    for ax in axes:
        for zone in Zone:
            bars = [(a / scale, (b - a) / scale) for z, a, b in spans if z is zone]
            if bars:
                ax.broken_barh(
                    bars,
                    (0, 1),
                    transform=ax.get_xaxis_transform(),
                    facecolor=ZONE_COLOURS[zone],
                    zorder=0,
                )
        # One NaN-separated line per kind: a day has thousands of steps, and a
        # collection of that many segments draws ten times slower.
        for times, colour in ((others, "#c0c0c0"), (tense, "#8a6d3b")):
            ax.plot(
                *_marker_lines(times),
                transform=ax.get_xaxis_transform(),
                color=colour,
                linewidth=0.4,
                zorder=1,
            )
    if changes:
        hr_ax.plot(
            changes,
            [1.0] * len(changes),
            "v",
            color="#202020",
            markersize=4,
            transform=hr_ax.get_xaxis_transform(),
            clip_on=False,
        )
    hr_ax.set_xlim(0, end_s / scale)
    status = "" if summary.finished else "  (unfinished)"
    fig.suptitle(
        f"{summary.protocol} session {summary.session_id}, {_local(summary.started_at_unix_s)}"
        f"{status}: zones green/yellow/red as bands, "
        + (
            "step starts as lines (brown: tense), ▼ extension or zone change"
            if marked
            else f"{len(steps)} steps (too many to mark), ▼ zone change"
        ),
        fontsize=9,
    )
    out = io.BytesIO()
    # Light PNG compression: a third of the encoding time, a slightly larger file.
    if fmt == "png":
        fig.savefig(out, format=fmt, dpi=100, pil_kwargs={"compress_level": 1})
    else:
        fig.savefig(out, format=fmt, dpi=100)
    return out.getvalue()
