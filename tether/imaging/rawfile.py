"""Camera RAW files (RW2, CR2/CR3, NEF, ARW, DNG ...) developed with LibRaw (rawpy) to 16-bit sRGB.

The development is the one a raw converter's 16-bit TIFF export gives: the camera's white balance,
the sRGB curve, 16 bits, and no brightening of any kind (LibRaw by default stretches a frame whose
brightest pixel is near white to full white, which would give the frames of one stack different
exposures). So a stack of RAWs is the same picture as a stack of their TIFF conversions, and the
sRGB ICC profile tether writes into TIFF results describes it. Pixels stay as the sensor stored
them (no rotation), like every other frame tether reads: the EXIF orientation, carried to the
result, says how to show them. rawpy is imported only when a RAW is met.
"""
from __future__ import annotations

import io
import struct
from pathlib import Path, PurePath
from typing import Any

import cv2
import numpy as np

from tether.imagebytes import ImageTooLarge, check_pixels
from tether.imaging.errors import UnreadableImage

#: File name suffixes of the RAW formats tether reads (all LibRaw does; these are the common ones).
RAW_SUFFIXES = (".dng", ".rw2", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".pef", ".srw")
_TIFF = (b"II*\x00", b"MM\x00*")
#: RW2 and ORF: TIFF-like headers with a magic of their own.
_OWN_MAGIC = (b"IIU\x00", b"IIRO", b"IIRS", b"MMOR")
#: sRGB's curve as LibRaw's (power, toe slope) pair.
_SRGB_GAMMA = (2.4, 12.92)
#: DNG's tags are numbered from DNGVersion up.
_FIRST_DNG_TAG = 50706
_SUB_IFDS = 330


def is_raw(data: bytes, name: str = "") -> bool:
    """True when ``data``, the start of a file called ``name`` (its first IFD: 64 kB will do), is a camera RAW.

    By magic where the format has its own (RW2's "IIU", ORF's "IIRO", CR3's "crx" brand, RAF's
    "FUJIFILMCCD-RAW", CR2's "CR" after its TIFF header); a TIFF whose first IFD has DNGVersion (DNG)
    or SubIFDs (NEF, ARW and other TIFF-based RAWs keep the sensor data there; plain TIFFs almost
    never have them); and any file whose ``name`` has a RAW suffix, so that a damaged one is
    reported as a RAW that cannot be decoded.
    """
    if data[:4] in _OWN_MAGIC or data[4:12] == b"ftypcrx " or data.startswith(b"FUJIFILMCCD-RAW"):
        return True
    if PurePath(name).suffix.lower() in RAW_SUFFIXES:
        return True
    return data[:4] in _TIFF and (data[8:10] == b"CR" or
                                  not _first_ifd_tags(data).isdisjoint((_FIRST_DNG_TAG, _SUB_IFDS)))


def _first_ifd_tags(data: bytes) -> set[int]:
    """The tag numbers of a TIFF's first IFD, as far as ``data`` holds it."""
    if len(data) < 8:
        return set()
    order = "<" if data[:2] == b"II" else ">"
    (at,) = struct.unpack(order + "I", data[4:8])
    if at + 2 > len(data):
        return set()
    (count,) = struct.unpack(order + "H", data[at:at + 2])
    count = min(count, (len(data) - at - 2) // 12)
    return {struct.unpack(order + "H", data[at + 2 + 12 * k:at + 4 + 12 * k])[0] for k in range(count)}


def _open(data: bytes | Path, what: str) -> Any:
    """rawpy's RawPy for ``data`` (bytes, or a file LibRaw reads only as far as it needs), opened and its size
    checked; UnreadableImage for anything LibRaw refuses."""
    try:
        import rawpy
    except ImportError:
        raise UnreadableImage(f"{what}: a RAW file, and reading RAW needs the rawpy package") from None
    try:
        raw = rawpy.imread(io.BytesIO(data) if isinstance(data, bytes) else str(data))
    except (rawpy.LibRawError, ValueError) as exc:
        raise _damaged(what, exc) from None
    try:
        # older rawpy (0.19) reads the header only here, so a damaged file can fail here too
        check_pixels(raw.sizes.width, raw.sizes.height, what)
    except (rawpy.LibRawError, ValueError) as exc:
        raw.close()
        raise _damaged(what, exc) from None
    except ImageTooLarge:
        raw.close()
        raise
    return raw


def _damaged(what: str, exc: Exception) -> UnreadableImage:
    # LibRaw's message comes as bytes in rawpy's error: "b'Unsupported file format or not RAW file'"
    problem = ", ".join(a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in exc.args)
    return UnreadableImage(f"{what}: the RAW file cannot be decoded (damaged, cut short, or a format LibRaw "
                           f"does not know): {problem or type(exc).__name__}")


def raw_size(data: bytes | Path, what: str) -> tuple[int, int]:
    """(H, W) of the developed picture, from the RAW's header (nothing is decoded; a file is not read whole)."""
    raw = _open(data, what)
    with raw:
        return raw.sizes.height, raw.sizes.width


def decode_raw(data: bytes, what: str, *, reduce: int = 1) -> np.ndarray:
    """The RAW developed to (H/reduce, W/reduce, 3) BGR uint16, sRGB-encoded (see the module docstring)."""
    raw = _open(data, what)
    import rawpy  # present: _open needed it

    with raw:
        height, width = raw.sizes.height, raw.sizes.width
        try:
            rgb = raw.postprocess(gamma=_SRGB_GAMMA, no_auto_bright=True, adjust_maximum_thr=0.0, output_bps=16,
                                  use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB, user_flip=0,
                                  half_size=reduce >= 2)
        except (rawpy.LibRawError, ValueError) as exc:
            raise _damaged(what, exc) from None
    bgr: np.ndarray = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    target = (max(1, width // reduce), max(1, height // reduce))
    if (bgr.shape[1], bgr.shape[0]) != target:
        bgr = cv2.resize(bgr, target, interpolation=cv2.INTER_AREA)
    return bgr


def raw_exif(data: bytes) -> Any:
    """The EXIF of a TIFF-based file (DNG, NEF, ARW, CR2, TIFF) as a Pillow ``Image.Exif``, read without
    decoding anything; None for other files. DNG's own tags (colour matrices, levels, version) and
    pointers to sub-images are dropped: they describe the RAW, not the picture made from it."""
    if data[:4] not in _TIFF:
        return None
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(data)
    except (SyntaxError, ValueError, OSError, KeyError, struct.error):
        return None
    for tag in [t for t in exif if t >= _FIRST_DNG_TAG or t in (254, _SUB_IFDS)]:  # and NewSubFileType
        del exif[tag]
    return exif
