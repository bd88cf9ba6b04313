"""The image engine's quality claims, checked on a renderer it was not built on.

``test_truth.py`` scores the engine on tether's own simulator; these tests make the same claims
on ``independent_render`` (its own scene, a disk-and-Gaussian PSF with longitudinal chromatic
aberration, focus-dependent vignetting, Poisson-Gaussian noise, continuous breathing, JPEG 88).
The truth is registered onto each result before scoring (``registration``), so PSNR measures
sharpness and the registration itself measures geometry. Bounds are set from measurements on
OpenCV 5.0 / numpy 2 (figures in each test) with margins for other releases.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from tests.imaging.independent_render import RenderedStack, render_stack
from tests.imaging.registration import Registration, psnr, score, truth_on_result
from tether.imaging import ArrayFrames, FocusIndex, compute_focus_index, stack_frames

FRAMES = 12
SIZE = (640, 480)  # (width, height)
BREATHING = 0.002  # magnification added per frame: 2.2 % over the sweep


@dataclass
class Case:
    stack: RenderedStack
    index: FocusIndex


@functools.cache
def _render(breathing: float) -> RenderedStack:
    """The sweep (pure and seeded, so tests may share it: it takes a few seconds)."""
    return render_stack(SIZE, frames=FRAMES, breathing=breathing)


@pytest.fixture(scope="module", params=[0.0, BREATHING], ids=["static", "breathing"])
def case(request) -> Case:
    stack = _render(request.param)
    return Case(stack, compute_focus_index(ArrayFrames(stack.frames)))


def _stacked(case: Case, method: str = "pyramid") -> np.ndarray:
    return stack_frames(ArrayFrames(case.stack.frames), method=method, index=case.index).image


def test_stack_is_4_db_above_the_best_single_frame(case) -> None:
    # Measured: best frame 27.4 dB (static) / 28.0 (breathing); pyramid 33.4 / 33.9, depthmap 33.3 / 33.8.
    best = max(score(frame, case.stack.truth).psnr for frame in case.stack.frames)
    for method in ("pyramid", "depthmap"):
        result = score(_stacked(case, method), case.stack.truth)
        assert result.psnr >= best + 4.0, (method, result.psnr, best)


def test_the_stack_keeps_the_reference_frames_geometry(case) -> None:
    # The truth is in frame 0's geometry, tether's reference. Measured: rotation 0.002-0.003 deg
    # (0.013 deg breathing before breathing steps were kept to a scale and a shift), centre shift
    # 0.03-0.09 px (the bounds: 0.02 deg, 0.3 px).
    reg = score(_stacked(case), case.stack.truth).registration
    assert abs(reg.rotation_deg) <= 0.02, reg.describe()
    assert float(np.hypot(*reg.shift)) <= 0.3, reg.describe()


def test_the_stack_is_not_rescaled(case, request) -> None:
    if request.node.callspec.params["case"] == BREATHING:
        # Each breathing step the aligner takes carries what the focus change fakes (-0.15 % of scale
        # over the sweep): a scale measured across a change of blur is biased (ECC and phase correlation
        # alike, on one flat plane too; not the vignetting or the chromatic aberration: docs/stacking.md),
        # and every step of this sweep moves the frame, so no step tells the fake apart.
        request.applymarker(pytest.mark.xfail(strict=True, reason="issue 13, item 1: breathing steps carry a bias"))
    # The registration's own floor: a --no-align stack of the static sweep registers at -0.04 %
    # of scale, 0.13 px at the corners. Measured: -0.04 % static (the aligner leaves it alone; it
    # was -0.10 %), -0.15 % breathing, 0.53 px at the corners (0.84 px before breathing steps were
    # kept to a scale and a shift).
    reg = score(_stacked(case), case.stack.truth).registration
    assert reg.corner_shift <= 0.3, reg.describe()


def _textured(case: Case) -> np.ndarray:
    """Bool mask: texture around the pixel, and one surface alone within three tiles of it."""
    truth, objects = case.stack.truth, case.stack.objects
    grey = cv2.cvtColor(truth, cv2.COLOR_BGR2GRAY).astype(np.float32)
    local_sd = np.sqrt(np.maximum(cv2.blur(grey ** 2, (9, 9)) - cv2.blur(grey, (9, 9)) ** 2, 0))
    margin = 3 * case.index.tile
    near = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    mask = (local_sd > 6.0) & (cv2.erode(objects, near) == cv2.dilate(objects, near))
    frame = np.zeros_like(mask)
    frame[margin:-margin, margin:-margin] = True
    return mask & frame


def test_refocus_picks_within_one_step_at_95_percent_of_textured_points(case) -> None:
    # Measured: 200 of 200 within one frame (97 % exactly the truth's frame).
    ys, xs = np.nonzero(_textured(case))
    pick = np.random.default_rng(1).choice(len(ys), size=200, replace=False)
    hits = sum(abs(case.index.refocus(int(xs[i]), int(ys[i])).frame - int(case.stack.sharpest[ys[i], xs[i]])) <= 1
               for i in pick)
    assert hits >= 190, hits


def test_depth_map_is_ordered_like_the_truth(case) -> None:
    stack, depth, textured = case.stack, case.index.depth(), _textured(case)

    def ranks(values: np.ndarray) -> np.ndarray:
        return np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(np.float64)

    # Rank correlation with the truth's sharpest frame over textured pixels; measured 0.94.
    rho = float(np.corrcoef(ranks(depth[textured]), ranks(stack.sharpest[textured]))[0, 1])
    assert rho >= 0.85, rho
    # Surface by surface, the median depth in the truth's order, each within half a frame of the truth.
    found, true = [], []
    for surface in np.unique(stack.objects[textured]):
        at = textured & (stack.objects == surface)
        if at.sum() >= 300:
            found.append(float(np.median(depth[at])))
            true.append(float(np.median(stack.sharpest[at])))
    assert len(found) >= 3
    assert np.argsort(found).tolist() == np.argsort(true).tolist(), (found, true)
    assert np.abs(np.array(found) - np.array(true)).max() <= 0.5, (found, true)


def test_a_static_stack_aligned_is_within_a_tenth_of_a_db_of_no_align() -> None:
    # Measured (registered): aligned 32.50 dB, --no-align 32.50 dB: the aligner leaves the frames alone.
    static = _render(0.0)
    source = ArrayFrames(static.frames)
    aligned = score(stack_frames(source).image, static.truth).psnr
    unaligned = score(stack_frames(source, align=False).image, static.truth).psnr
    assert aligned >= unaligned - 0.1, (aligned, unaligned)


def test_a_breathing_stack_is_within_0_3_db_of_the_same_scene_static() -> None:
    # Measured (registered): 33.16 dB breathing against 32.50 static.
    static, breathing = _render(0.0), _render(BREATHING)
    moved = score(stack_frames(ArrayFrames(breathing.frames)).image, breathing.truth).psnr
    still = score(stack_frames(ArrayFrames(static.frames)).image, static.truth).psnr
    assert moved >= still - 0.3, (moved, still)


def _detail(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared Laplacian of the lightly smoothed luminance over ``mask``: how much fine detail there is."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lap = cv2.Laplacian(cv2.GaussianBlur(grey, (0, 0), 1.0), cv2.CV_32F)
    return float(np.mean(lap[mask] ** 2))


def test_range_stack_is_sharp_inside_and_as_blurred_as_the_source_outside(case) -> None:
    stack = case.stack
    first, last = 0, FRAMES // 2 - 1           # the nearer half of the sweep
    source = ArrayFrames(stack.frames)
    ranged = stack_frames(source, frames=range(first, last + 1), index=case.index).image
    full = _stacked(case)
    # Both results share one geometry (the same focus index), so they are compared pixel for pixel.
    warped, scored = truth_on_result(stack.truth, Registration(np.eye(3), SIZE, SIZE))
    inside = scored & (stack.sharpest >= first) & (stack.sharpest <= last)
    # Well behind the range and away from nearer surfaces, whose blur the range rightly spills there.
    behind = (stack.sharpest >= last + 4).astype(np.uint8)
    outside = scored & (cv2.erode(behind, np.ones((41, 41), np.uint8)) > 0)
    assert inside.sum() > 1000 and outside.sum() > 1000
    # Measured: inside 31.7 / 30.7 dB ranged against 31.3 / 30.5 full (static / breathing);
    # outside 26.5 / 26.5 against 33.8 / 31.5; detail outside 0.96 / 0.90 of the range's last frame.
    assert psnr(ranged, warped, inside) > psnr(full, warped, inside) - 1.0
    assert psnr(ranged, warped, outside) < psnr(full, warped, outside) - 3.0
    ratio = _detail(ranged, outside) / _detail(stack.frames[last], outside)
    assert 0.6 < ratio < 1.25, ratio
