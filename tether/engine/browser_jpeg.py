"""Pictures for the browser: a frame, a stack, reduced and encoded as JPEG."""
from __future__ import annotations

import cv2
import numpy as np

from tether.imaging import ImagingError

#: Thumbnails (the gallery's) are this fraction of the picture's size.
THUMB_REDUCE = 8


def browser_jpeg(image: np.ndarray, what: str, *, reduce: int = 1) -> bytes:
    """``image`` (8 or 16 bits) as a JPEG for the browser, at 1/``reduce`` of its size; ``what`` names it in errors."""
    if reduce > 1:
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, w // reduce), max(1, h // reduce)), interpolation=cv2.INTER_AREA)
    if image.itemsize == 2:  # a RAW's (or a RAW stack's) 16 bits, reduced for the browser
        image = cv2.convertScaleAbs(image, alpha=255 / 65535)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise ImagingError(f"{what} cannot be encoded as JPEG")
    return encoded.tobytes()
