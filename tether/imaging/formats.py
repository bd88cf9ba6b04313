"""The image formats tether writes results in, defined once for the CLI, the web API and the pages."""
from __future__ import annotations

from dataclasses import dataclass

from tether.choices import Choices
from tether.imaging.errors import ImagingError
from tether.imaging.rawfile import RAW_SUFFIXES


@dataclass(frozen=True)
class ImageFormat:
    """An output format: its name (what the web API takes), words for people, its file suffixes
    (the first is the one tether names files with), the sample depths it holds, Pillow's name for
    it, and whether browsers show it."""

    name: str
    label: str
    suffixes: tuple[str, ...]
    depths: tuple[int, ...]
    pillow: str
    browsers_show: bool

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


#: The output formats by name, the default first.
FORMATS = Choices(
    "image format",
    ImageFormat("jpeg", "JPEG", (".jpg", ".jpeg"), (8,), "JPEG", browsers_show=True),
    ImageFormat("png", "PNG", (".png",), (8, 16), "PNG", browsers_show=True),
    ImageFormat("tiff", "TIFF (16-bit when the frames are)", (".tif", ".tiff"), (8, 16), "TIFF", browsers_show=False),
)


def suffixes_text() -> str:
    """The suffixes to name for a file tether can write, in words: ".jpg, .png or .tif"."""
    names = [f.suffix for f in FORMATS.values()]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def readable_suffixes() -> tuple[str, ...]:
    """The suffixes of the files tether reads as frames: the formats it writes, and camera RAWs."""
    return (*(s for f in FORMATS.values() for s in f.suffixes), *RAW_SUFFIXES)


def format_of(suffix: str) -> ImageFormat:
    """The format a file named with ``suffix`` (any case) is written in; ImagingError if tether writes none."""
    for image_format in FORMATS.values():
        if suffix.lower() in image_format.suffixes:
            return image_format
    raise ImagingError(f"cannot write {suffix or 'files without a suffix'}; use {suffixes_text()}")
