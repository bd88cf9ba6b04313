"""What the panel shows of a still as it arrives: its exposure, ISO and aperture (EXIF), and a preview.

Pillow reads only the file's header for the EXIF; a file it cannot read (a RAW format it does not
know, a damaged JPEG) shows no EXIF rather than failing the capture that saved it.
"""
from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from tether.errors import NotFound
from tether.imagebytes import image_size

_EXIF_IFD, _EXPOSURE_TIME, _F_NUMBER, _ISO = 0x8769, 0x829A, 0x829D, 0x8827
#: Previews are decoded at 1/2, 1/4 or 1/8 (libjpeg's cheap reductions) to about this width or more.
PREVIEW_WIDTH = 960


def exif_summary(data: bytes) -> dict[str, str]:
    """``{"exposure": "1/125 s", "iso": "200", "aperture": "f/2.8"}``, with only what the file has."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            tags = image.getexif().get_ifd(_EXIF_IFD)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
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
    """A JPEG of the still about PREVIEW_WIDTH wide (decoded at a reduction, re-encoded)."""
    data = path.read_bytes()
    width = image_size(data)[0]
    flag = cv2.IMREAD_COLOR
    for reduce, reduced in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                            (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if width // reduce >= PREVIEW_WIDTH:
            flag = reduced
            break
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if image is None:
        raise NotFound(f"still {path.stem} cannot be previewed in the panel", hint="download it instead")
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise NotFound(f"still {path.stem} cannot be previewed in the panel", hint="download it instead")
    return encoded.tobytes()


def camera_model(owner: Any) -> str:
    """The model of the camera an owner drives (its id while it has not connected), for {camera}."""
    info = owner.snapshot()["info"] or {}
    return str(info.get("model") or owner.camera_id)
