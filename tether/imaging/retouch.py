"""Retouching a stack from its sources, Zerene Stacker's way: brush strokes that copy pixels of a source.

A :class:`Stroke` is data, never pixels: the path of the brush in reference pixels (frame 0's
geometry, the stack's), its radius, hardness and opacity, and the :class:`Source` it copies (a frame
of the stack, a slab: a stack of a few frames, or each place's sharpest frames). A retouched stack
is therefore the stack plus a list of strokes replayed in order (:func:`replay`), at any resolution
and any time, and undo is replaying one stroke fewer: the stack comes back bit for bit.

The source's pixels are those the stack itself would take from it: warped into the reference
geometry with the focus index's transform and multiplied by its colour gains
(:func:`aligned_region`), so a stroke leaves no seam of brightness or position. Inside the brush's
hard core (``hardness`` x ``radius`` from the path) a stroke of full opacity puts the source's
pixels exactly; from there to ``radius`` it blends them into the stack with a smoothstep.

What a stroke copies is chosen when it is painted (:data:`BRUSHES`). The sharpest brush copies each
place from the frames sharpest there (:func:`focus_region`): per tile of the focus index, blended
across tiles and depth edges as the depth-map stack is, along the focus maps kept with the stack
(:class:`FocusMaps`), so a replay never depends on a recomputed index and a stroke never puts a frame
sharp elsewhere over what it paints. One frame for the whole brush would: the one most of the brush
covers, the background around a small subject. The halo brush copies the one frame the depth map holds
where the stroke starts, and the chosen brush the frame or slab picked on the scrubber; both are kept
in the stroke.
"""
from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import cv2
import numpy as np

from tether.checks import Rule, checked, number, one_of, whole
from tether.choices import Choices
from tether.errors import InvalidInput
from tether.imaging import transforms as tf
from tether.imaging.channels import lay_over, scale_channels
from tether.imaging.depthmap_fusion import DETAIL_REACH, DepthmapStack
from tether.imaging.errors import ImagingError
from tether.imaging.refocus import FocusIndex
from tether.imaging.strips import STRIP_PIXELS, Strip, even_strips
from tether.imaging.transforms import Box

#: The most points one stroke keeps (a long stroke on a tablet sends a few hundred).
MAX_POINTS = 2000
#: The largest brush radius, in reference pixels.
MAX_RADIUS = 2000.0


@dataclass(frozen=True)
class Brush:
    """How a stroke's frame is chosen when none is picked on the scrubber."""

    name: str
    label: str
    use: str


#: The brushes by name, the default first.
BRUSHES = Choices(
    "brush",
    Brush("sharpest", "Sharpest frame", "copies each place under the brush from the frame sharpest there"),
    Brush("halo", "Erase halo", "copies the frame the depth map holds there, not the sharpest: "
                                "a near edge's blur is sharper than the background it covers"),
    Brush("chosen", "Frame or slab chosen", "copies the frame or slab picked on the scrubber"),
)
#: What a stroke can copy: a frame of the stack, a slab (a stack of some of its frames), or each place's
#: sharpest frames (``focus``).
SOURCE_KINDS = ("frame", "slab", "focus")
#: The sources that are one picture, named by a number.
NUMBERED = ("frame", "slab")


@dataclass(frozen=True)
class Source:
    """Frame ``number`` (the burst's numbering), slab ``number`` (from 0), or ``focus`` (no number): each place
    from the frames sharpest there, by the focus maps kept with the stack."""

    kind: str
    number: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "number": self.number} if self.kind in NUMBERED else {"kind": self.kind}


