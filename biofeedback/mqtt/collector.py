"""The collector: runners' records from the broker into the central store.

Several collectors share the load through one MQTT 5 shared subscription
(``$share/<group>/biofeedback/+/record/+``): the broker hands each message to
one of them. A collector is stateless; its MQTT session is persistent (a fixed
client id, never a clean start), so what the broker sent it and it had not
acknowledged comes back after a restart.

A message is acknowledged (PUBACK, by hand: paho's manual acks) only once the
batch holding it is committed, so a broker, collector or database restart
loses nothing: whatever was not acknowledged is delivered again, and the store
keeps one row per sequence number. The broker never has more than
``max_waiting`` unacknowledged messages out to us (MQTT 5 Receive Maximum), so
a flood waits on the broker, not in our memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import field
from typing import Any, Protocol, TypeVar

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from biofeedback.models.record import record
from biofeedback.mqtt.connection import Broker, explain
from biofeedback.wire import Message, WireError, decode, record_filter, runner_of

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600

T = TypeVar("T")


class WriteOutcome(Protocol):
    @property
    def rows_new(self) -> int: ...

    @property
    def rows_repeated(self) -> int: ...

    @property
    def completed(self) -> Sequence[str]: ...


class CentralWriter(Protocol):
    """The central store as a collector uses it (blocking; one thread)."""

    @property
    def broken(self) -> bool: ...

    def write(self, messages: Sequence[tuple[str, Message]]) -> WriteOutcome: ...

    def refuses(self, exc: BaseException) -> bool: ...

    def session_counts(self) -> tuple[int, int]: ...

    def close(self) -> None: ...


@record
class CollectorCounts:
    """The collector's running totals: messages, new and repeated rows, refusals,
    sessions completed, failed writes, connections, the most messages waiting at once,
    and each message's lag."""

    messages: int = 0
    rows_new: int = 0
    rows_repeated: int = 0
    refused: int = 0
    completed: int = 0
    write_failures: int = 0
    connections: int = 0
    most_waiting: int = 0
    lags_s: list[float] = field(default_factory=list)


@record(slots=True)
class _Received:
    """A message taken in and not yet written: its client and packet id (for the
    acknowledgement, sent once: ``done``), its runner, the decoded message and when it
    was sent."""

    client: _PausableClient
    mid: int
    runner: str
    message: Message
    sent_at_unix_s: float
    done: bool = False


class _PausableClient(aiomqtt.Client):
    """An aiomqtt client that can stop reading its socket for a while.

    mosquitto 2.0 honours our Receive Maximum only until the first
    acknowledgements flow (measured: 145 unacknowledged messages in flight with
    a maximum of 5), so the cap on what waits in memory is kept here: past it
    we stop reading and TCP pushes back on the broker, which queues the rest.
    ``_on_socket_open`` is aiomqtt's own (2.x), keeping its reader callback.
    """

    _reader: Callable[[], None] | None = None
    _fileno = -1
    _paused = False
    # Told how many messages wait in this client's queue; True: stop reading.
    full: Callable[[int], bool] | None = None
    # Given each of paho's messages as it is read, instead of aiomqtt's queue.
    deliver: Callable[[Any], None] | None = None

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if self.deliver is not None:
            # aiomqtt's message, queue, task and wait for each message were a
            # quarter of a collector's time: the message goes straight on.
            self.deliver(message)
        else:
            super()._on_message(client, userdata, message)
        if self.full is not None and self.full(self._queue.qsize()):
            self.pause()

    def _on_socket_open(self, client: Any, userdata: Any, sock: Any) -> None:
        # paho reads a packet in three or more recv calls and one packet per
        # wake-up; buffered, one recv serves many packets (measured: ~4 recv
        # calls and an event-loop turn a message were a third of a collector).
        client._sock = _BufferedSocket(sock)  # noqa: SLF001 (paho's socket)

        def callback() -> None:
            try:
                while not self._paused:
                    client.loop_read()
                    held = client._sock  # noqa: SLF001 (paho's socket: bytes may wait in it)
                    if held is not None and held.pending() > 0:
                        continue
                    break
            except Exception as exc:
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        def create_misc_task() -> None:
            self._misc_task = self._loop.create_task(self._misc_loop())

        self._reader, self._fileno, self._paused = callback, sock.fileno(), False
        self._loop.call_soon_threadsafe(self._loop.add_reader, sock.fileno(), callback)
        self._loop.call_soon_threadsafe(create_misc_task)

    def pause(self) -> None:
        if not self._paused and self._fileno > -1:
            self._paused = True
            self._loop.remove_reader(self._fileno)

    def resume(self) -> None:
        if self._paused and self._reader is not None and self._fileno > -1:
            self._paused = False
            self._loop.add_reader(self._fileno, self._reader)
            held: Any = self._client._sock  # noqa: SLF001 (paho's socket)
            if held is not None and held.pending() > 0:
                # Read already, so the socket will not say so: take it now.
                self._loop.call_soon(self._reader)


