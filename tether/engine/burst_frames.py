"""A burst's frames as the image engine's frame source (``tether.imaging.FrameSource``).

Here, above both, so that the image engine knows nothing of bursts and the burst container
nothing of image processing.
"""
from __future__ import annotations

import contextlib
from pathlib import PurePath

import numpy as np

from tether.burst import BurstError, BurstReader
from tether.errors import NotFound
from tether.imaging import ImagingError, MismatchedFrames, UnreadableImage, read_exif
from tether.imaging.rawfile import RAW_SUFFIXES, decode_raw
from tether.numbering import frame_number


def check_frame_index(reader: BurstReader, burst_id: str, index: int | None) -> int:
    """``index`` when burst ``burst_id`` has a frame there, else NotFound. The API names a frame by its index
    counted from 0, so the message quotes the index it was given, called so, and the indices there are."""
    count = reader.frame_count
    if index is None or not 0 <= index < count:
        there = f"indices go from 0 to {count - 1}" if count else "it has no frames yet"
        raise NotFound(f"burst {burst_id} has no frame index {index} ({there})")
    return index


def frame_pixels(reader: BurstReader, i: int, *, reduce: int = 1) -> np.ndarray:
    """Frame ``i`` decoded to BGR: a camera RAW developed to 16 bits (see :mod:`tether.imaging.rawfile`),
    any other frame by the burst reader (8 bits). RAW frames keep the camera's extension in the burst."""
    if PurePath(reader.frame_name(i)).suffix in RAW_SUFFIXES:
        return decode_raw(reader.frame_bytes(i), f"{reader.path}: frame {frame_number(i)}", reduce=reduce)
    return reader.frame_image(i, reduce=reduce)


def readable_frames(reader: BurstReader) -> list[int]:
    """The burst's frame numbers (from 0) that are not marked corrupt, in capture order; none is an error."""
    indices = [i for i, m in enumerate(reader.frames_meta()) if not m.corrupt]
    if not indices:
        raise ImagingError(f"{reader.path}: the burst holds no readable frames")
    return indices


class BurstFrames:
    """The readable frames of an open burst, in capture order; ``indices[k]`` is frame ``k``'s number in the burst."""

    def __init__(self, reader: BurstReader) -> None:
        self.reader = reader
        metas = reader.frames_meta()
        self.indices = readable_frames(reader)
        sizes = {(metas[i].height, metas[i].width) for i in self.indices if metas[i].width}
        if len(sizes) > 1:
            listed = ", ".join(f"{w}x{h}" for h, w in sorted(sizes))
            raise MismatchedFrames(f"{reader.path}: frames of several sizes ({listed}); "
                                   "refocus and stacking need one size")
        first = frame_pixels(reader, self.indices[0])
        self.shape = (first.shape[0], first.shape[1])
        self.dtype = first.dtype

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray:
        try:
            image = frame_pixels(self.reader, self.indices[i], reduce=reduce)
        except BurstError as exc:
            raise UnreadableImage(str(exc)) from None
        if reduce == 1 and image.shape[:2] != self.shape:
            raise MismatchedFrames(f"{self.reader.path}: frame {frame_number(self.indices[i])} is "
                                   f"{image.shape[1]}x{image.shape[0]}, expected {self.shape[1]}x{self.shape[0]}")
        return image

    def exif_source(self) -> bytes | None:
        return self.reader.frame_bytes(self.indices[0])

    def f_number(self) -> float | None:
        """The f-number the burst was shot at, from the first frame's metadata or its EXIF; None if not recorded."""
        meta = self.reader.meta(self.indices[0])
        for key in ("f_number", "fnumber", "aperture"):
            value = meta.exposure.get(key)
            with contextlib.suppress(TypeError, ValueError):
                if value is not None:
                    return float(str(value).lstrip("fF/"))
        exif = read_exif(self.exif_source() or b"")
        with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
            value = exif.get_ifd(0x8769).get(0x829D) if exif is not None else None  # Exif IFD, FNumber
            if value:
                return float(value)
        return None
