"""`run --source mqtt://HOST/TOPIC`: heart rate from a real mosquitto."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from biofeedback.broker import MqttSettings, parse_url
from biofeedback.models import Contact, HeartSample, SourceStatus
from biofeedback.mqtt import MqttSource
from biofeedback.sensors.payload import decode_heart_payload
from tests.support.broker import Mosquitto, free_port, mosquitto

__all__ = ["mosquitto"]


async def next_item(items: AsyncIterator[HeartSample | SourceStatus]) -> HeartSample | SourceStatus:
    return await asyncio.wait_for(anext(items), 10)


async def test_json_and_raw_heart_rate_become_samples(mosquitto: Mosquitto) -> None:
    url = parse_url(f"{mosquitto.url}/straps/ann", topic=True)
    clock = iter([10.0, 11.0, 12.0, 13.0])
    source = MqttSource(url, MqttSettings(), now=lambda: next(clock))
    async with source, aiomqtt.Client("127.0.0.1", mosquitto.port) as strap:
        items = aiter(source)
        await strap.publish("straps/ann", json.dumps({"hr": 62, "rr_ms": [967, 951]}))
        first = await next_item(items)
        await strap.publish("straps/ann", b"not heart rate")
        await strap.publish("straps/ann", json.dumps({"hr": 63, "rr_ms": [950, -1]}))
        # 0x2A37: flags = uint8 HR, contact supported and detected, RR present.
        await strap.publish("straps/ann", bytes([0x16, 64, 0x00, 0x04, 0xC0, 0x03]))
        second = await next_item(items)
    assert first == HeartSample(10.0, 62.0, (967.0, 951.0), (10.0 - 0.951, 10.0))
    assert isinstance(second, HeartSample)
    assert second.hr_bpm == 64.0
    assert second.contact is Contact.DETECTED
    assert second.rr_ms == (1000.0, 937.5)  # 1024 and 960 in 1/1024 s
    assert source.skipped == 2
    assert source.description == f"mqtt:127.0.0.1:{mosquitto.port}/straps/ann"


@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b"[62]", b'{"hr": "62"}', b'{"rr_ms": 5}', b"\x01\x40", b"\x10\x40\x00"],
)
def test_payloads_that_are_not_heart_rate_are_refused(payload: bytes) -> None:
    assert decode_heart_payload(payload, 1.0) is None


async def test_a_lost_broker_is_reported_and_reconnected(mosquitto: Mosquitto) -> None:
    url = parse_url(f"{mosquitto.url}/straps/bo", topic=True)
    source = MqttSource(url, MqttSettings(), backoff_s=(0.05, 0.2))
    async with source:
        items = aiter(source)
        await asyncio.to_thread(mosquitto.stop)
        lost = await next_item(items)
        await asyncio.to_thread(mosquitto.start)
        back = await next_item(items)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as strap:
            await strap.publish("straps/bo", json.dumps({"hr": 70}))
            sample = await next_item(items)
    assert isinstance(lost, SourceStatus)
    assert not lost.connected
    assert isinstance(back, SourceStatus)
    assert back.connected
    assert isinstance(sample, HeartSample)
    assert sample.hr_bpm == 70.0


def test_no_broker_is_one_line_and_exit_2() -> None:
    port = free_port()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "biofeedback",
            "run",
            "--headless",
            "--source",
            f"mqtt://127.0.0.1:{port}/straps/x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in proc.stderr


def test_a_session_paced_by_simulated_straps_on_a_broker(mosquitto: Mosquitto) -> None:
    straps = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators",
            "mqtt",
            f"{mosquitto.url}/ward",
            "--straps",
            "2",
            "--seconds",
            "60",
            "--raw",  # the straps' own 0x2A37 bytes, as a BLE bridge would forward them
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "biofeedback",
                "run",
                "--headless",
                "--json",
                "--source",
                f"{mosquitto.url}/ward/2",
                "--duration",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ,
        )
    finally:
        straps.kill()
        straps.wait(10)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["source"] == f"mqtt:127.0.0.1:{mosquitto.port}/ward/2"
    estimates = [e for e in events if e["type"] == "estimate"]
    assert len(estimates) >= 3
    assert any(e["hr_bpm"] is not None and 40 < e["hr_bpm"] < 120 for e in estimates)
    assert events[-1]["reason"] == "duration reached"
