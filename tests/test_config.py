"""Settings and the remembered strap: XDG dir, private file, clear errors."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from biofeedback import config, user_folders
from biofeedback.inputs import shipped_entry
from biofeedback.store import default_db_path


def test_no_file_means_defaults() -> None:
    assert config.load() == config.Settings()


def test_the_file_lives_in_the_xdg_config_dir() -> None:
    assert (
        config.config_path() == Path(os.environ["XDG_CONFIG_HOME"]) / "biofeedback" / "config.toml"
    )


def test_remembered_device_round_trips_privately() -> None:
    device = config.PairedDevice("C0:FF:EE:00:18:0D", 'Polar "H10" \\ 1A2B')
    path = config.remember_device(device)
    assert config.load() == config.Settings(device=device)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]


def test_a_loose_config_dir_is_tightened() -> None:
    directory = config.config_dir()
    directory.mkdir(parents=True, mode=0o755)
    config.remember_device(config.PairedDevice("C0:FF:EE:00:18:0D"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert config.load().device == config.PairedDevice("C0:FF:EE:00:18:0D", None)


@pytest.mark.parametrize("text", ["[device\n", "[device]\nname = 3\n", "device = 1\n"])
def test_a_broken_file_is_one_clear_error(text: str) -> None:
    path = config.config_path()
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(config.ConfigError, match=str(path)):
        config.load()


def test_pairing_keeps_the_other_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import tomllib

    from biofeedback import config

    path = tmp_path / "config.toml"
    path.write_text(
        '[mqtt]\nrunner = "bedroom"\npassword = "s3cret"\ndiscovery = true\nexpire_after_s = 90\n'
        '[mqtt.tls]\nca_file = "/etc/ca.pem"\n'
        '[device]\naddress = "AA:BB:CC:DD:EE:01"\n'
    )
    config.remember_device(config.PairedDevice("AA:BB:CC:DD:EE:02", "Polar H10"), path)
    data = tomllib.loads(path.read_text())
    assert data["device"] == {"address": "AA:BB:CC:DD:EE:02", "name": "Polar H10"}
    assert data["mqtt"] == {
        "runner": "bedroom",
        "password": "s3cret",
        "discovery": True,
        "expire_after_s": 90,
        "tls": {"ca_file": "/etc/ca.pem"},
    }


def test_a_hand_made_config_readable_by_others_is_made_private() -> None:
    # Written by hand with umask 022, holding the broker password.
    directory = config.config_dir()
    directory.mkdir(parents=True, mode=0o755)
    os.chmod(directory, 0o755)
    path = config.config_path()
    path.write_text('[mqtt]\nusername = "fay"\npassword = "hunter2"\n', encoding="utf-8")
    os.chmod(path, 0o644)
    from biofeedback.broker import load_settings

    assert load_settings(env={}).password == "hunter2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    os.chmod(path, 0o644)
    assert config.load().device is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# (XDG variable, HOME): None leaves the variable unset. The common cases (absolute or no
# variable, an absolute home) are answered without platformdirs; the rest are its own.
_XDG_CASES = [
    ("/x/conf", "/home/p"),
    ("/x/conf/", "/home/p"),
    ("//x/conf", "/home/p"),
    ("/x/with space ", "/home/p"),
    (None, "/home/p"),
    ("", "/home/p"),
    (None, "/home/p/"),
    (None, "/"),
    ("   ", "/home/p"),
    ("relative/conf", "/home/p"),
    ("~/conf", "/home/p"),
    (None, "relative-home"),
    ("", None),
    ("/x/conf", None),
]


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG rules are Linux's")
def test_our_folders_are_where_platformdirs_puts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    fast = 0
    for variable, folder, ours, reference in (
        (
            "XDG_CONFIG_HOME",
            config.config_dir,
            user_folders.config_folder,
            platformdirs.user_config_path,
        ),
        ("XDG_DATA_HOME", config.data_dir, user_folders.data_folder, platformdirs.user_data_path),
        # The caches: none where the rules do not answer.
        ("XDG_CACHE_HOME", None, user_folders.cache_folder, platformdirs.user_cache_path),
    ):
        for value, home in _XDG_CASES:
            for name, set_to in ((variable, value), ("HOME", home)):
                if set_to is None:
                    monkeypatch.delenv(name, raising=False)
                else:
                    monkeypatch.setenv(name, set_to)
            expected = reference("biofeedback")
            if folder is not None:
                assert folder() == expected, (variable, value, home)
            found = ours()
            if found is not None:
                assert found == str(expected), (variable, value, home)
                fast += 1
            if variable == "XDG_CACHE_HOME":
                entry = shipped_entry("x")
                assert entry == (None if found is None else Path(found, "shipped-toml", "x.json"))
    # Answered by the rules (not handed to platformdirs): the 9 common cases of each.
    assert fast == 3 * 9
    monkeypatch.setenv("BIOFEEDBACK_DB", "")
    monkeypatch.setenv("XDG_DATA_HOME", "/x/data")
    assert default_db_path() == platformdirs.user_data_path("biofeedback") / "sessions.db"
