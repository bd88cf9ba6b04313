"""Near and far from live view: the owner counts the focus through nudges, checked against the simulator's truth."""
from __future__ import annotations

import pytest

from tests.capture.conftest import TruthCamera
from tether.burst import open_burst
from tether.camera.types import FocusDirection, StepClass
from tether.capture import SweepOptions
from tether.capture.marks import LensUnknown


def test_a_mark_before_any_count_is_refused(make_owner):
    owner, _, _ = make_owner()
    with pytest.raises(LensUnknown, match="pre-scan"):
        owner.mark(FocusDirection.NEAR).result(10)
    assert owner.snapshot()["lens"] is None


def test_marks_after_nudges_give_a_sweep_over_the_true_positions(make_owner, tmp_path):
    owner, events, opened = make_owner(camera_class=TruthCamera)
    camera = opened[-1]
    owner.start_prescan({}).future.result(60)
    lens = owner.snapshot()["lens"]
    assert lens is not None and abs(lens["position"] - camera.motor.position) <= 2

    # back and forth, with reversals (the play) and both step classes the pre-scan measured
    for direction, step, count in (("far", "large", 2), ("near", "small", 5), ("far", "small", 3)):
        owner.nudge(FocusDirection(direction), StepClass(step), count).result(10)
    near = owner.mark(FocusDirection.NEAR).result(10)
    near_truth = camera.motor.position
    for direction, step, count in (("far", "large", 4), ("near", "small", 2)):
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
