"""Where heartbeats come from: choosing a source, scanning and pairing straps, the broker."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from biofeedback.cli.request import SessionRequest
    from biofeedback.models import Recording
    from biofeedback.mqtt import MqttPublisher
    from biofeedback.sensors import HeartRateSource
    from biofeedback.sensors.ble import BleSource
    from biofeedback.telemetry import RunnerUpdate

from biofeedback.cli.common import (
    EXIT_OK,
    UsageError,
    check_app,
    dashboard_settings,
    on_terminal,
    report_keys,
)


def choose_source(request: SessionRequest, clock_now: Callable[[], float]) -> HeartRateSource:
    if request.replay_acc and not request.replay:
        raise UsageError("--replay-acc goes with --replay RR_FILE (the beats it was recorded with)")
    if request.sim is not None:
        from simulators.source import ScenarioError, SimulatedSource

        try:
            return SimulatedSource(request.sim, seed=request.seed)
        except ScenarioError as exc:
            raise UsageError(str(exc)) from None
    if request.device:
        return _ble_source(request.device, None, clock_now)
    if request.source_url:
        from biofeedback.broker import load_settings, parse_url
        from biofeedback.mqtt import MqttSource

        return MqttSource(parse_url(request.source_url, topic=True), load_settings(), now=clock_now)
    if request.replay:
        return _replay_source(request.replay, request.replay_acc)
    from biofeedback import config

    paired = config.load().device
    if paired is not None:
        return _ble_source(paired.address, paired.name, clock_now)
    raise UsageError(
        "no strap paired; run `biofeedback run --sim` to try the simulator,"
        " or `biofeedback pair DEVICE` first"
    )


def _ble_source(device: str, name: str | None, clock_now: Callable[[], float]) -> BleSource:
    from biofeedback.sensors.ble import BleSource

    return BleSource(device, name=name, clock_now=clock_now)


def cmd_scan(args: argparse.Namespace) -> int:
    import json

    from biofeedback.sensors.ble import scan

    straps = asyncio.run(scan(args.timeout))
    for strap in straps:
        if args.json:
            print(json.dumps(strap.to_dict()))
        else:
            rssi = f"{strap.rssi_dbm} dBm" if strap.rssi_dbm is not None else "? dBm"
            battery = f"battery {strap.battery_pct}%" if strap.battery_pct is not None else ""
            print(f"{strap.address}  {rssi:>8}  {strap.name or '(no name)':<24} {battery}".rstrip())
    if not straps:
        print(
            f"no heart-rate strap found in {args.timeout:g} s; wear it (straps sleep without"
            " skin contact) and scan again",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_pair(args: argparse.Namespace) -> int:
    from biofeedback import config

    if args.device is None:
        chosen = asyncio.run(_choose_strap())
        if chosen is None:
            return EXIT_OK
        address, name = chosen
    else:
        from biofeedback.sensors.ble import resolve

        strap = asyncio.run(resolve(args.device, args.timeout))
        address, name = strap.address, strap.name
    config.remember_device(config.PairedDevice(address, name))
    print(f"paired {name or 'strap'} ({address}); `biofeedback run` now uses it")
    return EXIT_OK


async def _choose_strap() -> tuple[str, str | None] | None:
    """The pair screen: the strap the person chose from the live list, if any."""
    if not on_terminal():
        raise UsageError("name the strap: biofeedback pair DEVICE (see biofeedback scan)")
    from biofeedback.sensors.ble import scan
    from biofeedback.ui.app import create_app

    app = create_app(
        settings=dashboard_settings(),
        scan=lambda timeout_s, battery: scan(timeout_s, read_battery=battery),
    )
    report_keys(app)
    await app.run_async()
    check_app(app)
    return None if app.paired is None else (app.paired.address, app.paired.name)


def _replay_source(spec: str, acc_spec: str | None = None) -> HeartRateSource:
    """An RR file, or a session store (``FILE`` for its latest session, ``FILE#SESSION``),
    with the chest motion of ``acc_spec`` (an ACC CSV) between its samples."""
    from pathlib import Path

    from biofeedback.sensors.replay import ReplaySource, open_rr_file
    from biofeedback.sensors.replay_acc import interleave, open_acc_file, with_motion
    from biofeedback.store import Store, is_store_file

    # The ACC file is checked first: a bad one stops before any store is opened.
    acc = open_acc_file(acc_spec) if acc_spec else None
    path, ref = Path(spec), ""
    if not path.exists() and "#" in spec:
        head, _, ref = spec.rpartition("#")
        path = Path(head)
    if is_store_file(path):
        with Store(path) as store:
            recording = store.load(ref or "latest")
            # Chest motion kept with it (`run --keep-raw`) replays with it, unless
            # --replay-acc gives other motion.
            kept = [] if acc is not None else store.motion(recording.session.session_id)
        source = ReplaySource(
            recording.samples, f"replay:{path.name}#{recording.session.session_id}"
        )
        if kept:
            samples = recording.samples
            return ReplaySource(lambda: interleave(samples, kept), source.description)
        if acc is None and recording.breaths:
            return _with_rebuilt_breath(recording, source.description)
    else:
        source = open_rr_file(path)
    if acc is None:
        return source
    return ReplaySource(with_motion(source.samples, acc), source.description)


def _with_rebuilt_breath(recording: Recording, description: str) -> HeartRateSource:
    """A stored session kept without its chest motion: the motion rebuilt from its
    breaths and holds (see ``replay_breaths``), between its samples."""
    from biofeedback.models import BreathHeld
    from biofeedback.sensors.replay import ReplaySource
    from biofeedback.sensors.replay_acc import interleave
    from biofeedback.sensors.replay_breaths import chest_motion

    samples, breaths = recording.samples, recording.breaths
    holds = [(e.started_t, e.duration_s) for e in recording.events if isinstance(e, BreathHeld)]
    # The session's source says so: its breath is the record's, drawn again, not the chest's.
    return ReplaySource(
        lambda: interleave(samples, chest_motion(breaths, holds)),
        f"{description} (breath rebuilt)",
    )


def cmd_monitor(args: argparse.Namespace) -> int:
    from biofeedback.broker import load_settings, parse_url
    from biofeedback.mqtt import Broker, watch_runners
    from biofeedback.ui.monitor import MonitorApp

    broker = Broker.prepare(parse_url(args.url), load_settings())
    if not on_terminal():
        # Piped (a log, `| grep`): plain lines as runners change, no screen.
        asyncio.run(print_runners(watch_runners(broker)))
        return EXIT_OK
    MonitorApp(watch_runners(broker), where=broker.url.where).run()
    return EXIT_OK


async def print_runners(feed: AsyncIterator[RunnerUpdate]) -> None:
    """One line each time a runner's status, zone, step or last decision changes
    (the heart rate alone, about once a second, is not a change), and one when the
    watcher's own link to the broker does."""
    import time

    from biofeedback.telemetry import Board

    board = Board()
    shown: dict[str, tuple[object, ...]] = {}
    async for update in feed:
        row = board.apply(update)
        stamp = time.strftime("%H:%M:%S")
        if row is None:
            if board.link is not None:
                print(f"{stamp}  monitor: {board.link.reason}", flush=True)
            continue
        key = (row.status, row.zone, row.step, row.decision)
        if shown.get(row.runner) == key:
            continue
        shown[row.runner] = key
        hr = "-" if row.hr_bpm is None else f"{row.hr_bpm:.0f} bpm"
        parts = [row.runner, row.status, hr, row.zone or "-", row.step or "-"]
        decision = f"  {row.decision}" if row.decision else ""
        print(f"{stamp}  {'  '.join(parts)}{decision}", flush=True)


def mqtt_publisher(url: str) -> MqttPublisher:
    from biofeedback.broker import load_settings, parse_url
    from biofeedback.mqtt import MqttPublisher

    return MqttPublisher(parse_url(url), load_settings())
