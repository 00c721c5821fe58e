"""The recorder sink: writes a running session into the store as it happens.

Durability: ``synchronous=NORMAL``, so a commit is safe from a crash of the
program the moment it is made, and a second thread fsyncs the write-ahead log
about once a second, so a power cut loses about a second too. A slow disk then
delays only that fsync, never the commits (with ``FULL`` one stalled fsync
held back every commit behind it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from biofeedback.models import (
    BreathTaken,
    ChestMotion,
    HeartSample,
    SessionEnded,
    SessionEvent,
    SessionInfo,
)
from biofeedback.practice.ratings import Ratings
from biofeedback.store.database import Store
from biofeedback.store.errors import StoreError
from biofeedback.store.locks import RecordingLock
from biofeedback.store.practice import save_ratings
from biofeedback.store.writer import Item, SessionWriter

log = logging.getLogger(__name__)

COMMIT_EVERY_S = 1.0
_T = TypeVar("_T")


def _item_t_s(item: Item) -> float:
    return item.t if isinstance(item, SessionEvent) else item.t_s


class RecorderSink:
    """Writes a running session into the store (session.Sink).

    ``handle`` only queues in memory; a writer task hands batches to one worker
    thread, so the pacing loop never waits on the disk. A batch is committed as
    soon as it holds a heart sample (about once a second of session time) and
    at the latest one second of wall time after its first item, so a crash
    loses at most about a second.
    """

    name = "recorder"
    # The record must be complete: never let the session drop an item for us.
    queue_size = 50_000_000

    def __init__(
        self,
        path: Path | str,
        *,
        virtual: bool = False,
        ratings_before: Ratings | None = None,
        keep_raw: bool = False,
        store: Store | None = None,
        on_loop: bool = False,
    ) -> None:
        """``store``: the store at ``path`` already open and checked (``build_session``
        read it just now), kept and closed by this sink: one open and one whole-file
        check for a session, not two (the check reads every page: ~12 ms of a run
        on a 7.6 MB store, growing with it). Without it the sink opens, and
        checks, its own at ``start``.

        ``on_loop``: for a session on a virtual clock at full speed (``--speed max``),
        where nothing waits in real time: the writes are made on the event loop's
        own thread, once a second of wall time (a crash still loses at most about
        a second), not handed to a worker thread batch by batch: the hand-overs
        of the interpreter between the two threads, and a commit per batch, cost
        more than the writes themselves."""
        self.path = Path(path)
        self.virtual = virtual
        # Each breath is always kept; the chest motion itself only when asked
        # (``run --keep-raw``): about 2.2 MB an hour at 200 Hz.
        self.keep_raw = keep_raw
        self.on_loop = on_loop
        # Asked before the session: kept with its record from the start, so a crash
        # or a kill does not lose them (the after-ratings come once it has ended).
        self.ratings_before = ratings_before
        self.items_written = 0
        self.commits = 0
        self._store: Store | None = store
        self._writer: SessionWriter | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        self._sync_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-sync")
        self._sync: asyncio.Future[None] | None = None
        self._synced_at = time.monotonic()
        self._dir_synced = False
        self._pending: list[Item] = []
        self._has_items = asyncio.Event()
        self._urgent = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._stop_requested = asyncio.Event()
        # Set after each commit, for whoever wants to know the record is on disk.
        self.committed = asyncio.Event()
        # Set when a write fails (the items are kept and retried).
        self.write_failed = asyncio.Event()
        self._watchers: list[Callable[[str | None], None]] = []
        self._lock: RecordingLock | None = None

    def watch_trouble(self, watcher: Callable[[str | None], None]) -> None:
        """Call ``watcher`` with a line the moment writes fail, and None once they work again."""
        self._watchers.append(watcher)

    def _tell(self, trouble: str | None) -> None:
        for watcher in self._watchers:
            try:
                watcher(trouble)
            except Exception as exc:  # a watcher's bug must not stop the recording
                log.warning("a recorder watcher failed: %s", exc)

    async def _on_writer(self, work: Callable[[], _T]) -> _T:
        """``work`` on the writer's thread, or right here on the loop (``on_loop``)."""
        if self.on_loop:
            return work()
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def start(self, info: SessionInfo) -> None:
        if self._store is None:
            self._store = await self._on_writer(lambda: Store(self.path))
        self._writer = await self._on_writer(lambda: self._begin(info))
        try:
            self._lock = RecordingLock(self.path, info.session_id)
        except OSError as exc:  # a folder that takes the store takes its lock file
            log.info("no recording lock for %s: %s", info.session_id, exc)
        self._task = asyncio.create_task(self._write_loop(), name="recorder-writer")

    def _begin(self, info: SessionInfo) -> SessionWriter:
        assert self._store is not None
        writer = self._store.begin_session(info, virtual=self.virtual)
        # On the loop's thread, nothing waits between two steps of a statement.
        writer.row_statements = self.on_loop
        if self.ratings_before is not None:
            save_ratings(self._store, info.session_id, "before", self.ratings_before)
        return writer

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        # Even while writes fail: the items wait in memory for the disk.
        self._pending.append(item)
        self._has_items.set()
        if isinstance(item, HeartSample | SessionEnded):
            self._urgent.set()

    async def handle_batch(self, items: Sequence[Item]) -> None:
        """What the fan-out's queue held, in order (see ``loop.fanout.BatchAware``):
        as ``handle`` and ``handle_breath`` item by item."""
        self._pending.extend(items)
        self._has_items.set()
        if not self._urgent.is_set() and any(
            isinstance(item, HeartSample | SessionEnded) for item in items
        ):
            self._urgent.set()

    async def handle_breath(self, item: BreathTaken | ChestMotion) -> None:
        """A breath seen on the chest, or raw chest motion (``keep_raw``): kept
        with the next commit, never one of their own."""
        self._pending.append(item)
        self._has_items.set()

    async def stop(self) -> None:
        self._stopping = True
        self._stop_requested.set()
        self._has_items.set()
        self._urgent.set()
        try:
            if self._task is not None:
                await self._task
        finally:
            if self._store is not None:
                if self._sync is not None:
                    with contextlib.suppress(OSError):
                        await self._sync
                # Closing checkpoints the log into the database, with fsync.
                await self._on_writer(self._store.close)
            if self._lock is not None:
                self._lock.release()
            self._executor.shutdown(wait=False)
            self._sync_executor.shutdown(wait=False)
        if self._pending:
            first_t_s = min(_item_t_s(item) for item in self._pending)
            raise StoreError(
                f"the session from {first_t_s:.0f} s on ({len(self._pending)} items) could not"
                f" be saved: {self._error}; free some disk space or choose another file with --db"
            )

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._has_items.wait()
            if self.on_loop:
                # Everything of the next second (or up to the stop) in one commit.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_requested.wait(), COMMIT_EVERY_S)
            elif not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), COMMIT_EVERY_S)
            batch, self._pending = self._pending, []
            self._has_items.clear()
            self._urgent.clear()
            stopping = self._stopping
            if batch:
                assert self._writer is not None
                try:
                    await self._on_writer(functools.partial(self._writer.write, batch))
                except Exception as exc:
                    # Keep everything and retry each second: a full disk can get
                    # space back, and the record must not get a hole. Whatever is
                    # still unsaved at stop is reported there, once.
                    log.info("the recorder could not write, will retry: %s", exc)
                    if self._error is None:
                        self._tell(
                            f"your session is not being saved right now ({exc});"
                            " it is kept and saved as soon as the disk takes it"
                        )
                    self._error = exc
                    self._pending[:0] = batch
                    self.write_failed.set()
                    if stopping:
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop_requested.wait(), COMMIT_EVERY_S)
                    self._has_items.set()
                    self._urgent.set()
                    continue
                if self._error is not None:
                    self._tell(None)
                self._error = None
                self.items_written += len(batch)
                self.commits += 1
                self.committed.set()
                self._sync_soon(loop)
            if stopping and not self._pending:
                return

    def _sync_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sync is not None and not self._sync.done():
            return
        if time.monotonic() - self._synced_at < COMMIT_EVERY_S:
            return
        self._synced_at = time.monotonic()
        self._sync = loop.run_in_executor(self._sync_executor, self._fsync_log)

    def _fsync_log(self) -> None:
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            log.warning("could not flush the session log to disk: %s", exc)
        finally:
            os.close(fd)
        if not self._dir_synced:
            # The log file's own name must reach the disk once, too.
            with contextlib.suppress(OSError):
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            self._dir_synced = True
