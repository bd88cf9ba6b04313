"""The burst layout: format version, entry names, and the checks that keep names safe.

See docs/burst-format.md for the full description.
"""
from __future__ import annotations

import re

from tether.burst.errors import BurstError, CorruptBurst, UnsupportedVersion

FORMAT_NAME = "tether-burst"
#: major.minor: a reader accepts any minor of its major and refuses a newer major.
FORMAT_VERSION = (1, 0)
FORMAT_VERSION_TEXT = f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}"

HEADER_ENTRY = "burst.json"
MANIFEST_ENTRY = "manifest.json"
FRAME_DIR = "frames/"
META_DIR = "meta/"
DERIVED_DIR = "derived/"

_FRAME_RE = re.compile(r"^frames/(\d{6,9})\.([a-z0-9]{1,8})$")
_META_RE = re.compile(r"^meta/(\d{6,9})\.json$")
_DERIVED_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")

#: Extensions for the MIME types cameras send; anything else keeps its file name's extension or ``bin``.
MIME_EXT = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
    "image/x-adobe-dng": "dng",
    "image/x-panasonic-rw2": "rw2",
    "image/x-canon-cr2": "cr2",
    "image/x-canon-cr3": "cr3",
    "image/x-nikon-nef": "nef",
    "image/x-sony-arw": "arw",
    "image/x-fuji-raf": "raf",
    "image/x-olympus-orf": "orf",
}
EXT_MIME = {ext: mime for mime, ext in MIME_EXT.items()} | {"jpeg": "image/jpeg", "tiff": "image/tiff"}


def frame_entry(index: int, ext: str) -> str:
    """The entry name of frame ``index`` (zero-based) with extension ``ext``."""
    return f"{FRAME_DIR}{index:06d}.{ext}"


def meta_entry(index: int) -> str:
    """The entry name of frame ``index``'s metadata record."""
    return f"{META_DIR}{index:06d}.json"


def derived_entry(name: str) -> str:
    """The entry name of a derived data item, after checking the name is safe."""
    check_derived_name(name)
    return f"{DERIVED_DIR}{name}"


def check_derived_name(name: str) -> str:
    """Refuse names that could escape the burst's folders (``..``, slashes) or confuse tools."""
    if not isinstance(name, str) or not _DERIVED_NAME_RE.match(name) or ".." in name:
        raise BurstError(
            f"derived data name {name!r} is not allowed",
            hint="use letters, digits, '.', '_' and '-' only, starting with a letter or digit",
        )
    return name


def parse_frame_entry(name: str) -> tuple[int, str] | None:
    """``(index, ext)`` when ``name`` is a frame entry, else None."""
    m = _FRAME_RE.match(name)
    return (int(m.group(1)), m.group(2)) if m else None


def parse_meta_entry(name: str) -> int | None:
    """The frame index when ``name`` is a metadata record entry, else None."""
    m = _META_RE.match(name)
    return int(m.group(1)) if m else None


def is_safe_entry_name(name: str) -> bool:
    """True for names a burst may contain: relative, no ``..``, no backslash, no drive letter."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    if re.match(r"^[A-Za-z]:", name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def is_known_entry(name: str) -> bool:
    """True for the entry names a burst of this major version is made of."""
    if name in (HEADER_ENTRY, MANIFEST_ENTRY):
        return True
    if parse_frame_entry(name) or parse_meta_entry(name) is not None:
        return True
    return name.startswith(DERIVED_DIR) and bool(_DERIVED_NAME_RE.match(name[len(DERIVED_DIR):]))


def parse_version(value: object, where: str) -> tuple[int, int]:
    """Parse ``"major.minor"``; raises CorruptBurst naming ``where`` when it is malformed."""
    if isinstance(value, str):
        m = re.match(r"^(\d{1,4})\.(\d{1,4})$", value)
        if m:
            return int(m.group(1)), int(m.group(2))
    raise CorruptBurst(f"{where}: format version {value!r} is not of the form 'major.minor'")


def check_version(value: object, where: str) -> tuple[int, int]:
    """Refuse a newer major version with a message that says what to do."""
    version = parse_version(value, where)
    if version[0] > FORMAT_VERSION[0]:
        raise UnsupportedVersion(
            f"{where}: burst format {version[0]}.{version[1]} is newer than this tether reads ({FORMAT_VERSION_TEXT})",
            hint="upgrade tether to open it",
        )
    if version[0] < 1:
        raise UnsupportedVersion(f"{where}: burst format {version[0]}.{version[1]} is not supported")
    return version
