"""A terminal driver that notices when its terminal goes away.

A closed terminal window (a killed tmux session, a dropped ssh link) turns every
read and write on the tty into EIO, or reads into end-of-file. Textual's own
driver lets its writer thread die on the first failed write; its queue then
fills, and the app's shutdown blocks for ever on ``Queue.put`` (with the strap
still connected and the process deaf to SIGTERM, whose handler needs the event
loop). Here a failed write or read instead:

- drops whatever is written from then on, so nothing waits on the dead tty;
- sends this process SIGHUP once, which the CLI turns into a clean end of the
  session recorded as "terminal closed" (the same path as a real hang-up).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


class TerminalLost:
    """Said once per process: the terminal is gone."""

    def __init__(self) -> None:
        self._said = threading.Event()

    @property
    def lost(self) -> bool:
        return self._said.is_set()

    def say(self) -> None:
        if self._said.is_set():
            return
        self._said.set()
        os.kill(os.getpid(), signal.SIGHUP)


class _GuardedOutput:
    """The terminal's output file as the writer thread sees it: never raises."""

    def __init__(self, file: IO[str], lost: TerminalLost) -> None:
        self._file = file
        self._lost = lost

    def write(self, text: str) -> int:
        if self._lost.lost:
            return len(text)
        try:
            return self._file.write(text)
        except (OSError, ValueError):
            self._lost.say()
            return len(text)

    def flush(self) -> None:
        if self._lost.lost:
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._lost.say()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True


class GuardedLinuxDriver(LinuxDriver):
    """Textual's Linux driver, told what to do when the terminal disappears."""

    terminal = TerminalLost()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._file is not None:
            # Duck-typed: the writer thread only writes, flushes and asks fileno.
            self._file = _GuardedOutput(self._file, self.terminal)  # type: ignore[assignment]

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError:
            # EIO: the other side of the terminal has closed.
            self.terminal.say()
