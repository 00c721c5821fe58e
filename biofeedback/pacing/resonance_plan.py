"""The stepped resonance assessment as a routine, and its rates read back from events.

The assessment paces breathing at a few rates in turn, from the fastest down
(6.5 to 4.5 breaths a minute by default, as the classic assessment does), each
for ``step_s``. Each rate is one breath step whose id says its rate, so the
record of any session that ran it can be scored again later from its events.
Out-breaths are at least as long as in-breaths (``in_share`` <= 0.5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from biofeedback.models import SessionEvent, Step, StepEnded, StepKind, StepStarted, Zone
from biofeedback.models.record import record
from biofeedback.pacing import ASSESSMENT_PROTOCOL
from biofeedback.pacing.rules import PacingConfig
from biofeedback.routines.protocols import ProtocolError, Routine
from biofeedback.signals.resonance import RateWindow

STEP_PREFIX = "resonance-"
NAME = ASSESSMENT_PROTOCOL
MIN_RATE_BPM = 3.0
MAX_RATE_BPM = 10.0


@record(frozen=True, slots=True)
class AssessmentPlan:
    """A resonance assessment: the breathing rates tried, in order, how long each, and
    the in-breath share."""

    rates_bpm: tuple[float, ...] = (6.5, 6.0, 5.5, 5.0, 4.5)
    step_s: float = 150.0
    in_share: float = 0.4
    """Share of each breath spent breathing in: 0.4 is 4 s in, 6 s out at 6/min."""

    def __post_init__(self) -> None:
        if not self.rates_bpm:
            raise ProtocolError("a resonance assessment needs at least one rate")
        for rate in self.rates_bpm:
            if not MIN_RATE_BPM <= rate <= MAX_RATE_BPM:
                raise ProtocolError(
                    f"breathing rate {rate:g} is out of range; use"
                    f" {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g} breaths a minute"
                )
        if len(set(self.rates_bpm)) != len(self.rates_bpm):
            raise ProtocolError("each rate of a resonance assessment must differ")
        if not 0.25 <= self.in_share <= 0.5:
            raise ProtocolError("breathe out at least as long as in: in-share 0.25-0.5")
        if self.step_s < 60.0:
            raise ProtocolError("each rate needs at least 60 s to be scored")


def breath_lengths(rate_bpm: float, in_share: float = 0.4) -> tuple[float, float]:
    """In- and out-breath seconds for ``rate_bpm`` breaths a minute."""
    period_s = 60.0 / rate_bpm
    # Tenths of a second: a pacer a person can read, within 0.05 breaths a minute.
    breath_in = round(period_s * in_share, 1)
    return breath_in, round(period_s - breath_in, 1)


def assessment_routine(plan: AssessmentPlan | None = None) -> Routine:
    plan = plan or AssessmentPlan()
    steps = []
    for rate in plan.rates_bpm:
        breath_in, breath_out = breath_lengths(rate, plan.in_share)
        steps.append(
            Step(
                f"{STEP_PREFIX}{rate:g}",
                StepKind.BREATH,
                f"Breathe with the pacer, {rate:g} breaths a minute: in for"
                f" {breath_in:g}, out slowly for {breath_out:g}. Easy, no effort.",
                plan.step_s,
                breath_in_s=breath_in,
                breath_out_s=breath_out,
            )
        )
    return Routine(
        name=NAME,
        title="Resonance assessment",
        # Breathing only: safe in every zone, so the session never switches routine.
        zone=Zone.RED,
        description="Paced breathing from faster to slower rates, to find the one your heart"
        " answers most.",
        steps=tuple(steps),
        setup="Sit comfortably, and breathe gently through your nose if you can.",
        closing_word="Rest",
    )


def rate_windows(events: Iterable[SessionEvent]) -> list[RateWindow]:
    """The assessment's paced rates and when each ran, from a session's events."""
    open_steps: dict[str, tuple[float, float]] = {}
    windows: list[RateWindow] = []
    for event in events:
        if isinstance(event, StepStarted) and event.step.startswith(STEP_PREFIX):
            # The id names the rate exactly; the pacer's lengths are rounded.
            try:
                rate = float(event.step.removeprefix(STEP_PREFIX))
            except ValueError:
                if not (event.breath_in_s and event.breath_out_s):
                    continue
                rate = round(60.0 / (event.breath_in_s + event.breath_out_s), 2)
            open_steps[event.step] = (rate, event.t)
        elif isinstance(event, StepEnded) and event.step in open_steps:
            rate, start = open_steps.pop(event.step)
            windows.append(RateWindow(rate, start, event.t))
    return windows


def parse_rates(text: str) -> tuple[float, ...]:
    """``"6.5,6,5.5"`` or ``"6.5-4.5/0.5"`` (from, to, step) as rates."""
    text = text.strip()
    try:
        if "-" in text and "/" in text:
            span, step_text = text.split("/")
            start_text, end_text = span.split("-")
            start, end, step = float(start_text), float(end_text), float(step_text)
            if step <= 0:
                raise ValueError
            direction = -1.0 if end < start else 1.0
            count = round(abs(end - start) / step) + 1
            return tuple(round(start + direction * i * step, 3) for i in range(count))
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ProtocolError(
            f"cannot read rates {text!r}; write them like 6.5,6,5.5,5,4.5 or 6.5-4.5/0.5"
        ) from None


# --------------------------------------------------------------------------
# Pacing at the personal rate


def personal_config(rate_bpm: float, config: PacingConfig | None = None) -> PacingConfig:
    """The session frame's slow breaths (opening and closing) at ``rate_bpm``."""
    breath_in, breath_out = breath_lengths(rate_bpm)
    return replace(config or PacingConfig(), breath_in_s=breath_in, breath_out_s=breath_out)


