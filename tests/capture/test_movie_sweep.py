"""Movie sweeps on the simulated camera: the focus sweeps without resting while the camera records,
and every movie frame lands in the burst at the position the lens had when it was exposed.

The lens answers each command after a latency drawn between 50 and 300 ms and travels at a speed
drawn at random; tether is told neither (they are the simulated camera's own settings).
"""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from tether.burst import open_burst
from tether.camera.errors import CameraBusy, Unsupported
from tether.camera.types import Frame, MovieFile
from tether.capture.options import SweepOptions
from tether.capture.sweep import Hooks, run_sweep
from tether.engine.burst_frames import BurstFrames
from tether.imaging.pipeline import compute_focus_index

from .conftest import TruthCamera
from .test_modes import NoMovieCamera


def drawn_lens(seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {"focus_movie_latency_ms": float(rng.uniform(50, 300)), "focus_movie_speed": float(rng.uniform(150, 600))}


def refocused_frame(path, camera, obj_name: str) -> int:
    """The frame refocus picks where a tap lands on an object (a tripod sweep: no alignment).

    The tap lands where a photographer would put it: on the object's most detailed spot, well inside its
    outline. The median of its pixels can lie on a flat patch or an edge, where the vote's tiles see little
    but noise, or what lies behind the object."""
    size = (640, 360)
    mask = camera.ground_truth.masks(size)[obj_name].astype(np.uint8)
    inside = cv2.erode(mask, np.ones((25, 25), np.uint8)) > 0  # three tiles of the index in from the outline
    grey = cv2.cvtColor(camera.ground_truth.all_in_focus(size), cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = cv2.blur(grey ** 2, (9, 9)) - cv2.blur(grey, (9, 9)) ** 2
    y, x = np.unravel_index(int(np.argmax(np.where(inside, detail, -1.0))), detail.shape)
    with open_burst(path) as reader:
        index = compute_focus_index(BurstFrames(reader), align=False)
    return index.refocus(float(x), float(y)).frame


def test_a_continuous_movie_sweep_places_every_frame_where_the_lens_was(truth_camera, tmp_path):
    # live view as a Lumix gives it over USB: the pre-scan's tile peaks place the movie's frames
    camera = truth_camera("sim:macro", movie_width=640, movie_height=360, liveview_width=640, liveview_height=360,
                          liveview_fps=60.0, focus_step_error=0.0, **drawn_lens(7))
    path = tmp_path / "movie.burst"
    result = run_sweep(camera, SweepOptions(mode="movie"), path)
    assert result["status"] == "complete"
    with open_burst(path) as reader:
        metas = reader.frames_meta()
        assert reader.frame_image(0).shape[:2] == (360, 640)
    # every movie frame is kept, at the movie's full size: far more than one per commanded position
    assert result["frames"] == len(metas) > result["plan"]["frames"]
    assert {(m.width, m.height, m.source) for m in metas} == {(640, 360, "movie")}
    truth = np.array(camera.movie_positions(camera.movie_started, len(metas)))
    assigned = np.array([m.focus_position for m in metas])
    # Counted from the near stop with the play the pre-scan measured taken out: the lens's own position.
    slope = np.polyfit(truth, assigned, 1)[0]
    assert abs(slope - 1) < 0.05, slope
    # Issue 14's bound. The frames, not the commands' times (which a loaded machine stalls), say when
    # the lens moved: measured 100 % of frames on a quiet machine and 95-100 % with both cores loaded.
    assert np.mean(np.abs(assigned - truth) <= 1) >= 0.95, (assigned - truth).tolist()
    confidence = np.array([m.extra["position_confidence"] for m in metas])
    assert confidence.min() >= 0 and confidence.max() <= 1 and np.median(confidence) > 0.5

    # tapping an object picks a frame whose focus was on it: within the depth of field, where neighbouring
    # frames are as sharp as each other and which one wins moves with the movie's timing (measured: 127-131
    # for an object at 128.9 in 10 runs on a quiet machine, 135 once in CI); the other objects lie more than 15
    # steps away, so a bound of 7 still tells the object from its neighbours
    objects = sorted(camera.ground_truth.objects, key=lambda o: o.focus_position)
    middle = objects[len(objects) // 2]
    assert min(abs(o.focus_position - middle.focus_position) for o in objects if o is not middle) > 15
    frame = refocused_frame(path, camera, middle.name)
    assert abs(truth[frame] - middle.focus_position) <= 7, (truth[frame], middle.focus_position)


def test_a_cancelled_movie_keeps_what_was_recorded(truth_camera, tmp_path):
    from tether.capture.sweep import Hooks
    from tether.errors import Cancelled

    camera = truth_camera("sim:macro", movie_width=320, movie_height=180)
    recorded = []

    def check() -> None:
        if len(recorded) >= 10:
            raise Cancelled("sweep cancelled")

    def progress(done: int, total: int, **kw: object) -> None:
        if kw["phase"] == "recording":
            recorded.append(done)

    path = tmp_path / "cut-movie.burst"
    result = run_sweep(camera, SweepOptions(mode="movie", range=(30, 130), frames=40), path,
                       Hooks(check=check, progress=progress))
    assert result["cancelled"] and 10 <= result["frames"] < 40
    with open_burst(path) as reader:
        assert reader.info()["status"] == "cancelled" and reader.frame_count == result["frames"]


def test_a_camera_that_cannot_record_refuses_a_movie_sweep_at_once(make_owner, tmp_path):
    owner, events, opened = make_owner(camera_class=NoMovieCamera)
    before = opened[0].motor.position
    with pytest.raises(Unsupported, match="cannot sweep in movie mode"):
        owner.start_sweep({"mode": "movie"}, tmp_path / "m.burst")
    assert not events.of("job.progress") and opened[0].motor.position == before
    assert not (tmp_path / "m.burst").exists()


class RecordingCamera(TruthCamera):
    """The simulated camera, noting when its recording stopped."""

    stopped: float | None = None

    def stop_movie(self, dest: str, progress=None) -> MovieFile:
        self.stopped = time.time()
        return super().stop_movie(dest, progress)


def test_live_view_follows_the_focus_while_a_movie_records(truth_camera, tmp_path):
    camera = truth_camera("sim:macro", camera_class=RecordingCamera, movie_width=320, movie_height=180,
                          liveview_width=320, liveview_height=180)
    shown: list[Frame] = []
    result = run_sweep(camera, SweepOptions(mode="movie", range=(30, 130), frames=20), tmp_path / "m.burst",
                       Hooks(on_live=shown.append))
    assert result["status"] == "complete" and result["frames"] > result["plan"]["frames"]
    during = [camera.truth_at[f.timestamp] for f in shown if camera.movie_started <= f.timestamp <= camera.stopped]
    # the panel's live view does not freeze: frames keep coming and show the lens travelling the range
    assert len(during) >= result["plan"]["frames"] / 2, len(during)
    assert during[-1] - during[0] >= 50, during


def test_a_movie_whose_last_focus_call_stalled_is_still_split(truth_camera, tmp_path):
    # a loaded machine stalls a focus call now and then for a frame or more; when it stalled the sweep's
    # last one, placing that call within its span failed (it has no next command to bound it)
    class StallsTheLastSteps(TruthCamera):
        recorded_steps = 0

        def drive_focus(self, direction, step, count=1):
            if self.movie_started is not None:
                self.recorded_steps += 1
                if self.recorded_steps >= 12:  # the last few, up to the sweep's last step
                    time.sleep(0.05)
            return super().drive_focus(direction, step, count)

    camera = truth_camera("sim:macro", camera_class=StallsTheLastSteps, movie_width=320, movie_height=180)
    # over the pre-scanned range: the movie's frames are placed by the pre-scan's tile peaks
    result = run_sweep(camera, SweepOptions(mode="movie", frames=20), tmp_path / "m.burst")
    assert camera.recorded_steps == result["plan"]["frames"] - 1 >= 12  # the last step stalled
    assert result["status"] == "complete" and result["frames"] > result["plan"]["frames"]


@pytest.mark.parametrize("error", [CameraBusy, Unsupported])
def test_a_camera_without_live_view_while_recording_is_asked_once(truth_camera, tmp_path, error):
    class NoLiveWhileRecording(RecordingCamera):
        asked_recording = 0

        def live_view_frame(self) -> Frame:
            if self.movie_started is not None and self.stopped is None:
                self.asked_recording += 1
                raise error("the camera is recording")
            return super().live_view_frame()

    camera = truth_camera("sim:macro", camera_class=NoLiveWhileRecording, movie_width=320, movie_height=180)
    shown: list[Frame] = []
    result = run_sweep(camera, SweepOptions(mode="movie", range=(30, 130), frames=20), tmp_path / "m.burst",
                       Hooks(on_live=shown.append))
    # the movie is recorded and split as ever; the refusing live view is not asked again
    assert result["status"] == "complete" and result["frames"] > result["plan"]["frames"]
    assert camera.asked_recording == 1 and not shown
