"""The thin-lens optics: sharpness peaks where ground truth says, depth of field grows with the f-number."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tether.camera.sim import SCENES, SceneTruth, optics, render

SIZE = (960, 540)  # 0.25 px of blur radius per unit at f/2.8: enough to place a peak to one unit


def sharpness(image: np.ndarray, mask: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F)
    return float((lap[mask] ** 2).mean())


def inner(mask: np.ndarray, pixels: int = 25) -> np.ndarray:
    """The mask shrunk away from its edges, where neighbours' blur spills over."""
    return cv2.erode(mask.astype(np.uint8), np.ones((pixels, pixels), np.uint8)) > 0


@pytest.mark.parametrize("scene", SCENES)
def test_each_object_is_sharpest_at_its_true_focus_position(scene):
    truth = SceneTruth(scene)
    low, high = truth.motor_range
    positions = [o.focus_position for o in truth.objects]
    assert len(positions) >= 5 and min(positions) < low + 0.35 * high and max(positions) > low + 0.75 * high
    cache = optics.LayerCache()
    for obj in truth.objects:
        centre = round(obj.focus_position)
        candidates = range(centre - 6, centre + 7)
        scores = []
        for p in candidates:
            mask = inner(truth.mask(obj.name, SIZE, focus_position=p))
            assert mask.sum() > 2000, f"{obj.name} is barely visible"
            scores.append(sharpness(render(scene, p, SIZE, cache=cache), mask))
        peak = candidates[int(np.argmax(scores))]
        assert abs(peak - obj.focus_position) <= 1.0, (obj.name, obj.focus_position, peak, scores)
        # A real peak, not a plateau: three steps off it, the object is clearly softer.
        assert max(scores[0], scores[-1]) < 0.8 * max(scores)


def curve_width(scene: str, name: str, f_number: float) -> int:
    truth = SceneTruth(scene)
    obj = next(o for o in truth.objects if o.name == name)
    mask = inner(truth.mask(name, SIZE))
    positions = range(round(obj.focus_position) - 40, round(obj.focus_position) + 41, 2)
    scores = np.array([sharpness(render(scene, p, SIZE, f_number=f_number, breathing=False), mask) for p in positions])
    floor = scores.min()
    return int(((scores - floor) >= 0.5 * (scores.max() - floor)).sum())


def test_depth_of_field_widens_as_the_f_number_grows():
    widths = [curve_width("macro", "fabric", n) for n in (2.8, 5.6, 11.0)]
    assert widths[0] < widths[1] < widths[2], widths
    assert widths[2] >= 2.5 * widths[0], widths


def test_blur_radius_follows_the_thin_lens_law():
    lens = optics.lens_for(SceneTruth("portrait").scene)
    # In focus at its own position; blur proportional to |1/z - 1/z_focus| and to 1/f-number.
    p = lens.position_for(1.0)
    assert lens.blur_radius(1.0, p, 2.8, 1920) == pytest.approx(0.0, abs=1e-9)
    r1 = lens.blur_radius(2.0, p, 2.8, 1920)        # |1/2 - 1/1| = 0.5 dioptre
    r2 = lens.blur_radius(0.5, p, 2.8, 1920)        # |1/0.5 - 1/1| = 1 dioptre
    assert r2 == pytest.approx(2 * r1)
    assert lens.blur_radius(2.0, p, 5.6, 1920) == pytest.approx(r1 / 2)
    assert lens.focus_distance(p) == pytest.approx(1.0)
    assert lens.focus_distance(optics.MOTOR_RANGE) == float("inf")


def test_near_objects_blur_over_far_ones_at_occlusion_edges():
    """Focused on the far backdrop, a near object's blurred matte spills over it (the lens sees around nothing)."""
    truth = SceneTruth("macro")
    coin = next(o for o in truth.objects if o.name == "coin")
    board = truth.objects[0]
    mask = truth.mask("coin", SIZE, focus_position=board.focus_position)
    sharp = render("macro", coin.focus_position, SIZE).astype(np.float32)
    blurred = render("macro", board.focus_position, SIZE).astype(np.float32)
    ring = (cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0) & ~mask
    # Outside the coin's outline, focused far, the coin's colour has bled in; focused on it, it has not.
    coin_colour = sharp[inner(mask, 9)].mean(axis=0)
    bleed_far = np.abs(blurred[ring] - coin_colour).mean()
    bleed_near = np.abs(sharp[ring] - coin_colour).mean()
    assert bleed_far < bleed_near


def test_breathing_magnifies_a_little_toward_the_near_stop():
    near, far = optics.magnification(0), optics.magnification(optics.MOTOR_RANGE)
    assert 0.002 <= near - far <= 0.006
    x0, _, w, h = optics.breathing_crop(0, 1920, 1080)
    assert (w, h) != (1920, 1080) and x0 == (1920 - w) // 2


def test_render_is_deterministic_and_seeded():
    a = render("product", 100, (320, 180), seed=1)
    b = render("product", 100, (320, 180), seed=1)
    c = render("product", 100, (320, 180), seed=2)
    assert a.shape == (180, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
