"""Pyramid fusion: lossless for one frame, picks the sharp half of complementary frames, keeps 16 bits,
and the frames out of focus leave no halo on the sharp one."""
from __future__ import annotations

import cv2
import numpy as np

from tether.imaging.pyramid import PyramidFusion, from_work, level_count, to_work


def _fuse(frames: list[np.ndarray]) -> np.ndarray:
    fusion = PyramidFusion(frames[0].shape)
    for f in frames:
        fusion.add(to_work(f))
    return from_work(fusion.result(), frames[0].dtype)


def test_one_frame_comes_back_unchanged(synthetic) -> None:
    frame = synthetic(n=1, shape=(70, 90)).sharp
    assert np.array_equal(_fuse([frame]), frame)


def test_complementary_frames_fuse_to_the_sharp_image(synthetic) -> None:
    sharp = synthetic(n=1, shape=(128, 160), noise=0).sharp
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3.0)
    left, right = sharp.copy(), sharp.copy()
    left[:, 80:] = blurred[:, 80:]
    right[:, :80] = blurred[:, :80]
    fused = _fuse([left, right])
    inner = (slice(8, -8), slice(8, -8))
    assert cv2.PSNR(fused[inner], sharp[inner]) > cv2.PSNR(left[inner], sharp[inner]) + 10
    assert cv2.PSNR(fused[inner], sharp[inner]) > 30


def test_a_sharp_frame_comes_back_whole_from_among_blurred_ones(synthetic) -> None:
    # A blur as wide as the base level's pixels (8 px here): when the base was the mean of all
    # frames, their blur came back as a halo of up to 29 grey levels around every edge (32.4 dB).
    sharp = synthetic(n=1, shape=(128, 160), noise=0).sharp
    blurred = cv2.GaussianBlur(sharp, (0, 0), 8.0)
    fused = _fuse([blurred, sharp, blurred, blurred])
    assert np.abs(fused.astype(np.int16) - sharp).max() <= 2


def test_16_bit_frames_stay_16_bit() -> None:
    rng = np.random.default_rng(0)
    a = cv2.GaussianBlur(rng.integers(0, 65535, (64, 64, 3)).astype(np.uint16), (0, 0), 1.0)
    out = _fuse([a, a])
    assert out.dtype == np.uint16
    assert np.abs(out.astype(np.int64) - a).max() <= 16  # 1/8 of an 8-bit step at the working scale


def test_gains_scale_channels() -> None:
    frame = np.full((8, 8, 3), 100, np.uint8)
    work = to_work(frame, np.array([1.0, 0.5, 2.0], np.float32))
    assert work[0, 0].tolist() == [800, 400, 1600]


def test_level_count_leaves_a_small_base() -> None:
    assert level_count((3000, 4000)) == 7
    assert level_count((60, 80)) == 1
    assert level_count((10, 10)) == 1


def test_banded_expansion_is_exact_on_tall_odd_frames() -> None:
    frame = (np.random.default_rng(1).random((601, 203, 3)) * 255).astype(np.uint8)  # > 2 bands of rows
    assert np.array_equal(_fuse([frame]), frame)
