"""Focus measure: sharper means larger, at tile resolution, on luminance of any depth."""
from __future__ import annotations

import cv2
import numpy as np

from tether.imaging.focus_measure import default_tile, focus_measure, luminance, tile_grid, tile_scores


def test_sharper_tiles_score_higher(synthetic) -> None:
    stack = synthetic(n=2, shape=(64, 96))
    sharp = luminance(stack.sharp)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 2.0)
    a = tile_scores(focus_measure(sharp), (4, 6))
    b = tile_scores(focus_measure(blurred), (4, 6))
    assert a.shape == (4, 6) and a.dtype == np.float32
    assert (a > 3 * b).all()


def test_luminance_of_16_bit_matches_8_bit() -> None:
    rng = np.random.default_rng(0)
    img8 = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    img16 = img8.astype(np.uint16) * 257
    assert np.abs(luminance(img16) - luminance(img8)).max() < 1.0


def test_tile_grid_covers_the_frame() -> None:
    assert tile_grid((100, 161), 8) == (13, 21)
    assert default_tile((3000, 4000)) == 16 and default_tile((480, 640)) == 8
