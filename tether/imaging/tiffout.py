"""TIFF results, 8- or 16-bit, carrying the reference frame's EXIF and an sRGB ICC profile.

OpenCV writes 16-bit TIFF without EXIF and Pillow has no 16-bit RGB mode, so tether writes its TIFFs
itself (:mod:`tether.tiffwrite`). The profile says what the pixels are: sRGB-encoded, as camera JPEGs
and RAWs developed by :mod:`tether.imaging.rawfile` are; it is made by LittleCMS through Pillow.
"""
from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any, BinaryIO

import numpy as np

from tether.tiffwrite import ASCII, BYTE, LONG, RATIONAL, SHORT, SRATIONAL, UNDEFINED, Tag, write_tiff

_EXIF_IFD, _MAKER_NOTE, _INTEROP_IFD, _GPS_IFD = 0x8769, 0x927C, 0xA005, 0x8825
_ICC, _PHOTOMETRIC, _RGB, _GRAY = 34675, 262, 2, 1


@functools.cache
def srgb_icc() -> bytes:
    """An sRGB ICC profile (LittleCMS's built-in one)."""
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def write_tiff_file(fh: BinaryIO, image: np.ndarray, exif: bytes) -> None:
    """Write ``image`` ((H, W) or (H, W, 3) BGR, uint8/uint16) as TIFF with ``exif`` (Pillow's EXIF bytes, or b"")."""
    colour = image.ndim == 3
    tags = [Tag(_PHOTOMETRIC, SHORT, [_RGB if colour else _GRAY])]
    if colour:
        tags.append(Tag(_ICC, UNDEFINED, srgb_icc()))
    sub: list[Tag] = []
    if exif:
        from PIL import Image

        parsed = Image.Exif()
        parsed.load(exif)
        tags += _tags(parsed.items(), skip=(_EXIF_IFD, _GPS_IFD))
        sub = _tags(parsed.get_ifd(_EXIF_IFD).items(), skip=(_MAKER_NOTE, _INTEROP_IFD))
    write_tiff(fh, image[:, :, ::-1] if colour else image, tags, exif=sub)


def _tags(items: Any, *, skip: tuple[int, ...]) -> list[Tag]:
    """Pillow's EXIF ``(code, value)`` items as typed TIFF fields; values of no TIFF type are left out."""
    tags = []
    for code, value in items:
        tag = None if code in skip else _typed(code, value)
        if tag is not None:
            tags.append(tag)
    return tags


def _typed(code: int, value: Any) -> Tag | None:
    """One EXIF value as a TIFF field: the type TIFF/EXIF define for ``code`` where Pillow knows it, else by value."""
    from PIL import TiffTags

    known = TiffTags.lookup(code).type
    if isinstance(value, str):
        return Tag(code, ASCII, value)
    if isinstance(value, bytes):
        return Tag(code, BYTE if known == BYTE else UNDEFINED, value)
    values = value if isinstance(value, tuple) else (value,)
    if not values:
        return None
    if all(isinstance(v, int) for v in values):
        if min(values) < 0:
            return None
        short = max(values) < 1 << 16 and known != LONG
        return Tag(code, SHORT if short else LONG, list(values))
    try:
        fractions = [Fraction(v).limit_denominator(1 << 30) for v in values]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    signed = known == SRATIONAL or any(f < 0 for f in fractions)
    return Tag(code, SRATIONAL if signed else RATIONAL, [(f.numerator, f.denominator) for f in fractions])
