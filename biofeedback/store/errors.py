"""The store's errors: one root, a subclass per way it can go wrong."""

from __future__ import annotations

from biofeedback import BiofeedbackError


class StoreError(BiofeedbackError):
    """The session store cannot be used as asked."""


class StoreOpenError(StoreError):
    """The file is not a usable session store (foreign, damaged or too new)."""


class SessionNotFoundError(StoreError):
    """No recorded session matches what was asked for."""


class CentralError(StoreError):
    """The central database refused, or cannot be reached."""


def one_line(exc: BaseException) -> str:
    """An error's text on one short line, for a message to the person."""
    return " ".join(str(exc).split())[:200] or type(exc).__name__
