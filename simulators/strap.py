"""The virtual heart-rate strap: a simulated heart behind a BlueZ impersonation.

It serves what a chest strap serves (Heart Rate 0x180D with 0x2A37 notify,
0x2A38 read and the 0x2A39 control point; Battery 0x180F with 0x2A19 read and
notify; Device Information 0x180A) on a private system bus, so bleak's real
BlueZ backend connects to it. The beats come from ``SimulatedSource`` and are
paced at real time (or ``speed`` times it) and encoded with our HRM encoder.

Strap time starts when a central first subscribes to 0x2A37; scripted drops
and contact loss are given in strap time. The heart keeps beating while the
link is down: those beats are lost, as with a real strap.

As a Polar H10 (``StrapOptions.h10``, ``--h10``) it also serves Polar
Measurement Data: the control point answers by indication (``simulators.pmd``)
and, once a central starts ACC, the chest motion of the simulated person (or
of a ``motion`` given to it) is notified as ACC frames, stopped at each drop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import signal
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import field
from typing import TextIO

from biofeedback.models import ChestMotion, Contact, HeartSample, SourceStatus
from biofeedback.models.record import record
from biofeedback.sensors.hrm import HeartRateMeasurement, beat_times, encode, rr_ms_to_1024
from biofeedback.sensors.pmd import PMD_CONTROL, PMD_DATA, PMD_SERVICE
from simulators.bluez import (
    Adapter,
    AttError,
    CharSpec,
    Device,
    ObjectServer,
    ServiceSpec,
    open_server,
    uuid16,
)
from simulators.pmd import ACC, AccFramer, PmdState
from simulators.pmd import features as pmd_features
from simulators.source import SimulatedSource

log = logging.getLogger(__name__)

HR_SERVICE = uuid16(0x180D)
HR_MEASUREMENT = uuid16(0x2A37)
BODY_SENSOR_LOCATION = uuid16(0x2A38)
HR_CONTROL_POINT = uuid16(0x2A39)
BATTERY_SERVICE = uuid16(0x180F)
BATTERY_LEVEL = uuid16(0x2A19)
DEVICE_INFORMATION = uuid16(0x180A)
APPEARANCE_HR_BELT = 0x0341
RESET_ENERGY = 0x01
CONTROL_POINT_NOT_SUPPORTED = 0x80

# A notification fits the default ATT MTU (23) less the 3-byte header.
MAX_PAYLOAD = 20
# Resting energy use of about 70 W at 60 bpm, scaled with heart rate: rough,
# but enough for a counter that moves like a strap's.
KJ_PER_BEAT = 0.07


DEFAULT_NAME = "Virtual Strap 180D"
DEFAULT_ADDRESS = "C0:FF:EE:00:18:0D"


@record(frozen=True, slots=True)
class Drop:
    """At strap time ``at_s`` the link drops; the strap stays away ``out_of_range_s``."""

    at_s: float
    out_of_range_s: float = 0.0


@record(frozen=True, slots=True)
class Window:
    """A stretch of time: from ``start_s``, ``duration_s`` long."""

    start_s: float
    duration_s: float

    def __contains__(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.start_s + self.duration_s


@record(frozen=True, slots=True)
class StrapOptions:
    """How the virtual strap behaves: its name and address, scenario and seed, what and
    how often it sends, its battery and signal, and the faults it shows."""

    name: str = DEFAULT_NAME
    address: str = DEFAULT_ADDRESS
    scenario: str = "calm"
    seed: int | None = None
    rate_hz: float = 1.0
    rr_per_notification: int | None = None  # notify every N beats instead of at a rate
    uint16: bool = False
    energy: bool = False
    battery_pct: int = 87
    battery_drain_pct_per_min: float = 0.0
    contact_sensor: bool = True
    contact_loss: tuple[Window, ...] = ()
    drops: tuple[Drop, ...] = ()
    silence: tuple[Window, ...] = ()  # connected, but nothing sent
    speed: float = 1.0
    body_location: int = 1  # chest
    rssi_dbm: int = -58
    connect_timeout_s: float = 4.0
    h10: bool = False  # also serve Polar Measurement Data (chest acceleration)
    pmd_error: int = 0  # answer every PMD start with this code (13: on its charger)
    acc_delta: bool = False  # send ACC as delta-compressed frames


# --------------------------------------------------------------------------
# Packing beats into notifications (pure)


@record
class Packer:
    """Turns beats into 0x2A37 measurements the way a strap does.

    RR values that do not fit one notification wait for the next one.
    """

    options: StrapOptions
    energy_kj: float = 0.0
    last_hr_bpm: int = 60
    pending_rr_1024: list[int] = field(default_factory=list)

    def add_beat(self, rr_ms: float) -> None:
        self.pending_rr_1024.append(rr_ms_to_1024(rr_ms))
        self.energy_kj += KJ_PER_BEAT

    def measurement(self, contact: bool) -> HeartRateMeasurement:
        opts = self.options
        room = MAX_PAYLOAD - 1 - (2 if opts.uint16 else 1) - (2 if opts.energy else 0)
        rr = self.pending_rr_1024[: room // 2]
        del self.pending_rr_1024[: len(rr)]
        if rr:
            self.last_hr_bpm = round(60.0 * 1024 / (sum(rr) / len(rr)))
        return HeartRateMeasurement(
            hr_bpm=self.last_hr_bpm,
            contact_supported=opts.contact_sensor,
            contact_detected=opts.contact_sensor and contact,
            energy_kj=min(int(self.energy_kj), 0xFFFF) if opts.energy else None,
            rr_1024=tuple(rr) if contact else (),
            uint16=opts.uint16,
        )

    def drop_pending(self) -> None:
        self.pending_rr_1024.clear()

    def reset_energy(self) -> None:
        self.energy_kj = 0.0


def battery_at(options: StrapOptions, t_s: float) -> int:
    return max(0, math.ceil(options.battery_pct - options.battery_drain_pct_per_min * t_s / 60.0))


# --------------------------------------------------------------------------
# The strap on the bus


SentCallback = Callable[[float, HeartRateMeasurement, bytes], None]
# Chest motion in strap time, for a strap that does not take it from the scenario.
MotionFactory = Callable[[], Iterable[ChestMotion]]
# What the strap plays: the simulated person's items (a SimulatedSource by default).
StrapSource = AsyncIterable[HeartSample | SourceStatus | ChestMotion]


class VirtualStrap:
    """One strap device on an adapter; ``sent`` counts notifications that went out."""

    def __init__(
        self,
        server: ObjectServer,
        adapter: Adapter,
        options: StrapOptions,
        *,
        on_sent: SentCallback | None = None,
        motion: MotionFactory | None = None,
        source: StrapSource | None = None,
    ) -> None:
        self.options = options
        self.packer = Packer(options)
        self.on_sent = on_sent
        self.sent = 0
        self.motion = motion
        self.pmd = PmdState(start_error=options.pmd_error)
        self.acc_sent = 0
        self._framer: AccFramer | None = None
        self.device = Device(
            server,
            adapter,
            address=options.address,
            name=options.name,
            services=self._services(),
            advertised=[HR_SERVICE, BATTERY_SERVICE],
            appearance=APPEARANCE_HR_BELT,
            rssi_dbm=options.rssi_dbm,
            connect_timeout_s=options.connect_timeout_s,
        )
        self.device.on_notify_started.append(self._on_subscribed)
        self.device.on_disconnected.append(self._on_link_down)
        # Made now so that an unknown scenario fails at start, not at first use.
        self.source: StrapSource = (
            SimulatedSource(options.scenario, seed=options.seed) if source is None else source
        )
        self._scenario_contact = True
        self._t0: float | None = None
        self._battery = options.battery_pct
        self._tasks: list[asyncio.Task[None]] = []

    def _services(self) -> list[ServiceSpec]:
        pmd = [
            ServiceSpec(
                PMD_SERVICE,
                [
                    CharSpec(
                        PMD_CONTROL, ("read", "write", "indicate"), pmd_features, self._pmd_write
                    ),
                    CharSpec(PMD_DATA, ("notify",)),
                ],
            )
        ]
        return [
            ServiceSpec(
                HR_SERVICE,
                [
                    CharSpec(HR_MEASUREMENT, ("notify",)),
                    CharSpec(
                        BODY_SENSOR_LOCATION,
                        ("read",),
                        read=lambda: bytes([self.options.body_location]),
                    ),
                    CharSpec(HR_CONTROL_POINT, ("write",), write=self._control_point),
                ],
            ),
            ServiceSpec(
                BATTERY_SERVICE,
                [CharSpec(BATTERY_LEVEL, ("read", "notify"), read=lambda: bytes([self._battery]))],
            ),
            ServiceSpec(
                DEVICE_INFORMATION,
                [
                    CharSpec(uuid16(0x2A29), ("read",), read=lambda: b"biofeedback simulators"),
                    CharSpec(uuid16(0x2A24), ("read",), read=lambda: b"Virtual Strap"),
                    CharSpec(uuid16(0x2A26), ("read",), read=lambda: b"1.0"),
                ],
            ),
            *(pmd if self.options.h10 else []),
        ]

    def _pmd_write(self, value: bytes) -> None:
        answer = self.pmd.answer(value)
        rate = self.pmd.rate_hz(ACC)
        if rate is None:
            self._framer = None
        elif self._framer is None:
            self._framer = AccFramer(float(rate), compressed=self.options.acc_delta)
        # An H10 indicates its answer after it has acknowledged the write.
        asyncio.get_running_loop().call_later(
            0.005, lambda: self.device.notify(PMD_CONTROL, answer)
        )

    def _on_link_down(self, _why: str) -> None:
        self.pmd.disconnected()
        self._framer = None

    def send_motion(self, motion: ChestMotion) -> None:
        """Notify ``motion`` (strap time) as ACC frames, if a central streams ACC."""
        if self._framer is None or not self.device.notifying(PMD_DATA):
            return
        for _t_s, payload in self._framer.frames(motion):
            if self.device.notify(PMD_DATA, payload):
                self.acc_sent += 1

    def _control_point(self, value: bytes) -> None:
        if value[:1] != bytes([RESET_ENERGY]):
            raise AttError(CONTROL_POINT_NOT_SUPPORTED)
        self.packer.reset_energy()

    @property
    def started(self) -> bool:
        return self._t0 is not None

    def strap_time_s(self) -> float:
        if self._t0 is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._t0) * self.options.speed

    def _on_subscribed(self, uuid: str) -> None:
        if uuid != HR_MEASUREMENT or self._t0 is not None:
            return
        self._t0 = asyncio.get_running_loop().time()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._heart(), name="strap:heart"))
        for drop in self.options.drops:
            self._tasks.append(loop.create_task(self._drop_at(drop), name="strap:drop"))
        if self.motion is not None:
            self._tasks.append(loop.create_task(self._chest(self.motion), name="strap:chest"))

    async def _chest(self, motion: MotionFactory) -> None:
        for item in motion():
            await self._until(item.t_s)
            self.send_motion(item)

    async def _until(self, t_s: float) -> None:
        assert self._t0 is not None
        due = self._t0 + t_s / self.options.speed
        await asyncio.sleep(max(due - asyncio.get_running_loop().time(), 0.0))

    async def _drop_at(self, drop: Drop) -> None:
        await self._until(drop.at_s)
        log.info(
            "strap drops the link for %.1f s (strap time %.1f s)", drop.out_of_range_s, drop.at_s
        )
        self.device.drop(drop.out_of_range_s)

    async def _heart(self) -> None:
        timeline = _timeline(self.source)
        batch = self.options.rr_per_notification
        period_s = 1.0 / self.options.rate_hz
        note_s = 0.0
        beats = 0
        while True:
            t_s, kind, value = await anext(timeline)
            # Time moves on with every event, beats or not: without skin
            # contact a strap still notifies, just without RR values.
            while not batch and note_s + period_s < t_s:
                note_s += period_s
                await self._until(note_s)
                self._notify(note_s)
            if isinstance(value, ChestMotion):
                if self.motion is None:
                    await self._until(t_s)
                    self.send_motion(value)
            elif kind == "beat":
                self._beat(t_s, float(value))
                beats += 1
                if batch and beats % batch == 0:
                    await self._until(t_s)
                    self._notify(t_s)
            elif kind != "time":
                await self._until(t_s)
                self._scenario_event(kind, bool(value))

    def _scenario_event(self, kind: str, value: bool) -> None:
        if kind == "contact":
            self._scenario_contact = value
        elif value:
            self.device.come_back()
        else:
            log.info("the scenario takes the strap out of range")
            self.device.leave()

    def _contact(self, t_s: float) -> bool:
        return self._scenario_contact and not any(t_s in w for w in self.options.contact_loss)

    def _beat(self, t_s: float, rr_ms: float) -> None:
        if self.device.connected and self._contact(t_s):
            self.packer.add_beat(rr_ms)

    def _notify(self, t_s: float) -> None:
        battery = battery_at(self.options, t_s)
        if battery != self._battery:
            self._battery = battery
            self.device.notify(BATTERY_LEVEL, bytes([battery]))
        contact = self._contact(t_s)
        silent = any(t_s in w for w in self.options.silence)
        if silent or not self.device.notifying(HR_MEASUREMENT):
            self.packer.drop_pending()
            return
        measurement = self.packer.measurement(contact)
        payload = encode(measurement)
        if self.device.notify(HR_MEASUREMENT, payload):
            self.sent += 1
            if self.on_sent is not None:
                self.on_sent(t_s, measurement, payload)

    def drop(self, out_of_range_s: float = 0.0) -> None:
        self.device.drop(out_of_range_s)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


Event = tuple[float, str, float | bool | ChestMotion]


async def _timeline(source: StrapSource) -> AsyncIterator[Event]:
    """The simulated strap's story in time order: ``(t_s, "beat", rr_ms)``,
    ``(t_s, "contact", detected)`` when contact changes, ``(t_s, "link", up)``
    for dropouts, ``(t_s, "chest", motion)`` for chest motion, and
    ``(t_s, "time", 0)`` for each of the source's notifications."""
    contact = True
    async for item in source:
        if isinstance(item, SourceStatus):
            yield item.t_s, "link", item.connected
            continue
        if isinstance(item, ChestMotion):
            yield item.t_s, "chest", item
            continue
        times = item.beat_t_s
        if len(times) != len(item.rr_ms):
            times = beat_times(item.t_s, item.rr_ms)
        detected = item.contact is not Contact.NOT_DETECTED
        if detected != contact:
            contact = detected
            # Contact came back before the first beat it let through.
            yield min((item.t_s, *times)), "contact", detected
        for t_s, rr_ms in zip(times, item.rr_ms, strict=True):
            yield t_s, "beat", rr_ms
        yield item.t_s, "time", 0.0


