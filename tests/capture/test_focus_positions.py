"""The focus position recorded with each frame is where the simulated lens really was (issue 16, defect 4).

The offset came from the gear's play: homing ends moving toward near, so the first steps toward infinity
only take up the backlash, and every counted position read that much too far (3 steps on the simulator's
default lens, 9 on a sloppy one). The pre-scan now measures the play and the count starts below zero.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.capture.test_sim_sweep import frame_truths
from tether.capture import SweepOptions, run_sweep


@pytest.mark.parametrize("backlash", [3, 9])
def test_positions_match_the_lens_within_one_small_step(truth_camera, tmp_path, backlash):
    # a lens that never loses a step: what is left is the counting itself
    camera = truth_camera("sim:macro", focus_backlash=backlash, focus_step_error=0.0)
    burst = tmp_path / "positions.burst"
    result = run_sweep(camera, SweepOptions(frames=30), burst)
    truths = frame_truths(camera, burst)
    errors = [p - t for p, t in zip(result["positions"], truths, strict=True)]
    assert max(abs(e) for e in errors) <= 1, errors
    assert abs(result["prescan"]["scale"]["backlash"] - backlash) <= 1


def test_a_lens_that_loses_steps_has_no_offset_left(truth_camera, tmp_path):
    # 5 % of the steps land a unit short or long: the count wanders (a random walk), but is not biased
    camera = truth_camera("sim:macro")
    burst = tmp_path / "positions.burst"
    result = run_sweep(camera, SweepOptions(frames=30), burst)
    errors = np.subtract(result["positions"], frame_truths(camera, burst))
    assert abs(float(np.median(errors))) <= 1, errors.tolist()


def test_a_typed_range_after_a_restart_counts_with_the_play_measured_before(make_owner, tmp_path):
    """The server keeps the last pre-scan (prescans.json); a new camera owner (a restart) takes its play."""
    from tests.capture.conftest import TruthCamera
    from tether.engine.camera_memory import PRESCANS, CameraMemory

    lens = {"camera_class": TruthCamera, "focus_backlash": 9, "focus_step_error": 0.0}
    before, _, _ = make_owner(**lens)
    CameraMemory(tmp_path, PRESCANS).remember("sim:macro", before.start_prescan({}).future.result(120))
    before.stop()

    after, _, opened = make_owner(**lens)  # the same lens, a new process: nothing measured in memory
    after.restore_calibration(CameraMemory(tmp_path, PRESCANS).get("sim:macro"))
    burst = tmp_path / "typed.burst"
    result = after.start_sweep(SweepOptions(range=(40, 160), frames=20), burst).future.result(120)
    errors = np.subtract(result["positions"], frame_truths(opened[-1], burst))
    assert np.abs(errors).max() <= 1, errors.tolist()


def test_a_saved_pre_scan_that_is_not_one_is_ignored(make_owner, caplog):
    owner, _, _ = make_owner()
    for junk in ({"scale": {"medium": "x"}}, {"scale": {"medium": 4, "large": 16, "source": "m", "backlash": -5}},
                 {"scale": None}, {}):
        owner.restore_calibration(junk)
    assert caplog.text.count("ignoring the saved pre-scan") == 4
