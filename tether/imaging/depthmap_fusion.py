"""Depth-map fusion: each pixel is taken from the frame(s) where the index map says it is sharp.

The smoothed, fractional index map of :class:`~tether.imaging.refocus.FocusIndex` is
the per-pixel choice; a pixel at index 4.3 takes 70 % of frame 4 and 30 % of frame 5,
so steps between frames do not show as contour lines. Because the map is smooth, this
method does not pick noise and keeps smooth surfaces (skin, glass, metal) clean, where
the pyramid method may switch frames on faint texture. This is the "DMap" approach of
Zerene Stacker and focus-stack's depth-map output. At depth edges, where a smooth map would
put an in-between frame on both sides, :class:`EdgePick` takes each pixel from the sharper
of the frames on either side instead (docs/stacking.md, "Depth-map fusion").

Memory: the index map (4 bytes a pixel) and a float32 accumulator (4 bytes a pixel per
channel), and in strips with a depth edge the edge pick's 7 bytes a pixel; frames are folded
in one at a time, in any order. :class:`DepthmapStack` runs it a
strip at a time, for stacking and for the virtual aperture (another index map).
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from tether.imaging.channels import lay_over, scale_channels
from tether.imaging.focus_measure import luminance
from tether.imaging.refocus import FocusIndex, tile_rows
from tether.imaging.strips import Strip
from tether.imaging.transforms import Box

#: Rows ``start``..``stop`` of a (H, W) float32 fractional index map.
IndexRows = Callable[[int, int], np.ndarray]


class DepthmapFusion:
    """Accumulates frames weighted by their distance from a (H, W) float32 fractional index map."""

    def __init__(self, index_map: np.ndarray, channels: int = 3) -> None:
        self.index_map = index_map.astype(np.float32, copy=False)
        h, w = index_map.shape
        self._acc = np.zeros((h, w, channels) if channels > 1 else (h, w), np.float32)
        self._weight = np.zeros((h, w), np.float32)
        below = np.unique(np.floor(self.index_map).astype(np.int32))
        self._wanted = {int(k) for k in below} | {int(k) + 1 for k in below}

    def wants(self, k: int) -> bool:
        """Whether frame ``k`` contributes to any pixel (others need not even be read)."""
        return k in self._wanted

    def add(self, k: int, image: np.ndarray) -> None:
        """Fold frame ``k``, a (H, W[, C]) image in reference geometry (any dtype), into the blend."""
        weight = np.subtract(self.index_map, np.float32(k))
        np.abs(weight, out=weight)
        np.subtract(1.0, weight, out=weight)
        np.maximum(weight, 0.0, out=weight)
        cv2.add(self._weight, weight, dst=self._weight)
        if image.ndim == 2:
            self._acc += weight * image
            return
        for c in range(image.shape[2]):  # per channel keeps the temporaries at one plane
            self._acc[:, :, c] += weight * image[:, :, c]

    def result(self, dtype: np.dtype, *, out: np.ndarray | None = None) -> np.ndarray:
        """The blended image as ``dtype`` (rounded, saturated; into ``out`` if given); black where no frame reached.

        Normalises in place: the accumulator is used up.
        """
        norm = np.maximum(self._weight, 1e-6, out=self._weight)
        acc = self._acc
        if acc.ndim == 2:
            np.divide(acc, norm, out=acc)
        else:
            for c in range(acc.shape[2]):
                np.divide(acc[:, :, c], norm, out=acc[:, :, c])
        target = cv2.CV_16U if np.dtype(dtype) == np.uint16 else cv2.CV_8U
        channels = 1 if acc.ndim == 2 else acc.shape[2]
        return scale_channels(acc, [1.0] * channels, dtype=target, out=out)


#: Tiles whose 3 x 3 neighbourhood spans at least this many frames (sharpest frame per tile) are
#: at a depth edge: there each pixel is picked from the frame with the most detail around it.
EDGE_FRAMES = 1.5
#: Sigma (px) of the window the per-pixel detail is measured over: wide enough not to chase noise,
#: narrow against the halo a smooth depth leaves beside an occluding edge.
DETAIL_SIGMA = 1.0
#: Rows the edge pick works on at a time, and the context it reads around them.
_BAND, _PAD = 128, 8
#: How far (px) a pixel's :func:`detail` reaches: the Laplacian's 1 and the Gaussian's 4 (OpenCV's kernel
#: for a float image spans 4 sigma either side): a pick is the same in any window holding that much around it.
DETAIL_REACH = 5
#: How much more detail another candidate needs than the pixel's own tile's frame to win.
OWN_FRAME_BIAS = 3.0


def detail(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 local detail of a (H, W[, 3]) image: smoothed squared Laplacian of its luminance."""
    grey = luminance(image)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    energy = cv2.multiply(lap, lap)
    return cv2.GaussianBlur(energy, (0, 0), DETAIL_SIGMA)


