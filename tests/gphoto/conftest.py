"""Fixtures for the libgphoto2 tests: a virtual Lumix on a free port, settings per libgphoto2 build.

The virtual Lumix renders with the simulated camera, whose focus motor its 0x9416 drives.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tether.camera.base import Camera
from tether.camera.ids import parse_camera_id
from tether.camera.sim import SimCamera
from tether.config import Settings
from tether.ptpip import PtpIpServer, VirtualLumix

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_BUILD = ROOT / ".gphoto2-system"

SMALL_SIM = {"liveview_width": 320, "liveview_height": 240, "still_width": 640, "still_height": 480}


def scene_camera(settings: Settings) -> Camera:
    """The simulated camera the virtual Lumix renders with, opened."""
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
def system_libgphoto2(system_build, monkeypatch):
    """Settings for the system build, with the child kept off the wheel's drivers."""
    # Importing the wheel's gphoto2 anywhere in this process points CAMLIBS/IOLIBS at its 2.5.34
    # drivers; the system child must not inherit them (it would load 2.5.34's ptp2 and crash).
    wheel = Path(importlib.util.find_spec("gphoto2").submodule_search_locations[0]) / "libgphoto2"
    monkeypatch.setenv("CAMLIBS", str(next(wheel.glob("camlibs*"), wheel / "camlibs")))
    monkeypatch.setenv("IOLIBS", str(wheel / "iolibs"))
    return system_build


@pytest.fixture
def scene_source():
    """The simulated camera a virtual Lumix renders with."""
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
