"""Alignment: known similarity transforms are recovered; breathing is tracked without drift; colour is matched."""
from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

from tether.imaging import align as al
from tether.imaging import transforms as tf
from tether.imaging.phase_correlation import estimate_motion


def _texture(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random(shape).astype(np.float32) * 255, (0, 0), 1.2)


def _corner_error(m: np.ndarray, truth: np.ndarray, shape: tuple[int, int]) -> float:
    """How far (px) the transform ``m`` puts a corner of an (H, W) image from where ``truth`` does."""
    h, w = shape
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
    return float(np.hypot(*(tf.project(m, corners) - tf.project(truth, corners)).T).max())


def test_estimate_motion_recovers_scale_and_shift() -> None:
    a = _texture((240, 320))
    truth = np.array([[1.004, 0.0, 0.6], [0.0, 1.004, -0.9]])  # template -> image
    b = cv2.warpAffine(a, cv2.invertAffineTransform(truth), (320, 240), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
    m = estimate_motion(a, b)
    assert _corner_error(m, truth, (240, 320)) < 0.1, m


def test_featureless_frames_give_identity() -> None:
    flat = np.full((120, 160), 100, np.float32)
    assert np.allclose(estimate_motion(flat, flat), tf.IDENTITY)


def test_chain_tracks_breathing_over_many_frames_without_drift(synthetic) -> None:
    n, breathing = 30, 0.002
    stack = synthetic(n=n, shape=(240, 320), breathing=breathing, blur_per_frame=0.4)
    aligner = al.ChainAligner()
    for frame in stack.frames:
        aligner.add(frame.astype(np.float32))
    fitted = aligner.transforms
    h, w = 240, 320
    worst = 0.0
    for k, m in enumerate(fitted):
        s = 1 + breathing * k
        truth = np.array([[s, 0, -(s - 1) * (w - 1) / 2], [0, s, -(s - 1) * (h - 1) / 2]])
        worst = max(worst, _corner_error(m, truth, (h, w)))
    # Pixels at the corners after 30 frames and 6 % of scale; the texture here is harsher than the
    # simulator's (pixel-scale noise, which the blur-robust phase taper cannot use).
    assert worst < 2.0, worst


def test_a_focus_change_alone_is_not_taken_for_motion(synthetic) -> None:
    # No breathing: whatever a blur change makes the estimator believe must not accumulate.
    stack = synthetic(n=20, shape=(240, 320), breathing=0.0, blur_per_frame=0.6, seed=8)
    aligner = al.ChainAligner()
    for frame in stack.frames:
        aligner.add(frame.astype(np.float32))
    worst = max(tf.corner_shift(m, (240, 320)) for m in aligner.transforms)
    assert worst < 1.0, worst


def test_colour_gains_match_a_brighter_frame() -> None:
    base = np.stack([_texture((96, 128), s) for s in range(3)], axis=2)
    aligner = al.ChainAligner()
    aligner.add(base)
    _, gains = aligner.add(base * np.array([1.10, 1.0, 0.95], np.float32))
    assert np.allclose(gains, [1 / 1.10, 1.0, 1 / 0.95], atol=0.01)


def test_scale_transform_round_trips() -> None:
    m = np.array([[1.01, 0.002, 3.0], [-0.002, 1.01, -2.0], [1e-5, -2e-5, 1.0]])
    assert np.allclose(tf.scale_transform(tf.scale_transform(m, 4), 0.25), m)


def test_footprint_box_of_a_zoomed_frame_is_the_whole_reference() -> None:
    zoom_out = np.array([[0.95, 0, 5.0], [0, 0.95, 4.0]])  # the frame sees more than the reference
    assert tf.footprint_box(zoom_out, (160, 200)) == (0, 160, 0, 200)
    zoom_in = np.array([[1.05, 0, -5.0], [0, 1.05, -4.0]])  # reference pixel 0 falls outside the frame
    assert tf.footprint_box(zoom_in, (160, 200)) == (4, 156, 5, 195)
    shifted = np.array([[1.0, 0, 10.0], [0, 1.0, 0.0]])  # the frame starts 10 px right of the reference
    assert tf.footprint_box(shifted, (160, 200))[2:] == (0, 190)


def test_refinement_recovers_a_whole_pixel_crop_to_a_twentieth_of_a_pixel() -> None:
    # A camera that crops whole pixels and scales back up magnifies width and height unequally.
    a = _texture((240, 320))
    b = cv2.resize(a[1:239, 2:318], (320, 240), interpolation=cv2.INTER_CUBIC)
    sx, sy = 316 / 320, 238 / 240  # b's pixel -> a's pixel: x = sx * (x' + 0.5) - 0.5 + 2
    to_a = np.array([[sx, 0, 2 + 0.5 * sx - 0.5], [0, sy, 1 + 0.5 * sy - 0.5], [0, 0, 1]])
    truth = np.linalg.inv(to_a)[:2]  # a -> b
    m = al.refine_motion(a, b, tf.IDENTITY)
    assert _corner_error(m, truth, (240, 320)) < 0.05, m
    assert _corner_error(estimate_motion(a, b), truth, (240, 320)) > 0.2  # a similarity cannot


def _shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image``'s content moved by (dx, dy) px."""
    return cv2.warpAffine(image, np.array([[1.0, 0, -dx], [0, 1.0, -dy]]), image.shape[::-1],
                          flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)


def test_a_step_smaller_than_focus_can_fake_is_not_taken() -> None:
    a = _texture((240, 320))
    aligner = al.ChainAligner(match_colour=False)
    aligner.add(a)
    m, _ = aligner.add(_shifted(a, 0.1, 0.05))
    assert np.array_equal(m, tf.IDENTITY)  # left alone: not resampled at all
    aligner = al.ChainAligner(match_colour=False)
    aligner.add(a)
    m, _ = aligner.add(_shifted(a, 0.6, -0.4))
    truth = np.array([[1.0, 0, 0.6], [0, 1.0, -0.4]])
    assert _corner_error(m, truth, (240, 320)) < 0.1, m  # (the reflected borders pull a little)


def _translation(dx: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def test_a_jump_is_measured_on_the_frames_around_it_not_on_its_two_neighbours() -> None:
    # Where each frame appears (x, px): what the focus fakes, growing smoothly, a real 0.5 px jump
    # after frame 12, and an error of each frame's own (0.1 px), as blurred 12 MP frames show.
    frames = np.arange(25)
    online, settled = [], []
    for seed in range(100):
        noise = np.random.default_rng(seed).normal(0.0, 0.1, frames.size)
        position = 0.05 * frames + 0.002 * frames ** 2 + 0.5 * (frames > 12) + noise
        steps = [_translation(b - a) for a, b in pairwise(position)]
        jump = al.jump_between(steps, 12, [12], (240, 320), window=8, degree=2)
        assert jump is not None
        assert np.allclose(jump[:2, :2], np.eye(2), atol=1e-6) and abs(jump[1, 2]) < 1e-6
        settled.append(jump[0, 2] - 0.5)
        # What add() does on line: the step less the mean of the 8 steps without motion before it.
        online.append(steps[12][0, 2] - np.mean([s[0, 2] for s in steps[4:12]]) - 0.5)
    rms_online, rms_settled = (float(np.sqrt(np.mean(np.square(e)))) for e in (online, settled))
    # Measured: 0.155 px on line (two frames' errors and the fake's growth), 0.096 settled.
    assert rms_settled < 0.7 * rms_online and rms_settled < 0.11, (rms_settled, rms_online)


def test_a_run_of_jumps_is_left_as_measured() -> None:
    # A hand moves the frame at every step: no steps without motion to tell the fake apart.
    steps = [_translation(2.0 + 0.1 * k) for k in range(20)]
    assert al.jump_between(steps, 10, list(range(20)), (240, 320), window=8, degree=2) is None


def test_a_breathing_step_keeps_only_what_a_lens_can_do() -> None:
    shape = (240, 320)
    corners = tf.corner_points(shape)
    # A lens's breathing (a scale per axis and a shift) with a turn of 0.01 deg on top: a frame's own
    # error, 0.05 px at the corners. The turn is left out; scale and shift are kept.
    lens = np.array([[1.002, 0.0, 0.3], [0.0, 1.001, -0.2], [0.0, 0.0, 1.0]])
    turn = cv2.getRotationMatrix2D((160.0, 120.0), 0.01, 1.0)
    step = tf.compose(tf.homogeneous(turn), lens)
    assert np.abs(tf.project(al.as_breathing(step, shape, tolerance=0.22), corners)
                  - tf.project(lens, corners)).max() < 1e-3
    # A camera that turned by 0.3 deg (0.8 px at the corners) keeps its turn; a homography is kept as it is.
    turned = tf.compose(tf.homogeneous(cv2.getRotationMatrix2D((160.0, 120.0), 0.3, 1.0)), lens)
    assert np.array_equal(al.as_breathing(turned, shape, tolerance=0.22), turned)
    tilted = step.copy()
    tilted[2, 0] = 1e-5
    assert np.array_equal(al.as_breathing(tilted, shape, tolerance=0.22), tilted)
