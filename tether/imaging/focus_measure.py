"""Focus measure: how sharp each part of a frame is.

The measure is the local energy of the Laplacian of luminance (Nayar & Nakagawa's
"sum-modified Laplacian" family; Pertuz et al. 2013, "Analysis of focus measure
operators for shape-from-focus", rank it among the most reliable). It is taken on a
half-resolution image and smoothed, which makes it robust to sensor noise: noise lives
at the finest scale, detail that matters for focus survives one reduction.
"""
from __future__ import annotations

import cv2
import numpy as np


def luminance(image: np.ndarray) -> np.ndarray:
    """Luminance of a (H, W, 3) BGR or (H, W) image, uint8 or uint16, as (H, W) float32 on a 0..255 scale."""
    # cvtColor on the integer image avoids a full-size float32 colour copy (12 bytes a pixel).
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    out = gray.astype(np.float32)
    if image.dtype == np.uint16:
        out *= 1.0 / 257.0
    return out


def focus_measure(gray: np.ndarray, *, reduce: int = 2, smooth: float = 1.5) -> np.ndarray:
    """Per-pixel sharpness of a (H, W) float32 luminance image.

    Returns a (ceil(H/reduce), ceil(W/reduce)) float32 map (pyramid reductions, so each
    output pixel covers ``reduce`` x ``reduce`` input pixels) of the Gaussian-smoothed
    squared Laplacian. ``reduce`` must be a power of two.
    """
    small = gray
    while reduce > 1:
        small = cv2.pyrDown(small)
        reduce //= 2
    lap = cv2.Laplacian(small, cv2.CV_32F, ksize=3)
    energy = cv2.multiply(lap, lap)
    return cv2.GaussianBlur(energy, (0, 0), smooth)


def tile_scores(measure: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Mean of a (h, w) float32 measure over a (rows, cols) grid of tiles, as (rows, cols) float32."""
    rows, cols = grid
    return cv2.resize(measure, (cols, rows), interpolation=cv2.INTER_AREA)


def tile_grid(shape: tuple[int, int], tile: int) -> tuple[int, int]:
    """The (rows, cols) of tiles of ``tile`` pixels covering an image of (H, W) pixels."""
    return max(1, -(-shape[0] // tile)), max(1, -(-shape[1] // tile))


def default_tile(shape: tuple[int, int]) -> int:
    """Tile side in pixels for the refocus index: finer for small frames, coarser above 1.5 MP to bound memory."""
    return 8 if shape[0] * shape[1] <= 1_500_000 else 16
