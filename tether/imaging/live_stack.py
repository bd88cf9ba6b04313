"""A small all-in-focus picture that builds up frame by frame while a sweep runs.

Not the stack: a preview, so the photographer sees during the sweep whether its range covers the
subject. Each frame, placed by pass 1 (:class:`~tether.imaging.analysis.FrameAnalysis`: its
transform into reference geometry and its colour gains), is reduced to the preview's size (the
long side :data:`LONG_SIDE` pixels), warped into frame 0's geometry and measured (the smoothed
squared Laplacian of :func:`~tether.imaging.focus_measure.focus_measure`); each pixel keeps the
colour of the frame where that measure was highest so far. That is the classic maximum-of-focus
selection (the simplest of the methods compared in Pertuz et al. 2013, "Analysis of focus measure
operators for shape-from-focus"): noisier than the pyramid the stack uses, but constant work a frame
and three bytes and a float a pixel, whatever the sweep's length. Since the transforms are the ones
pass 1 hands the stack, the preview has the final stack's framing.
"""
from __future__ import annotations

import cv2
import numpy as np

from tether.imaging.analysis import FrameAnalysis
from tether.imaging.channels import scale_channels
from tether.imaging.focus_measure import focus_measure, luminance
from tether.imaging.transforms import scale_transform, warp_to_reference

#: Pixels on the preview's long side: enough to judge coverage on a panel, little work a frame.
LONG_SIDE = 640


class LiveStack:
    """The running maximum-of-focus fusion of frames of full size ``shape`` (H, W), at preview size."""

    def __init__(self, shape: tuple[int, int], *, long_side: int = LONG_SIDE) -> None:
        h, w = shape
        self.scale = min(1.0, long_side / max(h, w))
        #: (H, W) of the preview.
        self.size = (max(1, round(h * self.scale)), max(1, round(w * self.scale)))
        self.frames = 0
        self._best = np.full(self.size, -1.0, np.float32)
        self._image = np.zeros((*self.size, 3), np.uint8)

    def add(self, frame: np.ndarray, found: FrameAnalysis) -> None:
        """Fold in ``frame`` (h, w, 3) uint8/uint16 BGR at any reduction of the full size, with what pass 1
        ``found`` in it; a frame that could not be registered is skipped."""
        if not found.registered:
            return
        ph, pw = self.size
        small = cv2.resize(frame, (pw, ph), interpolation=cv2.INTER_AREA)
        if small.dtype == np.uint16:
            small = (small.astype(np.float32) * (1.0 / 257.0)).round().astype(np.uint8)
        small = scale_channels(small, [float(g) for g in np.broadcast_to(np.ravel(found.gains), (3,))])
        aligned = warp_to_reference(small, scale_transform(found.transform, self.scale), size=self.size,
                                    interpolation=cv2.INTER_LINEAR)
        measure = focus_measure(luminance(aligned), reduce=1)
        sharper = measure > self._best
        self._best[sharper] = measure[sharper]
        self._image[sharper] = aligned[sharper]
        self.frames += 1

    def image(self) -> np.ndarray:
        """The preview so far, (h, w, 3) uint8 BGR in frame 0's geometry (black before the first frame)."""
        return self._image.copy()
