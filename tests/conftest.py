from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The records' cache (biofeedback/models/record.py) is found when the package is first
# imported, while the tests are collected, before any fixture runs, and written when
# this process exits: a folder of this run's own keeps it out of the real ~/.cache.
# Removed at exit after the cache's write (atexit runs the last registered first, and
# the package registers its write later, at import).
_CACHE = tempfile.mkdtemp(prefix="biofeedback-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
SHARED_RR = ROOT / "tests" / "data" / "rr"


@pytest.fixture(scope="session")
def shared_rr() -> Path:
    """The real recordings kept in tests/data/rr (licences in its README)."""
    assert SHARED_RR.is_dir(), f"expected the shared recordings at {SHARED_RR}"
    return SHARED_RR


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """No test reads or writes the real user's config, data or session store."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("BIOFEEDBACK_DB", str(home / "sessions.db"))
    return home
