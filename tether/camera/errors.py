"""Camera errors, one tree, each with a message a photographer can act on."""
from __future__ import annotations

from tether.errors import Busy, InvalidInput, NotFound, TetherError


class CameraError(TetherError):
    """Something went wrong talking to a camera."""


class CameraNotFound(CameraError, NotFound):
    """No camera answers at the given id."""


class CameraBusy(CameraError, Busy):
    """The camera (or tether's owner of it) is doing something else; try again later."""


class CameraDisconnected(CameraError):
    """The camera went away: unplugged, switched off, or its driver died."""


class DriverCrashed(CameraDisconnected):
    """The libgphoto2 child process crashed or hung; the camera will be re-opened."""


class Unsupported(CameraError):
    """This camera (or this libgphoto2) cannot do what was asked."""


class InvalidValue(CameraError, InvalidInput):
    """A setting value outside what the camera accepts."""


class CorruptFrame(CameraError):
    """The camera sent image bytes that do not decode."""
