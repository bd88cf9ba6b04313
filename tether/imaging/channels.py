"""Per-channel scaling in one OpenCV pass, saturating into the dtype asked for."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

#: OpenCV depths of the integer results a uint8 image's scaling is looked up for, and their dtypes.
_LUT_DEPTHS: dict[int, np.dtype[Any]] = {cv2.CV_8U: np.dtype(np.uint8), cv2.CV_16U: np.dtype(np.uint16),
                                         cv2.CV_16S: np.dtype(np.int16)}


def scale_channels(image: np.ndarray, factors: Sequence[float], *, dtype: int = -1,
                   out: np.ndarray | None = None) -> np.ndarray:
    """(H, W[, C]) ``image`` with channel c times ``factors[c]``, rounded and saturated to the OpenCV depth ``dtype``
    (-1: the image's own), into ``out`` if given."""
    target = image.dtype if dtype == -1 else _LUT_DEPTHS.get(dtype)
    if image.dtype == np.uint8 and target is not None:
        # A table of the 256 values of each channel, looked up: the same rounded and saturated
        # values as the multiplication below (which converts every sample), about 7x faster.
        top = np.iinfo(target)
        table = np.clip(np.rint(np.arange(256.0)[:, None] * np.array(factors, np.float64)[None, :]), top.min, top.max)
        lut = table.astype(target).reshape(256, 1, len(factors)) if image.ndim == 3 else table[:, 0].astype(target)
        looked_up: np.ndarray = cv2.LUT(image, lut, dst=out)
        return looked_up
    # OpenCV's per-channel Scalar, as the 4-vector of doubles the binding takes for one (the stubs
    # of some OpenCV releases know no tuple there)
    scalar = np.array([*(float(f) for f in factors), *(0.0,) * (4 - len(factors))])
    scaled: np.ndarray = cv2.multiply(image, scalar, dst=out, dtype=dtype)
    return scaled


def lay_over(target: np.ndarray, piece: np.ndarray, weight: np.ndarray) -> None:
    """``target`` (H, W, C) integer image becomes ``piece`` where ``weight`` (H, W) is 1, itself where it is 0,
    and a mix between (rounded, in place): a feathered paste."""
    w = weight.astype(np.float32)[..., None]
    mixed = target.astype(np.float32) * (1.0 - w) + piece.astype(np.float32) * w
    target[...] = np.clip(np.rint(mixed), 0, np.iinfo(target.dtype).max)
