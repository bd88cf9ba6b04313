"""Depth map and coverage map as images.

The depth map is the smoothed fractional index map scaled to 16 bits with near =
bright (frame 0 is the nearest focus: positions count from the near end stop). The
coverage map marks parts of the scene that were never sharp in any frame: a tile whose
focus curve peaks at the first or last frame but still climbs there less steeply than
curves that peak inside the range is "beyond the range"; a tile without texture cannot
be judged. Both are computed on the focus-index tiles and scaled up to the frame size.
"""
from __future__ import annotations

import cv2
import numpy as np

from tether.imaging.refocus import MIN_CONFIDENCE, FocusIndex

COVERED, UNKNOWN, NEVER_SHARP = 255, 128, 0


def depth_map(index: FocusIndex, *, size: tuple[int, int] | None = None, near_first: bool = True) -> np.ndarray:
    """(H, W) uint16 depth image, 65535 = nearest frame, 0 = farthest (or at ``size`` = (rows, cols))."""
    depth = index.depth(size=size)
    span = max(1, index.frame_count - 1)
    near = 1.0 - depth / span if near_first else depth / span
    return np.clip(np.rint(near * 65535), 0, 65535).astype(np.uint16)


def depth_map_png(index: FocusIndex, **options: object) -> bytes:
    """:func:`depth_map` encoded as a 16-bit greyscale PNG."""
    ok, data = cv2.imencode(".png", depth_map(index, **options))  # type: ignore[arg-type]
    if not ok:
        raise RuntimeError("OpenCV could not encode the depth map")
    return data.tobytes()


def coverage_tiles(index: FocusIndex) -> np.ndarray:
    """(rows, cols) uint8: 255 sharp in some frame, 0 never sharp, 128 no texture to tell."""
    n = index.frame_count
    textured = index.confidence >= MIN_CONFIDENCE
    out = np.where(textured, COVERED, UNKNOWN).astype(np.uint8)
    if n < 3:
        return out
    curves = index.scores
    best = index.best.astype(np.int64)
    rows, cols = np.indices(best.shape)
    at_start, at_end = best == 0, best == n - 1
    interior = textured & ~at_start & ~at_end
    peak = curves[best, rows, cols]
    neighbour = np.maximum(curves[np.clip(best - 1, 0, n - 1), rows, cols],
                           curves[np.clip(best + 1, 0, n - 1), rows, cols])
    # How steeply a curve falls from its peak when the peak is really inside the range.
    steep = float(np.median(peak[interior] / (neighbour[interior] + 1e-6))) if interior.any() else 2.0
    threshold = 1.0 + 0.5 * max(steep - 1.0, 0.0)
    edge_neighbour = np.where(at_start, curves[min(1, n - 1)], curves[max(n - 2, 0)])
    climbing = (at_start | at_end) & textured & (peak / (edge_neighbour + 1e-6) < threshold)
    out[climbing] = NEVER_SHARP
    return out


def coverage_map(index: FocusIndex, *, size: tuple[int, int] | None = None,
                 missed: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint8 coverage image (see :func:`coverage_tiles`), nearest-neighbour scaled to ``size``.

    ``missed`` (rows, cols) bool, on any grid: tiles known to be sharp in no frame, drawn never sharp. The
    sweep knows them (where the pre-scan found subjects, against the frames' positions) where the curves
    cannot: with frames many depths of field apart, every tile's curve has a best frame, sharp or not.
    """
    h, w = size or index.shape
    out = cv2.resize(coverage_tiles(index), (w, h), interpolation=cv2.INTER_NEAREST)
    if missed is not None and missed.any():
        out[cv2.resize(missed.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0] = NEVER_SHARP
    return out
