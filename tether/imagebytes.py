"""Cheap looks at image bytes: the MIME type from magic numbers, the size from the JPEG/PNG/TIFF header,
and the one limit on the size of the images tether decodes."""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from tether.errors import InvalidInput

#: The largest image tether decodes, in pixels, checked from the header before any decode: the 102 MP of
#: the largest still cameras pass, while a few kB of PNG or JPEG whose header claims gigapixels (a
#: decompression bomb) are refused before they can take gigabytes of memory.
MAX_FRAME_PIXELS = 120_000_000

# SOF markers that carry the frame size (not DHT 0xC4, JPG 0xC8, DAC 0xCC)
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_SOS, _EOI = 0xDA, b"\xff\xd9"
_PNG = b"\x89PNG\r\n\x1a\n"
_TIFF = {b"II*\x00": "<", b"MM\x00*": ">"}
#: Header segments or IFD entries looked at before giving up: real files have a few dozen, a crafted
#: one may have millions of fill bytes.
_MAX_STEPS = 4096

#: ``read(offset, length)``: up to ``length`` bytes of the image at ``offset`` (fewer at the end).
Read = Callable[[int, int], bytes]


class ImageTooLarge(InvalidInput):
    """An image whose header claims more pixels than :data:`MAX_FRAME_PIXELS`: refused, never decoded."""


def sniff_mime(data: bytes) -> str:
    """The MIME type the first bytes announce, or "" when unknown."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == _PNG:
        return "image/png"
    if data[:4] in _TIFF:
        return "image/tiff"
    if data[:4] == b"IIU\x00":
        return "image/x-panasonic-rw2"
    return ""


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a JPEG SOF, PNG IHDR or TIFF's first IFD, only the header; (0, 0) when unknown."""
    return header_size(_reader(data))


def _reader(data: bytes) -> Read:
    return lambda offset, length: data[offset:offset + length]


def file_reader(fh: BinaryIO) -> Read:
    """A :data:`Read` of an open file: each call reads only the bytes asked for."""
    def read(offset: int, length: int) -> bytes:
        fh.seek(offset)
        return fh.read(length)

    return read


def file_image_size(fh: BinaryIO) -> tuple[int, int]:
    """:func:`image_size` of an open file, reading only its header (a TIFF's IFD may sit at the end)."""
    return header_size(file_reader(fh))


def header_size(read: Read) -> tuple[int, int]:
    """``(width, height)`` of the image ``read`` gives access to; (0, 0) when its header is unknown or damaged."""
    head = read(0, 24)
    if head[:8] == _PNG and head[12:16] == b"IHDR" and len(head) == 24:
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head[:2] == b"\xff\xd8":
        for marker, _, segment in _jpeg_segments(read):
            if marker in _SOF and len(segment) >= 9:
                height, width = struct.unpack(">HH", segment[5:9])
                return width, height
        return 0, 0
    if head[:4] in _TIFF:
        return _tiff_size(read, _TIFF[head[:4]], head)
    return 0, 0


