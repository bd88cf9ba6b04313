"""The virtual Lumix end to end through real libgphoto2 in the supervised child.

With python-gphoto2 built against Debian's libgphoto2 (2.5.30) the real 0x9416 data phase moves
the simulated focus motor; with the wheel's 2.5.34 the driver refuses before libgphoto2 can crash.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.camera.errors import Unsupported
from tether.camera.ids import parse_camera_id
from tether.camera.supervisor import open_supervised
from tether.camera.types import FocusDirection, StepClass


def sharpness(jpeg: bytes) -> float:
    """Variance of the Laplacian: larger when the frame holds more fine detail."""
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_system_build_drives_focus_reads_writes_settings_and_captures(virtual_lumix, system_build, gphoto_settings,
                                                                      monkeypatch):
    # Importing the wheel's gphoto2 anywhere in this process points CAMLIBS/IOLIBS at its 2.5.34
    # drivers; the system child must not inherit them (it would load 2.5.34's ptp2 and crash).
    wheel = Path(importlib.util.find_spec("gphoto2").submodule_search_locations[0]) / "libgphoto2"
    monkeypatch.setenv("CAMLIBS", str(next(wheel.glob("camlibs*"), wheel / "camlibs")))
    monkeypatch.setenv("IOLIBS", str(wheel / "iolibs"))
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
        with pytest.raises(Unsupported, match="liveviewsize|manualfocusdrive|this camera has no setting"):
            camera.set_setting("manualfocusdrive", "Near 1")
        # The child is alive and the camera still works: nothing reached libgphoto2's crashing path.
        assert camera.state == "open"
        assert camera.live_view_frame().data[:2] == b"\xff\xd8"
    assert responder.counters.focus_drives == 0
