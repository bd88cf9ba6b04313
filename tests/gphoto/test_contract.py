"""One contract for every camera driver, run against each way tether can reach a camera here:

- ``sim``: the simulated camera in-process; ``sim-supervised``: the same in a supervised child;
- ``lumix-wheel``: the virtual Lumix over PTP/IP through the supervised libgphoto2 driver (the wheel's 2.5.34);
- ``vusb``: libgphoto2's own emulated Nikon D750 from the wheel (capture, download, settings; no preview or focus);
- ``lumix-system``: the virtual Lumix through python-gphoto2 built against Debian's libgphoto2.
What a camera lacks must fail as Unsupported, never crash.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tether.camera.errors import InvalidValue, Unsupported
from tether.camera.ids import parse_camera_id
from tether.camera.sim import SimCamera
from tether.camera.supervisor import detect_cameras, open_supervised
from tether.camera.types import FocusDirection, SettingKind, StepClass
from tether.config import Settings

BACKENDS = ["sim", "sim-supervised", "lumix-wheel", "vusb", "lumix-system"]
#: Settings not worth flipping in a contract test (they change what later steps see).
UNSAFE_TO_FLIP = {"capturetarget", "imagesize", "imagequality", "recordingformat", "expmode", "afmode"}


@pytest.fixture(params=BACKENDS)
def camera(request, tmp_path, monkeypatch, gphoto_settings):
    backend = request.param
    if backend == "sim":
        cam = SimCamera(parse_camera_id("sim:macro"), gphoto_settings("wheel").sim)
    elif backend == "sim-supervised":
        cam = open_supervised(parse_camera_id("sim:macro"), gphoto_settings("wheel"))
    elif backend == "vusb":
        folder = tmp_path / "vcamera"
        folder.mkdir()
        image = (np.random.default_rng(3).random((240, 320, 3)) * 255).astype(np.uint8)
        cv2.imwrite(str(folder / "IMG_0001.jpg"), image)
        monkeypatch.setenv("VCAMERADIR", str(folder))  # the wheel then loads its vusb iolib
        settings = gphoto_settings("wheel")
        found = [info for info in detect_cameras(settings) if info.id.startswith("usb:")]
        assert found, "the wheel's virtual USB camera was not detected"
        cam = open_supervised(parse_camera_id(found[0].id), settings)
    else:
        library = "system" if backend == "lumix-system" else "wheel"
        if library == "system":
            request.getfixturevalue("system_build")
        server = request.getfixturevalue("virtual_lumix")
        cam = open_supervised(parse_camera_id(server.camera_id), gphoto_settings(library))
    cam.open()
    yield backend, cam
    cam.close()


def _decodes(data: bytes) -> tuple[int, int]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable JPEG"
    return image.shape[1], image.shape[0]


def test_contract(camera):
    backend, cam = camera
    info = cam.info
    assert info.model and info.id
    if backend.startswith("lumix"):
        assert info.model == "Panasonic DMC-GX8" and info.manufacturer == "Panasonic" and info.serial

    settings = cam.settings()
    assert settings, "a camera exposes settings"
    names = [s.name for s in settings]
    assert len(names) == len(set(names))

    read_only = [s for s in settings if s.read_only]
    if read_only:  # refused: read-only, or blocked because the write would crash this libgphoto2
        with pytest.raises((InvalidValue, Unsupported), match=r"read-only|unavailable on libgphoto2"):
            cam.set_setting(read_only[0].name, read_only[0].value)

    choices = [s for s in settings if s.kind is SettingKind.CHOICE and not s.read_only and len(s.choices) > 1
               and s.name not in UNSAFE_TO_FLIP and s.value in s.choices]
    if choices:
        target = choices[0]
        with pytest.raises(InvalidValue):
            cam.set_setting(target.name, "no such value")
        other = next(c for c in target.choices if c != target.value)
        assert cam.set_setting(target.name, other).value == other
        assert cam.get_setting(target.name).value == other
        cam.set_setting(target.name, target.value)

    toggles = [s for s in settings if s.kind is SettingKind.TOGGLE and not s.read_only]
    if toggles:
        toggle = toggles[0]
        assert cam.set_setting(toggle.name, not toggle.value).value is (not toggle.value)
        cam.set_setting(toggle.name, toggle.value)
    if backend == "vusb":  # the emulated Nikon has choice, toggle and text settings
        assert toggles and choices and any(s.kind is SettingKind.TEXT for s in settings)

    if info.capabilities.live_view and backend != "vusb":
        for _ in range(3):
            frame = cam.live_view_frame()
            assert (frame.width, frame.height) == _decodes(frame.data)
    else:
        # vusb's abilities claim preview but it answers "unsupported": the driver must learn that.
        with pytest.raises(Unsupported):
            cam.live_view_frame()
        assert not cam.info.capabilities.live_view

    if info.capabilities.still_capture:
        still = cam.capture_still()
        assert still.name and _decodes(still.data)[0] > 0
    else:
        with pytest.raises(Unsupported):
            cam.capture_still()

    if info.capabilities.focus_drive:
        cam.drive_focus(FocusDirection.NEAR, StepClass.SMALL, 2)
        cam.drive_focus(FocusDirection.FAR, StepClass.MEDIUM)
    else:
        assert info.capabilities.focus_drive_note
        with pytest.raises(Unsupported) as caught:
            cam.drive_focus(FocusDirection.NEAR, StepClass.SMALL)
        assert info.capabilities.focus_drive_note in str(caught.value)

    expected_focus = {"lumix-wheel": False, "vusb": False, "lumix-system": True}
    if backend in expected_focus:
        assert info.capabilities.focus_drive is expected_focus[backend]
    if backend == "vusb":
        assert not cam.info.capabilities.live_view and cam.info.model.startswith("Nikon")


def test_settings_defaults_pick_a_library_that_exists():
    from tether.camera.supervisor import resolve_library

    library, path = resolve_library(Settings())
    assert library in ("wheel", "system")
    assert (path is None) == (library == "wheel")