def add_decoy(server: ObjectServer, adapter: Adapter) -> Device:
    """A device that is no heart-rate strap but has "Heart" in its name."""
    weight_scale = uuid16(0x181D)
    return Device(
        server,
        adapter,
        address="C0:FF:EE:00:18:1D",
        name="Heart Scale",
        services=[ServiceSpec(weight_scale, [CharSpec(uuid16(0x2A9D), ("indicate",))])],
        advertised=[weight_scale],
        appearance=0x0C80,
        rssi_dbm=-70,
    )


# --------------------------------------------------------------------------
# Running it: `python -m simulators strap ...`


@record
class Running:
    """What ``serve`` set up, for whoever awaits it in the same process."""

    server: ObjectServer
    adapter: Adapter | None
    strap: VirtualStrap | None


async def serve(
    options: StrapOptions,
    *,
    bus_address: str | None = None,
    adapter: str = "on",
    decoy: bool = False,
    on_sent: SentCallback | None = None,
    ready: Callable[[Running], None] | None = None,
    motion: MotionFactory | None = None,
    source: StrapSource | None = None,
) -> None:
    """Run the virtual BlueZ with the strap until cancelled."""
    bus, server = await open_server(bus_address)
    strap: VirtualStrap | None = None
    try:
        hci: Adapter | None = None
        if adapter != "none":
            hci = Adapter(server, powered=adapter == "on")
            strap = VirtualStrap(
                server, hci, options, on_sent=on_sent, motion=motion, source=source
            )
            if decoy:
                add_decoy(server, hci)
        if ready is not None:
            ready(Running(server, hci, strap))
        await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
    finally:
        if strap is not None:
            await strap.stop()
        await server.close()
        bus.disconnect()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=DEFAULT_NAME, help="advertised name")
    parser.add_argument("--address", default=DEFAULT_ADDRESS, help="AA:BB:CC:DD:EE:FF")
    parser.add_argument("--scenario", default="calm", help="the simulated person")
    parser.add_argument("--seed", type=int, help="simulator seed (default: the scenario's)")
    parser.add_argument("--rate", type=float, default=1.0, metavar="HZ", help="notifications/s")
    parser.add_argument(
        "--rr-per-notification",
        type=int,
        metavar="N",
        help="notify every N beats (N RR values each) instead of at --rate",
    )
    parser.add_argument("--uint16", action="store_true", help="send heart rate as uint16")
    parser.add_argument("--energy", action="store_true", help="send energy expended")
    parser.add_argument("--battery", type=int, default=87, metavar="PCT")
    parser.add_argument("--battery-drain", type=float, default=0.0, metavar="PCT_PER_MIN")
    parser.add_argument(
        "--no-contact-sensor", action="store_true", help="report contact as unsupported"
    )
    parser.add_argument(
        "--contact-loss",
        type=_window,
        action="append",
        default=[],
        metavar="AT:FOR",
        help="no skin contact from strap time AT for FOR seconds (repeatable)",
    )
    parser.add_argument(
        "--silence",
        type=_window,
        action="append",
        default=[],
        metavar="AT:FOR",
        help="stay connected but send nothing from strap time AT for FOR seconds",
    )
    parser.add_argument(
        "--drop",
        type=_drop,
        action="append",
        default=[],
        metavar="AT[:FOR]",
        help="drop the link at strap time AT, out of range FOR seconds (repeatable)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="X times real time")
    parser.add_argument(
        "--h10", action="store_true", help="be a Polar H10: also serve chest acceleration (PMD)"
    )
    parser.add_argument(
        "--pmd-error",
        type=int,
        default=0,
        metavar="CODE",
        help="with --h10: refuse every stream start with this PMD error (13: on its charger)",
    )
    parser.add_argument(
        "--acc-delta", action="store_true", help="with --h10: send delta-compressed ACC frames"
    )
    parser.add_argument("--decoy", action="store_true", help="also advertise a non-HR device")
    parser.add_argument(
        "--adapter",
        choices=["on", "off", "none"],
        default="on",
        help="the virtual adapter: powered, off, or absent",
    )
    parser.add_argument(
        "--private-bus", action="store_true", help="start a private system bus and print it"
    )
    parser.add_argument("--trace", metavar="FILE", help="one JSON line per notification sent")
    parser.add_argument("--debug", action="store_true", help="debug logs on stderr")


def options_from(args: argparse.Namespace) -> StrapOptions:
    return StrapOptions(
        name=args.name,
        address=args.address.upper(),
        scenario=args.scenario,
        seed=args.seed,
        rate_hz=args.rate,
        rr_per_notification=args.rr_per_notification,
        uint16=args.uint16,
        energy=args.energy,
        battery_pct=args.battery,
        battery_drain_pct_per_min=args.battery_drain,
        contact_sensor=not args.no_contact_sensor,
        contact_loss=tuple(args.contact_loss),
        drops=tuple(args.drop),
        silence=tuple(args.silence),
        speed=args.speed,
        h10=args.h10,
        pmd_error=args.pmd_error,
        acc_delta=args.acc_delta,
    )


def run(args: argparse.Namespace) -> int:
    """``python -m simulators strap``: serve until interrupted."""
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    options = options_from(args)
    from simulators.bus import ADDRESS_ENV, PrivateSystemBus

    with contextlib.ExitStack() as stack:
        bus_address: str | None = None
        if args.private_bus:
            bus_address = stack.enter_context(PrivateSystemBus()).address
            print(f"{ADDRESS_ENV}={bus_address}", flush=True)
        trace: TextIO | None = None
        if args.trace:
            trace = stack.enter_context(open(args.trace, "a", encoding="utf-8"))
        asyncio.run(_main(options, args, bus_address, trace))
    return 0


async def _main(
    options: StrapOptions, args: argparse.Namespace, bus_address: str | None, trace: TextIO | None
) -> None:
    def sent(t_s: float, m: HeartRateMeasurement, payload: bytes) -> None:
        assert trace is not None
        row = {"mono_s": time.monotonic(), "t_s": round(t_s, 3), "hr_bpm": m.hr_bpm}
        trace.write(json.dumps(row | {"rr": len(m.rr_1024 or ())}) + "\n")
        trace.flush()

    def ready(running: Running) -> None:
        print(f"virtual strap {options.name!r} ({options.address}) ready", flush=True)

    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serve(
            options,
            bus_address=bus_address,
            adapter=args.adapter,
            decoy=args.decoy,
            on_sent=sent if trace is not None else None,
            ready=ready,
        )
    print("virtual strap stopped", file=sys.stderr, flush=True)


def _drop(text: str) -> Drop:
    at, _, away = text.partition(":")
    try:
        return Drop(float(at), float(away or 0.0))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected AT[:FOR] in seconds, not {text!r}") from None


def _window(text: str) -> Window:
    at, _, length = text.partition(":")
    try:
        return Window(float(at), float(length))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected AT:FOR in seconds, not {text!r}") from None
