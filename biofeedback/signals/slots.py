"""``builder``, for the estimators: it lives in ``models.slots`` (the sources, a floor
below ``signals``, build their samples with it too)."""

from __future__ import annotations

from biofeedback.models.slots import builder

__all__ = ["builder"]
