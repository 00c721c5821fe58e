"""The session store: one SQLite file holding every recorded session.

WAL journal, a schema version with forward migrations, and an application
id so a foreign database is refused rather than written into. The recorder
sink writes as the session runs, in a worker thread, and commits at least once
a second; a session that never wrote its end (crash, power loss) stays
readable and is reported as unfinished.

Where things live: ``files`` (paths, private modes), ``schema`` (identity,
version, migrations: add a table there), ``database`` (the open store and its
queries), ``practice`` (ratings, sessions as outcomes), ``writer`` and
``rows`` (rows in and out), ``baseline`` (a person's resting values), ``recorder``
(the sink).
"""

from typing import TYPE_CHECKING

from biofeedback.store.database import BUSY_TIMEOUT_MS, Store, StoreOpening, end_unfinished
from biofeedback.store.errors import SessionNotFoundError, StoreError, StoreOpenError
from biofeedback.store.files import (
    ENV_DB,
    default_db_path,
    exporting,
    is_store_file,
    make_private_dir,
    open_private,
    resolve_db_path,
)
from biofeedback.store.practice import load_ratings, outcomes, save_ratings
from biofeedback.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    from biofeedback.store.baseline import RestingBaseline
    from biofeedback.store.recorder import COMMIT_EVERY_S, RecorderSink

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "COMMIT_EVERY_S",
    "ENV_DB",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "RecorderSink",
    "RestingBaseline",
    "SessionNotFoundError",
    "Store",
    "StoreError",
    "StoreOpenError",
    "StoreOpening",
    "default_db_path",
    "end_unfinished",
    "exporting",
    "is_store_file",
    "load_ratings",
    "make_private_dir",
    "open_private",
    "outcomes",
    "resolve_db_path",
    "save_ratings",
]


def __getattr__(name: str) -> object:
    # The recorder brings asyncio and a thread pool (~40 ms of a start): the
    # commands that only read the store (review, history, export) never need it.
    if name in ("COMMIT_EVERY_S", "RecorderSink"):
        from biofeedback.store import recorder

        return getattr(recorder, name)
    if name == "RestingBaseline":
        # Only a session of the person's own heart reads one (see baseline.py).
        from biofeedback.store.baseline import RestingBaseline

        return RestingBaseline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
