"""Per-tile sharpness of a camera frame, and a small thumbnail to tell frames apart.

The measure itself is the image engine's (:mod:`tether.imaging.focus_measure`, energy of the
Laplacian); this module only decodes the camera's JPEG at a reduced size (libjpeg's DCT
scaling, so a 1920x1080 frame costs a few milliseconds) and averages the measure over a grid
of tiles (16 x 9 by default, the same shape as a 16:9 frame).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from tether.imagebytes import image_size
from tether.imaging.errors import UnreadableImage
from tether.imaging.focus_measure import focus_measure, luminance, tile_scores
from tether.imaging.rawfile import decode_raw, is_raw

#: (rows, cols) of the tile grid.
GRID = (9, 16)
#: Decoded width the reduction aims for: enough detail for focus, little work.
TARGET_WIDTH = 640
_REDUCED = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
            4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
THUMB = (64, 36)


@dataclass(frozen=True)
class FrameSummary:
    """What the capture code needs to know about one frame: (rows, cols) tile sharpness and a thumbnail."""

    tiles: np.ndarray          # (rows, cols) float32
    thumb: np.ndarray          # (36, 64) float32 luminance, 0..255
    ok: bool = True            # False when the bytes did not decode


def reduction_for(width: int) -> int:
    """The JPEG decode reduction (1, 2, 4 or 8) that brings ``width`` down near TARGET_WIDTH."""
    factor = 1
    while factor < 8 and width // (factor * 2) >= TARGET_WIDTH:
        factor *= 2
    return factor


def decode_gray(data: bytes, *, width: int = 0) -> np.ndarray | None:
    """Grayscale float32 of an encoded image, reduced for a frame ``width`` pixels wide; None if undecodable."""
    buf = np.frombuffer(data, np.uint8)
    if buf.size == 0:
        return None
    if is_raw(data):
        return _raw_gray(data, width)
    gray = cv2.imdecode(buf, _REDUCED[reduction_for(width)] if width else cv2.IMREAD_GRAYSCALE)
    if gray is None:
        return None
    if not width and gray.shape[1] >= 2 * TARGET_WIDTH:
        step = reduction_for(gray.shape[1])
        gray = cv2.resize(gray, (gray.shape[1] // step, gray.shape[0] // step), interpolation=cv2.INTER_AREA)
    return gray.astype(np.float32)


def _raw_gray(data: bytes, width: int) -> np.ndarray | None:
    """A camera RAW's luminance on the 0..255 scale, developed at the reduction a JPEG of its width gets."""
    try:
        return luminance(decode_raw(data, "a RAW frame", reduce=reduction_for(width)))
    except UnreadableImage:
        return None


def tile_sharpness(gray: np.ndarray, grid: tuple[int, int] = GRID) -> np.ndarray:
    """Mean focus measure of a (H, W) float32 luminance image over a (rows, cols) grid, as float32."""
    return tile_scores(focus_measure(gray, reduce=1), grid)


def thumbnail(gray: np.ndarray) -> np.ndarray:
    """A (36, 64) float32 thumbnail, averaged so sensor noise hardly shows."""
    return cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA)


def summarize(data: bytes, *, width: int = 0, grid: tuple[int, int] = GRID) -> FrameSummary:
    """Tile sharpness and thumbnail of an encoded frame; ``ok`` False (zeros) when it does not decode."""
    gray = decode_gray(data, width=width)
    if gray is None or min(gray.shape) < 8:
        return FrameSummary(np.zeros(grid, np.float32), np.zeros(THUMB[::-1], np.float32), ok=False)
    return FrameSummary(tile_sharpness(gray, grid), thumbnail(gray))


def summarize_array(gray: np.ndarray, *, grid: tuple[int, int] = GRID) -> FrameSummary:
    """The same summary for an already decoded (H, W) luminance image (movie frames)."""
    gray = gray.astype(np.float32)
    if gray.shape[1] >= 2 * TARGET_WIDTH:
        step = reduction_for(gray.shape[1])
        gray = cv2.resize(gray, (gray.shape[1] // step, gray.shape[0] // step), interpolation=cv2.INTER_AREA)
    return FrameSummary(tile_sharpness(gray, grid), thumbnail(gray))


def thumb_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, in grey levels."""
    return float(np.mean(np.abs(a - b)))


def looks_like_jpeg(data: bytes) -> bool:
    """Cheap check on the camera thread: SOI, a readable frame header (SOF) and EOI (padding allowed)."""
    return (data[:2] == b"\xff\xd8" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"
            and image_size(data) != (0, 0))


def tile_record(summaries: list[FrameSummary], positions: list[int]) -> dict[str, Any]:
    """The JSON-able per-frame tile sharpness a burst keeps as ``sharpness.json``."""
    return {"grid": list(summaries[0].tiles.shape), "measure": "mean squared Laplacian per tile",
            "positions": positions, "ok": [s.ok for s in summaries],
            "tiles": [np.round(s.tiles.astype(np.float64), 3).tolist() for s in summaries]}
