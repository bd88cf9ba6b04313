"""The step plan's pure parts: peak finding on contrast curves, the range, and the frame spacing."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tether.camera.types import StepClass
from tether.capture.step_plan import (
    PlanError,
    StepScale,
    curve_peak,
    dof_spacing,
    plan_steps,
    realize,
    sweep_range,
    tile_peaks,
)


def gaussian(x: np.ndarray, centre: float, sigma: float, height: float = 100.0, floor: float = 5.0) -> np.ndarray:
    return floor + height * np.exp(-((x - centre) ** 2) / (2 * sigma ** 2))


@pytest.mark.parametrize("centre", [40.0, 43.0, 47.5, 52.2])
@pytest.mark.parametrize("sigma", [6.0, 12.0])
def test_curve_peak_recovers_position_and_width_between_samples(centre: float, sigma: float) -> None:
    x = np.arange(0, 161, 8.0)  # large steps of 8: the peak falls between samples
    position, width, height, floor, edge = curve_peak(x, gaussian(x, centre, sigma))
    assert abs(position - centre) < 0.6
    assert abs(width - sigma) / sigma < 0.15
    assert not edge and abs(floor - 5.0) < 1.0 and height > 80


def test_curve_peak_at_the_end_is_marked() -> None:
    x = np.arange(0, 100, 10.0)
    *_, edge = curve_peak(x, gaussian(x, 95.0, 10.0))
    assert edge


def test_flat_and_noisy_tiles_are_not_subjects() -> None:
    rng = np.random.default_rng(1)
    x = np.arange(0, 200, 16.0)
    curves = np.empty((len(x), 2, 2))
    curves[:, 0, 0] = gaussian(x, 60, 10)                      # textured, near
    curves[:, 0, 1] = gaussian(x, 150, 10, height=40)          # textured, far
    curves[:, 1, 0] = 5 + rng.normal(0, 0.2, len(x))           # flat: noise only
    curves[:, 1, 1] = gaussian(x, 100, 10, height=0.5)         # a wisp of texture, below min_relative
    peaks = tile_peaks(x, curves)
    assert [p.subject for p in peaks] == [True, True, False, False]
    near, far = sweep_range(peaks, margin=8)
    assert near <= 60 <= 150 <= far
    assert near >= 60 - 8 - 1 and far <= 150 + 8 + 1


def test_no_subject_is_a_clear_error() -> None:
    x = np.arange(0, 100, 10.0)
    peaks = tile_peaks(x, np.full((len(x), 1, 1), 3.0))
    with pytest.raises(PlanError, match="nothing to focus on"):
        sweep_range(peaks, margin=5)


def test_dof_spacing_keeps_80_percent_halfway() -> None:
    x = np.arange(0, 200, 2.0)
    curves = gaussian(x, 100, 5.0)[:, None, None]
    spacing = dof_spacing(tile_peaks(x, curves), keep=0.8)
    assert spacing is not None
    # a subject halfway between two frames keeps 80 % of its peak
    assert math.exp(-((spacing / 2) ** 2) / (2 * 5.0 ** 2)) == pytest.approx(0.8, abs=0.03)


def test_realize_prefers_the_closest_travel_then_the_big_class() -> None:
    scale = StepScale(4, 16)
    assert realize(16, scale) == (StepClass.LARGE, 1)
    assert realize(8.2, scale) == (StepClass.MEDIUM, 2)
    assert realize(3.0, scale) == (StepClass.SMALL, 3)
    assert realize(0.3, scale) == (StepClass.SMALL, 1)
    assert realize(33, scale, at_least=True) == (StepClass.MEDIUM, 9)  # 36: the least travel not below 33


def test_unknown_medium_is_never_used() -> None:
    scale = StepScale(math.nan, 10.5, source="measured")
    assert StepClass.MEDIUM not in scale.usable()
    assert realize(6, scale)[0] is StepClass.SMALL


def test_plan_from_depth_of_field_covers_the_range() -> None:
    plan = plan_steps(30, 190, StepScale(4, 16), dof=5.3)
    assert plan.step_class is StepClass.SMALL and plan.count == 5
    assert plan.positions()[0] == 30 and plan.positions()[-1] >= 190
    assert plan.frames == 33


def test_plan_target_and_maximum() -> None:
    scale = StepScale(4, 16)
    plan = plan_steps(0, 160, scale, dof=2.0, target_frames=11)
    assert plan.frames == 11 and plan.spacing == 16
    assert any("depth of field" in w for w in plan.warnings)  # 16 apart with a depth of field of 2
    capped = plan_steps(0, 160, scale, dof=2.0, max_frames=20)
    assert capped.frames <= 20 and 160 - capped.spacing < capped.end <= 160  # the near stop at 0: ends short of Far


def test_plan_explicit_step_and_bad_input() -> None:
    plan = plan_steps(10, 20, StepScale(4, 16), dof=None, step_class="small", step_count=1)
    assert plan.positions() == list(range(10, 21))
    with pytest.raises(PlanError, match="reversed"):
        plan_steps(20, 10, StepScale(), dof=None)
    with pytest.raises(PlanError, match="at least 2"):
        plan_steps(0, 10, StepScale(), dof=None, target_frames=1)


@pytest.mark.parametrize("near,far,asked,scale", [
    (0, 1000, 100, StepScale()), (0, 800, 100, StepScale()), (100, 1000, 100, StepScale()), (3, 800, 100, StepScale()),
    (40, 95, 7, StepScale()), (120, 1000, 100, StepScale(4.3, 17.1, source="measured")), (10, 100, 10, StepScale()),
])
def test_a_frame_count_plan_says_how_many_frames_it_takes_and_ends_at_or_before_far(near, far, asked, scale) -> None:
    plan = plan_steps(near, far, scale, dof=None, target_frames=asked)
    positions = plan.positions()
    assert len(positions) == plan.frames <= asked
    if plan.frames == asked:
        assert plan.reason == f"{asked} frames, as asked"
    else:
        assert plan.reason == f"{plan.frames} frames ({asked} asked: the gap must be a whole number of steps)"
    assert 0 <= positions[0] <= near and plan.end <= far  # never driven past Far
    # the frames still reach Far within one gap, and start within one gap of Near
    assert far - plan.end < plan.spacing and near - positions[0] < plan.spacing


def test_a_plan_against_the_near_stop_takes_one_frame_fewer_rather_than_pass_far() -> None:
    plan = plan_steps(0, 1000, StepScale(), dof=None, target_frames=100)
    assert plan.positions()[0] == 0 and plan.frames == 84 and plan.end == 996
    assert plan.to_dict()["reason"] == "84 frames (100 asked: the gap must be a whole number of steps)"
    assert plan.note == ("the last frame is at 996, 4 steps short of Far (1000): 84 frames 12 steps apart from "
                         "Near (0); one more would need a start before the near end stop, or an end past Far")
