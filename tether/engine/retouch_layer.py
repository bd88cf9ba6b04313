"""A burst's retouch layers as stored: the stack each is painted on, its slabs, and the strokes (JSON).

The panel's stack job keeps what retouching needs as derived data in the burst (:func:`keep_stack`):
the stack itself, lossless (:func:`base_name`), the geometry and colour gains its frames were stacked
with (:func:`geometry_name`: a stroke copies a frame exactly as the stack took it, after a restart
too, whatever focus index is in memory then), the focus maps the sharpest brush follows
(:func:`focus_name`; a layer kept before they were is given the loaded index's at its first such
stroke, :func:`keep_focus_maps`), the slabs' pictures when it was slabbed, and a new,
empty layer (:data:`LAYER_NAME`: the stack it belongs to, the strokes in order, those undone for
redo, a revision that every change counts). :mod:`tether.engine.retouch` paints and replays them.

Stacking again never drops strokes: a layer with strokes (or strokes to redo) is kept beside the new
one as an earlier stack (:func:`earlier_name`, a few kilobytes of JSON; its pictures are named by its
stack, so they stay where they are and nothing full-size is copied) and :func:`restore` brings it
back. A layer without strokes is dropped with its pictures: its stack is in exports/ already.
"""
from __future__ import annotations

import io
import json
import secrets
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tether.burst import BurstReader, open_burst, store_derived, store_derived_items
from tether.engine.browser_jpeg import THUMB_REDUCE, browser_jpeg
from tether.engine.burst_cache import BurstLocks
from tether.errors import NotFound, TetherError
from tether.imaging import FocusIndex, ImagingError, encode_image
from tether.imaging.retouch import FocusMaps
from tether.imaging.slabs import SlabStack

#: The layer painted now: the stack it belongs to, the strokes, those undone.
LAYER_NAME = "retouch.json"
LAYER_VERSION = 1
#: The names of a layer's pictures start with its "prefix"; layers kept before stacks were named had none.
_UNNAMED = "retouch-"
_EARLIER = "retouch-earlier-"
_EDITS = BurstLocks()


def _prefix(layer: dict[str, Any]) -> str:
    return str(layer.get("prefix", _UNNAMED))


def base_name(layer: dict[str, Any]) -> str:
    """The stack the strokes are painted on, lossless."""
    return f"{_prefix(layer)}base.png"


def geometry_name(layer: dict[str, Any]) -> str:
    """Each frame's burst number, transform to the stack's geometry and colour gains, as the stack used them."""
    return f"{_prefix(layer)}geometry.npz"


def focus_name(layer: dict[str, Any]) -> str:
    """The focus index's maps the sharpest brush follows (:class:`~tether.imaging.retouch.FocusMaps`)."""
    return f"{_prefix(layer)}focus.npz"


def thumbnail_name(layer: dict[str, Any]) -> str:
    """The stack as the gallery shows it: a small JPEG (layers kept before it was made have none)."""
    return f"{_prefix(layer)}thumbnail.jpg"


def slab_name(layer: dict[str, Any], k: int) -> str:
    return f"{_prefix(layer)}slab-{k:02d}.png"


def earlier_name(stack: str) -> str:
    """An earlier layer, kept when the burst was stacked again (or another was restored over it)."""
    return f"{_EARLIER}{stack}.json"


def editing(path: Path) -> AbstractContextManager[None]:
    """Change the layers of the burst at ``path`` alone: between reading a layer and storing it again, a stroke
    must not land on a stack that is being replaced (its stroke would be lost), nor a new stack be overwritten."""
    return _EDITS.hold(str(path))


def _pictures(layer: dict[str, Any]) -> list[str]:
    return [base_name(layer), geometry_name(layer), focus_name(layer), thumbnail_name(layer),
            *(slab_name(layer, k) for k in range(len(layer["slabs"])))]


@dataclass(frozen=True)
class Geometry:
    """``frames`` (burst numbers), ``transforms`` (N, 3, 3) and ``gains`` (N, C) of the frames a stack was made of."""

    frames: list[int]
    transforms: np.ndarray
    gains: np.ndarray

    def position(self, number: int) -> int:
        """The position of burst frame ``number``; NotFound when the stack had no such frame."""
        if number not in self.frames:
            raise NotFound(f"frame index {number} is not one of the readable frames of this burst")
        return self.frames.index(number)


def read_geometry(reader: BurstReader, layer: dict[str, Any]) -> Geometry:
    with np.load(io.BytesIO(reader.derived(geometry_name(layer))), allow_pickle=False) as z:
        return Geometry([int(v) for v in z["frames"]], z["transforms"], z["gains"])