class EdgePick:
    """At depth edges, each pixel from the frame with the most detail around it among its candidates.

    A smooth depth map cannot follow an occluding edge: it puts an intermediate frame on both sides,
    and leaves a halo of blur around every near object (on stacks of the test renderers, up to a
    fifth of the textured tiles at under 0.8 of the best frame's detail, all around edges). There,
    the sharpest frames of the nearest and farthest tile around (and of the pixel's own tile) compete
    pixel by pixel. Only those: among neighbouring frames of one surface the winner would follow
    the noise. The maps are per tile: ``edge`` (rows, cols) float32, 0..1, how much a tile is at an
    edge (scaled bilinearly, it feathers the picks into the smooth blend), ``candidates`` (3, rows,
    cols) int16 (nearest, own, farthest). The pick covers reference rows ``start``..``stop`` and columns
    ``cols`` (default all; the images offered are those columns) of (H, W) = ``shape``; it keeps the best
    detail so far and its pixels (7 bytes a pixel), and works in bands of rows so that its temporaries
    stay small.
    """

    def __init__(self, edge: np.ndarray, candidates: np.ndarray, *, tile: int, shape: tuple[int, int], start: int,
                 stop: int, cols: tuple[int, int] | None = None) -> None:
        self.edge, self.shape, self.start = edge, shape, start
        self.cols = (0, shape[1]) if cols is None else cols
        self.ty = np.arange(start, stop) // tile  # the tile row and column of each pixel
        self.tx = np.minimum(np.arange(*self.cols) // tile, edge.shape[1] - 1)
        at_edge = edge > 0
        self.candidates = np.where(at_edge, candidates, -1)
        tiles = np.ix_(np.unique(self.ty), np.unique(self.tx))
        self._wanted = {int(k) for k in np.unique(self.candidates[:, tiles[0], tiles[1]]) if k >= 0}
        self._energy = np.full((stop - start, len(self.tx)), -1.0, np.float32)
        self._best: np.ndarray | None = None

    def wants(self, k: int) -> bool:
        return k in self._wanted

    def _bands(self, tiles: np.ndarray) -> list[tuple[int, int, int, int]]:
        """(row0, row1, col0, col1) of the strip's bands of rows that hold a pixel of the tile mask ``tiles``."""
        out = []
        for r0 in range(0, len(self.ty), _BAND):
            r1 = min(len(self.ty), r0 + _BAND)
            cols = np.nonzero(tiles[np.unique(self.ty[r0:r1])].any(axis=0))[0]
            if len(cols):
                c0 = int(np.searchsorted(self.tx, cols[0]))
                c1 = int(np.searchsorted(self.tx, cols[-1], side="right"))
                out.append((r0, r1, c0, c1))
        return out

    def add(self, k: int, image: np.ndarray) -> None:
        """Offer frame ``k``: the strip's rows and columns (rows, cols, 3) in reference geometry."""
        allowed = (self.candidates == k).any(axis=0)
        own = self.candidates[1] == k
        h, w = image.shape[:2]
        for r0, r1, c0, c1 in self._bands(allowed):
            y0, y1, x0, x1 = max(0, r0 - _PAD), min(h, r1 + _PAD), max(0, c0 - _PAD), min(w, c1 + _PAD)
            energy = detail(image[y0:y1, x0:x1])[r0 - y0:r1 - y0, c0 - x0:c1 - x0]
            tiles = np.ix_(self.ty[r0:r1], self.tx[c0:c1])
            # The pixel's own tile's frame wins unless another has clearly more detail: a blurred near
            # edge lets some of the sharp background through, which is detail of the wrong place.
            energy[~own[tiles]] *= 1.0 / OWN_FRAME_BIAS
            kept = self._energy[r0:r1, c0:c1]
            better = allowed[tiles] & (energy > kept)
            kept[better] = energy[better]
            if self._best is None:
                self._best = np.zeros_like(image)
            self._best[r0:r1, c0:c1][better] = image[r0:r1, c0:c1][better]

    def blend(self, out: np.ndarray) -> None:
        """Lay the picked pixels over the smooth blend ``out`` (in place), feathered by the edge map."""
        if self._best is None:
            return
        for r0 in range(0, len(self.ty), _BAND):
            r1 = min(len(self.ty), r0 + _BAND)
            picked = self._energy[r0:r1] >= 0
            if picked.any():
                weight = tile_rows(self.edge, self.shape, self.start + r0, self.start + r1, self.cols)
                lay_over(out[r0:r1], self._best[r0:r1], np.where(picked, weight, 0.0))


#: The :class:`EdgePick` of rows ``start``..``stop``, or None where a stack has no depth edge there.
EdgeRows = Callable[[int, int], "EdgePick | None"]


class DepthmapStack:
    """Depth-map fusion along the index map ``index_rows``, a strip at a time (and at depth edges,
    ``edge_rows``: the sharpest frame per pixel).

    Strips need no margins (each pixel depends on its own index and a few pixels around it), so a
    strip's kept rows are all its rows; frames that no pixel of a strip uses are not even read. With
    ``cols`` (:meth:`of_maps`), strips are of those reference columns only (``index_rows`` and
    ``edge_rows`` give them), and frames are read as those columns.
    """

    stage = "blending"

    def __init__(self, index_rows: IndexRows, edge_rows: EdgeRows | None = None,
                 cols: tuple[int, int] | None = None) -> None:
        self.index_rows = index_rows
        self.edge_rows = edge_rows
        self.cols = cols

    @classmethod
    def of_stack(cls, index: FocusIndex, frames: range) -> DepthmapStack:
        """The depth-map stack of ``frames``: each pixel from the frames where the focus index says it is sharp."""
        return cls.of_maps(index.depth_tiles, index.fine_index, tile=index.tile, shape=index.shape, frames=frames)

    @classmethod
    def of_maps(cls, depth_tiles: np.ndarray, fine_index: np.ndarray, *, tile: int, shape: tuple[int, int],
                frames: range, cols: tuple[int, int] | None = None) -> DepthmapStack:
        """:meth:`of_stack` from a focus index's maps alone (:attr:`~FocusIndex.depth_tiles`,
        :attr:`~FocusIndex.fine_index`, its ``tile`` and ``shape``), as a retouch layer keeps them; of the
        reference columns ``cols`` only if given (the pixels are those of the whole picture's stack, but within
        :data:`DETAIL_REACH` of a side of ``cols`` that is not the picture's)."""
        def depth(start: int, stop: int) -> np.ndarray:
            rows: np.ndarray = np.clip(tile_rows(depth_tiles, shape, start, stop, cols), frames.start,
                                       frames.stop - 1)
            return rows

        fine = np.clip(fine_index, frames.start, frames.stop - 1).astype(np.float32)
        kernel = np.ones((3, 3), np.uint8)
        near, far = cv2.erode(fine, kernel), cv2.dilate(fine, kernel)
        # Widened by a tile: a near object's blur reaches past the tiles its edge crosses.
        edge = cv2.dilate(np.clip(far - near - EDGE_FRAMES + 1.0, 0.0, 1.0), kernel).astype(np.float32)
        candidates = np.rint(np.stack([near, fine, far])).astype(np.int16)

        def edges(start: int, stop: int) -> EdgePick | None:
            c0, c1 = (0, shape[1]) if cols is None else cols
            if not edge[start // tile:(stop - 1) // tile + 1, c0 // tile:(c1 - 1) // tile + 1].any():
                return None
            return EdgePick(edge, candidates, tile=tile, shape=shape, start=start, stop=stop, cols=cols)

        return cls(depth, edges, cols)

    def strip(self, strip: Strip) -> DepthmapStrip:
        edges = None if self.edge_rows is None else self.edge_rows(strip.start, strip.stop)
        return DepthmapStrip(DepthmapFusion(self.index_rows(strip.start, strip.stop)), strip, edges, self.cols)


class DepthmapStrip:
    """One strip of a :class:`DepthmapStack` (of reference columns ``cols``, default all)."""

    def __init__(self, fusion: DepthmapFusion, strip: Strip, edges: EdgePick | None = None,
                 cols: tuple[int, int] | None = None) -> None:
        self.fusion = fusion
        self.strip = strip
        self.edges = edges
        self.cols = (0, fusion.index_map.shape[1]) if cols is None else cols

    def box(self, i: int) -> Box | None:
        """The whole strip for a frame that some pixel of it uses."""
        wanted = self.fusion.wants(i) or (self.edges is not None and self.edges.wants(i))
        return (self.strip.start, self.strip.stop, *self.cols) if wanted else None

    def add(self, i: int, read: Callable[[], np.ndarray], gains: np.ndarray) -> None:
        at_edges = self.edges is not None and self.edges.wants(i)
        frame = read()
        factors = [float(g) for g in gains]
        if not np.allclose(factors, 1.0):  # saturating, in the frame's own dtype: no float copy
            frame = scale_channels(frame, factors)
        if self.fusion.wants(i):
            self.fusion.add(i, frame)
        if at_edges:
            assert self.edges is not None
            self.edges.add(i, frame)

    def finish(self, out: np.ndarray) -> None:
        self.fusion.result(out.dtype, out=out)
        if self.edges is not None:
            self.edges.blend(out)
