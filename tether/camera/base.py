"""The camera interface every driver implements: the simulator, libgphoto2, and its proxy.

A camera is used by one thread at a time (its owner); nothing here is thread-safe.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from tether.camera.errors import InvalidValue, Unsupported
from tether.camera.types import CameraInfo, CapturedFile, FocusDirection, Frame, MovieFile, Setting, StepClass

#: ``progress(bytes done, bytes in all)`` while a movie downloads; (0, 0) while the camera is still writing it.
Progress = Callable[[int, int], None]


class Camera(ABC):
    """An open connection to one camera."""

    @property
    @abstractmethod
    def info(self) -> CameraInfo:
        """Identity and capabilities; valid after open()."""

    @abstractmethod
    def open(self) -> None:
        """Connect; raises CameraNotFound, CameraBusy or CameraDisconnected."""

    @abstractmethod
    def close(self) -> None:
        """Release the camera; safe to call twice."""

    @abstractmethod
    def settings(self) -> list[Setting]:
        """Every setting the camera exposes, as typed descriptors with current values."""

    def _write_setting(self, name: str, value: Any) -> None:
        """Send an already validated value to the camera (a driver that writes settings overrides this)."""
        raise Unsupported(f"{self.info.model} settings cannot be changed")

    def get_setting(self, name: str) -> Setting:
        for setting in self.settings():
            if setting.name == name:
                return setting
        known = ", ".join(s.name for s in self.settings())
        raise InvalidValue(f"this camera has no setting {name!r}", hint=f"known settings: {known}")

    def set_setting(self, name: str, value: Any) -> Setting:
        """Validate ``value`` against the descriptor, send it, and return the updated descriptor."""
        setting = self.get_setting(name)
        checked = setting.validate(value)
        self._write_setting(name, checked)
        return self.get_setting(name)

    def live_view_frame(self) -> Frame:
        """The next live-view frame (JPEG)."""
        raise Unsupported(f"{self.info.model} has no live view over USB")

    def capture_still(self) -> CapturedFile:
        """Take a picture and download it."""
        raise Unsupported(f"{self.info.model} cannot capture stills over USB")

    def drive_focus(self, direction: FocusDirection, step: StepClass, count: int = 1) -> None:
        """Move the focus motor ``count`` steps of class ``step`` toward ``direction``.

        There is no readback: the caller counts steps. End stops clamp silently.
        """
        raise Unsupported(self.info.capabilities.focus_drive_note or f"{self.info.model} cannot drive focus over USB")

    def start_movie(self) -> float:
        """Start recording a movie; returns time.time() when recording began, as near as the driver knows."""
        raise Unsupported(f"{self.info.model} cannot record movies over USB")

    def stop_movie(self, dest: str, progress: Progress | None = None) -> MovieFile:
        """Stop recording, wait for the camera's file and download it to ``dest`` (streamed, never whole in
        memory), reporting ``progress``."""
        raise Unsupported(f"{self.info.model} cannot record movies over USB")

    def __enter__(self) -> Camera:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
