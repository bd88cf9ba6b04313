"""Known libgphoto2 defects by version: data shared by the driver (to avoid them) and `tether doctor`.

Pure data and version comparison; importing this module does not import gphoto2.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defect:
    key: str
    first: tuple[int, int, int]
    last: tuple[int, int, int]
    vendors: tuple[str, ...]
    summary: str
    fix: str
    #: libgphoto2 config widgets whose writes trigger the defect (the driver never sends them).
    widgets: tuple[str, ...] = ()

    def affects(self, version: tuple[int, int, int]) -> bool:
        return self.first <= version <= self.last


DEFECTS: tuple[Defect, ...] = (
    Defect(
        key="panasonic-focus-drive-crash",
        first=(2, 5, 32),
        last=(2, 5, 34),
        vendors=("panasonic",),
        summary=(
            "libgphoto2 {version} crashes on every Panasonic focus-drive write "
            "(manualfocusdrive, mfadjust, liveviewsize; also capturetarget): ptp_panasonic_manualfocusdrive "
            "and its siblings pass a stack array where a pointer is expected"
        ),
        fix="use a libgphoto2 older than 2.5.32 or newer than 2.5.34, e.g. `make serve GPHOTO2=system` on Debian 12",
        widgets=("manualfocusdrive", "mfadjust", "liveviewsize", "capturetarget"),
    ),
)


def parse_version(text: str) -> tuple[int, int, int]:
    """'2.5.34' or '2.5.30.1' -> (2, 5, 34); missing parts count as 0."""
    parts = []
    for piece in text.strip().split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return (parts[0], parts[1], parts[2])


def defects_for(version: str, vendor: str | None = None) -> list[Defect]:
    """Defects of libgphoto2 ``version`` (optionally only those hitting ``vendor``)."""
    number = parse_version(version)
    return [
        d for d in DEFECTS
        if d.affects(number) and (vendor is None or vendor.lower() in d.vendors)
    ]
