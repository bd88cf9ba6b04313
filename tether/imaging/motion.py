"""Moving subjects: parts of the scene whose change between aligned frames focus cannot explain.

A focus change only blurs: it lowers local contrast but keeps the local mean colour (a blur
moves light around by its radius, and a mean over a window much wider than the radius does
not see that). A leaf in the wind, running water or a person walking through changes the
mean itself. So each aligned, colour-matched frame is reduced to mean colours per tile
(:class:`MotionSampler`, during pass 1), low-passed over a few tiles, and compared with the
median of the tile's sharp band (the frames near its sharpest one: only they make its part
of the stack, and far from it a tile is swamped by the blur of nearer things); tiles where a
frame of the band strays further than :data:`MOTION_LEVELS` grey levels are *moving*
(:func:`motion_tiles`). What a focus sweep does to a still scene stays well below that:
vignetting that changes with focus, the spill of a near object's blur over a far one,
breathing left over after alignment, sensor noise.

Each connected moving region is then taken from one frame, the one with the most focus
energy over the region (:func:`region_frames`): the subject appears once and sharp, instead
of as a ghost of every position it passed through. :class:`MotionOverlay` does that on top
of any stacking method, a strip at a time, feathered over a tile at the region's edge.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from tether.imaging.channels import lay_over, scale_channels
from tether.imaging.methods import Fusion, StripFusion
from tether.imaging.refocus import FocusIndex, tile_rows
from tether.imaging.strips import Strip
from tether.imaging.transforms import Box, footprint_box, scale_transform, warp_to_reference

#: A tile is moving where a frame of its sharp band strays this far (0..255 grey levels) from the
#: band's median, in low-passed mean colour. Still sweeps stay below 7 on both test renderers at
#: 640 x 480 and 13 at 3 MP (focus-dependent vignetting, blur spill, noise); a subject that differs
#: from what it covers by less than this is not seen (it also ghosts faintly).
MOTION_LEVELS = 20.0
#: Low-pass of the tile means (Gaussian sigma) as a share of the frame's long side: wider than the blur
#: a sweep spreads an edge by, which grows with the frame (at 3 MP, 1.5 tiles let a still sweep's
#: edge stray 21 levels; this much (2.4 tiles there, 1.5 at 640 x 480), 13).
SMOOTH_SHARE = 0.019
#: Samples per tile side taken from each frame before its warp into reference geometry.
_SUB = 4
#: Tile-frames :func:`deviation` works on at a time (its few float32 temporaries stay near 1 MB).
_CHUNK = 1 << 16
#: Moving regions are widened by this many tiles: a subject's blurred fringe and the pyramid's coarse
#: levels reach past where its mean colour changes.
GROW_TILES = 3
#: A tile's sharp band: the frames within this share of the sweep of its sharpest one (at least 2).
BAND_SHARE = 0.12


class MotionSampler:
    """Per-tile mean colours of every frame of a stack, in reference geometry and low-passed, as pass 1
    reads them: 3 bytes a tile a frame."""

    def __init__(self, count: int, grid: tuple[int, int]) -> None:
        self.grid = grid
        self.means = np.zeros((count, *grid, 3), np.uint8)
        # Tiles each frame fully covers: outside, a shaken frame's warp only replicates its border, and
        # a frame never added (left out, unregistered) covers nothing; neither may look like motion.
        self.covered = np.zeros((count, *grid), bool)
        self.sigma = max(1.0, SMOOTH_SHARE * max(grid))  # in tiles

    def add(self, i: int, frame: np.ndarray, transform: np.ndarray, gains: np.ndarray) -> None:
        """Frame ``i`` (h, w, 3) as read, ``transform`` from reference to its pixels, its colour ``gains``.

        Past ``count`` the sampler grows (a sweep does not know its length until it ends)."""
        self._hold(i + 1)
        rows, cols = self.grid
        h, w = frame.shape[:2]
        # A whole factor (OpenCV's fast area reduction), and a bilinear warp: only means are wanted.
        factor = max(1, round(min(h / (rows * _SUB), w / (cols * _SUB))))
        size = (w // factor, h // factor)
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA) if factor > 1 else frame
        small = scale_channels(small, [float(g) for g in gains])
        aligned = warp_to_reference(small, scale_transform(transform, 1.0 / factor), size=(size[1], size[0]),
                                    interpolation=cv2.INTER_LINEAR)
        tiles = cv2.resize(_as_u8(aligned), (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)
        self.means[i] = np.rint(cv2.GaussianBlur(tiles, (0, 0), self.sigma))
        row0, row1, col0, col1 = footprint_box(transform, (h, w))
        top, left = np.arange(rows) * (h / rows), np.arange(cols) * (w / cols)
        self.covered[i] = (((top >= row0) & (top + h / rows <= row1))[:, None]
                           & ((left >= col0) & (left + w / cols <= col1))[None, :])

    def motion(self, scores: np.ndarray) -> np.ndarray:
        """(rows, cols) bool: the moving tiles (:func:`motion_tiles` of the means and focus curves ``scores``)."""
        n = len(scores)
        self._hold(n)  # frames never added (the last ones, left out) cover nothing
        return motion_tiles(self.means[:n], scores, self.covered[:n])

    def _hold(self, count: int) -> None:
        """Room for ``count`` frames, doubling, so that growing frame by frame stays linear."""
        more = max(count, 2 * len(self.means)) - len(self.means) if count > len(self.means) else 0
        if more:
            self.means = np.concatenate([self.means, np.zeros((more, *self.means.shape[1:]), np.uint8)])
            self.covered = np.concatenate([self.covered, np.zeros((more, *self.covered.shape[1:]), bool)])


def _as_u8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    converted: np.ndarray = (image.astype(np.float32) * (1.0 / 257.0)).round().astype(np.uint8)
    return converted


def sharp_band(scores: np.ndarray) -> np.ndarray:
    """(N, rows, cols) bool: the frames near each tile's sharpest one (from focus curves ``scores``, same shape).

    Only these frames can make a tile's part of the stack, and between them the blur changes
    little; far from its sharpest frame a tile is swamped by the blur of nearer things.
    """
    n = scores.shape[0]
    half = max(2, int(np.ceil(BAND_SHARE * n)))
    best = scores.argmax(axis=0)
    band: np.ndarray = np.abs(np.arange(n)[:, None, None] - best[None]) <= half
    return band


def deviation(means: np.ndarray, band: np.ndarray) -> np.ndarray:
    """(rows, cols) float32: the most any frame of a tile's ``band`` strays from the band's median colour.

    ``means`` is (N, rows, cols, 3) uint8 low-passed tile colours, ``band`` (N, rows, cols) bool; the
    difference is taken per channel, in grey levels. Done a few tile rows at a time, so what it
    holds does not grow with the number of frames beyond the means themselves.
    """
    n, rows, cols = band.shape
    out = np.zeros((rows, cols), np.float32)
    step = max(1, _CHUNK // (n * cols))
    for r0 in range(0, rows, step):
        part = slice(r0, r0 + step)
        inside = band[:, part]
        count = inside.sum(axis=0)[None]
        for c in range(means.shape[3]):
            low = means[:, part, :, c].astype(np.float32)
            # The band's median: frames outside it sort last (as NaN), then the middle of those counted.
            ranked = np.sort(np.where(inside, low, np.nan), axis=0)
            median = 0.5 * (np.take_along_axis(ranked, (count - 1) // 2, axis=0)
                            + np.take_along_axis(ranked, count // 2, axis=0))
            strays = np.where(inside, np.abs(low - median), 0.0).max(axis=0)
            np.maximum(out[part], strays, out=out[part])
    return out


def motion_tiles(means: np.ndarray, scores: np.ndarray, covered: np.ndarray | None = None) -> np.ndarray:
    """(rows, cols) bool: tiles where a frame of their sharp band changed more than focus can
    (:data:`MOTION_LEVELS`), widened by :data:`GROW_TILES`. ``scores`` are the focus curves (N, rows, cols);
    ``covered`` (same shape, bool) leaves out the tiles a frame does not cover."""
    if len(means) < 3:  # a median of two says nothing about which one moved
        return np.zeros(means.shape[1:3], bool)
    band = sharp_band(scores) if covered is None else sharp_band(scores) & covered
    moving = (deviation(means, band) > MOTION_LEVELS).astype(np.uint8)
    grown = cv2.dilate(moving, np.ones((2 * GROW_TILES + 1,) * 2, np.uint8))
    return grown.astype(bool)


def region_frames(index: FocusIndex, frames: range) -> np.ndarray:
    """(rows, cols) int16: for each moving tile the one frame of ``frames`` its region is taken from, -1 elsewhere.

    A region (8-connected moving tiles) takes the frame with the largest focus energy summed over it.
    """
    out = np.full(index.grid, -1, np.int16)
    count, labels = cv2.connectedComponents(index.motion.astype(np.uint8), connectivity=8)
    scores = index.scores[frames.start:frames.stop]
    for label in range(1, count):
        inside = labels == label
        out[inside] = frames.start + int(np.argmax(scores[:, inside].sum(axis=1)))
    return out


class MotionOverlay:
    """A stacking method's fusion with each moving region replaced by its one frame (:func:`region_frames`).

    Strips without a moving tile are the method's own; in the others the chosen frames' rows are
    kept (only the boxes of their regions) and laid over the method's picture, feathered across
    one tile at the region's edge.
    """

    def __init__(self, fusion: Fusion, index: FocusIndex, frames: range) -> None:
        self.fusion = fusion
        self.stage = fusion.stage
        self.index = index
        chosen = region_frames(index, frames)
        # The feather reaches half a tile past a region's edge tiles: they lend it their frame.
        self.labels = cv2.dilate(chosen, np.ones((3, 3), np.uint8))
        self.moving = (chosen >= 0).astype(np.float32)

    def strip(self, strip: Strip) -> StripFusion:
        inner = self.fusion.strip(strip)
        if not self.moving.any():
            return inner
        # Only the box of the moving tiles (two tiles wider: the bilinear alpha reaches one tile past
        # them) is mapped at full size: a whole 24 MP strip's alpha and labels were 144 MB.
        tile = self.index.tile
        found = np.argwhere(self.moving)
        (r0, c0), (r1, c1) = (found.min(axis=0) - 2) * tile, (found.max(axis=0) + 3) * tile
        start, stop = max(strip.keep_start, int(r0)), min(strip.keep_stop, int(r1))
        c0, c1 = max(0, int(c0)), min(self.index.shape[1], int(c1))
        if start >= stop:
            return inner
        alpha = tile_rows(self.moving, self.index.shape, start, stop)[:, c0:c1]
        labels = self.labels[np.ix_(np.arange(start, stop) // tile, np.arange(c0, c1) // tile)]
        labels = np.where(alpha > 0, labels, -1).astype(np.int16)
        if (labels < 0).all():
            return inner
        return MotionStrip(inner, strip, alpha, labels, origin=(start - strip.keep_start, c0),
                           width=self.index.shape[1])


class MotionStrip:
    """One strip of a :class:`MotionOverlay` that holds part of a moving region.

    ``alpha`` and ``labels`` cover the box of the strip's kept rows that starts at ``origin`` (row, column);
    the frames are ``width`` pixels wide.
    """

    def __init__(self, inner: StripFusion, strip: Strip, alpha: np.ndarray, labels: np.ndarray, *,
                 origin: tuple[int, int], width: int) -> None:
        self.inner = inner
        self.strip = strip
        self.width = width
        self.kept = slice(strip.keep_start - strip.start, strip.keep_stop - strip.start)
        self.alpha = alpha
        self.labels = labels
        self.boxes: dict[int, tuple[slice, slice]] = {}  # of each region, in the box's pixels
        self.placed: dict[int, tuple[slice, slice]] = {}  # the same, in the kept rows' pixels
        for k in np.unique(labels[labels >= 0]):
            rows, cols = np.nonzero((labels == k).any(axis=1))[0], np.nonzero((labels == k).any(axis=0))[0]
            a, b, c, d = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
            self.boxes[int(k)] = (slice(a, b), slice(c, d))
            self.placed[int(k)] = (slice(a + origin[0], b + origin[0]), slice(c + origin[1], d + origin[1]))
        self.pieces: dict[int, np.ndarray] = {}

    def box(self, i: int) -> Box | None:
        """The whole strip for a frame that makes a region here, else what the method reads of it."""
        return (self.strip.start, self.strip.stop, 0, self.width) if i in self.placed else self.inner.box(i)

    def add(self, i: int, read: Callable[[], np.ndarray], gains: np.ndarray) -> None:
        placed = self.placed.get(i)
        if placed is None:
            self.inner.add(i, read, gains)
            return
        rows = read()
        self.pieces[i] = scale_channels(rows[self.kept][placed], [float(g) for g in gains])
        inner = self.inner.box(i)
        if inner is not None:
            r0, r1, c0, c1 = inner
            self.inner.add(i, lambda: rows[r0 - self.strip.start:r1 - self.strip.start, c0:c1], gains)

    def finish(self, out: np.ndarray) -> None:
        self.inner.finish(out)
        for k, piece in self.pieces.items():
            box = self.boxes[k]
            lay_over(out[self.placed[k]], piece, np.where(self.labels[box] == k, self.alpha[box], 0.0))


#: Values of the motion map image.
MOVING, STILL = 255, 0


def motion_map(index: FocusIndex, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) uint8 image: :data:`MOVING` where a moving subject was found, :data:`STILL` elsewhere
    (tiles scaled to ``size`` = (rows, cols), nearest-neighbour)."""
    h, w = size or index.shape
    tiles = np.where(index.motion, MOVING, STILL).astype(np.uint8)
    return cv2.resize(tiles, (w, h), interpolation=cv2.INTER_NEAREST)
