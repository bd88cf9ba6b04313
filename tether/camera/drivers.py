"""The one table of camera drivers: an id's scheme picks how tether reaches the camera.

The server opens cameras through :mod:`tether.camera.registry`, the supervised libgphoto2 child
through :func:`driver_for` directly; neither branches on the kind of camera.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tether.camera.base import Camera
from tether.camera.errors import CameraNotFound
from tether.camera.ids import HINT, CameraId
from tether.config import Settings

#: Opens a camera in this process: its id, the settings, and widgets never to read (see the supervisor).
Opener = Callable[[CameraId, Settings, tuple[str, ...]], Camera]


def _simulated(camera_id: CameraId, settings: Settings, skip_widgets: tuple[str, ...]) -> Camera:
    from tether.camera.sim import SimCamera

    return SimCamera(camera_id, settings.sim)


def _libgphoto2(camera_id: CameraId, settings: Settings, skip_widgets: tuple[str, ...]) -> Camera:
    from tether.camera.gphoto import GphotoCamera

    return GphotoCamera(camera_id, delete_from_card=settings.gphoto.delete_from_card, skip_widgets=skip_widgets)


@dataclass(frozen=True)
class Driver:
    """How tether reaches the cameras of one id scheme."""

    label: str
    #: The camera in this process (for libgphoto2, that process is the supervised child).
    open_here: Opener
    #: libgphoto2 can crash or hang: the server runs it in a supervised child process.
    supervised: bool
    #: A simulated camera: the server says so, and its supervised child never loads libgphoto2.
    simulated: bool = False


#: Id scheme -> driver: the one list of the kinds of camera tether can open.
DRIVERS: dict[str, Driver] = {
    "sim": Driver("simulated camera", _simulated, supervised=False, simulated=True),
    "usb": Driver("USB camera, through libgphoto2", _libgphoto2, supervised=True),
    "ptpip": Driver("network camera (PTP/IP), through libgphoto2", _libgphoto2, supervised=True),
}


def driver_for(camera_id: CameraId) -> Driver:
    """The driver of ``camera_id``'s scheme; CameraNotFound for a scheme tether does not know."""
    driver = DRIVERS.get(camera_id.scheme)
    if driver is None:
        raise CameraNotFound(f"no camera {str(camera_id)!r}", hint=HINT)
    return driver
