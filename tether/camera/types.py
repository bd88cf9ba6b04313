"""Plain data that crosses the camera interface: identity, capabilities, settings, frames."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tether.camera.errors import InvalidValue


class StepClass(StrEnum):
    """Focus-drive step sizes; each vendor maps them to its own widget values."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class FocusDirection(StrEnum):
    NEAR = "near"
    FAR = "far"


class SettingKind(StrEnum):
    CHOICE = "choice"
    RANGE = "range"
    TOGGLE = "toggle"
    TEXT = "text"


@dataclass(frozen=True)
class Capabilities:
    live_view: bool = False
    still_capture: bool = False
    focus_drive: bool = False
    movie: bool = False
    #: Why focus drive is unavailable when it is (e.g. a known libgphoto2 defect).
    focus_drive_note: str = ""

    def names(self) -> list[str]:
        """The capability names that are present, for one-line listings."""
        return [n for n in ("live_view", "still_capture", "focus_drive", "movie") if getattr(self, n)]


@dataclass(frozen=True)
class CameraInfo:
    """Who a camera is: its id (port-like string), model and what it can do."""

    id: str
    model: str
    manufacturer: str = ""
    serial: str = ""
    lens: str = ""
    capabilities: Capabilities = field(default_factory=Capabilities)
    simulated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "manufacturer": self.manufacturer,
            "serial": self.serial,
            "lens": self.lens,
            "simulated": self.simulated,
            "capabilities": self.capabilities.names(),
            "focus_drive_note": self.capabilities.focus_drive_note,
        }


@dataclass(frozen=True)
class Setting:
    """A typed descriptor of one camera setting, enough to build a form field from."""

    name: str
    label: str
    kind: SettingKind
    value: Any
    read_only: bool = False
    group: str = "other"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None

    def validate(self, value: Any) -> Any:
        """Return ``value`` in this setting's type, or raise InvalidValue saying what is allowed."""
        if self.read_only:
            raise InvalidValue(f"{self.label} is read-only on this camera")
        if self.kind is SettingKind.CHOICE:
            text = str(value)
            if text not in self.choices:
                raise InvalidValue(
                    f"{self.label} cannot be {text!r}", hint="choose one of: " + ", ".join(self.choices)
                )
            return text
        if self.kind is SettingKind.TOGGLE:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "on", "true", "yes"):
                return True
            if text in ("0", "off", "false", "no"):
                return False
            raise InvalidValue(f"{self.label} must be on or off, not {value!r}")
        if self.kind is SettingKind.RANGE:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidValue(f"{self.label} must be a number, not {value!r}") from None
            lo, hi = self.minimum, self.maximum
            if not math.isfinite(number) or (lo is not None and number < lo) or (hi is not None and number > hi):
                raise InvalidValue(f"{self.label} must be between {lo:g} and {hi:g}, not {value!r}")
            return number
        return str(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind.value,
            "value": self.value,
            "read_only": self.read_only,
            "group": self.group,
            "choices": list(self.choices),
            "minimum": self.minimum,
            "maximum": self.maximum,
            "step": self.step,
        }


@dataclass(frozen=True)
class Frame:
    """One live-view frame: the camera's JPEG bytes, unchanged."""

    data: bytes
    timestamp: float
    width: int
    height: int
    mime: str = "image/jpeg"


@dataclass(frozen=True)
class CapturedFile:
    """A file the camera produced (a still or a movie), downloaded as bytes."""

    data: bytes
    name: str
    mime: str
    timestamp: float
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class MovieFile:
    """A movie the camera recorded, downloaded to a local file (``path``) that the caller owns."""

    path: str
    name: str
    mime: str
    size: int
    #: time.time() when the camera began recording, as near as the driver knows it.
    started: float
