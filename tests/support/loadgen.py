"""Many runners' record traffic for little CPU: a bare MQTT 5 QoS 1 publisher.

A thousand aiomqtt clients in one process cost a timer and a paho client each,
and fell behind their seconds on a shared machine, so the benchmark measured
the runners' lateness instead of the pipeline. This speaks only what a
runner's record needs (CONNECT, PUBLISH at QoS 1, PUBACK, DISCONNECT) on plain
asyncio streams, and builds each second's payload once, putting only the
session id and the publish time in per message.

Run as a process of its own by benchmarks/collect.py:

    python -m tests.support.loadgen runners|flood --port P --first I --count N
        --seconds S --begin UNIX_S --out FILE.npz [--total N] [--rate R] [--connections C]

``runners``: runners ``first`` .. ``first + count - 1`` of ``total``, one
connection each, runner ``i`` publishing second ``t`` at ``begin + t + i/total``
(the runners spread over each second), then an end message with the counts.
``flood``: ``count`` sessions' seconds replayed over ``connections``
connections, second ``t`` of every session due at ``begin + t`` and spread
over that second; the publisher sends as fast as the broker's Receive Maximum
lets it, so a slow broker shows as the publisher's lateness.

The output holds, per session and second, when the message was published
(``time.time()`` at its write, the ``sent_at_unix_s`` it carries) or NaN when
the broker did not acknowledge it, how late that was against its due time, and
this process's CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import math
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biofeedback.wire import Message, encode, record_topic
from tests.support import central as synthetic

PLACEHOLDER = "@@SESSION@@"
_SENT_TAIL = b"0.0}"  # encode(..., sent_at_unix_s=0.0) ends with it


class LoadError(RuntimeError):
    """The broker refused or dropped a load connection."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + _varint(len(body)) + body


def _receive_maximum(props: bytes) -> int:
    """The Receive Maximum from CONNACK properties (65,535 when not given)."""
    fixed = {0x01: 1, 0x02: 4, 0x11: 4, 0x13: 2, 0x17: 1, 0x19: 1, 0x21: 2, 0x22: 2, 0x23: 2}
    fixed |= {0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1}
    i = 0
    while i < len(props):
        pid = props[i]
        i += 1
        if pid == 0x21:
            return int(struct.unpack_from("!H", props, i)[0])
        if pid in fixed:
            i += fixed[pid]
        elif pid == 0x26:  # user property: two strings
            for _ in range(2):
                i += 2 + struct.unpack_from("!H", props, i)[0]
        else:  # a string or binary
            i += 2 + struct.unpack_from("!H", props, i)[0]
    return 65_535


@dataclass
class Connection:
    """One MQTT 5 connection publishing at QoS 1 with up to Receive Maximum in flight."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    receive_max: int
    on_ack: Callable[[object, bool], None]
    inflight: dict[int, object] = field(default_factory=dict)
    queued: collections.deque[tuple[bytes, bytes, object, list[float]]] = field(
        default_factory=collections.deque
    )
    next_id: int = 1
    reading: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, port: int, client_id: str, on_ack: Callable[[object, bool], None]
    ) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        # Clean start, keep-alive 0 (the broker hears us every second anyway), no properties.
        body = _utf8("MQTT") + bytes((5, 0x02, 0, 0, 0)) + _utf8(client_id)
        writer.write(_packet(0x10, body))
        await writer.drain()
        kind, payload = await _read_packet(reader)
        if kind != 0x20 or payload[1] != 0:
            raise LoadError(f"{client_id}: the broker refused the connection ({payload[1:2]!r})")
        length, used = _read_varint(payload, 2)
        conn = cls(reader, writer, _receive_maximum(payload[2 + used : 2 + used + length]), on_ack)
        conn.reading = asyncio.create_task(conn._read_acks())
        return conn

    def publish(self, topic: bytes, payload: bytes, token: object, stamp: list[float]) -> None:
        """Queue a message; it leaves as soon as the window allows (``stamp`` gets its time)."""
        self.queued.append((topic, payload, token, stamp))
        self._flush()

    def _flush(self) -> None:
        while self.queued and len(self.inflight) < self.receive_max:
            topic, payload, token, stamp = self.queued.popleft()
            while self.next_id in self.inflight:
                self.next_id = self.next_id % 65_535 + 1
            mid, self.next_id = self.next_id, self.next_id % 65_535 + 1
            self.inflight[mid] = token
            now = time.time()
            stamp.append(now)
            # The publish time goes in as the message's sent_at_unix_s.
            body = topic + struct.pack("!H", mid) + b"\x00" + payload + repr(now).encode() + b"}"
            self.writer.write(_packet(0x32, body))

    async def _read_acks(self) -> None:
        try:
            while True:
                kind, body = await _read_packet(self.reader)
                if kind == 0x40:
                    mid = struct.unpack_from("!H", body)[0]
                    ok = len(body) < 3 or body[2] < 0x80
                    token = self.inflight.pop(mid, None)
                    if token is not None:
                        self.on_ack(token, ok)
                    self._flush()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            self.writer.write(b"\xe0\x00")  # DISCONNECT, normal
            await self.writer.drain()
            self.writer.close()
            await self.writer.wait_closed()
        if self.reading is not None:
            self.reading.cancel()


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift, used = 0, 0, 0
    while True:
        byte = data[at + used]
        used += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, used


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first & 0xF0, await reader.readexactly(length)


class Template:
    """One second's message for every session: built once, the session id put in per message."""

    def __init__(self, message: Message) -> None:
        raw = encode(message, sent_at_unix_s=0.0)
        assert raw.endswith(_SENT_TAIL)
        self.parts = raw[: -len(_SENT_TAIL)].split(PLACEHOLDER.encode())
        assert len(self.parts) == 2, "the session id appears once in a message"

    def payload(self, session_id: bytes) -> bytes:
        return self.parts[0] + session_id + self.parts[1]


