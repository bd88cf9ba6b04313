"""Depth-map fusion: each pixel is taken from the frame(s) where the index map says it is sharp.

The smoothed, fractional index map of :class:`~tether.imaging.refocus.FocusIndex` is
the per-pixel choice; a pixel at index 4.3 takes 70 % of frame 4 and 30 % of frame 5,
so steps between frames do not show as contour lines. Because the map is smooth, this
method does not pick noise and keeps smooth surfaces (skin, glass, metal) clean, where
the pyramid method may switch frames on faint texture; it blurs fine structure across
depth edges (hair, bristles), where the pyramid method is better. This is the
"DMap" approach of Zerene Stacker and focus-stack's depth-map output.

Memory: the index map (4 bytes a pixel) and a float32 accumulator (4 bytes a pixel per
channel); frames are folded in one at a time, in any order.
"""
from __future__ import annotations

import cv2
import numpy as np


class DepthmapFusion:
    """Accumulates frames weighted by their distance from a (H, W) float32 fractional index map."""

    def __init__(self, index_map: np.ndarray, channels: int = 3) -> None:
        self.index_map = index_map.astype(np.float32, copy=False)
        h, w = index_map.shape
        self._acc = np.zeros((h, w, channels) if channels > 1 else (h, w), np.float32)
        self._weight = np.zeros((h, w), np.float32)
        below = np.unique(np.floor(self.index_map).astype(np.int32))
        self._wanted = {int(k) for k in below} | {int(k) + 1 for k in below}

    def wants(self, k: int) -> bool:
        """Whether frame ``k`` contributes to any pixel (others need not even be read)."""
        return k in self._wanted

    def add(self, k: int, image: np.ndarray) -> None:
        """Fold frame ``k``, a (H, W[, C]) image in reference geometry (any dtype), into the blend."""
        weight = cv2.absdiff(self.index_map, float(k))
        np.subtract(1.0, weight, out=weight)
        np.maximum(weight, 0.0, out=weight)
        cv2.add(self._weight, weight, dst=self._weight)
        if image.ndim == 2:
            self._acc += weight * image
            return
        for c in range(image.shape[2]):  # per channel keeps the temporaries at one plane
            self._acc[:, :, c] += weight * image[:, :, c]

    def result(self, dtype: np.dtype, *, out: np.ndarray | None = None) -> np.ndarray:
        """The blended image as ``dtype`` (rounded, saturated; into ``out`` if given); pixels no frame reached are black.

        Normalises in place: the accumulator is used up.
        """
        norm = np.maximum(self._weight, 1e-6, out=self._weight)
        acc = self._acc
        if acc.ndim == 2:
            np.divide(acc, norm, out=acc)
        else:
            for c in range(acc.shape[2]):
                np.divide(acc[:, :, c], norm, out=acc[:, :, c])
        target = cv2.CV_16U if np.dtype(dtype) == np.uint16 else cv2.CV_8U
        channels = 1 if acc.ndim == 2 else acc.shape[2]
        return cv2.multiply(acc, (1.0,) * channels + (0.0,) * (4 - channels), dst=out, dtype=target)
