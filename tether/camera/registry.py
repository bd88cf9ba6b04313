"""Listing and opening cameras for the server and the CLI; the driver comes from the table in drivers.py."""
from __future__ import annotations

import logging

from tether.camera.base import Camera
from tether.camera.drivers import driver_for
from tether.camera.errors import CameraError, CameraNotFound
from tether.camera.ids import parse_camera_id
from tether.camera.types import CameraInfo
from tether.config import Settings

log = logging.getLogger(__name__)

def list_cameras(settings: Settings) -> list[CameraInfo]:
    """Every camera tether can see: real ones first (USB, configured PTP/IP), then the simulators."""
    from tether.camera import sim

    return real_cameras(settings) + sim.sim_camera_infos(settings.sim)


def real_cameras(settings: Settings) -> list[CameraInfo]:
    """Cameras found through libgphoto2; an unusable libgphoto2 is logged, not fatal."""
    try:
        from tether.camera.supervisor import detect_cameras
    except ImportError as exc:  # libgphoto2 missing or broken: the simulators still work
        log.warning("libgphoto2 is not usable (%s); only simulated cameras are listed", exc)
        return []
    try:
        return detect_cameras(settings)
    except CameraError as exc:
        log.warning("camera detection failed: %s", exc)
        return []


def open_camera(camera_id: str, settings: Settings) -> Camera:
    """An unopened camera for ``camera_id``; call open() (or use it as a context manager)."""
    parsed = parse_camera_id(camera_id)
    driver = driver_for(parsed)
    if driver.supervised:
        from tether.camera.supervisor import open_supervised

        return open_supervised(parsed, settings)
    return driver.open_here(parsed, settings, ())


def is_simulated(camera_id: str) -> bool:
    """Whether ``camera_id`` names a simulated camera (False for an id tether cannot read)."""
    try:
        return driver_for(parse_camera_id(camera_id)).simulated
    except CameraNotFound:
        return False


def default_camera_id(settings: Settings) -> tuple[str, bool]:
    """(camera id, simulated?) to use when the user named none: configured, else first real, else sim."""
    if settings.camera.default:
        return settings.camera.default, is_simulated(settings.camera.default)
    real = real_cameras(settings)
    if real:
        return real[0].id, False
    return "sim:macro", True
