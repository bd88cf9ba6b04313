"""Pure parts of the driver: port strings, the vendor focus table, the defect table, error messages."""
from __future__ import annotations

import pytest

from tether.camera import gphoto_defects, gphoto_focus
from tether.camera.errors import CameraBusy, CameraDisconnected, CameraError, Unsupported
from tether.camera.gphoto import libgphoto2_port_path, translate_error
from tether.camera.gphoto_lib import gp
from tether.camera.ids import parse_camera_id
from tether.camera.types import FocusDirection, StepClass


@pytest.mark.parametrize("camera_id,port", [
    ("ptpip:10.0.0.5", "ptpip:10.0.0.5:15740:15740"),
    ("ptpip:10.0.0.5:15740", "ptpip:10.0.0.5:15740:15740"),
    ("ptpip:127.0.0.1:15741", "ptpip:127.0.0.1:15741:15741"),  # libgphoto2 would use 15740 for events
    ("ptpip:127.0.0.1:15741:15999", "ptpip:127.0.0.1:15741:15999"),
    ("usb:001,005", "usb:001,005"),
])
def test_port_strings_name_the_event_port(camera_id, port):
    assert libgphoto2_port_path(parse_camera_id(camera_id)) == port


def test_focus_table_is_data_per_vendor():
    panasonic = gphoto_focus.FOCUS_DRIVES["panasonic"]
    assert panasonic.widget == "manualfocusdrive"
    assert panasonic.plan(FocusDirection.NEAR, StepClass.SMALL, 3) == ("Near 1", 3)
    assert panasonic.plan(FocusDirection.FAR, StepClass.MEDIUM, 1) == ("Far 2", 1)
    assert panasonic.plan(FocusDirection.FAR, StepClass.LARGE, 2) == ("Far 2", 8)
    assert gphoto_focus.FOCUS_DRIVES["canon"].plan(FocusDirection.NEAR, StepClass.LARGE, 1) == ("Near 3", 1)
    nikon = gphoto_focus.FOCUS_DRIVES["nikon"]
    assert nikon.kind == "int" and nikon.plan(FocusDirection.NEAR, StepClass.SMALL, 1)[0] < 0
    for drive in gphoto_focus.FOCUS_DRIVES.values():  # every vendor maps every step class both ways
        for direction in FocusDirection:
            for step in StepClass:
                drive.plan(direction, step, 1)
    assert gphoto_focus.vendor_of("Panasonic") == "panasonic"
    assert gphoto_focus.vendor_of("Nikon Corporation") == "nikon"
    assert gphoto_focus.vendor_of("FUJIFILM") == "fuji"
    assert gphoto_focus.vendor_of("GP") == ""


def test_defect_table_by_version_and_vendor():
    for version in ("2.5.32", "2.5.33", "2.5.34"):
        (defect,) = gphoto_defects.defects_for(version, "panasonic")
        assert "manualfocusdrive" in defect.widgets
    assert gphoto_defects.defects_for("2.5.30", "panasonic") == []
    assert gphoto_defects.defects_for("2.5.35", "panasonic") == []
    assert gphoto_defects.defects_for("2.5.34", "canon") == []


def test_error_messages_a_photographer_can_act_on():
    claim = translate_error(gp.GPhoto2Error(gp.GP_ERROR_IO_USB_CLAIM), "opening usb:001,005")
    assert isinstance(claim, CameraBusy)
    assert "Could not claim the USB device" in str(claim) and "gvfs" in str(claim)
    assert isinstance(translate_error(gp.GPhoto2Error(gp.GP_ERROR_CAMERA_BUSY), "x"), CameraBusy)
    assert isinstance(translate_error(gp.GPhoto2Error(gp.GP_ERROR_IO), "x"), CameraDisconnected)
    assert isinstance(translate_error(gp.GPhoto2Error(gp.GP_ERROR_NOT_SUPPORTED), "x"), Unsupported)
    assert type(translate_error(gp.GPhoto2Error(gp.GP_ERROR), "x")) is CameraError
