"""The pacing controller: walk a protocol step by step and adapt it to the body.

Pure: every method takes ``now_s`` and returns the events it decided on. No
clock, no I/O, no sleeping; ``session.py`` feeds it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from biofeedback.models import (
    Action,
    Advice,
    ArousalEstimate,
    Baseline,
    Quality,
    SessionEvent,
    SignalLost,
    SignalRestored,
    SourceStatus,
    Step,
    StepEnded,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.pacing.protocols import Protocol


@dataclass(frozen=True, slots=True)
class PacingConfig:
    settle_s: float = 60.0
    breath_in_s: float = 4.0
    breath_out_s: float = 6.0
    # Arousal thresholds, in units of the person's natural variation.
    extend_above: float = 1.0
    step_down_above: float = 2.0
    step_up_below: float = 0.5
    step_down_after_s: float = 10.0
    step_up_after_s: float = 60.0
    extend_by_s: float = 5.0
    extend_cap_s: float = 20.0
    dwell_s: float = 60.0
    red_min_s: float = 120.0


SETTLE = "settle"
CLOSING_SCAN = "closing-scan"
CLOSING_BREATH = "closing-breath"


class PacingController:
    """One session's pacing decisions."""

    def __init__(
        self,
        protocol: Protocol,
        *,
        yellow: Protocol,
        red: Protocol,
        config: PacingConfig | None = None,
        start_zone: Zone = Zone.GREEN,
    ) -> None:
        self.config = config or PacingConfig()
        self.protocol = protocol
        self._routines = {Zone.GREEN: protocol, Zone.YELLOW: yellow, Zone.RED: red}
        self._zone = start_zone
        self._finished = False
        self._end_reason = ""
        self._queue: list[Step] = []
        self._step: Step | None = None
        self._step_started_s = 0.0
        self._step_end_s = 0.0
        self._extended_s = 0.0
        self._paused_at_s: float | None = None
        self._above_since_s: float | None = None
        self._calm_since_s: float | None = None
        self._zone_since_s = 0.0
        self._baseline_sent = False
        self._signal_ok = True
        # The source said its link is down: only the source may say it is back,
        # though the estimator still has a few seconds of older data.
        self._source_down = False
        self._last_estimate: ArousalEstimate | None = None
        self._hurt_regions: set[str] = set()
        # Where the main protocol had got to, to continue the body order.
        self._main_index = 0

    # -- what the session and the UI read

    @property
    def zone(self) -> Zone:
        return self._zone

    @property
    def protocol_name(self) -> str:
        return self.protocol.name

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def end_reason(self) -> str:
        return self._end_reason

    @property
    def step(self) -> Step | None:
        return self._step

    @property
    def paused(self) -> bool:
        return self._paused_at_s is not None

    def remaining_s(self, now_s: float) -> float:
        ref = self._paused_at_s if self._paused_at_s is not None else now_s
        return max(self._step_end_s - ref, 0.0)

    # -- inputs

    def start(self, now_s: float) -> list[SessionEvent]:
        cfg = self.config
        settle = Step(
            SETTLE,
            StepKind.BREATH,
            "Settle in. Breathe in for four, and out slowly for six.",
            cfg.settle_s,
            breath_in_s=cfg.breath_in_s,
            breath_out_s=cfg.breath_out_s,
        )
        self._zone_since_s = now_s
        self._queue = [settle, *self._routine_steps(self._zone)]
        return self._next_step(now_s, "start")

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        if self._finished:
            return []
        self._last_estimate = estimate
        events: list[SessionEvent] = []
        if not self._baseline_sent and estimate.baseline_hr_bpm is not None:
            self._baseline_sent = True
            events.append(
                Baseline(
                    now_s, estimate.baseline_hr_bpm, estimate.baseline_rmssd_ms, estimate.quality
                )
            )
        events += self._watch_signal(now_s, estimate)
        if self.paused:
            return events
        events += self._judge_zone(now_s, estimate)
        if now_s >= self._step_end_s:
            events += self._end_or_extend(now_s, estimate)
        return events

    def on_source_status(self, now_s: float, status: SourceStatus) -> list[SessionEvent]:
        self._source_down = not status.connected
        if status.connected and not self._signal_ok:
            self._signal_ok = True
            return [SignalRestored(now_s, status.reason)]
        if not status.connected and self._signal_ok:
            self._signal_ok = False
            self._above_since_s = self._calm_since_s = None
            return [SignalLost(now_s, f"{status.reason}; the session goes on un-paced")]
        return []

    def on_action(self, now_s: float, action: Action) -> list[SessionEvent]:
        if self._finished:
            return []
        events: list[SessionEvent] = [UserActed(now_s, action)]
        if action is Action.PAUSE and self._paused_at_s is None:
            self._paused_at_s = now_s
        elif action is Action.RESUME and self._paused_at_s is not None:
            self._step_end_s += now_s - self._paused_at_s
            self._paused_at_s = None
        elif action is Action.SKIP:
            self._paused_at_s = None
            events += self._next_step(now_s, "skipped")
        elif action is Action.HURTS:
            events += self._hurts(now_s)
        elif action is Action.STOP:
            events += self.stop(now_s, "stopped by user")
        return events

    def stop(self, now_s: float, reason: str) -> list[SessionEvent]:
        if self._finished:
            return []
        events: list[SessionEvent] = []
        if self._step is not None:
            events.append(StepEnded(now_s, self._step.id, now_s - self._step_started_s, reason))
            self._step = None
        self._finished = True
        self._end_reason = reason
        return events

    # -- decisions

    def _watch_signal(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        if estimate.quality is Quality.NO_SIGNAL and self._signal_ok:
            self._signal_ok = False
            self._above_since_s = self._calm_since_s = None
            return [SignalLost(now_s, "no heart data for 5 s; the session goes on un-paced")]
        if (
            estimate.quality is not Quality.NO_SIGNAL
            and not self._signal_ok
            and not self._source_down
        ):
            self._signal_ok = True
            return [SignalRestored(now_s, "heart data is back; pacing resumes")]
        return []

    def _judge_zone(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        cfg = self.config
        arousal = estimate.arousal
        if arousal is None or not self._signal_ok:
            self._above_since_s = self._calm_since_s = None
            return []
        # A tense step raises HR by itself: that is the exercise, not arousal.
        judging_tense = self._step is not None and self._step.kind is StepKind.TENSE
        if arousal > cfg.step_down_above and not judging_tense:
            self._above_since_s = self._above_since_s if self._above_since_s is not None else now_s
        elif not judging_tense:
            self._above_since_s = None
        if arousal < cfg.step_up_below:
            self._calm_since_s = self._calm_since_s if self._calm_since_s is not None else now_s
        else:
            self._calm_since_s = None
        dwell_ok = now_s - self._zone_since_s >= cfg.dwell_s
        if (
            self._above_since_s is not None
            and now_s - self._above_since_s >= cfg.step_down_after_s
            and self._zone is not Zone.RED
        ):
            held = now_s - self._above_since_s
            return self._change_zone(
                now_s,
                self._zone.lower(),
                f"arousal {arousal:+.1f} (hr {_signed(estimate.hr_delta_bpm)} bpm over baseline)"
                f" above {cfg.step_down_above:.1f} for {held:.0f} s",
            )
        red_ok = self._zone is not Zone.RED or now_s - self._zone_since_s >= cfg.red_min_s
        if (
            self._calm_since_s is not None
            and now_s - self._calm_since_s >= cfg.step_up_after_s
            and self._zone is not Zone.GREEN
            and dwell_ok
            and red_ok
        ):
            held = now_s - self._calm_since_s
            return self._change_zone(
                now_s,
                self._zone.higher(),
                f"arousal {arousal:+.1f} below {cfg.step_up_below:.1f} for {held:.0f} s",
            )
        return []

    def _change_zone(self, now_s: float, to_zone: Zone, reason: str) -> list[SessionEvent]:
        from_zone = self._zone
        self._zone = to_zone
        self._zone_since_s = now_s
        self._above_since_s = self._calm_since_s = None
        events: list[SessionEvent] = [ZoneChanged(now_s, from_zone, to_zone, reason)]
        self._queue = self._routine_steps(to_zone)
        events += self._next_step(now_s, f"zone changed to {to_zone}")
        return events

    def _end_or_extend(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]:
        cfg = self.config
        step = self._step
        if (
            step is not None
            and step.kind is StepKind.RELEASE
            and estimate.arousal is not None
            and estimate.arousal > cfg.extend_above
            and self._extended_s < cfg.extend_cap_s
        ):
            by_s = min(cfg.extend_by_s, cfg.extend_cap_s - self._extended_s)
            self._extended_s += by_s
            self._step_end_s += by_s
            return [
                StepExtended(
                    now_s,
                    step.id,
                    by_s,
                    f"not settled yet: arousal {estimate.arousal:+.1f}"
                    f" above {cfg.extend_above:.1f}",
                )
            ]
        return self._next_step(now_s, "done")

    def _hurts(self, now_s: float) -> list[SessionEvent]:
        step = self._step
        events: list[SessionEvent] = [
            Advice(
                now_s,
                "Stop if it hurts. Sharp or spreading pain, numbness, dizziness or"
                " breathlessness: rest, and seek medical advice if it persists.",
            )
        ]
        if step is not None and step.region:
            region = step.region
            self._hurt_regions.add(region)
            self._queue = [s for s in self._queue if s.region != region]
            self._queue.insert(
                0,
                Step(
                    f"{region}-imagery",
                    StepKind.IMAGERY,
                    "No need to move. Just imagine that part tensing a little, then letting go.",
                    15.0,
                    region,
                ),
            )
        events += self._next_step(now_s, "it hurts")
        return events

    def _routine_steps(self, zone: Zone) -> list[Step]:
        cfg = self.config
        closing = [
            Step(
                CLOSING_SCAN,
                StepKind.SCAN,
                "Scan slowly from your head to your toes. Let anything still held go.",
                30.0,
            ),
            Step(
                CLOSING_BREATH,
                StepKind.BREATH,
                "One last slow breath. Soften.",
                cfg.breath_in_s + cfg.breath_out_s,
                breath_in_s=cfg.breath_in_s,
                breath_out_s=cfg.breath_out_s,
            ),
        ]
        if zone is Zone.GREEN:
            steps = list(self.protocol.steps[self._main_index :])
        else:
            steps = list(self._routines[zone].steps)
        steps = [self._adapt(s) for s in steps]
        return steps + closing

    def _adapt(self, step: Step) -> Step:
        if step.region in self._hurt_regions and step.kind is StepKind.TENSE:
            return replace(step, kind=StepKind.IMAGERY, cue="Imagine this part tensing, gently.")
        return step

    def _next_step(self, now_s: float, reason: str) -> list[SessionEvent]:
        events: list[SessionEvent] = []
        if self._step is not None:
            events.append(StepEnded(now_s, self._step.id, now_s - self._step_started_s, reason))
            if self._step in self.protocol.steps:
                self._main_index = self.protocol.steps.index(self._step) + 1
        if not self._queue:
            self._step = None
            self._finished = True
            self._end_reason = "completed"
            return events
        step = self._queue.pop(0)
        self._step = step
        self._step_started_s = now_s
        self._step_end_s = now_s + step.planned_s
        self._extended_s = 0.0
        events.append(
            StepStarted(
                now_s,
                step.id,
                step.kind,
                step.region,
                step.cue,
                step.planned_s,
                step.breath_in_s,
                step.breath_out_s,
            )
        )
        return events


def _signed(value: float | None) -> str:
    return "?" if value is None else f"{value:+.0f}"
