"""Vendor focus-drive tables: data, not branches. Pure data; importing this does not import gphoto2.

Each entry names the libgphoto2 widget and, for each (direction, step class), the value to write and
how many times to write it. ``kind`` says how the value is written:
  "choice"   a radio/menu label ("Near 1");
  "int"      a signed step count written to a range widget (Nikon, Sony);
  "relative" a delta added to the widget's current value (Fuji's absolute focusposition).
"""
from __future__ import annotations

from dataclasses import dataclass

from tether.camera.types import FocusDirection, StepClass

NEAR, FAR = FocusDirection.NEAR, FocusDirection.FAR
SMALL, MEDIUM, LARGE = StepClass.SMALL, StepClass.MEDIUM, StepClass.LARGE


@dataclass(frozen=True)
class FocusDrive:
    vendor: str
    widget: str
    kind: str
    steps: dict[tuple[FocusDirection, StepClass], tuple[object, int]]

    def plan(self, direction: FocusDirection, step: StepClass, count: int) -> tuple[object, int]:
        """(value to write, number of writes) for ``count`` steps of ``step`` toward ``direction``."""
        value, repeat = self.steps[(direction, step)]
        return value, repeat * count


def _labels(near: str, far: str, small: int, medium: int, large: int, large_repeat: int = 1) -> dict:
    return {
        (NEAR, SMALL): (f"{near} {small}", 1), (NEAR, MEDIUM): (f"{near} {medium}", 1),
        (NEAR, LARGE): (f"{near} {large}", large_repeat),
        (FAR, SMALL): (f"{far} {small}", 1), (FAR, MEDIUM): (f"{far} {medium}", 1),
        (FAR, LARGE): (f"{far} {large}", large_repeat),
    }


def _signed(small: int, medium: int, large: int) -> dict:
    return {
        (NEAR, SMALL): (-small, 1), (NEAR, MEDIUM): (-medium, 1), (NEAR, LARGE): (-large, 1),
        (FAR, SMALL): (small, 1), (FAR, MEDIUM): (medium, 1), (FAR, LARGE): (large, 1),
    }


FOCUS_DRIVES: dict[str, FocusDrive] = {
    # Panasonic has two step sizes; "large" is four of the big ones. libgphoto2 sends PTP 0x9416.
    "panasonic": FocusDrive("panasonic", "manualfocusdrive", "choice", _labels("Near", "Far", 1, 2, 2, 4)),
    "canon": FocusDrive("canon", "manualfocusdrive", "choice", _labels("Near", "Far", 1, 2, 3)),
    "olympus": FocusDrive("olympus", "manualfocusdrive", "choice", _labels("Near", "Far", 1, 2, 3)),
    "nikon": FocusDrive("nikon", "manualfocusdrive", "int", _signed(10, 100, 1000)),
    "sony": FocusDrive("sony", "manualfocus", "int", _signed(1, 3, 7)),
    "fuji": FocusDrive("fuji", "focusposition", "relative", _signed(1, 10, 50)),
}

#: Manufacturer string fragments (lower case) -> vendor key.
VENDOR_NAMES = (
    ("panasonic", "panasonic"), ("canon", "canon"), ("nikon", "nikon"), ("sony", "sony"),
    ("fujifilm", "fuji"), ("fuji", "fuji"), ("olympus", "olympus"), ("om digital", "olympus"),
)


def vendor_of(manufacturer: str) -> str:
    """Our vendor key for a manufacturer string ("Panasonic", "Nikon Corporation"), or ""."""
    text = manufacturer.lower()
    for fragment, vendor in VENDOR_NAMES:
        if fragment in text:
            return vendor
    return ""
