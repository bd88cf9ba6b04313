"""A burst's frames at display size, and pictures blended from them along a fractional index map.

The Depth page and the living picture show the frames on a screen, not at full size: each frame
is decoded at the largest JPEG reduction still above the display size, warped into the reference
geometry (focus breathing undone, as the stack does) and colour-matched with the focus index's
gains, so that stepping from frame to frame moves nothing but the focus. From such frames a
picture at any per-pixel fractional frame index is two lookups and a mix (:func:`blend_at_index`):
the all-in-focus depth-map stack at the depth map, the virtual aperture at
:func:`~tether.imaging.aperture.aperture_index_map`'s map -- the same model as the full-size
renderers, at screen size, in milliseconds.
"""
from __future__ import annotations

import cv2
import numpy as np

from tether.imaging import transforms as tf
from tether.imaging.channels import scale_channels
from tether.imaging.io import FrameSource
from tether.imaging.refocus import FocusIndex


def display_size(shape: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(H, W) of a frame of ``shape`` (H, W) scaled so its long side is at most ``long_side`` (never enlarged)."""
    h, w = shape
    scale = min(1.0, long_side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def display_frame(source: FrameSource, index: FocusIndex, i: int, size: tuple[int, int]) -> np.ndarray:
    """Frame ``i`` of ``source`` as (H, W, 3) uint8 at ``size`` = (H, W), in the reference geometry, colour-matched."""
    h, w = source.shape
    reduce = 1
    while reduce < 8 and h // (reduce * 2) >= size[0] and w // (reduce * 2) >= size[1]:
        reduce *= 2
    frame = source.read(i, reduce=reduce)
    small = tf.scale_transform(index.transforms[i], 1.0 / reduce) if len(index.transforms) else tf.IDENTITY
    # Bilinear: the frame is shrunk right after, which hides what Lanczos would keep.
    frame = tf.warp_to_reference(frame, small, interpolation=cv2.INTER_LINEAR)
    if frame.shape[:2] != size:
        frame = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    if frame.dtype == np.uint16:
        frame = (frame // 257).astype(np.uint8)
    gains = [float(g) for g in index.gains[i]] if len(index.gains) else [1.0, 1.0, 1.0]
    return frame if np.allclose(gains, 1.0) else scale_channels(frame, gains)


def blend_at_index(frames: np.ndarray, index_map: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: each pixel mixed from the two frames around its fractional index.

    ``frames`` (N, H, W, 4) uint8, BGR plus a padding byte (see :func:`packed`); ``index_map`` (H, W)
    float in 0..N-1. A pixel at 4.3 takes 70 % of frame 4 and 30 % of frame 5, as
    :class:`~tether.imaging.depthmap_fusion.DepthmapFusion` does.
    """
    n, h, w = frames.shape[:3]
    k = np.clip(index_map, 0, n - 1).astype(np.float32)
    below = np.minimum(k.astype(np.int32), n - 1)  # (k >= 0: truncation is the floor)
    above = np.minimum(below + 1, n - 1)
    # One 32-bit word a pixel: a gather of words is several times faster than one of 3-byte rows.
    words = frames.reshape(n * h * w, 4).view(np.uint32).reshape(-1)
    pixel = np.arange(h * w, dtype=np.int64)
    low = np.take(words, below.reshape(-1) * (h * w) + pixel).view(np.uint8).reshape(h, w, 4)
    high = np.take(words, above.reshape(-1) * (h * w) + pixel).view(np.uint8).reshape(h, w, 4)
    t = (k - below).astype(np.float32)
    mixed: np.ndarray = cv2.blendLinear(low, high, np.float32(1.0) - t, t)
    return cv2.cvtColor(mixed, cv2.COLOR_BGRA2BGR)


def packed(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR as (H, W, 4) with a zero padding byte: the layout :func:`blend_at_index` takes."""
    out: np.ndarray = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return out
