"""The virtual Lumix end to end through real libgphoto2 in the supervised child.

With python-gphoto2 built against Debian's libgphoto2 (2.5.30) the real 0x9416 data phase moves
the simulated focus motor and 0x9415 resizes its live view; with the wheel's 2.5.34 the driver
refuses both writes before libgphoto2 can crash.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tether.camera.errors import InvalidValue, Unsupported
from tether.camera.ids import parse_camera_id
from tether.camera.supervisor import open_supervised
from tether.camera.types import FocusDirection, StepClass
from tether.ptpip import panasonic as pana


def sharpness(jpeg: bytes) -> float:
    """Variance of the Laplacian: larger when the frame holds more fine detail."""
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_system_build_drives_focus_reads_writes_settings_and_captures(virtual_lumix, system_libgphoto2,
                                                                      gphoto_settings):
    responder = virtual_lumix.responder
    with open_supervised(parse_camera_id(virtual_lumix.camera_id), gphoto_settings("system")) as camera:
        assert camera.library_version == "2.5.30"
        assert camera.info.model == "Panasonic DMC-GX8"
        assert camera.info.capabilities.focus_drive and not camera.info.capabilities.focus_drive_note

        iso = camera.get_setting("iso")
        assert iso.value == "200" and "800" in iso.choices
        assert camera.set_setting("iso", "800").value == "800"
        assert responder.props.props[0x02000020].value == 800  # it reached the camera over PTP/IP
        assert camera.set_setting("whitebalance", "Daylight").value == "Daylight"

        # 30 live-view frames: 10 driving near (Near 2 = mode 1), then 20 driving far (Far 2 = mode 4).
        drives_before = responder.counters.focus_drives
        curve = []
        for i in range(30):
            if i:
                direction = FocusDirection.NEAR if i <= 10 else FocusDirection.FAR
                camera.drive_focus(direction, StepClass.MEDIUM)
            curve.append(sharpness(camera.live_view_frame().data))
        assert responder.counters.focus_drives - drives_before == 29
        assert responder.counters.frames >= 30
        # Driving near from the start position blurs; driving back far restores, then passes focus.
        assert max(curve) > 1.5 * min(curve), curve
        assert curve[10] < curve[0] and max(curve[11:]) > curve[10], curve

        still = camera.capture_still()
        assert still.data[:2] == b"\xff\xd8" and still.width > 0
        assert still.name.endswith(".JPG")
        assert responder.counters.captures == 1


def jpeg_dimensions(jpeg: bytes) -> tuple[int, int]:
    """(width, height) of the decoded image, not of any header that could disagree with it."""
    height, width = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE).shape
    return width, height


def test_system_build_lists_and_sets_the_liveview_size(virtual_lumix, system_libgphoto2, gphoto_settings):
    scene = virtual_lumix.responder.camera
    with open_supervised(parse_camera_id(virtual_lumix.camera_id), gphoto_settings("system")) as camera:
        size = camera.get_setting("liveviewsize")
        # libgphoto2 labels each 0x9414 mode "WxH x FPSHZ"; the scene camera's own sizes, its current one.
        assert size.choices == ("320x240 0 30HZ", "1920x1080 0 30HZ", "1280x720 0 30HZ", "640x360 0 30HZ")
        assert size.value == "320x240 0 30HZ"
        assert jpeg_dimensions(camera.live_view_frame().data) == (320, 240)

        assert camera.set_setting("liveviewsize", "640x360 0 30HZ").value == "640x360 0 30HZ"
        assert scene.liveview_size() == (640, 360)  # the 0x9415 data phase reached the camera
        frame = camera.live_view_frame()
        assert jpeg_dimensions(frame.data) == (640, 360) == (frame.width, frame.height)

        with pytest.raises(InvalidValue, match="Live View Size cannot be '800x600 0 30HZ'") as refused:
            camera.set_setting("liveviewsize", "800x600 0 30HZ")
        assert "640x360 0 30HZ" in refused.value.hint
        assert camera.get_setting("liveviewsize").value == "640x360 0 30HZ"


def test_wheel_build_refuses_focus_drive_instead_of_crashing(virtual_lumix, gphoto_settings):
    responder = virtual_lumix.responder
    with open_supervised(parse_camera_id(virtual_lumix.camera_id), gphoto_settings("wheel")) as camera:
        version = camera.library_version
        if version not in ("2.5.32", "2.5.33", "2.5.34"):
            pytest.skip(f"the wheel bundles libgphoto2 {version}, which has no Panasonic focus-drive defect")
        caps = camera.info.capabilities
        assert not caps.focus_drive
        assert f"unavailable on libgphoto2 {version}" in caps.focus_drive_note
        assert "GPHOTO2=system" in caps.focus_drive_note
        with pytest.raises(Unsupported, match=f"unavailable on libgphoto2 {version}"):
            camera.drive_focus(FocusDirection.NEAR, StepClass.SMALL)
        assert "manualfocusdrive" not in [s.name for s in camera.settings()]
        with pytest.raises(Unsupported, match=r"liveviewsize|manualfocusdrive|this camera has no setting"):
            camera.set_setting("manualfocusdrive", "Near 1")
        # 2.5.34 reads the live-view sizes fine (0x9414) but would crash writing one (0x9415).
        size = camera.get_setting("liveviewsize")
        assert size.read_only and "640x360 0 30HZ" in size.choices
        with pytest.raises(Unsupported, match=f"writing liveviewsize is unavailable on libgphoto2 {version}"):
            camera.set_setting("liveviewsize", "640x360 0 30HZ")
        # The child is alive and the camera still works: nothing reached libgphoto2's crashing path.
        assert camera.state == "open"
        assert camera.live_view_frame().data[:2] == b"\xff\xd8"
    assert responder.counters.focus_drives == 0
    assert pana.OC_SET_LIVEVIEW_PARAMETERS not in responder.counters.operations
