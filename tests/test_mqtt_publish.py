"""`run --mqtt`: status, state and events reach a real mosquitto, whatever the broker does."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from biofeedback.broker import MqttSettings, parse_url
from biofeedback.loop.session import SessionResult, Sink
from biofeedback.models import HeartSample, SessionEvent, SessionInfo
from biofeedback.mqtt import MqttPublisher
from tests.support.broker import Mosquitto, listening, make_tls, mosquitto
from tests.support.sessions import simulated_plan

__all__ = ["mosquitto"]

STATE_KEYS = {
    "t",
    "session_id",
    "protocol",
    "hr_bpm",
    "rmssd_ms",
    "arousal",
    "quality",
    "zone",
    "step",
    "step_kind",
    "step_left_s",
    "paused",
    "breath_per_min",
    "decision",
    "ended",
    "resonance_coherence",
    "resonance_peak_bpm",
    "resonance_swing_bpm",
    "resonance_rate_bpm",
    "baseline_how",
}


class Record:
    """A sink that keeps every event, and can tell when session time passes a mark."""

    name = "record"
    queue_size = 100_000

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self.marks: dict[float, asyncio.Event] = {}

    def now_s(self) -> float:
        return self.events[-1].t if self.events else 0.0

    async def reached(self, t_s: float) -> None:
        """Return once session time has passed ``t_s``."""
        mark = self.marks.setdefault(t_s, asyncio.Event())
        if self.now_s() >= t_s:
            mark.set()
        await asyncio.wait_for(mark.wait(), 10)

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        if isinstance(item, SessionEvent):
            self.events.append(item)
            for mark, reached in self.marks.items():
                if item.t >= mark:
                    reached.set()

    async def stop(self) -> None:
        return None


async def simulated_session(
    sinks: list[Sink], *, duration_s: float = 120, speed: float | None = None
) -> SessionResult:
    plan = simulated_plan(
        "calm", 7, speed=speed, duration_s=duration_s, sinks=sinks, session_id="s-mqtt"
    )
    return await plan.run()


def unique(payloads: list[bytes]) -> list[dict[str, Any]]:
    """QoS 1 is at least once: a resend after a broken connection may repeat one."""
    seen: set[bytes] = set()
    out = []
    for p in payloads:
        if p not in seen:
            seen.add(p)
            out.append(json.loads(p))
    return out


async def test_a_session_publishes_every_event_state_and_status(mosquitto: Mosquitto) -> None:
    publisher = MqttPublisher(parse_url(mosquitto.url), MqttSettings(runner="alice"))
    record = Record()
    async with listening(mosquitto.port, "biofeedback/alice/#") as heard:
        # At --speed max a loaded machine can finish the session before the
        # publisher's first send, leaving only the final state to look at.
        result = await simulated_session([record, publisher], speed=30)
        events = await heard.wait_for(
            lambda _: (
                len(heard.payloads("biofeedback/alice/events")) >= result.events
                and heard.json("biofeedback/alice/events")
            )
        )
        await heard.wait_for(lambda _: b"offline" in heard.payloads("biofeedback/alice/status"))
    assert events == [e.to_dict() for e in record.events]
    assert events[0]["type"] == "session_started"
    assert events[-1]["type"] == "session_ended"

    states = heard.json("biofeedback/alice/state")
    assert states, "no state was published"
    # The first state clears whatever vitals a crashed run left retained.
    assert set(states[0]) == STATE_KEYS
    assert (states[0]["hr_bpm"], states[0]["rmssd_ms"], states[0]["arousal"]) == (None,) * 3
    states = states[1:]
    for state in states:
        assert set(state) == STATE_KEYS
        assert state["session_id"] == "s-mqtt"
        assert state["zone"] in ("green", "yellow", "red")
    assert states[-2]["ended"] is True
    assert states[-2]["hr_bpm"] is not None
    # What stays on the broker says the session ended, without heart data (the
    # resonance indicator that `run` wires in is heart data too).
    assert states[-2]["resonance_coherence"] is not None
    assert states[-1] == {
        **states[-2],
        "hr_bpm": None,
        "rmssd_ms": None,
        "arousal": None,
        "quality": None,
        "resonance_coherence": None,
        "resonance_peak_bpm": None,
        "resonance_swing_bpm": None,
        "breath_per_min": None,
    }
    with_hr = [s for s in states if s["hr_bpm"] is not None]
    assert with_hr, "no state carried a heart rate"
    assert all(40 < s["hr_bpm"] < 200 and s["quality"] in ("ok", "hr_only") for s in with_hr)
    assert any(s["step"] and s["step_left_s"] is not None for s in states)

    assert heard.payloads("biofeedback/alice/status") == [b"online", b"offline"]
    counts = publisher.counts
    assert counts.events_published == result.events
    assert counts.events_dropped == 0
    estimates = sum(1 for e in record.events if e.type == "estimate")
    # A newer state replaces one still waiting: published + dropped covers every one.
    assert counts.states_published + counts.states_dropped == estimates + 1
    assert counts.states_published == len(states) - 1
    assert f"{result.events} events" in publisher.report_line()


async def test_status_is_retained_while_running_and_after(mosquitto: Mosquitto) -> None:
    publisher = MqttPublisher(parse_url(mosquitto.url), MqttSettings(runner="bea"))
    await publisher.start(SessionInfo("s", "full", "test", 0.0))
    await asyncio.wait_for(publisher.connected.wait(), 10)
    # A watcher that arrives later still learns the runner is online.
    async with listening(mosquitto.port, "biofeedback/bea/status") as late:
        await late.wait_for(lambda m: m)
        assert late.messages == [("biofeedback/bea/status", b"online", True)]
        await publisher.stop()
        await late.wait_for(lambda m: len(m) == 2)
        assert late.messages[1][1] == b"offline"
    async with listening(mosquitto.port, "biofeedback/bea/status") as later:
        await later.wait_for(lambda m: m)
        assert later.messages == [("biofeedback/bea/status", b"offline", True)]


async def test_will_says_offline_when_the_runner_is_killed(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    env = {**os.environ, "BIOFEEDBACK_MQTT_RUNNER": "cleo"}
    async with listening(mosquitto.port, "biofeedback/cleo/status") as heard:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "biofeedback", "run", "--sim", "--headless", "--mqtt", mosquitto.url),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await heard.wait_for(lambda m: any(p == b"online" for _, p, _ in m), 30)
        finally:
            proc.kill()  # SIGKILL: no chance to say goodbye itself
            await asyncio.wait_for(proc.wait(), 10)
        await heard.wait_for(lambda m: m[-1][1] == b"offline")
    assert [p for _, p, _ in heard.messages] == [b"online", b"offline"]


async def test_home_assistant_discovery_and_rediscovery(mosquitto: Mosquitto) -> None:
    settings = MqttSettings(runner="dee.1", discovery=True, expire_after_s=45)
    publisher = MqttPublisher(parse_url(mosquitto.url), settings)
    async with listening(mosquitto.port, "homeassistant/sensor/#") as heard:
        await publisher.start(SessionInfo("s", "full", "test", 0.0))
        configs = await heard.wait_for(lambda m: len(m) >= 5 and m[:5])
        by_key = {t.split("/")[-2]: json.loads(p) for t, p, _ in configs}
        assert set(by_key) == {"hr", "rmssd", "arousal", "zone", "step"}
        async with listening(mosquitto.port, "homeassistant/sensor/#") as late:
            kept = await late.wait_for(lambda m: len(m) >= 5 and m)
            assert sorted(kept) == sorted((t, p, True) for t, p, _ in configs)
        for key, config in by_key.items():
            assert config["state_topic"] == "biofeedback/dee.1/state"
            assert config["availability_topic"] == "biofeedback/dee.1/status"
            assert config["payload_available"] == "online"
            assert config["payload_not_available"] == "offline"
            assert config["expire_after"] == 45
            assert config["unique_id"] == f"biofeedback_dee_1_{key}"
            assert config["device"]["identifiers"] == ["biofeedback_dee_1"]
        assert by_key["hr"]["unit_of_measurement"] == "bpm"
        assert by_key["hr"]["state_class"] == "measurement"
        assert by_key["rmssd"]["unit_of_measurement"] == "ms"
        fields = {c["value_template"].split("value_json.")[1].split()[0] for c in by_key.values()}
        assert fields <= STATE_KEYS

        # Home Assistant restarts and says so: every config comes again.
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as ha:
            await ha.publish("homeassistant/status", "online", qos=1)
        await heard.wait_for(lambda m: len(m) >= 10)
        await publisher.stop()
    assert {t for t, _, _ in heard.messages[5:]} == {t for t, _, _ in configs}


async def test_broker_restart_mid_session_changes_nothing_but_the_telemetry_timing(
    mosquitto: Mosquitto,
) -> None:
    reference = Record()
    await simulated_session([reference], duration_s=90)

    # A publish caught by the restart is only given up after the client's 5 s
    # timeout; at speed 30 a loaded machine can end the session before that,
    # so the final flush is given the time a real-time session would have had.
    publisher = MqttPublisher(
        parse_url(mosquitto.url),
        MqttSettings(runner="eli"),
        backoff_s=(0.05, 0.2),
        flush_timeout_s=15.0,
    )
    record = Record()
    async with listening(mosquitto.port, "biofeedback/eli/#", persistent=True) as heard:
        session = asyncio.create_task(
            simulated_session([record, publisher], duration_s=90, speed=30.0)
        )
        await record.reached(10.0)
        await asyncio.wait_for(publisher.connected.wait(), 10)
        await asyncio.to_thread(mosquitto.stop)
        down_s = record.now_s()
        await record.reached(down_s + 20)  # 20 s of session without a broker
        await asyncio.to_thread(mosquitto.start)
        await heard.reconnect()
        result = await asyncio.wait_for(session, 30)
        events = await heard.wait_for(
            lambda _: (
                len(got := unique(heard.payloads("biofeedback/eli/events"))) >= result.events
                and got
            )
        )

    # The session itself did not notice: same decisions at the same times. It
    # went on for 20 s of session time while the broker was down (record.reached
    # above); how fast in wall time depends on the machine, so it is not asserted.
    assert [e.to_dict() for e in record.events] == [e.to_dict() for e in reference.events]
    # Everything, including what happened while the broker was away, arrived.
    assert events == [e.to_dict() for e in record.events]
    states = heard.json("biofeedback/eli/state")
    assert any(s["t"] > down_s + 20 for s in states), "telemetry did not resume"
    counts = publisher.counts
    assert counts.connections == 2
    assert counts.events_published == result.events
    assert counts.events_dropped == 0
    estimates = sum(1 for e in record.events if e.type == "estimate")
    assert counts.states_published + counts.states_dropped == estimates + 1
    assert counts.states_dropped > 0  # states from the outage were stale by then
    assert "reconnected 1 times" in publisher.report_line()


async def test_refused_credentials_never_touch_the_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "strict"
    folder.mkdir()
    broker = Mosquitto(folder, anonymous=False)
    broker.start()
    try:
        settings = MqttSettings(runner="fay", username="fay", password="hunter2")
        publisher = MqttPublisher(parse_url(broker.url), settings, backoff_s=(0.05, 0.1))
        reference, record = Record(), Record()
        await simulated_session([reference], duration_s=60)
        with caplog.at_level(logging.DEBUG):
            await simulated_session([record, publisher], duration_s=60, speed=30.0)
    finally:
        broker.stop()
    assert [e.to_dict() for e in record.events] == [e.to_dict() for e in reference.events]
    counts = publisher.counts
    assert counts.connections == 0
    assert counts.events_published == 0
    assert counts.events_dropped == len(record.events)
    line = publisher.report_line()
    assert "never connected" in line
    assert "refused" in line
    assert "hunter2" not in line + caplog.text + repr(settings)


def test_cli_reports_counts_and_rejects_bad_urls(mosquitto: Mosquitto) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "biofeedback",
            "run",
            "--sim",
            "--headless",
            "--json",
            "--speed",
            "max",
            "--duration",
            "60",
            "--mqtt",
            mosquitto.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BIOFEEDBACK_MQTT_RUNNER": "gus"},
    )
    assert proc.returncode == 0, proc.stderr
    events = len(proc.stdout.splitlines())
    assert f"mqtt: {events} events and" in proc.stderr
    assert "as 'gus'; dropped 0 events" in proc.stderr

    run = ("run", "--sim", "--headless", "--mqtt")
    for argv, words in [
        ((*run, "http://broker"), ["mqtt://"]),
        ((*run, "mqtt://"), ["no host"]),
        ((*run, "mqtt://broker:99999"), ["port"]),
        ((*run, "mqtt://gus:s3cret@broker"), ["BIOFEEDBACK_MQTT_PASSWORD"]),
        ((*run, "mqtt://broker/topic"), ["no path"]),
        ((*run, "mqtts://broker"), ["TLS", "/nonexistent/ca.pem"]),
        (("run", "--headless", "--source", "mqtt://broker"), ["topic"]),
        (("monitor", "broker:1883"), ["mqtt://"]),
    ]:
        bad = subprocess.run(
            [sys.executable, "-m", "biofeedback", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "BIOFEEDBACK_MQTT_CA_FILE": "/nonexistent/ca.pem"},
        )
        assert bad.returncode == 2, (argv, bad.stderr)
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1, bad.stderr
        assert all(w in lines[0] for w in words), (argv, lines[0])
        assert "s3cret" not in bad.stderr
        assert bad.stdout == ""


def test_tls_and_credentials_come_from_the_environment(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    folder = tmp_path / "tls-broker"
    folder.mkdir()
    broker = Mosquitto(folder, anonymous=False, tls=tls, passwords={"nurse": "pw-0f-nurse"})
    broker.start()
    env = {
        **os.environ,
        "BIOFEEDBACK_MQTT_RUNNER": "hal",
        "BIOFEEDBACK_MQTT_USERNAME": "nurse",
        "BIOFEEDBACK_MQTT_PASSWORD": "pw-0f-nurse",
        "BIOFEEDBACK_MQTT_CA_FILE": str(tls.ca),
    }
    argv = [sys.executable, "-m", "biofeedback", "run", "--sim", "--headless", "--json"]
    argv += ["--speed", "max", "--duration", "30", "--mqtt", broker.url]

    def run(**changes: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, env={**env, **changes}
        )
        assert proc.returncode == 0, proc.stderr
        assert "pw-0f-nurse" not in proc.stderr + proc.stdout
        return proc

    try:
        good = run()
        wrong_password = run(BIOFEEDBACK_MQTT_PASSWORD="not-it")
        untrusted = run(BIOFEEDBACK_MQTT_CA_FILE="")
    finally:
        broker.stop()
    events = len(good.stdout.splitlines())
    assert f"mqtt: {events} events and" in good.stderr
    assert "dropped 0 events" in good.stderr
    assert broker.url.startswith("mqtts://")
    # The session never minds: same number of events, nothing published.
    assert len(wrong_password.stdout.splitlines()) == events
    assert "never connected" in wrong_password.stderr
    assert "refused" in wrong_password.stderr
    assert "not-it" not in wrong_password.stderr
    assert "never connected" in untrusted.stderr
    assert "certificate" in untrusted.stderr.lower()
