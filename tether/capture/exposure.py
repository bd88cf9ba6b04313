"""The exposure a sweep's frames are taken with, read once from the camera's settings and kept with each frame.

Live-view and movie frames carry no EXIF, so without this a burst would not say which aperture it was shot
at (the virtual aperture needs it). Setting names differ between cameras (libgphoto2 calls the f-number
``aperture`` on Canon and Panasonic, ``f-number`` on Nikon, Sony and generic PTP): each is looked up among
the names cameras use, never assumed.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from tether.camera.types import Setting

#: Frame-record key -> the setting names cameras give it, most common first.
NAMES = {
    "f_number": ("aperture", "f-number", "fnumber"),
    "shutter": ("shutterspeed", "shutterspeed2", "exposuretime"),
    "iso": ("iso", "isospeed"),
}


def recorded_exposure(settings: Iterable[Setting]) -> dict[str, Any]:
    """``{"f_number": 8.0, "shutter": "1/125", "iso": "200"}``, with what the camera's ``settings`` say.

    A setting the camera lacks, or one that is not a value (``"Auto"``, an f-number that is not a number),
    is left out: nothing is recorded rather than a guess.
    """
    values = {s.name: s.value for s in settings}
    found: dict[str, Any] = {}
    for key, names in NAMES.items():
        value = next((values[n] for n in names if values.get(n) not in (None, "")), None)
        if value is None:
            continue
        text = str(value).strip()
        if key == "f_number":
            with contextlib.suppress(ValueError):
                number = float(text.lstrip("fF/ "))
                if number > 0:
                    found[key] = number
        elif text[:1].isdigit():
            found[key] = text
    return found