@dataclass(frozen=True)
class Stroke:
    """One brush stroke: ``points`` (x, y) in reference pixels, ``radius`` px, ``hardness`` and ``opacity`` 0..1."""

    points: tuple[tuple[float, float], ...]
    radius: float
    hardness: float
    opacity: float
    source: Source
    brush: str = BRUSHES.default

    def to_dict(self) -> dict[str, Any]:
        return {"points": [[round(x, 2), round(y, 2)] for x, y in self.points], "radius": self.radius,
                "hardness": self.hardness, "opacity": self.opacity, "source": self.source.to_dict(),
                "brush": self.brush}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stroke:
        """A stroke from what :meth:`to_dict` wrote (or a request sent); InvalidInput names what is wrong."""
        given = checked(data, {"points": point_list(-1e6, 1e6), "radius": number(0.5, MAX_RADIUS),
                               "hardness": number(0.0, 1.0), "opacity": number(0.0, 1.0), "source": check_source,
                               "brush": BRUSHES.check},
                        "stroke", required=("points", "radius", "source"))
        return cls(points=given["points"], radius=given["radius"], hardness=given.get("hardness", 0.5),
                   opacity=given.get("opacity", 1.0), source=given["source"],
                   brush=given.get("brush", BRUSHES.default))


def point_list(lo: float, hi: float) -> Rule:
    """A rule: a list of 1 to :data:`MAX_POINTS` [x, y] points, each coordinate in [lo, hi], as a tuple of pairs."""
    coordinate = number(lo, hi)

    def check(name: str, value: Any) -> tuple[tuple[float, float], ...]:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_POINTS:
            raise InvalidInput(f"{name} must be a list of 1 to {MAX_POINTS} [x, y] points")
        if not all(isinstance(p, list) and len(p) == 2 for p in value):
            raise InvalidInput(f"{name} must be a list of [x, y] points")
        return tuple((coordinate(name, x), coordinate(name, y)) for x, y in value)
    return check


