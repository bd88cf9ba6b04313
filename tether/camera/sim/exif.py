"""The EXIF a camera writes into its stills: make, model, time, exposure, ISO, aperture.

The simulated camera's stills carry it as a real camera's do, so what reads it (the panel's still
preview, exports) is tested on the simulator. Only a header segment is added to the JPEG.
"""
from __future__ import annotations

import time
from fractions import Fraction

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

_EXIF_IFD, _MAKE, _MODEL, _DATETIME_ORIGINAL = 0x8769, 0x010F, 0x0110, 0x9003
_EXPOSURE_TIME, _F_NUMBER, _ISO = 0x829A, 0x829D, 0x8827


def with_exif(jpeg: bytes, *, make: str, model: str, shutter: str, iso: str, aperture: str, taken: float) -> bytes:
    """``jpeg`` with an APP1 EXIF segment right after its start marker; ``shutter`` like '1/125' or '2'."""
    exif = Image.Exif()
    exif[_MAKE], exif[_MODEL] = make, model
    sub = exif.get_ifd(_EXIF_IFD)
    sub[_DATETIME_ORIGINAL] = time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(taken))
    exposure, f_number = Fraction(shutter), Fraction(aperture).limit_denominator(10)
    sub[_EXPOSURE_TIME] = IFDRational(exposure.numerator, exposure.denominator)
    sub[_F_NUMBER] = IFDRational(f_number.numerator, f_number.denominator)
    sub[_ISO] = int(iso)
    payload = exif.tobytes()  # "Exif\0\0" and the TIFF structure, as APP1 carries it
    return jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]
