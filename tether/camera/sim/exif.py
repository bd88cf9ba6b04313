"""The EXIF a camera writes into its stills: make, model, time, exposure, ISO, aperture.

The simulated camera's stills carry it as a real camera's do, so what reads it (the panel's still
preview, exports) is tested on the simulator. Only a header segment is added to the JPEG.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

_EXIF_IFD, _MAKE, _MODEL, _DATETIME_ORIGINAL = 0x8769, 0x010F, 0x0110, 0x9003
_EXPOSURE_TIME, _F_NUMBER, _ISO = 0x829A, 0x829D, 0x8827


@dataclass(frozen=True)
class Exposure:
    """What the EXIF of a still says: shutter time as text ("1/125"), f-number and ISO as the settings' text."""

    shutter: str
    aperture: str
    iso: str


def with_exif(jpeg: bytes, *, make: str, model: str, exposure: Exposure, taken: float) -> bytes:
    """``jpeg`` with an APP1 EXIF segment right after its start marker."""
    exif = Image.Exif()
    exif[_MAKE], exif[_MODEL] = make, model
    sub = exif.get_ifd(_EXIF_IFD)
    sub[_DATETIME_ORIGINAL] = time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(taken))
    shutter, f_number = Fraction(exposure.shutter), Fraction(exposure.aperture).limit_denominator(10)
    sub[_EXPOSURE_TIME] = IFDRational(shutter.numerator, shutter.denominator)
    sub[_F_NUMBER] = IFDRational(f_number.numerator, f_number.denominator)
    sub[_ISO] = int(exposure.iso)
    payload = exif.tobytes()  # "Exif\0\0" and the TIFF structure, as APP1 carries it
    return jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]
