"""A burst's retouch layer as stored: the stack it is painted on, its slabs, and the strokes (JSON).

The panel's stack job keeps what retouching needs as derived data in the burst (:func:`keep_stack`):
the stack itself, lossless (:data:`BASE_NAME`), the geometry and colour gains its frames were stacked
with (:data:`GEOMETRY_NAME`: a stroke copies a frame exactly as the stack took it, after a restart
too, whatever focus index is in memory then), the slabs' pictures when it was slabbed, and a new,
empty layer (:data:`LAYER_NAME`: the stack it belongs to, the strokes in order, those undone for
redo, a revision that every change counts). :mod:`tether.engine.retouch` paints and replays them.
"""
from __future__ import annotations

import io
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tether.burst import BurstReader, store_derived, store_derived_items
from tether.errors import NotFound, TetherError
from tether.imaging import FocusIndex, ImagingError, encode_image
from tether.imaging.slabs import SlabStack

#: The stack the strokes are painted on, lossless.
BASE_NAME = "retouch-base.png"
#: Each frame's burst number, transform to the stack's geometry and colour gains, as the stack used them.
GEOMETRY_NAME = "retouch-geometry.npz"
#: The layer: the stack it belongs to, the strokes, those undone.
LAYER_NAME = "retouch.json"
LAYER_VERSION = 1


def slab_name(k: int) -> str:
    return f"retouch-slab-{k:02d}.png"


@dataclass(frozen=True)
class Geometry:
    """``frames`` (burst numbers), ``transforms`` (N, 3, 3) and ``gains`` (N, C) of the frames a stack was made of."""

    frames: list[int]
    transforms: np.ndarray
    gains: np.ndarray

    def position(self, number: int) -> int:
        """The position of burst frame ``number``; NotFound when the stack had no such frame."""
        if number not in self.frames:
            raise NotFound(f"frame {number} is not a readable frame of this burst")
        return self.frames.index(number)


def read_geometry(reader: BurstReader) -> Geometry:
    with np.load(io.BytesIO(reader.derived(GEOMETRY_NAME)), allow_pickle=False) as z:
        return Geometry([int(v) for v in z["frames"]], z["transforms"], z["gains"])


def keep_stack(path: Path, image: np.ndarray, *, about: dict[str, Any], numbers: list[int], index: FocusIndex,
               slabs: SlabStack | None = None) -> None:
    """Keep the stack ``image`` (and its slabs) in the burst at ``path`` as the base of a new, empty retouch layer.

    ``about`` describes the stack for people (method, frames); ``numbers`` maps the frame source's positions
    to burst frame numbers (the slabs' ranges are stored in burst numbers); ``index`` is the focus index the
    stack was made with (its transforms and gains).
    """
    kept: list[list[int]] = []
    items: dict[str, bytes] = {}
    if slabs is not None:
        for k, slab in enumerate(slabs.slabs):
            items[slab_name(k)] = slabs.pictures.encoded[k]
            kept.append([numbers[slab.start], numbers[slab.stop - 1]])
    geometry = io.BytesIO()
    np.savez(geometry, frames=np.array(numbers, np.int64), transforms=np.asarray(index.transforms, np.float64),
             gains=np.asarray(index.gains, np.float32))
    items[GEOMETRY_NAME] = geometry.getvalue()
    items[BASE_NAME] = encode_image(image, ".png")
    layer = {"version": LAYER_VERSION, "stack": secrets.token_hex(6), "about": about, "slabs": kept,
             "size": [image.shape[1], image.shape[0]], "revision": 0, "strokes": [], "undone": []}
    items[LAYER_NAME] = _layer_bytes(layer)
    # one append: a crash part-way leaves the old stack with its own strokes, never the new stack with old strokes
    store_derived_items(path, items)


def keep_for_retouch(path: Path, image: np.ndarray, **kept: Any) -> list[str]:
    """Keep a stack in its burst as the base of a new retouch layer; why not, as warnings (the stack itself is
    written: a burst that cannot take it is no reason to fail)."""
    try:
        keep_stack(path, image, **kept)
    except TetherError as exc:
        return [f"the stack cannot be retouched: the burst does not take it ({exc.message})"]
    return []


def store_layer(path: Path, layer: dict[str, Any]) -> None:
    store_derived(path, LAYER_NAME, _layer_bytes(layer))


def _layer_bytes(layer: dict[str, Any]) -> bytes:
    return json.dumps(layer, separators=(",", ":")).encode("utf-8")


def read_layer(reader: BurstReader, burst_id: str) -> dict[str, Any]:
    """The retouch layer of the open burst ``reader``; NotFound when it has none."""
    if LAYER_NAME not in reader.derived_names():
        raise NotFound(f"burst {burst_id} has no stack to retouch", hint="stack it on the Stack page first")
    layer: dict[str, Any] = json.loads(reader.derived(LAYER_NAME))
    if layer.get("version") != LAYER_VERSION:
        raise ImagingError(f"the retouch layer of burst {burst_id} is of another version ({layer.get('version')})")
    return layer


def decode_png(data: bytes, what: str) -> np.ndarray:
    """A kept picture (the base, a slab) decoded as stored."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImagingError(f"{what} cannot be decoded")
    return image
