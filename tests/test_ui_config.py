"""The dashboard's settings in config.toml: reduced motion and remapped keys."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from biofeedback import config
from tests.support.cli import run_on_terminal


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "biofeedback" / "config.toml"


def write_config(text: str) -> None:
    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text(text)


def test_dashboard_settings_load_and_survive_pairing() -> None:
    write_config(
        '[dashboard]\nreduced_motion = true\n[dashboard.keys]\n"session.skip" = "n"\n'
        '[mqtt]\nhost = "broker.local"\n'
    )
    assert config.load().dashboard == config.DashboardConfig(True, (("session.skip", "n"),))
    config.remember_device(config.PairedDevice("C0:FF:EE:00:18:0D", "Strap"))
    saved = config.load()
    assert saved.device == config.PairedDevice("C0:FF:EE:00:18:0D", "Strap")
    assert saved.dashboard == config.DashboardConfig(True, (("session.skip", "n"),))
    assert tomllib.loads(config_file().read_text())["mqtt"] == {"host": "broker.local"}


@pytest.mark.parametrize(
    "text",
    ["[dashboard]\nreduced_motion = 1\n", '[dashboard.keys]\n"session.skip" = 3\n'],
)
def test_a_wrong_dashboard_table_is_one_clear_error(text: str) -> None:
    write_config(text)
    with pytest.raises(config.ConfigError, match=r"\[dashboard\]"):
        config.load()


def test_the_dashboard_uses_the_keys_from_the_config() -> None:
    write_config('[dashboard.keys]\n"session.close" = "x"\n')
    out = run_on_terminal(
        ["run", "--sim", "--speed", "max", "--duration", "10", "--no-ratings"],
        until=b"Press x to close",
        then=b"x",
    )
    assert "duration reached after 0:10." in out