def _jpeg_segments(read: Read) -> Iterator[tuple[int, int, bytes]]:
    """``(marker, offset, first bytes of the segment)`` of each header segment, up to the start of scan."""
    pos = 2
    for _ in range(_MAX_STEPS):
        segment = read(pos, 9)
        if len(segment) < 4:
            return
        if segment[0] != 0xFF:  # stray bytes before a marker, which some cameras write: skipped, as libjpeg does
            skip = read(pos, 4096).find(b"\xff")
            if skip < 0:
                return
            pos += skip
            continue
        marker = segment[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", segment[2:4])
        yield marker, pos, segment
        if marker == _SOS or length < 2:
            return
        pos += 2 + length


def _tiff_size(read: Read, order: str, head: bytes) -> tuple[int, int]:
    """ImageWidth and ImageLength from a TIFF's first IFD (wherever in the file it is)."""
    (ifd,) = struct.unpack(order + "I", head[4:8])
    raw = read(ifd, 2)
    if len(raw) < 2:
        return 0, 0
    (count,) = struct.unpack(order + "H", raw)
    entries = read(ifd + 2, 12 * min(count, _MAX_STEPS))
    found: dict[int, int] = {}
    for at in range(0, len(entries) - 11, 12):
        tag, kind = struct.unpack(order + "HH", entries[at:at + 4])
        if tag in (256, 257) and kind in (3, 4):  # SHORT or LONG, held in the entry itself
            short = kind == 3
            found[tag] = struct.unpack(order + ("H" if short else "I"), entries[at + 8:at + (10 if short else 12)])[0]
    return (found[256], found[257]) if len(found) == 2 else (0, 0)


def check_pixels(width: int, height: int, what: str) -> None:
    """Refuse, with :class:`ImageTooLarge` naming ``what``, an image larger than :data:`MAX_FRAME_PIXELS`."""
    if width * height > MAX_FRAME_PIXELS:
        raise ImageTooLarge(f"{what} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
                            f"tether decodes images of up to {MAX_FRAME_PIXELS // 1_000_000} megapixels")


#: Bytes per pixel no JPEG, PNG or TIFF tether reads needs: four 16-bit samples, uncompressed.
_MAX_BYTES_PER_PIXEL = 8
#: Room for what a file carries beside its pixels (EXIF, embedded previews, colour profiles).
_MAX_METADATA_BYTES = 64 << 20


def check_file_bytes(size: int, width: int, height: int, what: str) -> None:
    """Refuse, with :class:`InvalidInput` naming ``what``, a file of ``size`` bytes that is larger than any
    ``width`` x ``height`` JPEG, PNG or TIFF can be: whatever follows the image would be held in memory
    with it (a small picture followed by gigabytes of anything)."""
    most = width * height * _MAX_BYTES_PER_PIXEL + _MAX_METADATA_BYTES
    if size > most:
        raise InvalidInput(f"{what} is {size / 1e6:.0f} MB, more than a {width}x{height} image can take "
                           f"({most / 1e6:.0f} MB); it holds something else beside the picture")


def decodable_size(data: bytes, what: str) -> tuple[int, int]:
    """``(width, height)`` of an image about to be decoded, after :func:`check_pixels`; (0, 0) when the header
    is unknown or damaged, which the caller must treat as undecodable (the decoder could allocate anything)."""
    width, height = image_size(data)
    check_pixels(width, height, what)
    return width, height


#: How much of a file :func:`truncated` reads at a time while it looks for a JPEG's end marker.
_SCAN_CHUNK = 1 << 20


def truncated(read: Read) -> bool:
    """True when the JPEG or PNG ``read`` gives access to ends before its end marker (a copy cut short); other
    formats are not checked. A JPEG is read a chunk at a time, a PNG only at its chunk headers: a file of
    any size costs :data:`_SCAN_CHUNK` of memory."""
    head = read(0, 8)
    if head[:2] == b"\xff\xd8":
        scan = next((pos for marker, pos, _ in _jpeg_segments(read) if marker == _SOS), -1)
        # entropy-coded data stuffs every 0xFF byte, so an end-of-image marker after the scan is the real one
        return scan < 0 or not _finds(read, _EOI, scan + 2)
    if head == _PNG:
        pos = 8
        while len(chunk := read(pos, 8)) == 8:
            length, kind = struct.unpack(">I4s", chunk)
            if kind == b"IEND":
                return False
            pos += 12 + length  # length, type, data, CRC
        return True
    return False


def _finds(read: Read, needle: bytes, start: int) -> bool:
    """Whether ``needle`` occurs at or after ``start``, read :data:`_SCAN_CHUNK` at a time."""
    overlap = len(needle) - 1  # a needle split between two chunks is found in the second
    pos = start
    while chunk := read(pos, _SCAN_CHUNK):
        if needle in chunk:
            return True
        if len(chunk) < _SCAN_CHUNK:
            return False
        pos += _SCAN_CHUNK - overlap
    return False
