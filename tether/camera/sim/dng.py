"""The simulated camera's RAW stills: a linear 16-bit DNG (LinearRaw) that LibRaw and every raw converter read.

The rendered picture is sRGB-encoded 8-bit; its RAW is the same light undone to linear 16-bit, which
is what a sensor records after demosaicing. The camera's colour space is declared to be linear sRGB
(ColorMatrix1 = XYZ to linear sRGB, D65), so a converter's colour step is the identity and a RAW
developed to sRGB gives back the rendered picture: tests can score RAW paths with the scene's truth.
EXIF carries the exposure, as a camera's does.
"""
from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from tether.camera.sim.exif import Exposure
from tether.tiffwrite import ASCII, BYTE, LONG, RATIONAL, SHORT, SRATIONAL, Tag, tiff_bytes

#: XYZ (D65) to linear sRGB, IEC 61966-2-1.
XYZ_TO_SRGB = ((3.2404542, -1.5371385, -0.4985314),
               (-0.9692660, 1.8760108, 0.0415560),
               (0.0556434, -0.2040259, 1.0572252))
_D65 = 21          # CalibrationIlluminant code
_LINEAR_RAW = 34892


def _srgb_to_linear_table() -> np.ndarray:
    """The sRGB decoding curve for the 256 8-bit codes, as linear 16-bit values."""
    v = np.arange(256) / 255.0
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return np.rint(linear * 65535).astype(np.uint16)


_TO_LINEAR = _srgb_to_linear_table()


def _rational(value: float | Fraction) -> tuple[int, int]:
    f = Fraction(value).limit_denominator(10000)
    return f.numerator, f.denominator


def dng_bytes(image: np.ndarray, *, make: str, model: str, exposure: Exposure, taken: float | None = None) -> bytes:
    """A DNG of ``image`` ((H, W, 3) BGR uint8, sRGB-encoded) as linear 16-bit RGB, with the exposure in EXIF."""
    linear = _TO_LINEAR[image[:, :, ::-1]]
    stamp = time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(taken if taken is not None else time.time()))
    tags = [
        Tag(254, LONG, [0]),                           # the main image, not a preview
        Tag(262, SHORT, [_LINEAR_RAW]),
        Tag(271, ASCII, make), Tag(272, ASCII, model), Tag(274, SHORT, [1]),
        Tag(305, ASCII, "tether"), Tag(306, ASCII, stamp),
        Tag(50706, BYTE, bytes((1, 4, 0, 0))),         # DNGVersion
        Tag(50707, BYTE, bytes((1, 1, 0, 0))),         # DNGBackwardVersion
        Tag(50708, ASCII, f"{make} {model}"),          # UniqueCameraModel
        Tag(50714, SHORT, [0, 0, 0]),                  # BlackLevel
        Tag(50717, LONG, [65535, 65535, 65535]),       # WhiteLevel
        Tag(50721, SRATIONAL, [_rational(v) for row in XYZ_TO_SRGB for v in row]),  # ColorMatrix1
        Tag(50728, RATIONAL, [(1, 1)] * 3),            # AsShotNeutral: white balance done already
        Tag(50778, SHORT, [_D65]),                     # CalibrationIlluminant1
    ]
    exif = [
        Tag(0x829A, RATIONAL, [_rational(Fraction(exposure.shutter))]),   # ExposureTime
        Tag(0x829D, RATIONAL, [_rational(float(exposure.aperture))]),     # FNumber
        Tag(0x8827, SHORT, [int(exposure.iso)]),                          # ISOSpeedRatings
        Tag(0x9003, ASCII, stamp),                                        # DateTimeOriginal
    ]
    return tiff_bytes(linear, tags, exif=exif)
