"""The store's errors: one root, a subclass per way it can go wrong."""

from __future__ import annotations

from biofeedback import BiofeedbackError


class StoreError(BiofeedbackError):
    """The session store cannot be used as asked."""


class StoreOpenError(StoreError):
    """The file is not a usable session store (foreign, damaged or too new)."""


class SessionNotFoundError(StoreError):
    """No recorded session matches what was asked for."""
