"""Pre-scan and sweep against the simulated scenes, checked against the simulator's ground truth."""
from __future__ import annotations

from pathlib import Path

import pytest

from tether.burst import open_burst
from tether.camera.sim import STEP_UNITS
from tether.camera.types import StepClass
from tether.capture import PrescanOptions, SweepOptions, run_prescan, run_sweep

LARGE = STEP_UNITS[StepClass.LARGE]


def frame_truths(camera, burst: Path) -> list[int]:
    """Where focus really was for each frame of ``burst`` (matched by the camera's timestamp)."""
    with open_burst(burst) as reader:
        return [camera.truth_at[reader.meta(i).extra["camera_time"]] for i in range(reader.frame_count)]


@pytest.mark.parametrize("scene,motor", [
    ("macro", {}),
    ("product", {}),
    ("landscape", {}),
    ("portrait", {"focus_backlash": 9, "focus_step_error": 0.1}),   # sloppy lens: 3x the play, 2x the step error
    ("macro", {"focus_backlash": 9, "focus_step_error": 0.1, "seed": 3}),
    ("macro", {"focus_backlash": 9, "focus_step_error": 0.1, "seed": 4}),
])
def test_prescan_range_brackets_every_object_and_a_dense_sweep_hits_each(truth_camera, tmp_path, scene, motor):
    camera = truth_camera(f"sim:{scene}", **motor)
    burst = tmp_path / "dense.burst"
    # one small step per frame over the range the pre-scan found: the frames' true positions span it
    result = run_sweep(camera, SweepOptions(step=StepClass.SMALL, step_count=1, max_frames=400), burst)
    truths = frame_truths(camera, burst)
    assert result["frames"] == len(truths) == result["planned"] + result["extended"] - result["trimmed"]
    objects = {o.name: o.focus_position for o in camera.ground_truth.objects}
    near, far = min(objects.values()), max(objects.values())
    stop = camera.ground_truth.motor_range[1]
    # the range contains every object's true focus position ...
    assert truths[0] <= near and truths[-1] >= min(far, stop - 1), (truths[0], truths[-1], objects)
    # ... and is at most one large step wider on either side (plus a unit of step error)
    assert truths[0] >= near - LARGE - 1 and truths[-1] <= far + LARGE + 1, (truths[0], truths[-1], objects)
    for name, focus in objects.items():
        assert min(abs(t - focus) for t in truths) <= 1.0, name
    # counted positions never go backwards (one direction, backlash taken up once)
    positions = result["positions"]
    assert positions == sorted(positions)
    scale = result["prescan"]["scale"]
    # measured within the random walk of the motor's step error (the sweep's closed loop absorbs the rest)
    assert scale["source"] == "measured" and abs(scale["large"] / LARGE - 1) < 0.15, scale


@pytest.mark.parametrize("scene", ["macro", "landscape"])
def test_planned_sweep_keeps_every_object_within_half_a_frame_spacing(truth_camera, tmp_path, scene):
    camera = truth_camera(f"sim:{scene}", focus_step_error=0.1)
    burst = tmp_path / "plan.burst"
    result = run_sweep(camera, SweepOptions(), burst)
    plan = result["plan"]
    assert plan["reason"].startswith("frames") and result["prescan"]["dof_spacing"]
    truths = frame_truths(camera, burst)
    for obj in camera.ground_truth.objects:
        if obj.focus_position > camera.ground_truth.motor_range[1]:
            continue
        assert min(abs(t - obj.focus_position) for t in truths) <= plan["spacing"] / 2 + 1.5, obj
    assert result["warnings"] == [], result["warnings"]
    with open_burst(burst) as reader:
        info = reader.info()
        assert reader.frame_count == result["frames"] and "sharpness.json" in reader.derived_names()
        assert info["status"] == "complete"


def test_prescan_reports_curves_and_peaks_as_data(truth_camera):
    camera = truth_camera("sim:product")
    result, _ = run_prescan(camera, PrescanOptions())
    data = result.to_dict()
    assert data["grid"] == [9, 16] and len(data["curves"]) == 9 and len(data["curves"][0]) == 16
    assert len(data["curves"][0][0]) == len(data["positions"])
    assert data["subjects"] >= 20 and len(data["peaks"]) == 144
    assert all(p["contrast"] >= 1.6 for p in data["peaks"] if p["subject"])


def test_from_here_starts_the_range_at_the_current_focus(truth_camera):
    camera = truth_camera("sim:macro")
    camera.drive_focus("near", "large", 20)
    camera.drive_focus("far", "small", 100)   # about position 97 (the stamp), approached from near
    here = camera.motor.position
    result, _ = run_prescan(camera, PrescanOptions(from_here=True))
    step = result.scale.large
    # the counted position includes the backlash taken up after homing; a coarse step is the resolution
    assert abs(result.near - here) <= step, (result.near, here)
    assert result.far >= result.positions[-1] - 1      # ... to infinity: the far end of the scan


def test_fixed_range_skips_the_scan(truth_camera, tmp_path):
    camera = truth_camera("sim:macro")
    result = run_sweep(camera, SweepOptions(range=(40, 60), step=StepClass.SMALL, step_count=5), tmp_path / "f.burst")
    assert result["prescan"] is None and result["frames"] == 5
    assert result["positions"] == [40, 45, 50, 55, 60]


def test_lost_steps_are_reported_as_identical_frames(truth_camera, tmp_path):
    camera = truth_camera("sim:product")
    drives = []
    real_drive = camera.drive_focus

    def lossy_drive(direction, step, count=1):
        # from the 20th focus command on, every 5th is ignored, as a camera busy with something else might
        drives.append(1)
        if len(drives) >= 20 and len(drives) % 5 == 0:
            return
        real_drive(direction, step, count)

    camera.drive_focus = lossy_drive
    result = run_sweep(camera, SweepOptions(range=(40, 200), step=StepClass.MEDIUM, step_count=2), tmp_path / "l.burst")
    with open_burst(tmp_path / "l.burst") as reader:
        truths = [camera.truth_at[m.extra["camera_time"]] for m in reader.frames_meta()]
    stuck = [[i, i + 1] for i in range(len(truths) - 1) if truths[i + 1] == truths[i]]
    assert stuck, "the lossy motor should have lost a step during the sweep"
    assert result["coverage"]["duplicates"] == stuck
    assert any("identical" in w and "re-shoot" in w for w in result["warnings"])