def paced_routine(routine: Routine, rate_bpm: float) -> Routine:
    """``routine`` with every paced breath step at ``rate_bpm`` (for breath-led
    routines such as the Yellow one); other steps are left as they are."""
    breath_in, breath_out = breath_lengths(rate_bpm)
    steps = tuple(
        replace(
            step,
            breath_in_s=breath_in,
            breath_out_s=breath_out,
            cue=f"Breathe with the pacer: in for {breath_in:g}, and out slowly for"
            f" {breath_out:g}. No effort needed.",
        )
        if step.kind is StepKind.BREATH and step.breath_in_s is not None
        else step
        for step in routine.steps
    )
    return replace(routine, steps=steps)


RESONANT_SUFFIX = "-resonant"
RESONANT_CYCLES = 3


def resonant_contractions(
    routine: Routine, rate_bpm: float = 6.0, cycles: int = RESONANT_CYCLES
) -> Routine:
    """``routine`` with each tense-and-release done as gentle contractions in the
    heart's resonance rhythm (Vaschillo et al. 2011: rhythmic tension at 0.1 Hz
    swings heart rate as resonance breathing does): ``cycles`` rounds of 40 %
    of a cycle gently engaged and 60 % let go (4 s and 6 s at 6 a minute), then
    the routine's own release to settle."""
    if not any(step.kind is StepKind.TENSE for step in routine.steps):
        raise ProtocolError(f"routine {routine.name!r} has no contractions to pace")
    tense_s, release_s = breath_lengths(rate_bpm)
    steps: list[Step] = []
    source = routine.steps
    i = 0
    while i < len(source):
        step = source[i]
        after = source[i + 1] if i + 1 < len(source) else None
        if step.kind is not StepKind.TENSE or after is None or after.kind is not StepKind.RELEASE:
            steps.append(step)
            i += 1
            continue
        for k in range(cycles):
            steps.append(
                replace(
                    step,
                    id=f"{step.id}-{k + 1}",
                    cue=step.cue if k == 0 else "Again, gently: only a trace of effort.",
                    planned_s=tense_s,
                )
            )
            if k < cycles - 1:
                steps.append(
                    replace(
                        after,
                        id=f"{after.id}-{k + 1}",
                        cue=after.cue if k == 0 else "And let go.",
                        planned_s=release_s,
                    )
                )
        steps.append(after)
        i += 2
    return replace(
        routine,
        name=f"{routine.name}{RESONANT_SUFFIX}",
        title=f"{routine.title}, resonant contractions",
        steps=tuple(steps),
    )
