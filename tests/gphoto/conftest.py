"""Fixtures for the libgphoto2 tests: a virtual Lumix on a free port, settings per libgphoto2 build.

The virtual Lumix renders with the simulated camera (tether.camera.sim). Until that package
exists, a small stand-in renders a random texture blurred by the distance between its focus
motor and a fixed in-focus position, which is all the protocol tests need.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.camera.base import Camera
from tether.camera.ids import parse_camera_id
from tether.camera.types import CameraInfo, Capabilities, CapturedFile, FocusDirection, Frame, StepClass
from tether.config import Settings
from tether.ptpip import PtpIpServer, VirtualLumix

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_BUILD = ROOT / ".gphoto2-system"

SMALL_SIM = {"liveview_width": 320, "liveview_height": 240, "still_width": 640, "still_height": 480}


class StandInOptics(Camera):
    """Stand-in for SimCamera while it is being written: texture blurred by |motor - in-focus position|."""

    STEPS = {StepClass.SMALL: 2, StepClass.MEDIUM: 6, StepClass.LARGE: 12}

    def __init__(self, width: int = 320, height: int = 240) -> None:
        self.width, self.height = width, height
        self.position = 60
        self.in_focus = 60
        rng = np.random.default_rng(1)
        self.texture = (rng.random((height, width, 3)) * 255).astype(np.uint8)

    @property
    def info(self) -> CameraInfo:
        return CameraInfo("sim:stand-in", "Stand-in optics", capabilities=Capabilities(True, True, True), simulated=True)

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def settings(self):
        return []

    def _write_setting(self, name, value) -> None:
        pass

    def _render(self, width: int, height: int) -> bytes:
        sigma = abs(self.position - self.in_focus) / 6.0
        image = cv2.GaussianBlur(self.texture, (0, 0), sigma) if sigma > 0.05 else self.texture
        if (width, height) != (self.width, self.height):
            image = cv2.resize(image, (width, height))
        return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()

    def live_view_frame(self) -> Frame:
        return Frame(self._render(self.width, self.height), time.time(), self.width, self.height)

    def capture_still(self) -> CapturedFile:
        return CapturedFile(self._render(640, 480), "still.jpg", "image/jpeg", time.time(), 640, 480)

    def drive_focus(self, direction: FocusDirection, step: StepClass, count: int = 1) -> None:
        sign = -1 if FocusDirection(direction) is FocusDirection.NEAR else 1
        self.position = max(0, min(200, self.position + sign * self.STEPS[StepClass(step)] * count))


def scene_camera(settings: Settings) -> Camera:
    """The simulated camera when it exists, else the stand-in."""
    try:
        from tether.camera.sim import SimCamera
    except ImportError:
        return StandInOptics(settings.sim.liveview_width, settings.sim.liveview_height)
    camera = SimCamera(parse_camera_id("sim:macro"), settings.sim)
    camera.open()
    return camera


def gphoto_settings(library: str, **gphoto: object) -> Settings:
    return Settings().with_overrides({"gphoto": {"library": library, **gphoto}, "sim": SMALL_SIM})


@pytest.fixture(name="gphoto_settings")
def gphoto_settings_fixture():
    """``gphoto_settings(library, **gphoto_keys)`` -> Settings with small simulated images."""
    return gphoto_settings


@pytest.fixture
def system_build() -> Path:
    """The python-gphoto2 build against the OS libgphoto2 (`make test` builds it first)."""
    if not (SYSTEM_BUILD / "gphoto2" / "__init__.py").is_file():
        pytest.skip("python-gphoto2 against the system libgphoto2 is not built: run `make setup-system`")
    return SYSTEM_BUILD


@pytest.fixture
def scene_source():
    """The camera a virtual Lumix renders with (the simulator, or the stand-in until it exists)."""
    source = scene_camera(Settings().with_overrides({"sim": SMALL_SIM}))
    yield source
    source.close()


@pytest.fixture
def virtual_lumix(scene_source):
    """A virtual Lumix on a free loopback port; yields the running server (``.camera_id``, ``.responder``)."""
    server = PtpIpServer(VirtualLumix(scene_source), "127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_library_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose the libgphoto2 build themselves; $TETHER_GPHOTO2 from `make serve GPHOTO2=...` must not leak in."""
    monkeypatch.delenv("TETHER_GPHOTO2", raising=False)
    monkeypatch.delenv("TETHER_GPHOTO_FAULT_WIDGET", raising=False)
