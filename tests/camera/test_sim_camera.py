"""SimCamera through the Camera interface: identity, settings, live view, stills, exposure, truth, movie."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from tether.camera import list_cameras, open_camera
from tether.camera.errors import CameraBusy, CameraNotFound, InvalidValue
from tether.camera.ids import parse_camera_id
from tether.camera.sim import SCENES, SimCamera, sim_camera_infos
from tether.camera.types import FocusDirection, SettingKind, StepClass
from tether.config import Settings


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_listing_has_the_four_simulators():
    infos = sim_camera_infos(Settings().sim)
    assert (
        [i.id for i in infos]
        == [f"sim:{s}" for s in SCENES]
        == ["sim:macro", "sim:product", "sim:portrait", "sim:landscape"]
    )
    assert all(
        i.simulated and i.capabilities.names() == ["live_view", "still_capture", "focus_drive", "movie"] for i in infos
    )
    assert infos[0].model == "tether simulated camera (macro)"
    assert {i.id for i in infos} <= {i.id for i in list_cameras(Settings())}


def test_plain_sim_is_macro_and_unknown_scene_is_refused(sim_settings):
    assert SimCamera(parse_camera_id("sim"), sim_settings()).info.id == "sim:macro"
    with pytest.raises(CameraNotFound, match="no simulated scene 'kitchen'") as err:
        SimCamera(parse_camera_id("sim:kitchen"), sim_settings())
    assert "sim:landscape" in err.value.hint


def test_live_view_and_still_sizes(make_sim):
    camera = make_sim("sim:portrait")
    frame = camera.live_view_frame()
    assert (frame.width, frame.height, frame.mime) == (320, 180, "image/jpeg")
    assert decode(frame.data).shape == (180, 320, 3)
    still = camera.capture_still()
    assert still.name == "SIM_0001.JPG" and still.mime == "image/jpeg" and (still.width, still.height) == (400, 300)
    assert decode(still.data).shape == (300, 400, 3)
    assert camera.capture_still().name == "SIM_0002.JPG"


def test_live_view_is_paced_at_the_frame_rate(make_sim):
    camera = make_sim(liveview_fps=20.0)
    camera.live_view_frame()  # the first frame rasterises the scene and may miss a tick
    stamps = [camera.live_view_frame().timestamp for _ in range(6)]
    ticks = np.diff(stamps) * 20.0
    # Frames sit on the camera's 1/fps grid (a busy machine may drop one, never deliver early).
    assert np.allclose(ticks, np.round(ticks), atol=1e-4) and ticks.min() >= 1 - 1e-4
    assert np.median(ticks) == pytest.approx(1.0, abs=1e-4)
    assert stamps[-1] <= time.time() + 1e-3


def test_settings_are_typed_and_validated(make_sim):
    camera = make_sim()
    settings = {s.name: s for s in camera.settings()}
    assert set(settings) >= {
        "aperture",
        "iso",
        "shutterspeed",
        "whitebalance",
        "imageformat",
        "liveviewsize",
        "focusmode",
    }
    assert all(s.kind is SettingKind.CHOICE for n, s in settings.items() if n != "lens")
    assert settings["aperture"].value == "2.8" and "22" in settings["aperture"].choices
    assert camera.set_setting("aperture", "8").value == "8"
    with pytest.raises(InvalidValue, match=r"cannot be '3\.3'") as err:
        camera.set_setting("aperture", "3.3")
    assert "2.8" in err.value.hint
    with pytest.raises(InvalidValue, match="no setting 'zoom'"):
        camera.set_setting("zoom", "2")
    with pytest.raises(InvalidValue, match="read-only"):
        camera.set_setting("lens", "other")
    camera.set_setting("exposuremode", "A")
    with pytest.raises(InvalidValue, match="read-only"):
        camera.set_setting("shutterspeed", "1/60")
    camera.set_setting("liveviewsize", "640x360")
    assert (camera.live_view_frame().width, camera.get_setting("liveviewsize").value) == (640, "640x360")


def mean_bgr(camera) -> np.ndarray:
    return decode(camera.live_view_frame().data).reshape(-1, 3).mean(axis=0)


def test_shutter_changes_brightness_iso_changes_noise_wb_changes_colour(make_sim):
    camera = make_sim("sim:product")
    base = mean_bgr(camera)
    camera.set_setting("shutterspeed", "1/250")
    assert mean_bgr(camera).mean() < 0.65 * base.mean()
    camera.set_setting("shutterspeed", "1/125")

    def noise(iso: str) -> float:
        camera.set_setting("iso", iso)
        camera.set_setting("shutterspeed", {"100": "1/60", "200": "1/125", "3200": "1/2000"}[iso])  # same exposure
        a, b = (decode(camera.live_view_frame().data).astype(np.float32) for _ in range(2))
        return float((a - b).std())

    assert noise("3200") > 2.5 * noise("100")

    camera.set_setting("iso", "200")
    camera.set_setting("shutterspeed", "1/125")
    camera.set_setting("whitebalance", "Tungsten")
    warm = mean_bgr(camera)
    assert warm[0] / warm[2] > 1.5 * base[0] / base[2]  # the tungsten preset on daylight turns it blue


def test_aperture_priority_keeps_brightness_manual_does_not(make_sim):
    camera = make_sim()
    base = mean_bgr(camera).mean()
    camera.set_setting("aperture", "5.6")
    assert mean_bgr(camera).mean() < 0.5 * base  # M: two stops less light
    camera.set_setting("exposuremode", "A")
    assert mean_bgr(camera).mean() == pytest.approx(base, rel=0.05)
    assert camera.get_setting("shutterspeed").value == "1/30"


def test_same_seed_same_frames_other_seed_other_frames(sim_settings):
    def frames(camera_id: str, **settings) -> list[bytes]:
        with SimCamera(parse_camera_id(camera_id), sim_settings(focus_step_error=0.3, **settings)) as camera:
            out = []
            for _ in range(4):
                camera.drive_focus(FocusDirection.NEAR, StepClass.MEDIUM, 3)
                out.append(camera.live_view_frame().data)
            # the still's pixels (its EXIF carries the time it was taken, as a camera's does)
            still = camera.capture_still().data
            out.append(cv2.imdecode(np.frombuffer(still, np.uint8), cv2.IMREAD_COLOR).tobytes())
            out.append(str(camera.ground_truth.focus_position).encode())
            return out

    assert frames("sim:macro?seed=4") == frames("sim:macro?seed=4")
    assert frames("sim:macro", seed=4) == frames("sim:macro?seed=4")
    assert frames("sim:macro?seed=4") != frames("sim:macro?seed=5")


def test_focus_drive_reaches_the_ground_truth_and_frames_follow(make_sim):
    camera = make_sim("sim:macro", focus_step_error=0.0, focus_backlash=0)
    truth = camera.ground_truth
    assert truth.motor_range == (0, 240) and truth.step_units == {"small": 1, "medium": 4, "large": 16}
    camera.drive_focus(FocusDirection.NEAR, StepClass.LARGE, 20)
    assert truth.focus_position == 0
    coin = next(o for o in truth.objects if o.name == "coin")
    camera.drive_focus(FocusDirection.FAR, StepClass.SMALL, round(coin.focus_position))
    assert truth.focus_position == round(coin.focus_position)
    with pytest.raises(InvalidValue):
        camera.drive_focus("sideways", StepClass.SMALL)


def test_ground_truth_maps_line_up_with_frames(make_sim):
    camera = make_sim("sim:macro", liveview_width=480, liveview_height=270)
    truth = camera.ground_truth
    size = truth.sizes["liveview"]
    assert size == (480, 270) and truth.sizes["still"] == (400, 300)
    depth = truth.depth_map(size)
    assert depth.shape == (270, 480) and depth.dtype == np.float32
    assert set(np.unique(depth)) == {np.float32(o.distance) for o in truth.objects}
    positions = truth.sharpest_position_map(size)
    assert set(np.unique(positions)) == {np.float32(o.focus_position) for o in truth.objects}
    visited = [0, 40, 80, 120, 160, 200, 240]
    snapped = truth.sharpest_position_map(size, positions=visited)
    assert set(np.unique(snapped)) <= set(visited)
    # A frame focused on the stamp matches the all-in-focus image on the stamp, in that frame's geometry.
    stamp = next(o for o in truth.objects if o.name == "stamp")
    camera.drive_focus(FocusDirection.NEAR, StepClass.LARGE, 20)
    while truth.focus_position < round(stamp.focus_position):
        camera.drive_focus(FocusDirection.FAR, StepClass.SMALL)
    p = truth.focus_position

    # Compared in grey at a slightly coarser scale: JPEG's chroma and grain errors are not what is tested.
    def grey(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32), (0, 0), 1.0)

    frame = grey(decode(camera.live_view_frame().data))
    sharp = grey(truth.all_in_focus(size, focus_position=p))
    mask = cv2.erode(truth.mask("stamp", size, focus_position=p).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    other = cv2.erode(truth.mask("coin", size, focus_position=p).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    near = np.abs(frame[mask] - sharp[mask]).mean()
    far = np.abs(frame[other] - sharp[other]).mean()
    assert near < 2.5 and far > 4 * near, (near, far)  # the stamp is the sharp image; the blurred coin is not


def test_autofocus_on_still_focuses_the_centre_object(make_sim):
    camera = make_sim("sim:portrait", focus_step_error=0.0)
    camera.set_setting("focusmode", "AF-S")
    camera.capture_still()
    face = next(o for o in camera.ground_truth.objects if o.name == "face")
    assert abs(camera.ground_truth.focus_position - face.focus_position) <= 1


def test_movie_frames_follow_the_motor_over_time(make_sim, tmp_path):
    camera = make_sim("sim:macro", focus_step_error=0.0)
    start = camera.start_movie()
    with pytest.raises(CameraBusy):
        camera.capture_still()
    for _ in range(4):
        time.sleep(0.05)
        camera.drive_focus(FocusDirection.NEAR, StepClass.LARGE)
    time.sleep(0.05)
    path = tmp_path / "take.mp4"
    movie = camera.stop_movie(str(path))
    assert movie.name.endswith(".MP4") and movie.mime == "video/mp4" and movie.started == start
    assert movie.path == str(path) and movie.size == path.stat().st_size
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    duration = (len(frames) - 1) / 30.0
    assert 0.2 <= duration <= 2.0 and frames[0].shape == (180, 320, 3)
    positions = camera.movie_positions(start, len(frames))
    assert positions[0] > positions[-1] and positions == sorted(positions, reverse=True)
    # Frames at the same position differ only by noise; frames at different positions differ more.
    same = [i for i in range(1, len(frames)) if positions[i] == positions[i - 1]]
    moved = [i for i in range(1, len(frames)) if positions[i] != positions[i - 1]]

    def diff(i: int) -> float:
        return float(np.abs(frames[i].astype(np.float32) - frames[i - 1]).mean())

    assert max(diff(i) for i in same) < min(diff(i) for i in moved)


def test_registry_opens_the_simulator(sim_settings):
    settings = Settings().with_overrides({"sim": {"liveview_width": 320, "liveview_height": 180, "liveview_fps": 60.0}})
    with open_camera("sim:landscape", settings) as camera:
        assert camera.info.id == "sim:landscape" and camera.live_view_frame().width == 320
