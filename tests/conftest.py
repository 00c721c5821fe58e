from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_RR = ROOT.parent / "shared" / "data" / "rr"


@pytest.fixture(scope="session")
def shared_rr() -> Path:
    """The real recordings of ../shared/data/rr (CI has shared/ beside the clone)."""
    assert SHARED_RR.is_dir(), f"expected the shared recordings at {SHARED_RR}"
    return SHARED_RR
