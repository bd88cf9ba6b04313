"""Per-channel scaling: every uint8 value, rounded and saturated into each integer depth."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tether.imaging.channels import scale_channels


@pytest.mark.parametrize(("depth", "dtype"), [(-1, np.uint8), (cv2.CV_8U, np.uint8), (cv2.CV_16S, np.int16),
                                              (cv2.CV_16U, np.uint16)])
def test_each_uint8_value_becomes_its_rounded_and_saturated_product(depth: int, dtype: type) -> None:
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    image = np.dstack([values, values[::-1], values.T])
    factors = [8.0 * 1.0372, 0.5, 300.25]  # a colour gain at the pyramid's scale, halves (ties), saturation
    got = scale_channels(image, factors, dtype=depth)
    info = np.iinfo(dtype)
    want = np.clip(np.rint(image * np.array(factors)), info.min, info.max).astype(dtype)
    assert got.dtype == dtype and np.array_equal(got, want)
    single = scale_channels(values, [0.5], dtype=depth)  # one channel, (H, W)
    assert np.array_equal(single, np.clip(np.rint(values * 0.5), info.min, info.max).astype(dtype))