def keep_stack(path: Path, image: np.ndarray, *, about: dict[str, Any], numbers: list[int], index: FocusIndex,
               slabs: SlabStack | None = None) -> None:
    """Keep the stack ``image`` (and its slabs) in the burst at ``path`` as the base of a new, empty retouch layer;
    the layer it replaces is kept as an earlier one when it has strokes.

    ``about`` describes the stack for people (method, frames); ``numbers`` maps the frame source's positions
    to burst frame numbers (the slabs' ranges are stored in burst numbers); ``index`` is the focus index the
    stack was made with (its transforms and gains).
    """
    stack = secrets.token_hex(6)
    ranges = [[numbers[slab.start], numbers[slab.stop - 1]] for slab in slabs.slabs] if slabs else []
    layer = {"version": LAYER_VERSION, "stack": stack, "prefix": f"retouch-{stack}-", "made": time.time(),
             "about": about, "slabs": ranges,
             "size": [image.shape[1], image.shape[0]], "revision": 0, "strokes": [], "undone": []}
    items: dict[str, bytes] = {}
    if slabs is not None:
        for k in range(len(slabs.slabs)):
            items[slab_name(layer, k)] = slabs.pictures.encoded[k]
    geometry = io.BytesIO()
    np.savez(geometry, frames=np.array(numbers, np.int64), transforms=np.asarray(index.transforms, np.float64),
             gains=np.asarray(index.gains, np.float32))
    items[geometry_name(layer)] = geometry.getvalue()
    items[focus_name(layer)] = FocusMaps.of(index).to_bytes()
    items[base_name(layer)] = encode_image(image, ".png")
    items[thumbnail_name(layer)] = browser_jpeg(image, "the stack's thumbnail", reduce=THUMB_REDUCE)
    items[LAYER_NAME] = _layer_bytes(layer)
    drop: list[str] = []
    with editing(path):
        with open_burst(path) as reader:
            current = stored_layer(reader)
        if current is not None and (current["strokes"] or current["undone"]):
            items[earlier_name(current["stack"])] = _layer_bytes(current)
        elif current is not None:
            drop = _pictures(current)
        # one append: a crash part-way leaves the old stack with its strokes, never the new stack with old strokes
        store_derived_items(path, items, drop=drop)


def restore(path: Path, burst_id: str, stack: str) -> dict[str, Any]:
    """Make the earlier layer of ``stack`` the one painted (the one it replaces is kept as an earlier one)."""
    with editing(path):
        with open_burst(path) as reader:
            current = read_layer(reader, burst_id)
            if earlier_name(stack) not in reader.derived_names():
                raise NotFound(f"burst {burst_id} has no earlier stack {stack!r}",
                               hint="its earlier stacks are listed by GET /api/bursts/ID/retouch")
            chosen = _checked(json.loads(reader.derived(earlier_name(stack))), burst_id)
        store_derived_items(path, {LAYER_NAME: _layer_bytes(chosen),
                                   earlier_name(current["stack"]): _layer_bytes(current)}, drop=[earlier_name(stack)])
    return chosen


def earlier_layers(reader: BurstReader, burst_id: str) -> list[dict[str, Any]]:
    """The earlier layers kept in the burst, the newest stack first."""
    names = [n for n in reader.derived_names() if n.startswith(_EARLIER)]
    layers = [_checked(json.loads(reader.derived(n)), burst_id) for n in names]
    return sorted(layers, key=lambda layer: -float(layer.get("made", 0.0)))


def read_focus_maps(reader: BurstReader, layer: dict[str, Any]) -> FocusMaps | None:
    """The focus maps kept with the layer's stack, or None for a layer kept before they were."""
    if focus_name(layer) not in reader.derived_names():
        return None
    return FocusMaps.from_bytes(reader.derived(focus_name(layer)))


def keep_focus_maps(path: Path, layer: dict[str, Any], maps: FocusMaps) -> None:
    """Keep ``maps`` with a layer kept before stacks kept theirs (the caller holds :func:`editing`)."""
    store_derived(path, focus_name(layer), maps.to_bytes())


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
    layer = stored_layer(reader, burst_id)
    if layer is None:
        raise NotFound(f"burst {burst_id} has no stack to retouch", hint="stack it on the Stack page first")
    return layer


def stored_layer(reader: BurstReader, burst_id: str = "") -> dict[str, Any] | None:
    """The retouch layer of the open burst ``reader``, or None before its first stack."""
    if LAYER_NAME not in reader.derived_names():
        return None
    return _checked(json.loads(reader.derived(LAYER_NAME)), burst_id or reader.path.stem)


def stack_thumbnail(reader: BurstReader, burst_id: str) -> bytes | None:
    """The gallery's thumbnail of the stack the open burst ``reader`` keeps, or None (no stack yet, one kept before
    thumbnails were, or a layer that cannot be read: the gallery then shows a frame)."""
    try:
        layer = stored_layer(reader, burst_id)
    except (TetherError, ValueError, KeyError):
        return None
    if layer is None or thumbnail_name(layer) not in reader.derived_names():
        return None
    return reader.derived(thumbnail_name(layer))


def _checked(layer: dict[str, Any], burst_id: str) -> dict[str, Any]:
    if layer.get("version") != LAYER_VERSION:
        raise ImagingError(f"the retouch layer of burst {burst_id} is of another version ({layer.get('version')})")
    return layer


def decode_png(data: bytes, what: str) -> np.ndarray:
    """A kept picture (the base, a slab) decoded as stored."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImagingError(f"{what} cannot be decoded")
    return image
