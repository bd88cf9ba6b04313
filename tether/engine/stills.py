"""What the panel shows of a still as it arrives: its exposure, ISO and aperture (EXIF), and a preview.

Only the file's header is read for the EXIF (a RAW's too); a file that cannot be read (a damaged
JPEG, a RAW format that is not TIFF-based) shows no EXIF rather than failing the capture that saved it.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tether.errors import NotFound
from tether.imaging import ImagingError, read_exif, read_image
from tether.imaging.formats import readable_suffixes
from tether.imaging.io import image_size as picture_size

_EXIF_IFD, _EXPOSURE_TIME, _F_NUMBER, _ISO = 0x8769, 0x829A, 0x829D, 0x8827
#: Previews are decoded at 1/2, 1/4 or 1/8 (libjpeg's cheap reductions) to about this width or more.
PREVIEW_WIDTH = 960
#: The largest still the panel previews (a 100 MP RAW is about 200 MB); larger files are for download.
MAX_PREVIEW_BYTES = 512 * 1024 * 1024


def exif_summary(data: bytes) -> dict[str, str]:
    """``{"exposure": "1/125 s", "iso": "200", "aperture": "f/2.8"}``, with only what the file has."""
    exif = read_exif(data)
    if exif is None:
        return {}
    try:
        tags = exif.get_ifd(_EXIF_IFD)
    except (KeyError, ValueError, SyntaxError, OSError):
        return {}
    out = {}
    exposure = _number(tags.get(_EXPOSURE_TIME))
    if exposure:
        out["exposure"] = f"1/{round(1 / exposure)} s" if exposure < 0.5 else f"{exposure:g} s"
    iso = tags.get(_ISO)
    if isinstance(iso, tuple):  # some cameras write several values; the first is the one used
        iso = iso[0] if iso else None
    if iso:
        out["iso"] = str(int(iso))
    aperture = _number(tags.get(_F_NUMBER))
    if aperture:
        out["aperture"] = f"f/{aperture:.1f}".replace(".0", "")
    return out


def _number(value: Any) -> float | None:
    try:
        number = float(Fraction(value)) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number > 0 else None


def still_event(still_id: str, path: Path, data: bytes, session: str) -> dict[str, Any]:
    """The ``still.added`` event's fields: id, file name, session, EXIF summary."""
    return {"still": still_id, "name": path.name, "session": session, "exif": exif_summary(data)}


def still_info(still_id: str, path: Path) -> dict[str, Any]:
    """A still as the session's list shows it."""
    stat = path.stat()
    with path.open("rb") as fh:
        head = fh.read(128 * 1024)  # EXIF is near the start: one APP1 segment of at most 64 kB
    return {"still": still_id, "name": path.name, "size": stat.st_size, "modified": stat.st_mtime,
            "exif": exif_summary(head)}


def preview_jpeg(path: Path) -> bytes:
    """A JPEG of the still about PREVIEW_WIDTH wide (decoded at a reduction, re-encoded).

    Only images, and of a bounded size: an id of the exports (a movie, a ZIP) is not read whole to be refused.
    """
    cannot = NotFound(f"still {path.stem} cannot be previewed in the panel", hint="download it instead")
    if path.suffix.lower() not in readable_suffixes() or path.stat().st_size > MAX_PREVIEW_BYTES:
        raise cannot
    try:
        width = picture_size(path)[1]
        image = read_image(path, reduce=next((r for r in (8, 4, 2) if width // r >= PREVIEW_WIDTH), 1))
    except ImagingError:
        raise cannot from None
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise cannot
    return encoded.tobytes()


def camera_model(owner: Any) -> str:
    """The model of the camera an owner drives (its id while it has not connected), for {camera}."""
    info = owner.snapshot()["info"] or {}
    return str(info.get("model") or owner.camera_id)
