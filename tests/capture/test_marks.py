"""Near and far from live view: the owner counts the focus through nudges, checked against the simulator's truth."""
from __future__ import annotations

import numpy as np
import pytest

from tests.capture.conftest import TruthCamera
from tether.burst import open_burst
from tether.camera.sim import FocusMotor, MotorSpec
from tether.camera.types import FocusDirection, StepClass
from tether.capture import StepScale, SweepOptions
from tether.capture.lens import LensPosition
from tether.capture.marks import LensUnknown


def test_a_mark_before_any_count_is_refused(make_owner):
    owner, _, _ = make_owner()
    with pytest.raises(LensUnknown, match="pre-scan"):
        owner.mark(FocusDirection.NEAR).result(10)
    assert owner.snapshot()["lens"] is None


def test_marks_after_nudges_give_a_sweep_over_the_true_positions(make_owner, tmp_path):
    # no random step errors: they add up as a random walk that no count can know of
    owner, events, opened = make_owner(camera_class=TruthCamera, focus_step_error=0.0)
    camera = opened[-1]
    owner.start_prescan({}).future.result(60)
    lens = owner.snapshot()["lens"]
    assert lens is not None and abs(lens["position"] - camera.motor.position) <= 2

    # back and forth, with reversals (the play); in small steps, which are exact (a large step's size is
    # only known as well as the pre-scan measured it, a few per cent)
    for direction, step, count in (("far", "small", 30), ("near", "small", 5), ("far", "small", 3)):
        owner.nudge(FocusDirection(direction), StepClass(step), count).result(10)
    near = owner.mark(FocusDirection.NEAR).result(10)
    near_truth = camera.motor.position
    for direction, step, count in (("far", "small", 64), ("near", "small", 2)):
        owner.nudge(FocusDirection(direction), StepClass(step), count).result(10)
    far = owner.mark(FocusDirection.FAR).result(10)
    far_truth = camera.motor.position
    # the counted positions are where the focus really was, within the motor's step error
    assert abs(near["position"] - near_truth) <= 3 and abs(far["position"] - far_truth) <= 3
    assert near_truth + 40 < far_truth
    assert events.of("focus.mark", camera="sim:macro")
    marks = owner.snapshot()["marks"]
    assert marks["near"]["position"] == near["position"] and marks["far"]["position"] == far["position"]
    assert owner.range_marks.preview(FocusDirection.NEAR)[:2] == b"\xff\xd8"

    # the sweep over the marked range needs no pre-scan; its ends are where the marks were
    result = owner.start_sweep(SweepOptions(range=(near["position"], far["position"]), step="small", step_count=4),
                               tmp_path / "marked.burst").future.result(60)
    assert result["prescan"] is None and result["range"] == [near["position"], far["position"]]
    with open_burst(tmp_path / "marked.burst") as reader:
        metas = reader.frames_meta()
    first, last = (camera.truth_at[meta.extra["camera_time"]] for meta in (metas[0], metas[-1]))
    assert abs(first - near_truth) <= 4, (first, near_truth)
    assert abs(last - far_truth) <= 4, (last, far_truth)


def test_the_count_follows_the_play_as_the_simulated_motor_does():
    """Random nudges both ways, with the play taken up partly and wholly: counted = the motor's truth."""
    motor = FocusMotor(MotorSpec(backlash=3, step_error=0.0, step_seconds=0.0, unit_seconds=0.0), start=100)
    lens = LensPosition(float(motor.position), StepScale(backlash=3.0))
    rng = np.random.default_rng(5)
    for _ in range(300):
        direction = FocusDirection(rng.choice(["near", "far"]))
        step, count = StepClass(rng.choice(["small", "medium"])), int(rng.integers(1, 4))
        motor.drive(direction, step, count)
        moved = lens.moved(direction, step, count)
        assert moved is not None
        lens = moved
        assert lens.position == motor.position
    # a step whose size the pre-scan did not measure loses the count
    assert LensPosition(10.0, StepScale(medium=float("nan"))).moved(FocusDirection.FAR, StepClass.MEDIUM, 1) is None
