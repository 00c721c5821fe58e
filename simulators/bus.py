"""A private D-Bus daemon of the *system* type, for the virtual strap to live on.

bleak talks to BlueZ over the system bus; pointing ``DBUS_SYSTEM_BUS_ADDRESS``
at this daemon (before bleak first touches D-Bus) makes bleak talk to our
virtual BlueZ instead, without root and without touching the real one.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

ADDRESS_ENV = "DBUS_SYSTEM_BUS_ADDRESS"

# Everyone may own any name (org.bluez included) and talk to anyone: this bus
# only ever carries a test's own processes.
_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


class BusError(RuntimeError):
    """The private bus could not be started."""


class PrivateSystemBus:
    """Start ``dbus-daemon`` with a throw-away config; ``address`` is its address.

    The socket lives in a short temp dir of its own (unix socket paths are
    limited to 108 bytes, and pytest's temp paths are long).
    """

    def __init__(self, start_timeout_s: float = 10.0) -> None:
        self.start_timeout_s = start_timeout_s
        self.address = ""
        self._dir: Path | None = None
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> str:
        exe = shutil.which("dbus-daemon")
        if exe is None:
            raise BusError("dbus-daemon is not installed (Debian: apt-get install dbus-daemon)")
        self._dir = Path(tempfile.mkdtemp(prefix="bf-bus-"))
        os.chmod(self._dir, 0o700)
        config = self._dir / "bus.conf"
        config.write_text(_CONFIG.format(socket_dir=self._dir), encoding="utf-8")
        self._proc = subprocess.Popen(
            [exe, f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self._proc.stdout is not None
        line = _read_line(self._proc, self.start_timeout_s)
        if not line.startswith("unix:"):
            self.stop()
            raise BusError(f"dbus-daemon did not start: {line or 'no address printed'}")
        self.address = line.strip()
        return self.address

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()
            self._proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) pointed at this bus."""
        out = dict(os.environ if base is None else base)
        out[ADDRESS_ENV] = self.address
        return out

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """The first stdout line of ``proc``; "" if it printed none in time."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            return ""
    return proc.stdout.readline()
