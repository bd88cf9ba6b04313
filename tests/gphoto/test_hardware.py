"""A real camera on USB (skipped when none is attached). Lumix: USB mode "PC(Tether)", lens in MF or AF+MF.

Run only these: ``.venv/bin/python -m pytest -m hardware tests/gphoto``; `make serve GPHOTO2=system`
(or ``TETHER_GPHOTO2=system``) for Panasonic focus drive.
"""
from __future__ import annotations

import pytest

from tether.camera.errors import Unsupported
from tether.camera.ids import parse_camera_id
from tether.camera.supervisor import detect_cameras, open_supervised
from tether.camera.types import FocusDirection, StepClass
from tether.config import Settings

pytestmark = pytest.mark.hardware


@pytest.fixture(scope="module")
def usb_camera_id() -> str:
    import os

    if os.environ.get("VCAMERADIR"):
        pytest.skip("VCAMERADIR is set: libgphoto2 sees its emulated camera, not real hardware")
    found = [info for info in detect_cameras(Settings()) if info.id.startswith("usb:")]
    if not found:
        pytest.skip("no camera on USB")
    return found[0].id


def test_real_camera_live_view_capture_and_focus(usb_camera_id):
    with open_supervised(parse_camera_id(usb_camera_id), Settings()) as camera:
        assert camera.info.model
        assert camera.settings()
        if camera.info.capabilities.live_view:
            frames = [camera.live_view_frame() for _ in range(10)]
            assert all(frame.data[:2] == b"\xff\xd8" for frame in frames)
        if camera.info.capabilities.still_capture:
            still = camera.capture_still()
            assert still.data and still.name
        if camera.info.capabilities.focus_drive:
            camera.drive_focus(FocusDirection.NEAR, StepClass.SMALL, 3)
            camera.drive_focus(FocusDirection.FAR, StepClass.SMALL, 3)
        else:
            with pytest.raises(Unsupported):
                camera.drive_focus(FocusDirection.NEAR, StepClass.SMALL)
