"""Fault injection: disconnects (until a replug), busy replies, slow and corrupt frames, bad options."""
from __future__ import annotations

import io
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from tether.camera.errors import CameraBusy, CameraDisconnected, CameraNotFound
from tether.camera.ids import parse_camera_id
from tether.camera.sim import SimCamera
from tether.camera.types import FocusDirection, StepClass


def test_disconnect_after_n_operations_lasts_until_reopened(make_sim, sim_settings):
    camera = make_sim("sim:macro?disconnect_after=5")
    for _ in range(3):
        camera.live_view_frame()
    camera.drive_focus(FocusDirection.NEAR, StepClass.SMALL)
    camera.set_setting("iso", "400")
    with pytest.raises(CameraDisconnected, match="disconnected during live view"):
        camera.live_view_frame()
    for call in (camera.live_view_frame, camera.capture_still, lambda: camera.drive_focus("far", "small")):
        with pytest.raises(CameraDisconnected):
            call()
    camera.close()
    camera.open()                      # the replug
    assert camera.live_view_frame().width == 320
    fresh = SimCamera(parse_camera_id("sim:macro?disconnect_after=5"), sim_settings())
    with fresh:
        assert fresh.live_view_frame().width == 320


def busy_pattern(camera_id: str, settings) -> list[bool]:
    with SimCamera(parse_camera_id(camera_id), settings) as camera:
        pattern = []
        for _ in range(60):
            try:
                camera.drive_focus(FocusDirection.FAR, StepClass.SMALL)
                pattern.append(False)
            except CameraBusy as exc:
                assert "busy" in str(exc) and exc.hint == "try again"
                pattern.append(True)
        return pattern


def test_busy_rate_is_seeded(sim_settings):
    a = busy_pattern("sim:macro?busy_rate=0.3&seed=3", sim_settings())
    assert a == busy_pattern("sim:macro?busy_rate=0.3&seed=3", sim_settings())
    assert 8 <= sum(a) <= 30
    assert a != busy_pattern("sim:macro?busy_rate=0.3&seed=4", sim_settings())
    assert not any(busy_pattern("sim:macro?seed=3", sim_settings()))


def test_slow_frames_arrive_late(make_sim):
    camera = make_sim("sim:macro?slow_ms=120&slow_every=2")
    camera.live_view_frame()
    durations = []
    for _ in range(4):
        start = time.monotonic()
        camera.live_view_frame()
        durations.append(time.monotonic() - start)
    slow = durations[0::2]  # frames 2 and 4 of the camera's count
    assert min(slow) >= 0.12


def decodes(data: bytes) -> bool:
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None:
        return False
    try:
        Image.open(io.BytesIO(data)).load()
    except OSError:
        return False
    return True


def test_corrupt_every_kth_frame_and_still(make_sim):
    camera = make_sim("sim:macro?corrupt_every=3")
    frames = [camera.live_view_frame().data for _ in range(6)]
    assert [decodes(f) for f in frames] == [True, True, False, True, True, False]
    assert all(f.startswith(b"\xff\xd8") for f in frames)
    stills = [camera.capture_still().data for _ in range(3)]
    assert [decodes(s) for s in stills] == [True, True, False]


def test_faults_from_the_config(sim_settings):
    with SimCamera(parse_camera_id("sim:product"), sim_settings(faults="disconnect_after=1")) as camera:
        camera.live_view_frame()
        with pytest.raises(CameraDisconnected):
            camera.live_view_frame()
    # The id's query overrides the configured plan, option by option.
    with SimCamera(
        parse_camera_id("sim:product?disconnect_after=3"), sim_settings(faults="disconnect_after=1")
    ) as camera:
        for _ in range(3):
            camera.live_view_frame()


@pytest.mark.parametrize(
    "query, message",
    [
        ("bogus=1", "unknown simulated-camera option 'bogus'"),
        ("busy_rate=2", "busy_rate='2' must be between 0.0 and 1.0"),
        ("disconnect_after=soon", "must be a whole number"),
        ("slow_ms=-5", "slow_ms='-5' must be between"),
    ],
)
def test_bad_options_are_refused_naming_what_is_allowed(sim_settings, query, message):
    with pytest.raises(CameraNotFound, match=message) as err:
        SimCamera(parse_camera_id(f"sim:macro?{query}"), sim_settings())
    if "unknown" in message:
        assert "disconnect_after" in err.value.hint and "corrupt_every" in err.value.hint


def test_operations_on_a_closed_camera_fail_clearly(sim_settings):
    camera = SimCamera(parse_camera_id("sim:macro"), sim_settings())
    with pytest.raises(CameraDisconnected, match="not open"):
        camera.live_view_frame()