def topic_bytes(runner: str) -> bytes:
    return _utf8(record_topic(runner, f"{runner}-s"))


async def runners(args: argparse.Namespace) -> dict[str, np.ndarray]:
    seconds, count = args.seconds, args.count
    published = np.full((count, seconds + 1), math.nan)
    late = np.full((count, seconds + 1), math.nan)
    pending: set[tuple[int, int]] = set()
    done = asyncio.Event()
    sending_over = False
    stamps: dict[tuple[int, int], list[float]] = {}
    offsets = [(args.first + i) / args.total for i in range(count)]

    def on_ack(token: object, ok: bool) -> None:
        assert isinstance(token, tuple)
        i, t = token
        stamp = stamps.pop(token)[0]
        if ok:
            published[i, t] = stamp
        late[i, t] = stamp - (args.begin + t + offsets[i])
        pending.discard(token)
        if not pending and sending_over:
            done.set()

    names = [f"r{args.first + i:05d}" for i in range(count)]
    conns = [await Connection.open(args.port, name, on_ack) for name in names]
    topics = [topic_bytes(name) for name in names]
    ids = [f"{name}-s".encode() for name in names]
    print("ready", flush=True)
    begin = args.begin
    for t in range(seconds + 1):
        message = (
            synthetic.second(PLACEHOLDER, begin, t)
            if t < seconds
            else synthetic.end(PLACEHOLDER, begin, seconds)
        )
        template = Template(message)
        i = 0
        while i < count:
            due = begin + t + offsets[i]
            wait = due - time.time()
            if wait > 0.002:
                await asyncio.sleep(wait)
            now = time.time()
            # Every runner whose moment has come, in one go.
            while i < count and begin + t + offsets[i] <= now + 0.002:
                key = (i, t)
                stamps[key] = []
                pending.add(key)
                conns[i].publish(topics[i], template.payload(ids[i]), key, stamps[key])
                i += 1
    sending_over = True
    if pending:
        try:
            await asyncio.wait_for(done.wait(), 120)
        except TimeoutError:
            print(f"{len(pending)} messages never acknowledged", file=sys.stderr)
    for conn in conns:
        await conn.close()
    return {"published": published, "late": late}


async def flood(args: argparse.Namespace) -> dict[str, np.ndarray]:
    seconds, count = args.seconds, args.count
    published = np.full((count, seconds), math.nan)
    late = np.full((count, seconds), math.nan)
    pending = 0
    done = asyncio.Event()
    sending_over = False
    stamps: dict[tuple[int, int], list[float]] = {}

    def on_ack(token: object, ok: bool) -> None:
        nonlocal pending
        assert isinstance(token, tuple)
        stamp = stamps.pop(token)
        if ok:
            published[token] = stamp[0]
        late[token] = stamp[0] - token_due(token)
        pending -= 1
        if not pending and sending_over:
            done.set()

    def token_due(token: tuple[int, int]) -> float:
        i, t = token
        return float(args.begin + t + i / count)

    conns = [
        await Connection.open(args.port, f"flood{args.first}-{c}", on_ack)
        for c in range(args.connections)
    ]
    names = [f"f{args.first + i:05d}" for i in range(count)]
    topics = [topic_bytes(name) for name in names]
    ids = [f"{name}-s".encode() for name in names]
    print("ready", flush=True)
    begin = args.begin
    slices = 50  # each second's messages leave in 50 slices of 20 ms
    for t in range(seconds):
        template = Template(synthetic.second(PLACEHOLDER, begin, t))
        for k in range(slices):
            wait = begin + t + k / slices - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            for i in range(k * count // slices, (k + 1) * count // slices):
                key = (i, t)
                stamps[key] = []
                pending += 1
                conns[i % len(conns)].publish(topics[i], template.payload(ids[i]), key, stamps[key])
            for conn in conns:
                if conn.writer.transport.get_write_buffer_size() > 1 << 20:
                    await conn.writer.drain()
    sending_over = True
    if pending:
        try:
            await asyncio.wait_for(done.wait(), 600)
        except TimeoutError:
            print(f"{pending} messages never acknowledged", file=sys.stderr)
    for conn in conns:
        await conn.close()
    return {"published": published, "late": late}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("runners", "flood"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--total", type=int, default=0)
    parser.add_argument("--seconds", type=int, required=True)
    parser.add_argument("--begin", type=float, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.total = args.total or args.count
    result = asyncio.run(runners(args) if args.mode == "runners" else flood(args))
    np.savez(
        args.out,
        cpu_s=np.array(time.process_time()),
        published=result["published"],
        late=result["late"],
    )


if __name__ == "__main__":
    main()
