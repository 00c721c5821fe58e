"""A real mosquitto on a free loopback port, and a test subscriber, for the MQTT tests.

Readiness and every wait are events with timeouts: the broker's own log line
"running", or a message arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """One broker process; ``stop`` and ``start`` again keep port and persistence."""

    def __init__(
        self,
        folder: Path,
        *,
        anonymous: bool = True,
        tls: TlsFiles | None = None,
        passwords: dict[str, str] | None = None,
        acl_file: Path | None = None,
    ) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"{'mqtts' if tls else 'mqtt'}://127.0.0.1:{self.port}"
        self.log: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        conf = folder / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            # Root (as in CI) would otherwise drop to a user who cannot write here.
            *(["user root"] if os.geteuid() == 0 else []),
            "persistence true",
            f"persistence_location {folder}/",
            "log_dest stderr",
            "max_queued_messages 100000",
        ]
        if tls is not None:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        if passwords:
            password_file = folder / "passwords"
            password_file.write_text("".join(f"{u}:{p}\n" for u, p in passwords.items()))
            password_file.chmod(0o600)
            subprocess.run(["mosquitto_passwd", "-U", str(password_file)], check=True)
            lines.append(f"password_file {password_file}")
        if acl_file is not None:
            lines.append(f"acl_file {acl_file}")
        conf.write_text("\n".join(lines) + "\n")
        self.conf = conf

    @property
    def pid(self) -> int | None:
        """The running broker's process id (None while stopped)."""
        return None if self._proc is None else self._proc.pid

    def start(self, timeout_s: float = 10.0) -> None:
        assert Path(MOSQUITTO).exists(), "mosquitto is missing: scripts/test installs it"
        running = threading.Event()
        proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            # stderr, because mosquitto's stdout is block-buffered into a pipe.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._proc = proc

        def drain() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                self.log.append(line.rstrip())
                if " running" in line:
                    running.set()

        threading.Thread(target=drain, daemon=True).start()
        if not running.wait(timeout_s):
            self.stop()
            raise RuntimeError("mosquitto did not start:\n" + "\n".join(self.log[-20:]))

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1, made by openssl."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=CA")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
    )  # fmt: skip
    return TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = Mosquitto(folder)
    broker.start()
    yield broker
    broker.stop()


class Listener:
    """Subscribes, keeps every message, and lets a test wait for one it wants.

    With ``persistent`` its session (and QoS 1 messages missed while
    disconnected) survives a broker restart, so nothing sent while it was
    reconnecting is lost to the test.
    """

    def __init__(self, port: int, topics: list[str], *, persistent: bool = False) -> None:
        self.port = port
        self.topics = topics
        self.persistent = persistent
        self.messages: list[tuple[str, bytes, bool]] = []
        self.connected = asyncio.Event()
        self.lost = asyncio.Event()
        self._may_connect = asyncio.Event()
        self._may_connect.set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Listener:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            await self._may_connect.wait()
            client = aiomqtt.Client(
                "127.0.0.1",
                self.port,
                identifier="test-listener" if self.persistent else None,
                clean_session=False if self.persistent else None,
            )
            try:
                async with client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        payload = message.payload
                        assert isinstance(payload, bytes)
                        self.messages.append((message.topic.value, payload, message.retain))
                        self._changed.set()
            except aiomqtt.MqttError:
                self.connected.clear()
                self._may_connect.clear()
                self.lost.set()

    async def reconnect(self) -> None:
        """After the test restarted the broker: connect again and wait for it."""
        await asyncio.wait_for(self.lost.wait(), 10)
        self.lost.clear()
        self._may_connect.set()
        await asyncio.wait_for(self.connected.wait(), 10)

    async def wait_for(
        self, found: Callable[[list[tuple[str, bytes, bool]]], Any], timeout_s: float = 10.0
    ) -> Any:
        """Wait until ``found(messages)`` is truthy; return what it returned."""

        async def poll() -> Any:
            while not (result := found(self.messages)):
                self._changed.clear()
                await self._changed.wait()
            return result

        return await asyncio.wait_for(poll(), timeout_s)

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in self.messages if t == topic]

    def json(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.payloads(topic)]


@contextlib.asynccontextmanager
async def listening(port: int, *topics: str, persistent: bool = False) -> AsyncIterator[Listener]:
    async with Listener(port, list(topics), persistent=persistent) as listener:
        yield listener
