"""The one JPEG/PNG header reader that the camera drivers, bursts and the sweep share."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from tether.imagebytes import file_reader, image_size, sniff_mime, truncated


def encoded(suffix: str, width: int = 64, height: int = 48, *params: int) -> bytes:
    return cv2.imencode(suffix, np.zeros((height, width, 3), np.uint8), list(params))[1].tobytes()


@pytest.mark.parametrize("params", [(), (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)])
def test_a_jpeg_tells_its_size(params: tuple[int, ...]) -> None:
    data = encoded(".jpg", 64, 48, *params)
    assert sniff_mime(data) == "image/jpeg" and image_size(data) == (64, 48)


def test_the_size_is_found_behind_a_large_app_segment() -> None:
    data = encoded(".jpg", 640, 480)
    exif = b"\xff\xe1" + (60_002).to_bytes(2, "big") + b"Exif\x00\x00" + bytes(59_994)
    assert image_size(data[:2] + exif + data[2:]) == (640, 480)


def test_a_png_tells_its_size() -> None:
    data = encoded(".png", 33, 21)
    assert sniff_mime(data) == "image/png" and image_size(data) == (33, 21)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8garbage", b"\xff\xd8\xff\xda\x00\x02", b"GIF89a" + bytes(20)])
def test_bytes_without_a_frame_header_have_no_size(data: bytes) -> None:
    assert image_size(data) == (0, 0)


@pytest.mark.parametrize(("cut", "is_truncated"), [(0, False), (1, True)])
def test_an_end_marker_split_between_two_reads_is_found(cut: int, is_truncated: bool) -> None:
    """A JPEG is looked through a megabyte at a time: here its end marker straddles the first two."""
    data = encoded(".jpg")
    scan = data.rfind(b"\xff\xda")
    # entropy-coded data as long as one read, then the end marker across the boundary
    jpeg = data[:scan + 2] + bytes((1 << 20) - 1) + b"\xff\xd9"
    assert truncated(file_reader(io.BytesIO(jpeg[:len(jpeg) - cut]))) is is_truncated