def check_source(name: str, value: Any) -> Source:
    """A rule: ``{"kind": "frame" or "slab", "number": N}`` or ``{"kind": "focus"}`` as a :class:`Source`."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be {{\"kind\": {' or '.join(NUMBERED)}, \"number\": N}} or "
                           f"{{\"kind\": \"focus\"}}, not {value!r}")
    given = checked(value, {"kind": one_of(*SOURCE_KINDS), "number": whole(0)}, name, required=("kind",))
    if given["kind"] in NUMBERED and "number" not in given:
        raise InvalidInput(f"{name} of kind {given['kind']} needs its 'number'")
    return Source(given["kind"], given.get("number", 0))


def simplify_path(points: Sequence[tuple[float, float]], tolerance: float = 0.5) -> tuple[tuple[float, float], ...]:
    """``points`` with those dropped that lie within ``tolerance`` px of the path without them (Douglas-Peucker):
    a stroke is stored at every change of its layer, and a pen sends a point every few pixels."""
    if len(points) < 3:
        return tuple(points)
    rounded = np.array(points, np.float32)  # (OpenCV takes float32 only: the points kept are the callers' own)
    kept = cv2.approxPolyDP(rounded.reshape(-1, 1, 2), tolerance, False).reshape(-1, 2)
    out, i = [], 0
    for point in kept:
        while not np.array_equal(rounded[i], point):
            i += 1
        out.append(points[i])
    return tuple(out)


# -- the brush -------------------------------------------------------------------------------
def stroke_box(stroke: Stroke, shape: tuple[int, int]) -> Box:
    """The reference pixels (H, W) = ``shape`` a stroke can touch, clipped to the picture (maybe empty)."""
    h, w = shape
    xs, ys = [p[0] for p in stroke.points], [p[1] for p in stroke.points]
    reach = stroke.radius + 1.0
    r0, r1 = max(0, math.floor(min(ys) - reach)), min(h, math.ceil(max(ys) + reach) + 1)
    c0, c1 = max(0, math.floor(min(xs) - reach)), min(w, math.ceil(max(xs) + reach) + 1)
    return r0, max(r0, r1), c0, max(c0, c1)


def path_distance(stroke: Stroke, box: Box) -> np.ndarray:
    """(rows, cols) float32: each pixel of ``box``'s distance (px) to the stroke's path (within half a pixel)."""
    r0, r1, c0, c1 = box
    free = np.full((r1 - r0, c1 - c0), 255, np.uint8)
    shift = 4  # sub-pixel vertices: the path is drawn on the pixel grid from positions in 1/16 px
    pts = [(round((x - c0) * 16), round((y - r0) * 16)) for x, y in stroke.points]
    for a, b in zip(pts, pts[1:] + pts[-1:], strict=True):
        cv2.line(free, a, b, 0, 1, cv2.LINE_8, shift)
    distance: np.ndarray = cv2.distanceTransform(free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance


def stroke_alpha(stroke: Stroke, box: Box) -> np.ndarray:
    """(rows, cols) float32 0..1: how much of the source each pixel of ``box`` takes.

    ``opacity`` within ``hardness`` x ``radius`` of the path (the hard core), falling to 0 at
    ``radius`` along a smoothstep (no kink in brightness at either end of the soft edge).
    """
    distance = path_distance(stroke, box)
    core = stroke.hardness * stroke.radius
    t = np.clip((stroke.radius - distance) / max(stroke.radius - core, 1e-3), 0.0, 1.0)
    alpha: np.ndarray = (stroke.opacity * t * t * (3.0 - 2.0 * t)).astype(np.float32)
    return alpha


def aligned_region(frame: np.ndarray, transform: np.ndarray, gains: np.ndarray, box: Box,
                   shape: tuple[int, int]) -> np.ndarray:
    """``box`` of ``frame`` (H, W, 3) as the stack takes it: warped into the reference geometry (H, W) = ``shape``
    by ``transform`` and multiplied by ``gains`` (3,), in the frame's dtype.

    Only the box is warped. Its pixels are within one grey level of the same box cut from the whole warped
    frame, not always equal: OpenCV rounds the sample positions of a warp to 1/32 pixel from its offset, which
    moves with the box's corner (measured, 300 random boxes and transforms: 0.09 % of 8-bit values 1 apart,
    at most 11 of 65535 in 16-bit)."""
    r0, r1, c0, c1 = box
    region = tf.warp_to_reference(frame, transform, size=shape, rows=(r0, r1), cols=(c0, c1))
    factors = [float(g) for g in gains]
    if np.allclose(factors, 1.0):
        return np.ascontiguousarray(region)
    return scale_channels(np.ascontiguousarray(region), factors)


def paint(image: np.ndarray, stroke: Stroke, region: np.ndarray, box: Box) -> None:
    """Lay ``region`` (the source's pixels of ``box``) over ``image`` (H, W, 3) through the stroke's brush, in place."""
    r0, r1, c0, c1 = box
    if r1 > r0 and c1 > c0:
        lay_over(image[r0:r1, c0:c1], region, stroke_alpha(stroke, box))


#: The source's pixels of a box, as the stack takes them: ``read(source, box)`` -> (rows, cols, 3).
ReadRegion = Callable[[Source, Box], np.ndarray]


def replay(base: np.ndarray, strokes: Sequence[Stroke], read: ReadRegion) -> np.ndarray:
    """``base`` (H, W, 3) with ``strokes`` painted in order, as a new image (``base`` is not changed)."""
    image = base.copy()
    shape = (base.shape[0], base.shape[1])
    for stroke in strokes:
        box = stroke_box(stroke, shape)
        if box[1] > box[0] and box[3] > box[2]:
            paint(image, stroke, read(stroke.source, box), box)
    return image


# -- which frames ----------------------------------------------------------------------------
def halo_frame(index: FocusIndex, point: tuple[float, float]) -> int:
    """The frame (the index's numbering) a ``halo`` stroke starting at reference ``point`` copies: the smoothed
    depth map there, as the depth-map method follows it. Where a near object's blur overlaps the background,
    the sharpest frame is the near one (its blurred edge is the strongest detail there), while the depth map,
    filled in from the background around, is not."""
    h, w = index.shape
    x, y = min(max(point[0], 0.0), w - 1e-3), min(max(point[1], 0.0), h - 1e-3)
    row, col = int(y // index.tile), int(x // index.tile)
    return int(np.clip(np.rint(index.depth_tiles[row, col]), 0, index.frame_count - 1))


@dataclass(frozen=True, eq=False)
class FocusMaps:
    """What the sharpest brush follows, kept with a stack: a focus index's ``depth`` (its
    :attr:`~FocusIndex.depth_tiles`) and ``sharpest`` (its :attr:`~FocusIndex.fine_index`), (rows, cols)
    float32 indexes into ``frames``, one tile = ``tile`` px of the (H, W) = ``shape`` picture. ``frames`` are the
    index's frames that were registered (those a stack takes), in its numbering, the stack's positions."""

    depth: np.ndarray
    sharpest: np.ndarray
    tile: int
    shape: tuple[int, int]
    frames: tuple[int, ...]

    def __post_init__(self) -> None:
        grid = (-(-self.shape[0] // self.tile), -(-self.shape[1] // self.tile))
        if not self.frames or self.depth.shape != grid or self.sharpest.shape != grid:
            raise ImagingError(f"the stack's focus maps are damaged: maps of {self.depth.shape} and "
                               f"{self.sharpest.shape} tiles for {grid}, over {len(self.frames)} frames")

    @classmethod
    def of(cls, index: FocusIndex) -> FocusMaps:
        """The maps of ``index`` without the frames it could not register, as the stack was made of them."""
        kept = [k for k in range(index.frame_count) if k not in index.excluded]
        registered = index.of_frames(kept) if index.excluded else index
        return cls(registered.depth_tiles, registered.fine_index, index.tile, index.shape, tuple(kept))

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, depth=self.depth.astype(np.float32), sharpest=self.sharpest.astype(np.float32),
                 tile=np.array(self.tile), shape=np.array(self.shape), frames=np.array(self.frames, np.int64))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FocusMaps:
        """The maps :meth:`to_bytes` wrote (or, kept before ``frames`` were, ``frame_count``: all frames);
        ImagingError when they are damaged."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                h, w = (int(v) for v in z["shape"])
                frames = (tuple(int(k) for k in z["frames"]) if "frames" in z
                          else tuple(range(int(z["frame_count"]))))
                return cls(z["depth"], z["sharpest"], int(z["tile"]), (h, w), frames)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise ImagingError(f"the stack's focus maps are damaged ({e})") from e


#: Frame ``k``'s pixels of a box as the stack takes them: ``read(k, box)`` -> (rows, cols, 3).
ReadFrame = Callable[[int, Box], np.ndarray]


def focus_region(maps: FocusMaps, box: Box, read: ReadFrame) -> np.ndarray:
    """``box`` as the depth-map stack of the maps' frames has it: each pixel from the frames sharpest there.

    The stack's own blend (:meth:`DepthmapStack.of_maps`): along the depth map, interpolated between
    tiles and frames, and at depth edges each pixel from the sharper of the frames on either side. Made
    over the box's rows and its columns widened by what the edge pick's detail reaches
    (:data:`~tether.imaging.depthmap_fusion.DETAIL_REACH`), from those frames only that some pixel of that
    window uses, in the frames' dtype.
    """
    r0, r1, c0, c1 = box
    x0, x1 = max(0, c0 - DETAIL_REACH), min(maps.shape[1], c1 + DETAIL_REACH)
    stack = DepthmapStack.of_maps(maps.depth, maps.sharpest, tile=maps.tile, shape=maps.shape,
                                  frames=range(len(maps.frames)), cols=(x0, x1))
    out: np.ndarray | None = None
    # A tall box in bands of rows, as the stack's strips: the edge pick's detail reaches across a band's
    # ends (never across the box's: the box's rows are what the brush has always blended).
    for band in even_strips((r1 - r0, x1 - x0), budget=STRIP_PIXELS, margin=DETAIL_REACH):
        strip = stack.strip(Strip(r0 + band.start, r0 + band.stop, r0 + band.keep_start, r0 + band.keep_stop))
        made: np.ndarray | None = None
        for k, frame in enumerate(maps.frames):
            if (wanted := strip.box(k)) is not None:
                region = read(frame, wanted)
                made = np.empty_like(region) if made is None else made
                strip.add(k, partial(np.asarray, region), np.ones(3, np.float32))
        assert made is not None  # (every pixel's depth names a frame)
        strip.finish(made)
        out = np.empty((r1 - r0, c1 - c0, made.shape[2]), made.dtype) if out is None else out
        keep = slice(band.keep_start - band.start, band.keep_stop - band.start)
        out[band.keep_start:band.keep_stop] = made[keep, c0 - x0:c1 - x0]
    assert out is not None  # (a box has rows)
    return out
