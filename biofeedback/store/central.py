"""The central copy in PostgreSQL: many runners' records, written by collectors.

One connection, three jobs, each in a module of its own: the schema and its
partitions (``central_schema``), writing batches idempotently
(``central_write``), and reading what review, history and exports need
(``central_read``). These four modules are the only ones that import psycopg.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import psycopg

from biofeedback.models import ChestMotion, Recording, StoredSession
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.ratings import Ratings
from biofeedback.store import central_schema
from biofeedback.store.central_read import Reader
from biofeedback.store.central_write import BatchWriter, WriteResult
from biofeedback.store.errors import CentralError, StoreOpenError, one_line
from biofeedback.wire import Message

__all__ = [
    "SCHEMA_VERSION",
    "CentralError",
    "CentralStore",
    "WriteResult",
    "check_url",
    "is_central",
]

SCHEMA_VERSION = central_schema.SCHEMA_VERSION


def check_url(url: str) -> str:
    """A ``postgresql://`` URL without a password (that goes in PGPASSWORD or ~/.pgpass)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise StoreOpenError(f"bad database URL: {exc}") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise StoreOpenError("a central database URL starts with postgresql://")
    if parts.password is not None or re.search(r"(^|[?&])password=", parts.query):
        raise StoreOpenError(
            "put the database password in PGPASSWORD or a password file (PGPASSFILE,"
            " ~/.pgpass), not in the URL"
        )
    return url


def is_central(db: str | None) -> bool:
    return bool(db) and str(db).startswith(("postgresql://", "postgres://"))


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


class CentralStore:
    """One connection to the central database (not for use from several threads)."""

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0) -> None:
        self.url = check_url(url)
        self.where = _shown(url)
        try:
            self._db = psycopg.connect(url, connect_timeout=max(1, round(connect_timeout_s)))
        except psycopg.Error as exc:
            raise CentralError(
                f"cannot reach the central database {self.where}: {one_line(exc)}"
            ) from None
        # A collector acknowledges a message once its commit returns: that commit
        # must survive a crash, whatever the server's default says.
        try:
            self._db.execute("SET synchronous_commit TO on")
            self._db.commit()
        except psycopg.Error as exc:
            self._db.close()
            raise CentralError(
                f"cannot use the central database {self.where}: {one_line(exc)}"
            ) from None
        self._writer = BatchWriter(self._db)
        self._reader = Reader(self._db, self.where)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def broken(self) -> bool:
        return self._db.closed or self._db.broken

    # -- schema

    def version(self) -> int:
        return central_schema.version(self._db)

    def migrate(self) -> None:
        """Bring the schema to ``SCHEMA_VERSION`` in one transaction (collectors do this)."""
        try:
            central_schema.migrate(self._db, self.where)
        except psycopg.Error as exc:
            raise CentralError(
                f"cannot prepare the central database {self.where}: {one_line(exc)}"
            ) from None

    # -- writing (collectors)

    def write(self, messages: Sequence[tuple[str, Message]]) -> WriteResult:
        """Store a batch of (runner, message) in one transaction; return what was new."""
        return self._writer.write(messages)

    def refuses(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the data itself is refused (sending it again cannot help)."""
        return self._writer.refuses(exc)

    def session_counts(self) -> tuple[int, int]:
        """(open, complete) sessions."""
        return self._writer.session_counts()

    # -- reading (review, history, exports)

    def sessions(
        self, limit: int | None = None, *, runner: str | None = None
    ) -> list[StoredSession]:
        """Sessions, newest first (one runner's with ``runner``)."""
        return self._reader.sessions(limit, runner=runner)

    def session(self, ref: str = "latest", *, runner: str | None = None) -> StoredSession:
        return self._reader.session(ref, runner=runner)

    def load(self, ref: str = "latest", *, runner: str | None = None) -> Recording:
        """Everything recorded for one session: the same Recording the SQLite store gives."""
        return self._reader.load(ref, runner=runner)

    def motion(self, ref: str = "latest", *, runner: str | None = None) -> list[ChestMotion]:
        """The chest motion kept raw with a session; empty when it was not kept."""
        return self._reader.motion(ref, runner=runner)

    def ratings(
        self, ref: str, *, runner: str | None = None
    ) -> tuple[Ratings | None, Ratings | None]:
        return self._reader.ratings(ref, runner=runner)

    def outcomes(self, limit: int = 30, *, runner: str | None = None) -> list[SessionOutcome]:
        """The ``limit`` latest sessions as outcomes, newest first (as the local store's)."""
        return self._reader.outcomes(limit, runner=runner)