class _BufferedSocket:
    """A socket whose ``recv`` serves small reads from one large read.

    ``pending`` counts what waits here (and in TLS, below): the reader drains
    it before waiting on the socket again. Everything else is the socket's.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._buffer):
            data = self._sock.recv(max(size, 65_536))
            if len(data) <= size:
                return bytes(data)
            self._buffer, self._at = data, 0
        chunk = self._buffer[self._at : self._at + size]
        self._at += len(chunk)
        return chunk

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buffer) - self._at + int(inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class Collector:
    """Reads the shared subscription, writes batches, acknowledges after each commit."""

    def __init__(
        self,
        broker: Broker,
        open_writer: Callable[[], CentralWriter],
        *,
        name: str,
        group: str = "collectors",
        max_waiting: int = 5_000,
        batch_max: int = 2_000,
        batch_every_s: float = 0.2,
        status_every_s: float = 60.0,
        status: Callable[[str], None] = print,
        backoff_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.broker = broker
        self.open_writer = open_writer
        self.name = name
        self.group = group
        self.max_waiting = max_waiting
        self.batch_max = batch_max
        self.batch_every_s = batch_every_s
        self.status_every_s = status_every_s
        self.status = status
        self.backoff_s = backoff_s
        self.counts = CollectorCounts()
        self.subscribed = asyncio.Event()
        self.stopping = asyncio.Event()
        # Set after each commit, for whoever waits on what was written.
        self.committed = asyncio.Event()
        self._waiting: list[_Received] = []
        self._arrived = asyncio.Event()
        self._writer: CentralWriter | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collector-db")
        self._window_start = time.monotonic()
        self._window = CollectorCounts()
        self._paused: set[_PausableClient] = set()
        self._writing = 0  # messages in the batch being written
        self._started = time.monotonic()

    # -- running

    async def run(self) -> None:
        """Until ``stop``: the last batch is written and acknowledged before it returns."""
        reader = asyncio.create_task(self._read_forever(), name="collector-read")
        writer = asyncio.create_task(self._write_forever(), name="collector-write")
        status = asyncio.create_task(self._status_forever(), name="collector-status")
        try:
            await self.stopping.wait()
            # Stop taking messages first, then write out what already arrived.
            writer_done = asyncio.ensure_future(writer)
            self._arrived.set()
            await writer_done
            # The last line, while the database is still at hand for the session counts.
            self.status(await self.status_line(final=True))
        finally:
            for task in (reader, writer, status):
                task.cancel()
            for task in (reader, writer, status):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self._writer is not None:
                writer_ = self._writer
                await self._blocking(writer_.close)
            self._executor.shutdown(wait=False)

    def stop(self) -> None:
        self.stopping.set()
        self._arrived.set()

    async def _blocking(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    # -- the broker side

    def _client(self) -> _PausableClient:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        # The broker sends at most this many unacknowledged messages: our memory cap.
        props.ReceiveMaximum = max(1, min(self.max_waiting, 65_535))
        client = _PausableClient(
            self.broker.url.host,
            self.broker.url.port,
            identifier=self.name,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=props,
            username=self.broker.url.username or self.broker.settings.username,
            password=self.broker.settings.password,
            keepalive=15,
            timeout=10.0,
            tls_context=self.broker.tls,
        )
        client.pending_calls_threshold = 10_000
        # paho's log line for every packet in and out: a cost per message, read by no one.
        client._client.disable_logger()  # noqa: SLF001
        client.full = lambda queued: self._full_with(client, queued)
        client.deliver = lambda message: self._take(client, message)
        # aiomqtt has no manual acknowledgements of its own: paho's, on its client.
        client._client.manual_ack_set(True)  # noqa: SLF001
        return client

    async def _read_forever(self) -> None:
        low, high = self.backoff_s
        backoff = low
        last_error: str | None = None
        while not self.stopping.is_set():
            try:
                async with self._client() as client:
                    self.counts.connections += 1
                    await client.subscribe(record_filter(self.group), qos=1)
                    if last_error is not None:
                        log.warning("collect: connected to %s again", self.broker.url.where)
                    last_error = None
                    backoff = low
                    self.subscribed.set()
                    # The messages arrive through ``deliver``; this waits for the end.
                    gone = client._disconnected  # noqa: SLF001 (aiomqtt's own end of a connection)
                    await asyncio.wait((gone,))
                    raise aiomqtt.MqttError("Disconnected") from gone.exception()
            except aiomqtt.MqttError as exc:
                self.subscribed.clear()
                reason = explain(exc)
                if reason != last_error:
                    log.warning(
                        "collect: the broker %s: %s; retrying", self.broker.url.where, reason
                    )
                last_error = reason
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, high)

    def _take(self, client: _PausableClient, message: Any) -> None:
        """One of paho's messages (topic, payload, mid), as it is read."""
        payload = message.payload
        topic = "(a topic that is not UTF-8)"
        try:
            try:
                topic = str(message.topic)
            except UnicodeDecodeError:
                raise WireError("a topic that is not UTF-8") from None
            runner, session_id = runner_of(topic)
            if not isinstance(payload, bytes):
                raise WireError("a record message must be bytes")
            decoded, sent_at = decode(payload)
            if decoded.head.session_id != session_id:
                raise WireError("the session id in the message is not the one in its topic")
        except WireError as exc:
            # Not ours to keep: acknowledged, so it does not come back, and counted.
            self.counts.refused += 1
            log.warning("collect: refused a message on %s: %s", topic, exc)
            self._ack_mid(client, message.mid)
            return
        self._waiting.append(_Received(client, message.mid, runner, decoded, sent_at))
        self._arrived.set()

    def _ack(self, received: _Received) -> None:
        # Once only: the broker may give the same packet id to a later message.
        if not received.done:
            received.done = True
            self._ack_mid(received.client, received.mid)

    def _full_with(self, client: _PausableClient, queued: int) -> bool:
        """Messages taken from the broker and not yet acknowledged, against the cap."""
        waiting = len(self._waiting) + self._writing + queued
        self.counts.most_waiting = max(self.counts.most_waiting, waiting)
        if waiting >= self.max_waiting:
            self._paused.add(client)
            return True
        return False

    def _ack_mid(self, client: _PausableClient, mid: int) -> None:
        # A message from a connection that has since dropped is not ours to
        # acknowledge any more: the broker sends it again.
        with contextlib.suppress(Exception):
            client._client.ack(mid, 1)  # noqa: SLF001 (paho's manual ack)

    # -- the database side

    async def _write_forever(self) -> None:
        low, high = self.backoff_s
        backoff = low
        while True:
            if not self._waiting:
                if self.stopping.is_set():
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            if len(self._waiting) < self.batch_max and not self.stopping.is_set():
                # A moment for the batch to fill: one commit for many messages.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full(), self.batch_every_s)
            batch, self._waiting = self._waiting[: self.batch_max], self._waiting[self.batch_max :]
            self._writing = len(batch)
            try:
                await self._write(batch)
                backoff = low
            except Exception as exc:
                self.counts.write_failures += 1
                log.warning("collect: cannot write to the central store: %s; retrying", exc)
                self._waiting[:0] = [r for r in batch if not r.done]
                self._writing = 0
                await self._drop_writer()
                if self.stopping.is_set():
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, high)

    async def _full(self) -> None:
        while len(self._waiting) < self.batch_max and not self.stopping.is_set():
            self._arrived.clear()
            await self._arrived.wait()

    async def _drop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                await self._blocking(writer.close)

    async def _write(self, batch: list[_Received]) -> None:
        if self._writer is None:
            self._writer = await self._blocking(self.open_writer)
        writer = self._writer
        items = [(r.runner, r.message) for r in batch]
        try:
            outcome = await self._blocking(lambda: writer.write(items))
        except Exception as exc:
            if writer.broken or not writer.refuses(exc):
                raise  # the database is away or busy: the whole batch again, later
            if len(batch) == 1:
                # One message the database refuses for its data: not retried forever.
                self.counts.refused += 1
                log.warning("collect: the central store refused a message of %s", items[0][0])
                self._ack(batch[0])
                return
            # Find the message it refuses; the others are written.
            for one in batch:
                await self._write([one])
            return
        now = time.time()
        for r in batch:
            self._ack(r)
        self._writing = 0
        if len(self._waiting) < self.max_waiting:
            for client in self._paused:
                client.resume()
            self._paused.clear()
        for counts in (self.counts, self._window):
            counts.messages += len(batch)
            counts.rows_new += outcome.rows_new
            counts.rows_repeated += outcome.rows_repeated
            counts.completed += len(outcome.completed)
            counts.lags_s.extend(now - r.sent_at_unix_s for r in batch)
        self.committed.set()
        if len(self.counts.lags_s) > 200_000:
            del self.counts.lags_s[:100_000]

    # -- the status line

    async def _status_forever(self) -> None:
        while True:
            await asyncio.sleep(self.status_every_s)
            self.status(await self.status_line())

    async def status_line(self, *, final: bool = False) -> str:
        """Messages/s, rows/s and lag since the last line; sessions open and complete.

        The ``final`` line (at SIGTERM) counts the whole run instead.
        """
        elapsed = max(time.monotonic() - self._window_start, 1e-9)
        w, self._window = self._window, CollectorCounts()
        if final:
            w, elapsed = self.counts, max(time.monotonic() - self._started, 1e-9)
        self._window_start = time.monotonic()
        sessions = "sessions ?"
        if self._writer is not None:
            writer = self._writer
            with contextlib.suppress(Exception):
                open_, complete = await self._blocking(writer.session_counts)
                sessions = f"sessions {open_} open, {complete} complete"
        lag = "lag -"
        if w.lags_s:
            lags = sorted(w.lags_s)
            p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
            lag = f"lag p50 {statistics.median(lags):.2f} s p99 {p99:.2f} s"
        name = f"{self.name} (stopped)" if final else self.name
        return (
            f"collect {name}: {w.messages / elapsed:.0f} messages/s,"
            f" {w.rows_new / elapsed:.0f} rows/s ({w.rows_repeated} repeated), {lag},"
            f" waiting {len(self._waiting)} (cap {self.max_waiting}, most"
            f" {self.counts.most_waiting}), {sessions}, refused {self.counts.refused}"
        )
