"""Which sessions are being recorded right now, across processes.

A recorder holds an exclusive ``flock`` on ``<store>-rec-<session id>.lock``
for as long as it writes the session. The lock dies with the process, so a
crashed recorder leaves a file anyone can take: the session is then merely
unfinished, and may be deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path


def lock_path(db_path: Path, session_id: str) -> Path:
    return db_path.with_name(f"{db_path.name}-rec-{session_id}.lock")


class RecordingLock:
    """Held while one session is recorded; ``release`` removes the file."""

    def __init__(self, db_path: Path, session_id: str) -> None:
        self.path = lock_path(db_path, session_id)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def is_recording(db_path: Path, session_id: str) -> bool:
    """True while another recorder (in any process) holds the session's lock."""
    path = lock_path(db_path, session_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        # Left by a recorder that died: nobody holds it any more.
        with contextlib.suppress(OSError):
            os.unlink(path)
        return False
    finally:
        os.close(fd)


def sweep_stale_locks(db_path: Path) -> None:
    """Remove the lock files recorders that died (kill -9) left beside the store."""
    prefix, suffix = f"{db_path.name}-rec-", ".lock"
    with contextlib.suppress(OSError):
        for entry in os.scandir(db_path.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(suffix)):
                continue
            # A lock made a moment ago may not be taken yet: leave it to its maker.
            if time.time() - entry.stat().st_mtime < _FRESH_LOCK_S:
                continue
            # Probing a lock nobody holds removes it; a held one is left alone.
            is_recording(db_path, name[len(prefix) : -len(suffix)])


_FRESH_LOCK_S = 10.0
