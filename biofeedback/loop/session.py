"""The one loop: source -> estimator -> controller -> sinks.

This module owns the clock. The estimator and controller are handed ``now``
and never see the clock themselves, so a session can run in real time (a
strap), in scaled virtual time (the simulator at ``--speed 4``) or as fast as
the CPU allows (``--speed max``, tests and benchmarks) with the same code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from biofeedback.loop.clocks import ActionInbox as ActionInbox
from biofeedback.loop.clocks import Clock as Clock
from biofeedback.loop.clocks import RealClock as RealClock
from biofeedback.loop.clocks import VirtualClock as VirtualClock
from biofeedback.loop.fanout import ProgressAware as ProgressAware
from biofeedback.loop.fanout import Sink as Sink
from biofeedback.loop.fanout import SinkReport as SinkReport
from biofeedback.loop.fanout import SinkRunner
from biofeedback.loop.fanout import StatusAware as StatusAware
from biofeedback.loop.fanout import TroubleReporting as TroubleReporting
from biofeedback.models import (
    Action,
    ArousalEstimate,
    BreathHeld,
    BreathTaken,
    ChestMotion,
    Estimate,
    HeartSample,
    PaceChanged,
    SessionEnded,
    SessionEvent,
    SessionInfo,
    SessionStarted,
    SourceStatus,
    StepEnded,
    StepStarted,
    Zone,
)
from biofeedback.models.record import record
from biofeedback.models.slots import builder
from biofeedback.sensors import EventAware, HeartRateSource, SkipCounting, SourceItem
from biofeedback.sensors.limits import implausible
from biofeedback.signals.breath_estimate import BreathEstimate, BreathEstimator, Pacer

if TYPE_CHECKING:
    from biofeedback.loop.progress import Progress

log = logging.getLogger(__name__)

TICK_S = 1.0
# ``Estimate(*values)``, every field in order, at about half the cost (one a tick).
_estimate_event = builder(Estimate)
# The events that start, change or end the pacer the breath estimate follows.
_PACER_EVENTS = (StepStarted, StepEnded, SessionEnded, PaceChanged)


# --------------------------------------------------------------------------
# The core's two seams, as the loop sees them


class Estimator(Protocol):
    def add_sample(self, sample: HeartSample) -> None: ...

    def estimate(self, now_s: float) -> ArousalEstimate: ...


class Controller(Protocol):
    @property
    def zone(self) -> Zone: ...

    @property
    def protocol_name(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    @property
    def end_reason(self) -> str: ...

    def start(self, now_s: float) -> list[SessionEvent]: ...

    def on_estimate(self, now_s: float, estimate: ArousalEstimate) -> list[SessionEvent]: ...

    def on_source_status(self, now_s: float, status: SourceStatus) -> list[SessionEvent]: ...

    def on_action(self, now_s: float, action: Action) -> list[SessionEvent]: ...

    def stop(self, now_s: float, reason: str) -> list[SessionEvent]: ...


@runtime_checkable
class BreathAware(Protocol):
    """A controller that hears the breath estimate each tick (before the heart's)."""

    def on_breath(self, now_s: float, breath: BreathEstimate) -> list[SessionEvent]: ...


# --------------------------------------------------------------------------
# The loop


@record
class SessionResult:
    """How a session ended: its id, why, how long it ran, how many events it made,
    each sink's report and the samples left out."""

    session_id: str
    reason: str
    duration_s: float
    events: int
    sinks: list[SinkReport] = field(default_factory=list)
    # Samples left out at the boundary, and why the first one was.
    rejected_samples: int = 0
    first_rejection: str | None = None


async def run_session(
    source: HeartRateSource,
    estimator: Estimator,
    controller: Controller,
    sinks: Sequence[Sink],
    clock: Clock,
    info: SessionInfo,
    *,
    actions: ActionInbox | None = None,
    duration_s: float | None = None,
    drain_timeout_s: float = 10.0,
    breath: BreathEstimator | None = None,
) -> SessionResult:
    """Run one session to its end and return how it ended."""
    loop = _Loop(
        source, estimator, controller, sinks, clock, info, actions or ActionInbox(), breath
    )
    return await loop.run(duration_s, drain_timeout_s)


class SoundControl(Protocol):
    """What a live view may do to the session's sound (the audio sink's player)."""

    def toggle_mute(self) -> bool:
        """Mute or unmute; True when now muted."""

    def change_volume(self, steps: int) -> float:
        """Louder (+) or softer (-) by ``steps`` tenths; the new volume, 0..1."""


@record
class SessionPlan:
    """Everything one session needs. ``cli.plan_session`` builds it from the command
    line for a headless run, the dashboard and the tests alike; ``run`` runs it."""

    source: HeartRateSource
    estimator: Estimator
    controller: Controller
    clock: Clock
    info: SessionInfo
    sinks: Sequence[Sink] = ()
    actions: ActionInbox = field(default_factory=ActionInbox)
    duration_s: float | None = None
    title: str = ""
    # The session's sound, when it has any: the dashboard's mute and volume keys reach it here.
    sound: SoundControl | None = None
    # Where the session is saved, said when it ends (empty: not saved).
    saved_to: str = ""
    # What the person hears, in words ("sound: voice, breath tones and bells").
    sound_status: str = ""

    async def run(
        self,
        *,
        first: Sequence[Sink] = (),
        trouble: Callable[[str | None], None] | None = None,
        source_trouble: Callable[[str | None], None] | None = None,
        drain_timeout_s: float = 10.0,
    ) -> SessionResult:
        """Run the session; ``first`` are sinks that hear each item before the plan's.

        ``trouble`` hears, the moment it happens, that a sink (the recorder on a
        full disk) stopped doing its job, and when it is back; ``source_trouble``
        (``trouble`` when not given) the same of the source. ``drain_timeout_s``: how
        long each sink may take to handle what it still holds once the session ends.
        """
        if trouble is not None:
            for sink in self.sinks:
                if isinstance(sink, TroubleReporting):
                    sink.watch_trouble(trouble)
        source_trouble = source_trouble or trouble
        if source_trouble is not None and isinstance(self.source, TroubleReporting):
            # A source with nothing arriving says so (a broker topic that is wrong).
            self.source.watch_trouble(source_trouble)
        return await run_session(
            self.source,
            self.estimator,
            self.controller,
            [*first, *self.sinks],
            self.clock,
            self.info,
            actions=self.actions,
            duration_s=self.duration_s,
            drain_timeout_s=drain_timeout_s,
        )


class _Loop:
    def __init__(
        self,
        source: HeartRateSource,
        estimator: Estimator,
        controller: Controller,
        sinks: Sequence[Sink],
        clock: Clock,
        info: SessionInfo,
        actions: ActionInbox,
        breath: BreathEstimator | None = None,
    ) -> None:
        self.source = source
        self.estimator = estimator
        # The breath: from chest motion when the source sends it, else from the beats.
        self.breath = breath or BreathEstimator()
        self._holds_said = 0
        self._breaths_said = 0
        self._breath_listener = controller if isinstance(controller, BreathAware) else None
        self.controller = controller
        self.runners = [SinkRunner(s) for s in sinks]
        # Every event goes to every sink, each beat to those that hear samples: a
        # tick and a beat a second of session, so the sinks' doors are found once.
        self._event_offers = [r.offer for r in self.runners]
        self._sample_offers = [r.offer for r in self.runners if r.wants_samples]
        self.clock = clock
        self.info = info
        self.actions = actions
        self.events = 0
        self.next_tick_s = TICK_S
        self.end_reason: str | None = None
        self.started = False
        # The session has started (its opening events emitted).
        self.begun = False
        self.rejected_samples = 0
        self.first_rejection: str | None = None
        self._listener = source if isinstance(source, EventAware) else None
        # The one fold of the stream, for views that take it with each event (loaded
        # only then: a headless run's sinks take the events alone).
        self.progress: Progress | None = None
        if any(r.wants_progress for r in self.runners):
            from biofeedback.loop.progress import Progress

            self.progress = Progress()

    async def run(self, duration_s: float | None, drain_timeout_s: float) -> SessionResult:
        self.limit_s = math.inf if duration_s is None else duration_s
        try:
            async with self.source:
                # A strap given by address is named only once found.
                self.info = dataclasses.replace(self.info, source=self.source.description)
                # Sinks start once the source is open: a strap that cannot be
                # reached or a refused broker leaves no empty session behind.
                for runner in self.runners:
                    await runner.start(self.info)
                self.started = True
                items = aiter(self.source)
                if self.clock.virtual:
                    self._announce()
                    self._begin()
                    await self._run_virtual(items)
                else:
                    # The session exists from now (its record, and a watcher sees it
                    # connecting); its clock and opening wait for the heart data.
                    self._restart_clock()
                    self._announce()
                    await self._run_live(items)
        except asyncio.CancelledError as exc:
            # Ctrl-C, a signal, the app closing: the person's session was
            # interrupted. Whoever cancels may say how (``task.cancel(reason)``).
            said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else None
            self._finish(said or "interrupted")
            raise
        finally:
            self._finish("interrupted")
            for runner in self.runners:
                await runner.finish(drain_timeout_s)
        assert self.end_reason is not None
        return SessionResult(
            self.info.session_id,
            self.end_reason,
            self.clock.now(),
            self.events,
            [r.report for r in self.runners],
            self.rejected_samples,
            self.first_rejection,
        )

    def _announce(self) -> None:
        self._emit(
            [
                SessionStarted(
                    self.clock.now(),
                    self.info.session_id,
                    self.controller.protocol_name,
                    self.info.source,
                    self.controller.zone,
                )
            ]
        )

    def _begin(self) -> None:
        self.begun = True
        self._emit(self.controller.start(self.clock.now()))

    def _restart_clock(self) -> None:
        if isinstance(self.clock, RealClock):
            self.clock.restart()

    def _begin_live(self, first: HeartSample, held: list[SourceStatus]) -> HeartSample:
        """A strap can take seconds to send its first heart data: the session, its
        clock and the sources' stamps start with it, so the opening has a signal.
        Returns the first sample as stamped on the new clock."""
        self._restart_clock()
        shift = first.t_s
        first = dataclasses.replace(
            first, t_s=0.0, beat_t_s=tuple(b - shift for b in first.beat_t_s)
        )
        self._begin()
        for status in held:
            self._handle_item(dataclasses.replace(status, t_s=0.0))
        return first

    # Virtual time: the source's item times are the timeline. Items are pulled
    # one at a time, so a closed-loop simulator has heard every event up to
    # the previous item before it computes the next one.
    async def _run_virtual(self, items: AsyncIterator[SourceItem]) -> None:
        actions = self.actions
        clock = self.clock
        while self.end_reason is None:
            item = await anext(items, None)
            if item is None:
                # A replay file has run out: the session ends with its data, as a
                # live source's would.
                self._finish("source ended")
                return
            t_s = item.t_s
            # The ticks, scripted actions and the duration's end due by the item's
            # time first (written out here: a tick and an item a second of session).
            while True:
                # min() of the three without the call (none is NaN; ties give the same value).
                next_s = self.next_tick_s
                scripted_s = actions.next_scripted_s()
                if scripted_s < next_s:
                    next_s = scripted_s
                if self.limit_s < next_s:
                    next_s = self.limit_s
                if next_s > t_s or next_s == math.inf:
                    break
                await clock.advance_to(next_s)
                self._handle_actions()
                self._tick_if_due()
                if self.end_reason is not None:
                    return
            await clock.advance_to(t_s)
            self._handle_actions()
            self._handle_item(item)

    # Live: items arrive when they arrive; ticks and actions interleave.
    async def _run_live(self, items: AsyncIterator[SourceItem]) -> None:
        pending: asyncio.Task[SourceItem | None] = asyncio.ensure_future(anext(items, None))
        action_wait: asyncio.Task[None] = asyncio.ensure_future(self.actions.wait())
        held: list[SourceStatus] = []
        try:
            while self.end_reason is None:
                wake_s = min(self.next_tick_s, self.actions.next_scripted_s(), self.limit_s)
                # Before the first heart data nothing is timed: only stop is heard.
                timeout = max(wake_s - self.clock.now(), 0.0) if self.begun else None
                done, _ = await asyncio.wait(
                    {pending, action_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if action_wait in done:
                    action_wait = asyncio.ensure_future(self.actions.wait())
                if not self.begun and Action.STOP in self.actions.due(self.clock.now()):
                    self._begin()
                    self._finish("stopped by user")
                    return
                self._handle_actions()
                if pending in done:
                    item = pending.result()
                    if item is None:
                        if not self.begun:
                            self._begin()
                        self._finish("source ended")
                        return
                    if not self.begun:
                        if isinstance(item, ChestMotion):
                            # Chest motion before the first heart data has no session to join.
                            pending = asyncio.ensure_future(anext(items, None))
                            continue
                        if isinstance(item, SourceStatus) or implausible(item) is not None:
                            # Only real heart data starts the session (a bad sample is
                            # counted and left out as always).
                            if isinstance(item, SourceStatus):
                                held.append(item)
                            else:
                                self._handle_item(item)
                            pending = asyncio.ensure_future(anext(items, None))
                            continue
                        item = self._begin_live(item, held)
                    self._handle_item(item)
                    pending = asyncio.ensure_future(anext(items, None))
                if self.begun:
                    self._tick_if_due()
        finally:
            for task in (pending, action_wait):
                task.cancel()
            await asyncio.gather(pending, action_wait, return_exceptions=True)

    def _tick_if_due(self) -> None:
        now = self.clock.now()
        if now >= self.limit_s:
            self._finish("duration reached")
        if self.end_reason is None and now >= self.next_tick_s:
            # A live loop that fell behind skips the missed ticks: one estimate
            # of the present beats several of the past.
            self.next_tick_s += TICK_S
            if self.next_tick_s <= now:
                self.next_tick_s = now + TICK_S
            self._tick(now)

    def _tick(self, now: float) -> None:
        est = self.estimator.estimate(now)
        breath_now = self.breath
        breath = breath_now.estimate(now)
        source = breath.source
        per_min = breath.per_min if source is not None else None
        self._emit_one(
            _estimate_event(
                now,
                est.hr_bpm,
                est.rmssd_ms,
                est.arousal,
                est.quality,
                est.artifact_rate,
                None if per_min is None else round(per_min, 1),
                None if per_min is None else str(source),
            )
        )
        holds = breath_now.holds
        if len(holds) != self._holds_said:
            self._emit(
                BreathHeld(now, round(h.started_s, 2), round(h.duration_s, 1))
                for h in holds[self._holds_said :]
            )
            self._holds_said = len(holds)
        if len(breath_now.breaths) != self._breaths_said:
            self._record_breaths(now)
        # Most ticks decide nothing: an empty list is not handed on.
        if self._breath_listener is not None:
            said = self._breath_listener.on_breath(now, breath)
            if said:
                self._emit(said)
        said = self.controller.on_estimate(now, est)
        if said:
            self._emit(said)
        self._check_finished()

    def _handle_item(self, item: SourceItem) -> None:
        if isinstance(item, HeartSample):
            problem = implausible(item)
            if problem is not None:
                # Not a heart: counted and reported, never estimated or stored.
                self.rejected_samples += 1
                if self.first_rejection is None:
                    self.first_rejection = problem
                    log.info("left out a sample that cannot be heart data: %s", problem)
                return
            self.estimator.add_sample(item)
            self.breath.add_sample(item)
            for offer in self._sample_offers:
                offer(item)
        elif isinstance(item, ChestMotion):
            # Chest motion feeds the breath estimate; only a recorder told to keep it raw hears it.
            self._add_motion(item)
        else:
            for runner in self.runners:
                if runner.wants_status:
                    runner.offer(item)
            self._emit(self.controller.on_source_status(self.clock.now(), item))

    def _add_motion(self, motion: ChestMotion) -> None:
        if self.begun:
            self.breath.add_motion(motion)
            # Kept raw only by a recorder asked to (``run --keep-raw``).
            for runner in self.runners:
                if runner.wants_motion:
                    runner.offer(motion)

    def _record_breaths(self, now: float) -> None:
        """Each breath the chest showed since the last tick, to the sinks that keep them."""
        breaths = self.breath.breaths
        if len(breaths) == self._breaths_said:
            return
        taken = [
            BreathTaken(now, b.onset_s, b.inhale_s, b.exhale_s, b.depth_mg)
            for b in breaths[self._breaths_said :]
        ]
        self._breaths_said = len(breaths)
        for runner in self.runners:
            if runner.wants_breaths:
                for item in taken:
                    runner.offer(item)

    def _follow_pacer(self, event: SessionEvent) -> None:
        """The breath estimate measures following against the pacer the person hears."""
        if isinstance(event, StepStarted):
            self.breath.pace(
                Pacer(event.t, event.breath_in_s, event.breath_out_s)
                if event.breath_in_s and event.breath_out_s
                else None
            )
        elif isinstance(event, StepEnded | SessionEnded):
            self.breath.pace(None)
        elif isinstance(event, PaceChanged):
            self.breath.pace(Pacer(event.t, event.breath_in_s, event.breath_out_s))

    def _handle_actions(self) -> None:
        if not self.begun or not self.actions.any_due(self.clock.now()):
            return
        for action in self.actions.due(self.clock.now()):
            self._emit(self.controller.on_action(self.clock.now(), action))
            self._check_finished()

    def _check_finished(self) -> None:
        if self.end_reason is None and self.controller.finished:
            self._finish(self.controller.end_reason)

    def _finish(self, reason: str) -> None:
        if self.end_reason is not None or not self.started:
            return
        if not self.begun:
            # Ended before the strap sent any heart data: still a whole record.
            self._begin()
        self.end_reason = reason
        now = self.clock.now()
        # However the session ends, the step under way gets its step_ended, so
        # the record says how long it really ran (a no-op once the controller
        # has finished by itself).
        self._emit(self.controller.stop(now, reason))
        skipped = self.source.skip_counts() if isinstance(self.source, SkipCounting) else {}
        self._emit(
            [SessionEnded(now, self.info.session_id, reason, now, self.rejected_samples, skipped)]
        )

    def _emit(self, events: Iterable[SessionEvent]) -> None:
        for event in events:
            self._emit_one(event)

    def _emit_one(self, event: SessionEvent) -> None:
        self.events += 1
        if isinstance(event, _PACER_EVENTS):
            self._follow_pacer(event)
        if self._listener is not None:
            self._listener.observe(event)
        if self.progress is None:
            for offer in self._event_offers:
                offer(event)
            return
        self.progress.apply(event)
        snapshot = self.progress.snapshot()
        for offer in self._event_offers:
            offer(event, snapshot)
