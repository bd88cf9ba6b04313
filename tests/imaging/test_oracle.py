"""The benchmark's oracle bound (``oracle``): the best per-tile selection or blend of the frames, registered with
the true geometry, is what it reports."""
from __future__ import annotations

import cv2
import numpy as np

from tests.imaging.oracle import oracle_stack

SIZE = (128, 96)  # (width, height)
INSIDE = (slice(8, -8), slice(8, -8))  # away from the border a shifted frame fills by replication


def _texture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, (SIZE[1], SIZE[0], 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 1.2)
    return np.clip(128 + 60 * smooth / smooth.std(), 0, 255).astype(np.uint8)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    err = (a[INSIDE].astype(np.float64) - b[INSIDE].astype(np.float64)) ** 2
    return float(10 * np.log10(255.0 ** 2 / max(err.mean(), 1e-12)))


def test_each_half_is_taken_from_the_frame_sharp_there_in_frame_0s_geometry() -> None:
    truth = _texture()
    blurred = cv2.GaussianBlur(truth, (0, 0), 3.0)
    half = SIZE[0] // 2  # on an 8 px tile boundary
    near, far = truth.copy(), truth.copy()
    near[:, half:], far[:, :half] = blurred[:, half:], blurred[:, :half]
    # The far frame breathes: it shows the point at frame 0's (x, y) at (x + 3, y - 2).
    moved = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]])
    far = cv2.warpAffine(far, moved[:2], SIZE, flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    picture = oracle_stack([near, far], [np.eye(3), moved], truth)
    # Measured: the truth exactly (168 dB: a Lanczos warp by whole pixels is exact); each frame alone
    # 17.9 dB, and 17.9 with the far frame read without its geometry.
    assert picture.shape == truth.shape
    assert _psnr(picture, truth) >= 45.0
    assert _psnr(oracle_stack([near, far], [np.eye(3), np.eye(3)], truth), truth) <= 30.0


def test_two_neighbouring_frames_are_blended_where_their_mean_is_closer() -> None:
    truth = _texture(1).astype(np.int16)
    noise = np.random.default_rng(2).normal(0.0, 4.0, truth.shape).round().astype(np.int16)
    above, below = (np.clip(truth + s * noise, 0, 255).astype(np.uint8) for s in (1, -1))
    picture = oracle_stack([above, below], [np.eye(3)] * 2, truth.astype(np.uint8))
    # Measured: each frame 36.2 dB, the blend (half of each) 57.1 dB: the noise cancels.
    assert _psnr(picture, truth) >= _psnr(above, truth) + 10.0
