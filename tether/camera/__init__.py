"""Cameras: one interface, several drivers (simulator, libgphoto2 in a supervised process)."""
from tether.camera.base import Camera
from tether.camera.errors import (
    CameraBusy,
    CameraDisconnected,
    CameraError,
    CameraNotFound,
    CorruptFrame,
    DriverCrashed,
    InvalidValue,
    Unsupported,
)
from tether.camera.ids import CameraId, parse_camera_id
from tether.camera.registry import default_camera_id, list_cameras, open_camera
from tether.camera.types import (
    CameraInfo,
    Capabilities,
    CapturedFile,
    FocusDirection,
    Frame,
    Setting,
    SettingKind,
    StepClass,
)

__all__ = [
    "Camera", "CameraBusy", "CameraDisconnected", "CameraError", "CameraId", "CameraInfo", "CameraNotFound",
    "Capabilities", "CapturedFile", "CorruptFrame", "DriverCrashed", "FocusDirection", "Frame", "InvalidValue",
    "Setting", "SettingKind", "StepClass", "Unsupported", "default_camera_id", "list_cameras", "open_camera",
    "parse_camera_id",
]
