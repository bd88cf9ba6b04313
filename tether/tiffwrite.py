"""A small TIFF writer: one image in strips, its tags, and an optional EXIF sub-IFD.

Both the simulated camera's DNG stills and tether's 16-bit TIFF results are TIFF files that need
what neither OpenCV nor Pillow writes: 16-bit RGB with EXIF (OpenCV writes no EXIF, Pillow has no
16-bit RGB mode), and DNG's own tags. Little-endian, uncompressed (every reader reads it; the
pixels are the bulk of the file whatever the tags say).
"""
from __future__ import annotations

import io
import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, cast

import numpy as np

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
_PACK = {BYTE: "B", ASCII: "B", SHORT: "H", LONG: "I", RATIONAL: "II", UNDEFINED: "B", SRATIONAL: "ii"}
#: Tags the writer sets itself from the pixels and the layout.
LAYOUT = (256, 257, 258, 259, 273, 277, 278, 279, 284, 0x8769)
_STRIP_BYTES = 1 << 16


@dataclass(frozen=True)
class Tag:
    """One TIFF field: ``code``, ``kind`` (BYTE ... SRATIONAL) and its values (text for ASCII, bytes for
    BYTE/UNDEFINED, ints, or (numerator, denominator) pairs for the rationals)."""

    code: int
    kind: int
    values: str | bytes | Sequence[int] | Sequence[tuple[int, int]]

    def payload(self) -> tuple[int, bytes]:
        """(count, packed little-endian bytes)."""
        if isinstance(self.values, str):
            data = self.values.encode("utf-8", "replace") + b"\0"
            return len(data), data
        if isinstance(self.values, bytes):
            return len(self.values), self.values
        fmt = _PACK[self.kind]
        if len(fmt) == 2:
            flat = [v for pair in cast(Sequence[tuple[int, int]], self.values) for v in pair]
        else:
            flat = list(cast(Sequence[int], self.values))
        return len(self.values), struct.pack(f"<{len(flat)}{fmt[0]}", *flat)


def tiff_bytes(pixels: np.ndarray, tags: Sequence[Tag], *, exif: Sequence[Tag] = ()) -> bytes:
    """:func:`write_tiff` into memory."""
    buf = io.BytesIO()
    write_tiff(buf, pixels, tags, exif=exif)
    return buf.getvalue()


def write_tiff(fh: BinaryIO, pixels: np.ndarray, tags: Sequence[Tag], *, exif: Sequence[Tag] = ()) -> None:
    """Write a TIFF file of ``pixels``, (H, W) or (H, W, C) uint8/uint16 (any strides: a BGR-to-RGB view
    will do), with ``tags`` and an EXIF IFD of ``exif``. Strip by strip, so writing costs no copy of
    the picture.

    The caller gives PhotometricInterpretation and everything else; size, samples, strips and the
    EXIF pointer (:data:`LAYOUT`) are set here, and any the caller gives for them are ignored.
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"TIFF samples must be uint8 or uint16, not {pixels.dtype}")
    height, width = pixels.shape[:2]
    samples = 1 if pixels.ndim == 2 else pixels.shape[2]
    row_bytes = width * samples * pixels.itemsize
    rows = max(1, _STRIP_BYTES // max(row_bytes, 1))
    strips = -(-height // rows)
    counts = [row_bytes * min(rows, height - k * rows) for k in range(strips)]
    own = [t for t in tags if t.code not in LAYOUT]

    def first_ifd(data_at: int, exif_at: int) -> list[Tag]:
        offsets = list(itertools.accumulate(counts[:-1], initial=data_at))
        return [*own, Tag(256, LONG, [width]), Tag(257, LONG, [height]),
                Tag(258, SHORT, [8 * pixels.itemsize] * samples), Tag(259, SHORT, [1]), Tag(273, LONG, offsets),
                Tag(277, SHORT, [samples]), Tag(278, LONG, [rows]), Tag(279, LONG, counts), Tag(284, SHORT, [1]),
                *([Tag(0x8769, LONG, [exif_at])] if exif else [])]

    ifd0_size = len(_ifd(first_ifd(0, 0), 8))
    exif_at = 8 + ifd0_size
    exif_block = _ifd(list(exif), exif_at) if exif else b""
    fh.write(b"II*\x00" + struct.pack("<I", 8) + _ifd(first_ifd(exif_at + len(exif_block), exif_at), 8) + exif_block)
    little = pixels.dtype.newbyteorder("<")
    for top in range(0, height, rows):
        fh.write(np.ascontiguousarray(pixels[top:top + rows], dtype=little).data)


def _ifd(tags: list[Tag], at: int) -> bytes:
    """An IFD placed at file offset ``at``, its long values right after it; the next-IFD pointer is 0."""
    tags = sorted(tags, key=lambda t: t.code)
    entries, extra = [], b""
    extra_at = at + 2 + 12 * len(tags) + 4
    for tag in tags:
        count, data = tag.payload()
        if len(data) <= 4:
            field = data.ljust(4, b"\0")
        else:
            field = struct.pack("<I", extra_at + len(extra))
            extra += data + b"\0" * (len(data) % 2)  # values start on word boundaries
        entries.append(struct.pack("<HHI", tag.code, tag.kind, count) + field)
    return struct.pack("<H", len(tags)) + b"".join(entries) + struct.pack("<I", 0) + extra
