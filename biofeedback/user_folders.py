"""The user's config, data and cache folders on Linux, by the XDG rules platformdirs
applies, answered from two environment variables.

platformdirs itself loads tempfile, random and its own modules (~2 ms of every start)
to answer that common case. This module imports nothing that a start has not loaded
already, so every layer may use it (the records' cache is found while the first
model is made). Each function gives our folder (``.../biofeedback``) where every
platformdirs 4 agrees on it: on Linux, ``$XDG_..._HOME`` when it is an absolute path,
else the default folder in an absolute $HOME when the variable is unset or empty.
None for anything else (another system, Android, a relative or blank variable, no
usable home): the config and the data then ask platformdirs, and the caches are not
used.
"""

from __future__ import annotations

import os
import sys

APP_NAME = "biofeedback"


def config_folder() -> str | None:
    """``$XDG_CONFIG_HOME/biofeedback`` (else ``~/.config/biofeedback``)."""
    return _xdg_folder("XDG_CONFIG_HOME", "~/.config")


def data_folder() -> str | None:
    """``$XDG_DATA_HOME/biofeedback`` (else ``~/.local/share/biofeedback``)."""
    return _xdg_folder("XDG_DATA_HOME", "~/.local/share")


def cache_folder() -> str | None:
    """``$XDG_CACHE_HOME/biofeedback`` (else ``~/.cache/biofeedback``)."""
    return _xdg_folder("XDG_CACHE_HOME", "~/.cache")


def _xdg_folder(variable: str, default: str) -> str | None:
    if sys.platform != "linux" or _maybe_android():
        return None
    base = os.environ.get(variable, "")
    if not base:
        if not os.path.isabs(os.environ.get("HOME", "")):
            return None
        base = os.path.expanduser(default)
    elif not os.path.isabs(base):
        return None
    return os.path.join(base, APP_NAME)


def _maybe_android() -> bool:
    # Where platformdirs may choose Android's folders (it looks further).
    return hasattr(sys, "getandroidapilevel") or (
        os.environ.get("ANDROID_DATA") == "/data" and os.environ.get("ANDROID_ROOT") == "/system"
    )
