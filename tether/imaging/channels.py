"""Per-channel scaling in one OpenCV pass, saturating into the dtype asked for."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def scale_channels(image: np.ndarray, factors: Sequence[float], *, dtype: int = -1,
                   out: np.ndarray | None = None) -> np.ndarray:
    """(H, W[, C]) ``image`` with channel c times ``factors[c]``, rounded and saturated to the OpenCV depth ``dtype``
    (-1: the image's own), into ``out`` if given."""
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
