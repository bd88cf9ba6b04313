"""Depth-map fusion: each pixel is taken from the frame(s) where the index map says it is sharp.

The smoothed, fractional index map of :class:`~tether.imaging.refocus.FocusIndex` is
the per-pixel choice; a pixel at index 4.3 takes 70 % of frame 4 and 30 % of frame 5,
so steps between frames do not show as contour lines. Because the map is smooth, this
method does not pick noise and keeps smooth surfaces (skin, glass, metal) clean, where
the pyramid method may switch frames on faint texture; it blurs fine structure across
depth edges (hair, bristles), where the pyramid method is better. This is the
"DMap" approach of Zerene Stacker and focus-stack's depth-map output.

Memory: the index map (4 bytes a pixel) and a float32 accumulator (4 bytes a pixel per
channel); frames are folded in one at a time, in any order. :class:`DepthmapStack` runs it a
strip at a time, for stacking and for the virtual aperture (another index map).
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from tether.imaging.channels import scale_channels
from tether.imaging.refocus import FocusIndex
from tether.imaging.strips import Strip

#: Rows ``start``..``stop`` of a (H, W) float32 fractional index map.
IndexRows = Callable[[int, int], np.ndarray]


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
        weight = np.subtract(self.index_map, np.float32(k))
        np.abs(weight, out=weight)
        np.subtract(1.0, weight, out=weight)
        np.maximum(weight, 0.0, out=weight)
        cv2.add(self._weight, weight, dst=self._weight)
        if image.ndim == 2:
            self._acc += weight * image
            return
        for c in range(image.shape[2]):  # per channel keeps the temporaries at one plane
            self._acc[:, :, c] += weight * image[:, :, c]

    def result(self, dtype: np.dtype, *, out: np.ndarray | None = None) -> np.ndarray:
        """The blended image as ``dtype`` (rounded, saturated; into ``out`` if given); black where no frame reached.

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
        return scale_channels(acc, [1.0] * channels, dtype=target, out=out)


class DepthmapStack:
    """Depth-map fusion along the index map ``index_rows``, a strip at a time.

    Strips need no margins (each pixel depends on its own index only), so a strip's kept rows
    are all its rows; frames that no pixel of a strip uses are not even read.
    """

    stage = "blending"

    def __init__(self, index_rows: IndexRows) -> None:
        self.index_rows = index_rows

    @classmethod
    def of_stack(cls, index: FocusIndex, frames: range) -> DepthmapStack:
        """The depth-map stack of ``frames``: each pixel from the frames where the focus index says it is sharp."""
        def depth(start: int, stop: int) -> np.ndarray:
            rows: np.ndarray = np.clip(index.depth_rows(start, stop), frames.start, frames.stop - 1)
            return rows

        return cls(depth)

    def strip(self, strip: Strip) -> DepthmapStrip:
        return DepthmapStrip(DepthmapFusion(self.index_rows(strip.start, strip.stop)))


class DepthmapStrip:
    """One strip of a :class:`DepthmapStack`."""

    def __init__(self, fusion: DepthmapFusion) -> None:
        self.fusion = fusion

    def add(self, i: int, read: Callable[[], np.ndarray], gains: np.ndarray) -> None:
        if not self.fusion.wants(i):
            return
        frame = read()
        factors = [float(g) for g in gains]
        if not np.allclose(factors, 1.0):  # saturating, in the frame's own dtype: no float copy
            frame = scale_channels(frame, factors)
        self.fusion.add(i, frame)

    def finish(self, out: np.ndarray) -> None:
        self.fusion.result(out.dtype, out=out)
