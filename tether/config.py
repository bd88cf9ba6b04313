"""Typed settings loaded from TOML: defaults < config file < command-line flags.

A misspelt key or a bad value stops start-up with one line naming the file, the
key, the value and what is allowed.
"""
from __future__ import annotations

import ipaddress
import os
import tomllib
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from tether.errors import TetherError

APP_NAME = "tether"


class ConfigError(TetherError):
    """The configuration file or a flag holds something tether cannot use."""

    exit_code = 2


#: Which libgphoto2 a camera process loads: the one python-gphoto2's wheel bundles, the OS's, or auto.
GPHOTO_LIBRARIES = ("auto", "wheel", "system")


def _opt(default: Any, help: str, **rules: Any) -> Any:
    """A settings field with its documentation and validation rules (choices, min, max)."""
    factory = (lambda: list(default)) if isinstance(default, list) else None
    meta = {"help": help, **rules}
    if factory:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


#: Host names that reach this machine only: a server bound to one of them needs no token.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.1, ::1 and localhost: the only binds that need no token.

    Other 127.x addresses count as non-loopback on purpose: they are unusual, and tests use
    127.0.0.2 to exercise the token path without leaving the machine.
    """
    return host.strip().lower() in LOOPBACK_NAMES


def bare_host(host: str) -> str:
    """A [server] host or ``--host`` as a socket takes it: an IPv6 address without the brackets a URL puts
    round it ("[::1]" is ::1). ValueError for what is no host at all ("0.0.0.0:80": the port has its own
    option)."""
    bare = host.strip()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    if ":" in bare:
        ipaddress.IPv6Address(bare)  # the ValueError names no host: callers say which and why
    return bare


def host_port(host: str, port: int) -> str:
    """``host:port`` as a URL writes it: an IPv6 address in brackets ("[::1]:8420")."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class ServerSettings:
    host: str = _opt("127.0.0.1", "interface to listen on; anything but loopback requires a token")
    port: int = _opt(8420, "TCP port of the control panel", min=1, max=65535)
    token: str = _opt("", "access token for non-loopback use; empty = generate one at start")


@dataclass(frozen=True)
class PathSettings:
    data_dir: str = _opt("", "where bursts, exports and logs go; empty = the platform's user data folder")


@dataclass(frozen=True)
class CameraSettings:
    default: str = _opt("", "camera id to open by default; empty = the first real camera, else the simulator")
    ptpip: list[str] = _opt([], "PTP/IP cameras to list, as ids like 'ptpip:192.168.1.20:15740'")


@dataclass(frozen=True)
class SimSettings:
    liveview_width: int = _opt(1920, "simulated live-view width in pixels", min=64, max=7680)
    liveview_height: int = _opt(1080, "simulated live-view height in pixels", min=48, max=4320)
    liveview_fps: float = _opt(30.0, "simulated live-view frame rate", min=1.0, max=120.0)
    still_width: int = _opt(4000, "simulated still width in pixels", min=64, max=12000)
    still_height: int = _opt(3000, "simulated still height in pixels", min=48, max=9000)
    seed: int = _opt(0, "random seed of the simulated scenes, noise and motor", min=0)
    movie: bool = _opt(True, "the simulated camera records movies (false: one that cannot, as many cannot over USB)")
    movie_width: int = _opt(3840, "simulated movie width in pixels", min=64, max=7680)
    movie_height: int = _opt(2160, "simulated movie height in pixels", min=48, max=4320)
    focus_step_ms: float = _opt(
        2.0, "simulated focus motor: milliseconds per step command (0 = instant)", min=0.0, max=1000.0
    )
    focus_movie_latency_ms: float = _opt(
        100.0, "simulated focus motor while recording a movie: milliseconds from a command to the lens moving",
        min=0.0, max=2000.0,
    )
    focus_movie_speed: float = _opt(
        400.0, "simulated focus motor while recording a movie: units a second (0 = moves at once)", min=0.0,
        max=100000.0,
    )
    focus_backlash: int = _opt(3, "simulated focus motor: units of play taken up after reversing", min=0, max=50)
    focus_step_error: float = _opt(
        0.05, "simulated focus motor: chance a step lands one unit short or long", min=0.0, max=1.0
    )
    faults: str = _opt(
        "", "faults injected into every simulated camera, like an id's query: 'busy_rate=0.05&slow_ms=100'"
    )


@dataclass(frozen=True)
class GphotoSettings:
    call_timeout: float = _opt(10.0, "seconds a libgphoto2 call may take before the driver is restarted", min=0.5)
    library: str = _opt(
        "auto",
        "which libgphoto2: 'wheel' (bundled), 'system' (built against the OS library), 'auto'",
        choices=GPHOTO_LIBRARIES,
    )
    system_path: str = _opt(
        "", "folder holding python-gphoto2 built against the OS libgphoto2; empty = .gphoto2-system in the source tree"
    )
    delete_from_card: bool = _opt(False, "delete a captured still from the camera's card after downloading it")
    debug: bool = _opt(False, "send libgphoto2's internal debug log to tether's log (imports gphoto2 with RTLD_GLOBAL)")


