"""Config loading: defaults, file, overrides, and one clear line for every kind of mistake."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tether.config import ConfigError, Settings, documented_keys, load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_without_any_file():
    settings = load_settings()
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8420
    assert settings.data_dir.name == "tether"


def test_file_then_overrides_take_precedence(tmp_path):
    path = write(tmp_path, '[server]\nport = 9000\nhost = "127.0.0.1"\n[sim]\nliveview_fps = 24\n')
    settings = load_settings(path, {"server": {"port": 9100}})
    assert settings.server.port == 9100
    assert settings.sim.liveview_fps == 24.0 and isinstance(settings.sim.liveview_fps, float)
    assert settings.source == str(path)


def test_env_variable_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TETHER_CONFIG", str(write(tmp_path, '[paths]\ndata_dir = "/srv/photos"\n')))
    assert load_settings().data_dir == Path("/srv/photos")


def test_user_config_file_is_found(isolated_env):
    user_file = isolated_env / ".config" / "tether" / "config.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text("[server]\nport = 8555\n")
    assert load_settings().server.port == 8555


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nprot = 8420\n", ["[server] prot = 8420", "unknown key", "allowed: host, port, token"]),
        ("[sever]\nport = 1\n", ["unknown section [sever]", "allowed: server"]),
        ('[server]\nport = "eighty"\n', ["[server] port = 'eighty'", "whole number"]),
        ("[server]\nport = 70000\n", ["port = 70000", "at most 65535"]),
        ("[sim]\nliveview_fps = true\n", ["liveview_fps = True", "must be a number"]),
        ('[gphoto]\nlibrary = "bundled"\n', ["library = 'bundled'", "allowed values are 'auto', 'wheel', 'system'"]),
        ("[camera]\nptpip = [1, 2]\n", ["ptpip = [1, 2]", "list of strings"]),
        ('server = "x"\n', ["must be a table"]),
        ("[server\nport = 1\n", ["not valid TOML"]),
    ],
)
def test_each_mistake_names_file_key_value_and_what_is_allowed(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    for part in expected:
        assert part in message


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not a file"):  # a folder given by mistake
        load_settings(tmp_path)


def test_example_file_documents_every_key_with_its_default():
    example = tomllib.loads((ROOT / "config.example.toml").read_text())
    for section, key, default, help_text in documented_keys():
        assert section in example, f"config.example.toml lacks [{section}]"
        assert key in example[section], f"config.example.toml lacks [{section}] {key}"
        assert example[section][key] == default, (
            f"[{section}] {key}: example shows {example[section][key]!r}, default is {default!r}"
        )
        assert help_text, f"[{section}] {key} has no help text"
    # And the example itself loads cleanly.
    assert isinstance(load_settings(ROOT / "config.example.toml"), Settings)
