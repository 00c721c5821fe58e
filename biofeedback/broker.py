"""Where and how to reach an MQTT broker: the URL and the settings beside it.

Pure (no network): the CLI parses and checks these before a session starts,
so a bad URL or setting is a one-line error, not a failed session.
Credentials come from the environment or the config file only.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from biofeedback import BiofeedbackError, config
from biofeedback.models.record import record

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
RUNNER_ID_MAX = 64


class MqttConfigError(BiofeedbackError):
    """A broker URL or MQTT setting that cannot be used as given."""


class RunnerIdError(MqttConfigError):
    """A runner id that cannot be one MQTT topic level."""


def validate_runner_id(runner: str) -> str:
    """Return ``runner`` if it can be a single topic level, else raise."""
    if not runner:
        raise RunnerIdError("the MQTT runner id is empty; set BIOFEEDBACK_MQTT_RUNNER")
    bad = sorted({c for c in runner if c in "+#/" or not c.isprintable() or c.isspace()})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise RunnerIdError(
            f"the MQTT runner id {runner!r} contains {shown}; use letters, digits, - or _"
        )
    if len(runner) > RUNNER_ID_MAX:
        raise RunnerIdError(f"the MQTT runner id is longer than {RUNNER_ID_MAX} characters")
    return runner


# --------------------------------------------------------------------------
# Where and how to connect


@record(frozen=True, slots=True)
class BrokerUrl:
    """``mqtt[s]://[user@]HOST[:PORT][/TOPIC]``, parsed."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    topic: str | None = None

    @property
    def where(self) -> str:
        """Host and port, for messages (never the user name)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_url(url: str, *, topic: bool = False) -> BrokerUrl:
    """Parse a broker URL; ``topic`` says whether a path (the topic) is required.

    A password in the URL is refused: it would sit in shell history and in
    the process list.
    """
    # Up to the last @: a password may itself hold @ or /, and a URL too
    # broken to parse must not echo it either.
    shown = re.sub(r"//.*@", "//…@", url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise MqttConfigError(f"bad broker URL {shown!r}: {exc}") from None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise MqttConfigError(f"bad broker URL {shown!r}: the port must be a number 1-65535")
    if parts.scheme not in ("mqtt", "mqtts"):
        raise MqttConfigError(f"bad broker URL {shown!r}: it must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise MqttConfigError(f"bad broker URL {shown!r}: no host")
    if parts.password is not None:
        raise MqttConfigError(
            "put the MQTT password in BIOFEEDBACK_MQTT_PASSWORD or the config file, not in the URL"
        )
    if parts.query or parts.fragment:
        raise MqttConfigError(f"bad broker URL {shown!r}: unexpected ?query or #fragment")
    path = unquote(parts.path).strip("/")
    if topic:
        if not path:
            raise MqttConfigError(f"bad broker URL {shown!r}: add the topic, mqtt://HOST/TOPIC")
        if "+" in path or "#" in path:
            raise MqttConfigError(f"bad broker URL {shown!r}: the topic cannot hold + or #")
    elif path:
        raise MqttConfigError(f"bad broker URL {shown!r}: expected no path, mqtt://HOST[:PORT]")
    tls = parts.scheme == "mqtts"
    return BrokerUrl(
        host=parts.hostname,
        port=port if port is not None else (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        topic=path or None,
    )


@record(frozen=True, slots=True)
class MqttSettings:
    """Everything about MQTT that is not in the URL.

    From ``[mqtt]`` in the config file, overridden by ``BIOFEEDBACK_MQTT_*``
    environment variables. ``repr`` hides the password.
    """

    runner: str = "biofeedback"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    discovery: bool = False
    discovery_prefix: str = "homeassistant"
    expire_after_s: int = 30
    # Also publish the whole record (`run --mqtt-record`), for a central copy.
    record: bool = False


_SETTING_NAMES = {
    "runner": str,
    "username": str,
    "password": str,
    "ca_file": str,
    "cert_file": str,
    "key_file": str,
    "discovery": bool,
    "discovery_prefix": str,
    "expire_after_s": int,
    "record": bool,
}


def load_settings(env: Mapping[str, str] | None = None, path: Path | None = None) -> MqttSettings:
    """Settings from the config file, then the environment on top."""
    env = os.environ if env is None else env
    path = config.config_path() if path is None else path
    values: dict[str, Any] = {"runner": _default_runner()}
    try:
        table = (config.read_toml(path) or {}).get("mqtt", {})
    except config.ConfigError as exc:
        raise MqttConfigError(str(exc)) from None
    if not isinstance(table, dict):
        raise MqttConfigError(f"{path}: [mqtt] must be a table")
    for key, value in table.items():
        kind = _SETTING_NAMES.get(key)
        if kind is None:
            raise MqttConfigError(
                f"{path}: unknown [mqtt] setting {key!r}; known: {', '.join(_SETTING_NAMES)}"
            )
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MqttConfigError(f"{path}: [mqtt] {key} must be a {kind.__name__}")
        values[key] = value
    for key, kind in _SETTING_NAMES.items():
        raw = env.get(f"BIOFEEDBACK_MQTT_{key.upper()}")
        if raw is None:
            continue
        values[key] = _from_env(key, kind, raw)
    settings = MqttSettings(**values)
    validate_runner_id(settings.runner)
    if not 0 < settings.expire_after_s <= 86400:
        raise MqttConfigError("the MQTT expire_after_s setting must be 1 to 86400 seconds")
    return settings


def _from_env(key: str, kind: type, raw: str) -> object:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise MqttConfigError(f"BIOFEEDBACK_MQTT_{key.upper()} must be 1 or 0")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise MqttConfigError(f"BIOFEEDBACK_MQTT_{key.upper()} must be a number") from None
    return raw


def _default_runner() -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", socket.gethostname()).strip("-").lower()
    return name[:64] or "biofeedback"
