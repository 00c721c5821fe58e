"""User settings and the remembered strap, in the XDG config dir.

The file is ``$XDG_CONFIG_HOME/biofeedback/config.toml`` (the XDG rules, and
platformdirs where they do not decide), written 0600 in a 0700 dir because a strap
address ties a file to a person. Writes go through a temporary file and a rename,
so a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any

from biofeedback import BiofeedbackError, inputs, user_folders
from biofeedback.models.record import record

APP_NAME = user_folders.APP_NAME
FILE_NAME = "config.toml"


class ConfigError(BiofeedbackError):
    """The config file cannot be read or written."""


@record(frozen=True, slots=True)
class PairedDevice:
    """The strap ``run`` uses when no source is given."""

    address: str
    name: str | None = None


@record(frozen=True, slots=True)
class DashboardConfig:
    """The ``[dashboard]`` table: motion, and keys by binding id (``"session.skip" = "n"``)."""

    reduced_motion: bool = False
    keys: tuple[tuple[str, str], ...] = ()


@record(frozen=True, slots=True)
class AudioConfig:
    """The ``[audio]`` table: sound for eyes-closed practice."""

    # on | off | tones; None: on when there is a sound output, quietly off when not.
    mode: str | None = None
    volume: float = 0.8
    voice: str = "en-us"
    rate: int = 150
    tones: bool = True
    voice_folder: Path | None = None


AUDIO_MODES = ("on", "off", "tones")


@record(frozen=True, slots=True)
class Settings:
    """Everything config.toml holds for the runner: the paired strap, the dashboard, sound."""

    device: PairedDevice | None = None
    dashboard: DashboardConfig = DashboardConfig()
    audio: AudioConfig = AudioConfig()


def config_dir() -> Path:
    """Our folder in the user config dir: ``$XDG_CONFIG_HOME/biofeedback`` on Linux."""
    found = user_folders.config_folder()
    if found is not None:
        return Path(found)
    import platformdirs

    return platformdirs.user_config_path(APP_NAME)


def data_dir() -> Path:
    """Our folder in the user data dir (the session store's): ``$XDG_DATA_HOME/biofeedback``
    on Linux."""
    found = user_folders.data_folder()
    if found is not None:
        return Path(found)
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


def config_path() -> Path:
    return config_dir() / FILE_NAME


def read_text(path: Path) -> str:
    """The config file's text, first made 0600 if others could read it.

    It may hold broker credentials and a strap address, and people create or
    copy it by hand with whatever their umask gives.
    """
    targets = [(path, 0o600)]
    if path.parent == config_dir():  # our own folder; a folder given to us is not
        targets.append((path.parent, 0o700))
    for target, private in targets:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if stat.S_IMODE(target.stat().st_mode) & 0o077:
                os.chmod(target, private)
    return inputs.read_text(path)


def read_toml(path: Path) -> dict[str, Any] | None:
    """The config file parsed, None when there is none; ConfigError when it is unusable."""
    try:
        return inputs.parse_toml(read_text(path))
    except inputs.InputMissingError:
        return None
    except inputs.InputFileError as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix or delete the file") from None


def load(path: Path | None = None) -> Settings:
    """The saved settings; defaults when there is no file yet."""
    path = path or config_path()
    data = read_toml(path)
    if data is None:
        return Settings()
    return _settings_from(data, path)


def load_table(name: str, path: Path | None = None) -> dict[str, Any] | None:
    """One top-level table of the file as parsed (e.g. ``[plan]``), None when absent."""
    path = path or config_path()
    data = read_toml(path)
    if data is None:
        return None
    table = data.get(name)
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: {name} must be a table ([{name}])")
    return table


def save_table(
    name: str, table: dict[str, Any], path: Path | None = None, *, by: str = "biofeedback"
) -> Path:
    """Write one top-level table (e.g. ``[plan]``), keeping every other setting;
    ``by``: the command that wrote it, said in the file's first line."""
    return save(load(path), path, tables={name: table}, by=by)


def save(
    settings: Settings,
    path: Path | None = None,
    *,
    tables: dict[str, Any] | None = None,
    by: str = "biofeedback",
) -> Path:
    """Write ``settings``, keeping every table of the file this module does not own.

    The file also holds other settings (``[mqtt]``, credentials included):
    pairing a strap must never drop them. ``tables`` replaces whole top-level
    tables (plain tables of scalars and lists).
    """
    path = path or config_path()
    existing = read_toml(path) or {}
    for owned in ("device", "dashboard"):
        existing.pop(owned, None)
    existing.update(tables or {})
    try:
        _ensure_private_dir(path.parent)
        _write_private(path, _to_toml(settings, by) + _dump_tables(existing))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def remember_device(device: PairedDevice, path: Path | None = None) -> Path:
    """Store ``device`` as the default strap, keeping every other setting."""
    return save(dataclasses.replace(load(path), device=device), path, by="biofeedback pair")


def _dump_tables(data: dict[str, Any], prefix: str = "") -> str:
    """TOML for plain tables of scalars and lists (all our config file holds)."""
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    out = []
    if prefix and scalars:
        out.append(f"\n[{prefix}]")
    for key, value in scalars:
        out.append(f"{json.dumps(key)} = {_toml_value(value)}")
    text = "\n".join(out) + ("\n" if out else "")
    for key, value in tables:
        text += _dump_tables(value, f"{prefix}.{json.dumps(key)}" if prefix else json.dumps(key))
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string is a valid TOML basic string; dates and the rest keep their text.
    return json.dumps(str(value))


def _settings_from(data: dict[str, Any], path: Path) -> Settings:
    dashboard = _dashboard_from(data.get("dashboard", {}), path)
    audio = _audio_from(data.get("audio", {}), path)
    device = data.get("device")
    if device is None:
        return Settings(dashboard=dashboard, audio=audio)
    address = device.get("address") if isinstance(device, dict) else None
    name = device.get("name") if isinstance(device, dict) else None
    if not isinstance(address, str) or not (name is None or isinstance(name, str)):
        raise ConfigError(
            f'{path}: [device] needs address = "AA:BB:..."; pair again with `biofeedback pair`'
        )
    return Settings(device=PairedDevice(address, name), dashboard=dashboard, audio=audio)


def _audio_from(table: Any, path: Path) -> AudioConfig:
    fix = (
        f'{path}: [audio] takes audio = "on"|"off"|"tones", volume = 0.0 to 1.0,'
        ' voice = "en-us", rate = 80 to 400 (words a minute), tones = true|false,'
        ' voice_folder = "PATH"'
    )
    if not isinstance(table, dict):
        raise ConfigError(fix)
    default = AudioConfig()
    mode = table.get("audio", default.mode)
    volume = table.get("volume", default.volume)
    voice = table.get("voice", default.voice)
    rate = table.get("rate", default.rate)
    tones = table.get("tones", default.tones)
    folder = table.get("voice_folder")
    known = {"audio", "volume", "voice", "rate", "tones", "voice_folder"}
    if (
        set(table) - known
        or (mode is not None and mode not in AUDIO_MODES)
        or isinstance(volume, bool)
        or not isinstance(volume, int | float)
        or not 0.0 <= volume <= 1.0
        or not isinstance(voice, str)
        or not voice.replace("-", "").replace("+", "").isalnum()
        or isinstance(rate, bool)
        or not isinstance(rate, int)
        or not 80 <= rate <= 400
        or not isinstance(tones, bool)
        or not (folder is None or (isinstance(folder, str) and folder))
    ):
        raise ConfigError(fix)
    voice_folder = Path(folder).expanduser() if folder else None
    return AudioConfig(mode, float(volume), voice, rate, tones, voice_folder)


def _dashboard_from(table: Any, path: Path) -> DashboardConfig:
    motion = table.get("reduced_motion", False) if isinstance(table, dict) else None
    keys = table.get("keys", {}) if isinstance(table, dict) else None
    if (
        not isinstance(motion, bool)
        or not isinstance(keys, dict)
        or not all(isinstance(v, str) for v in keys.values())
    ):
        raise ConfigError(
            f"{path}: [dashboard] takes reduced_motion = true|false and [dashboard.keys]"
            ' with "binding.id" = "key"'
        )
    return DashboardConfig(motion, tuple(sorted(keys.items())))


def _to_toml(settings: Settings, by: str) -> str:
    lines = [f"# Written by `{by}`; safe to edit.", ""]
    if settings.device is not None:
        lines.append("[device]")
        # A JSON string is a valid TOML basic string.
        lines.append(f"address = {json.dumps(settings.device.address)}")
        if settings.device.name is not None:
            lines.append(f"name = {json.dumps(settings.device.name)}")
    dashboard = settings.dashboard
    if dashboard != DashboardConfig():
        lines += ["", "[dashboard]", f"reduced_motion = {json.dumps(dashboard.reduced_motion)}"]
        if dashboard.keys:
            lines += ["", "[dashboard.keys]"]
            lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in dashboard.keys]
    return "\n".join(lines) + "\n"


def _ensure_private_dir(directory: Path) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    # Our own dir may predate us with looser rights; the parent is not ours.
    os.chmod(directory, 0o700)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
