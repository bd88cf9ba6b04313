"""Cheap looks at image bytes: the MIME type from magic numbers and the size from the JPEG/PNG header."""
from __future__ import annotations

import struct

# SOF markers that carry the frame size (not DHT 0xC4, JPG 0xC8, DAC 0xCC)
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def sniff_mime(data: bytes) -> str:
    """The MIME type the first bytes announce, or "" when unknown."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[:4] == b"IIU\x00":
        return "image/x-panasonic-rw2"
    return ""


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a JPEG SOF or PNG IHDR, reading only the header; (0, 0) when unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] != b"\xff\xd8":
        return 0, 0
    pos, end = 2, min(len(data), 1 << 20)  # the SOF sits in the first few hundred kB even behind big EXIF
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return 0, 0
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        if marker == 0xDA or length < 2:  # start of scan before any SOF: give up
            return 0, 0
        pos += 2 + length
    return 0, 0
