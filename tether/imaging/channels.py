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
