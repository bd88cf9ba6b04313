"""Per-channel scaling in one OpenCV pass, saturating into the dtype asked for."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def scale_channels(image: np.ndarray, factors: Sequence[float], *, dtype: int = -1,
                   out: np.ndarray | None = None) -> np.ndarray:
    """(H, W[, C]) ``image`` with channel c times ``factors[c]``, rounded and saturated to the OpenCV depth ``dtype``
    (-1: the image's own), into ``out`` if given."""
    scalar = tuple(float(f) for f in factors) + (0.0,) * (4 - len(factors))  # OpenCV's per-channel Scalar
    # OpenCV's stubs know no Scalar as the second operand; the binding takes one.
    scaled: np.ndarray = cv2.multiply(image, scalar, dst=out, dtype=dtype)  # type: ignore[call-overload]
    return scaled