@dataclass(frozen=True)
class ClusterSettings:
    broker: str = _opt(
        "", "Celery broker for stacking on other machines, like 'redis://:PASSWORD@10.0.0.5:6379/0'; "
            "empty = stack in this process (nothing to install)"
    )
    result_backend: str = _opt("", "where task results and states are kept; empty = the broker")
    queue: str = _opt("tether", "the queue tasks are sent to and workers take them from")
    frame_megapixels: float = _opt(
        24.0, "frame size workers plan memory for: a stack needs about 30 MB per megapixel", min=0.1, max=400.0
    )
    task_memory_mb: int = _opt(
        0, "memory (address space) a task may add before it fails as out of memory; 0 = the machine's "
           "available memory over the worker's tasks",
        min=0,
    )
    visibility_timeout: int = _opt(
        3600, "seconds after which a task taken by a worker that vanished (machine off) goes to another; "
              "longer than the longest stack", min=10,
    )


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    sim: SimSettings = field(default_factory=SimSettings)
    gphoto: GphotoSettings = field(default_factory=GphotoSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    #: Where these settings came from, for messages ("" = defaults only).
    source: str = ""

    @property
    def data_dir(self) -> Path:
        if self.paths.data_dir:
            return Path(self.paths.data_dir).expanduser()
        return Path(platformdirs.user_data_dir(APP_NAME))

    def with_overrides(self, overrides: dict[str, dict[str, Any]], *, origin: str = "command line") -> Settings:
        """A copy with ``{"section": {"key": value}}`` applied and validated."""
        return _apply(self, overrides, origin)


SECTIONS: dict[str, type] = {
    f.name: typing.get_type_hints(Settings)[f.name] for f in fields(Settings) if f.name != "source"
}


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load_settings(
    path: str | os.PathLike[str] | None = None, overrides: dict[str, dict[str, Any]] | None = None
) -> Settings:
    """Settings from ``path`` (else $TETHER_CONFIG, else the user config file if present), then overrides."""
    explicit = path or os.environ.get("TETHER_CONFIG")
    candidate = Path(explicit) if explicit else default_config_path()
    settings = Settings()
    if explicit and not candidate.is_file():
        raise ConfigError(
            f"{candidate}: "
            + ("not a file (a config file is a TOML text file)" if candidate.exists() else "config file not found")
        )
    if candidate.is_file():
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{candidate}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{candidate}: cannot read: {exc.strerror}") from None
        settings = _apply(replace(settings, source=str(candidate)), data, str(candidate))
    return _apply(settings, overrides or {}, "command line")


def _apply(settings: Settings, data: dict[str, Any], origin: str) -> Settings:
    changes: dict[str, Any] = {}
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{origin}: unknown section [{section}]; allowed: {', '.join(SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: {section} must be a table [{section}], not {values!r}")
        current = changes.get(section, getattr(settings, section))
        changes[section] = _apply_section(current, section, values, origin)
    return replace(settings, **changes)


def _apply_section(current: Any, section: str, values: dict[str, Any], origin: str) -> Any:
    hints = typing.get_type_hints(type(current))
    specs = {f.name: f for f in fields(current)}
    checked = {}
    for key, value in values.items():
        if key not in specs:
            raise ConfigError(f"{origin}: [{section}] {key} = {value!r}: unknown key; allowed: {', '.join(specs)}")
        checked[key] = _check(f"{origin}: [{section}] {key} = {value!r}", hints[key], specs[key].metadata, value)
    return replace(current, **checked)


def _check(where: str, kind: Any, rules: typing.Mapping[str, Any], value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: must be true or false")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: must be a whole number")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: must be a number")
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: must be a string in quotes")
    elif typing.get_origin(kind) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: must be a list of strings")
        value = list(value)
    if "choices" in rules and value not in rules["choices"]:
        raise ConfigError(f"{where}: allowed values are {', '.join(map(repr, rules['choices']))}")
    if "min" in rules and value < rules["min"]:
        raise ConfigError(f"{where}: must be at least {rules['min']}")
    if "max" in rules and value > rules["max"]:
        raise ConfigError(f"{where}: must be at most {rules['max']}")
    return value


def documented_keys() -> list[tuple[str, str, Any, str]]:
    """(section, key, default, help) for every setting, so docs and tests can check config.example.toml."""
    rows = []
    for section, cls in SECTIONS.items():
        instance = cls()
        for f in fields(cls):
            rows.append((section, f.name, getattr(instance, f.name), f.metadata.get("help", "")))
    return rows
