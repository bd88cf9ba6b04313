"""Tiles: a crop of a burst frame or of an exported picture (a stack) at 1/1, 1/2, 1/4 or 1/8 scale, as JPEG.

The panel shows pictures reduced; when it zooms in it fetches the part on screen at the scale the
screen can show, up to full resolution, so a 400 % view shows the camera's pixels rather than an
enlarged preview. A tile is named in full-resolution pixels (left, top, width, height) and a
``reduce`` factor; it must lie inside the picture and be at most :data:`MAX_TILE_SIDE` pixels a
side once reduced, so one request costs at most one decode and a bounded encode.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tether.burst import open_burst
from tether.checks import checked, whole
from tether.engine.burst_frames import check_frame_index, frame_pixels
from tether.engine.store import BurstStore
from tether.errors import InvalidInput
from tether.imaging import encode_image, read_image

#: The largest side of a tile as sent, in pixels: a 4K screen's width at 100 %.
MAX_TILE_SIDE = 4096
#: The largest picture side a tile may be asked of (the decoder's own limit refuses larger pictures anyway).
_MAX_SIDE = 100_000
REDUCTIONS = (1, 2, 4, 8)
_RULES = {"left": whole(0, _MAX_SIDE), "top": whole(0, _MAX_SIDE), "width": whole(1, _MAX_SIDE),
          "height": whole(1, _MAX_SIDE), "reduce": whole(1, max(REDUCTIONS))}
_QUALITY = 90


@dataclass(frozen=True)
class Tile:
    """A crop in full-resolution pixels and the factor it is reduced by."""

    left: int
    top: int
    width: int
    height: int
    reduce: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Tile:
        """The tile a request's query string names (every value a whole number); InvalidInput otherwise."""
        numbers = {}
        for key, text in query.items():
            try:
                numbers[key] = int(text)
            except ValueError:
                raise InvalidInput(f"{key} must be a whole number, not {text!r}") from None
        values = checked(numbers, _RULES, "tile", required=("left", "top", "width", "height"))
        tile = cls(**values)
        if tile.reduce not in REDUCTIONS:
            raise InvalidInput(f"reduce must be one of {', '.join(map(str, REDUCTIONS))}, not {tile.reduce}")
        if max(tile.width, tile.height) // tile.reduce > MAX_TILE_SIDE:
            raise InvalidInput(f"a tile is at most {MAX_TILE_SIDE} pixels a side once reduced; "
                               f"{tile.width}x{tile.height} at 1/{tile.reduce} is larger",
                               hint="ask for a smaller part, or a larger reduce")
        return tile


def crop(image: np.ndarray, tile: Tile) -> np.ndarray:
    """The part of ``image`` (a picture decoded at 1/``tile.reduce``) that the tile names; InvalidInput when
    the tile reaches outside the picture."""
    r = tile.reduce
    top, left = tile.top // r, tile.left // r
    bottom, right = -(-(tile.top + tile.height) // r), -(-(tile.left + tile.width) // r)
    height, width = image.shape[:2]
    # a reduced decode rounds the picture's size down or up by up to r - 1 pixels: a tile to the edge fits either
    if tile.top + tile.height > height * r + r - 1 or tile.left + tile.width > width * r + r - 1:
        raise InvalidInput(f"the tile {tile.width}x{tile.height} at ({tile.left}, {tile.top}) reaches outside "
                           f"the {width * r}x{height * r} picture")
    return image[top:min(bottom, height), left:min(right, width)]


def frame_tile(store: BurstStore, burst_id: str, index: int, tile: Tile) -> bytes:
    """The tile of frame ``index`` of burst ``burst_id`` as JPEG."""
    with open_burst(store.burst_path(burst_id)) as reader:
        image = frame_pixels(reader, check_frame_index(reader, burst_id, index), reduce=tile.reduce)
    return encode_image(crop(image, tile), ".jpg", quality=_QUALITY)


def export_tile(store: BurstStore, export_id: str, tile: Tile) -> bytes:
    """The tile of an exported picture (a stack, a saved frame) as JPEG."""
    image = read_image(store.export(export_id).path, reduce=tile.reduce)
    return encode_image(crop(image, tile), ".jpg", quality=_QUALITY)
