"""Refocus: for each part of the picture, the frame where it is sharpest.

A :class:`FocusIndex` holds the per-tile focus measure of every frame of a burst (a
"focus curve" per tile, computed once while the frames stream past and stored in the
burst). From it come the index map (argmax frame per tile, refined to a fraction of a
frame by a parabola through the log measure around the peak, as in shape-from-focus,
Nayar & Nakagawa 1994), a confidence per tile (how far the peak stands above the
curve's median) and answers to taps: :meth:`FocusIndex.refocus` sums the normalised
focus curves of the tiles around the tap, weighted by confidence, and picks the frame
with the largest vote. A tap costs a few hundred multiply-adds: no frame is touched.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from tether.imaging.errors import ImagingError

FORMAT_VERSION = 1
#: A tile whose peak stands less than this far above its median (relative) is "no texture".
MIN_CONFIDENCE = 0.25


@dataclass(frozen=True)
class RefocusAnswer:
    """The frame to show for a tap, how sure the vote is (0..1), and other frames worth offering."""

    frame: int | None
    confidence: float
    alternatives: tuple[int, ...]
    #: The tap is on a moving subject: no frame is named (the sharpest one there is not a place in the scene).
    moving: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"frame": self.frame, "confidence": round(self.confidence, 3), "alternatives": list(self.alternatives),
                "moving": self.moving}


@dataclass(eq=False)
class FocusIndex:
    """Focus curves of a burst: ``scores`` (N, rows, cols) float32, one tile = ``tile`` x ``tile`` pixels.

    ``shape`` is the (H, W) frame size; ``transforms`` (N, 3, 3) map reference pixels to
    each frame's pixels and ``gains`` (N, C) match each frame's colour to the reference.
    ``motion`` (rows, cols) bool marks tiles of moving subjects (:mod:`tether.imaging.motion`); taps
    there name no frame, and the votes of the tiles around a tap leave them out.
    Pixel coordinates everywhere are those of the reference frame (frame 0).
    """

    scores: np.ndarray
    shape: tuple[int, int]
    tile: int
    transforms: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 3)))
    gains: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    #: Frames that could not be registered (another scene, no texture): their curves are zero, and
    #: stacks leave them out.
    excluded: tuple[int, ...] = ()
    motion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))

    def __post_init__(self) -> None:
        if self.motion.size == 0:  # (an index stored before motion was detected: nothing known to move)
            self.motion = np.zeros(self.scores.shape[1:], bool)

    @property
    def frame_count(self) -> int:
        return int(self.scores.shape[0])

    @property
    def grid(self) -> tuple[int, int]:
        return int(self.scores.shape[1]), int(self.scores.shape[2])

    # -- per-tile maps, computed once -------------------------------------------------
    @cached_property
    def _peaks(self) -> np.ndarray:
        peaks: np.ndarray = self.scores.max(axis=0) + 1e-6
        return peaks

    def _normalised(self, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        """The curves of the tiles ``rows``, ``cols`` divided by their peaks (1 at the sharpest frame).

        Made on demand, never kept: the whole set is as large as ``scores``, which a stack's
        second pass would otherwise carry twice.
        """
        curves: np.ndarray = (self.scores[:, rows, cols] / self._peaks[rows, cols]).astype(np.float32)
        return curves

    @cached_property
    def best(self) -> np.ndarray:
        """(rows, cols) int16: the frame with the largest focus measure in each tile."""
        best: np.ndarray = self.scores.argmax(axis=0).astype(np.int16)
        return best

    @cached_property
    def confidence(self) -> np.ndarray:
        """(rows, cols) float32 in 0..1: how far each tile's peak stands above its curve's median."""
        median = np.median(self._normalised(), axis=0)
        confidence: np.ndarray = (1.0 - median).astype(np.float32)
        return confidence

    @cached_property
    def fine_index(self) -> np.ndarray:
        """(rows, cols) float32: the sharpest frame per tile, to a fraction of a frame (unsmoothed)."""
        n = self.frame_count
        best = self.best.astype(np.int64)
        if n < 3:
            return best.astype(np.float32)
        k = np.clip(best, 1, n - 2)
        rows, cols = np.indices(best.shape)
        # Only the three frames around each peak: the log of every curve would be as large as ``scores``.
        a, b, c = (np.log((self.scores[j, rows, cols] / self._peaks).astype(np.float32) + 1e-6)
                   for j in (k - 1, k, k + 1))
        denom = a - 2 * b + c
        offset = np.where(denom < -1e-6, 0.5 * (a - c) / np.where(denom < -1e-6, denom, -1.0), 0.0)
        interior = (best > 0) & (best < n - 1)
        return np.where(interior, best + np.clip(offset, -0.5, 0.5), best).astype(np.float32)

    @cached_property
    def depth_tiles(self) -> np.ndarray:
        """(rows, cols) float32 smoothed sub-frame index: outliers median-filtered, textureless and moving tiles
        filled in."""
        fine = cv2.medianBlur(self.fine_index.astype(np.float32), 3)
        weight = np.clip(self.confidence / MIN_CONFIDENCE - 1.0, 0.0, 1.0).astype(np.float32)
        weight[self.motion] = 0.0  # a moving subject's curves say where it passed, not how far away it is
        # Normalised convolution: textureless (and moving) tiles take the confidence-weighted depth around them.
        sigma = max(2.0, min(self.grid) / 16)
        num = cv2.GaussianBlur(fine * weight, (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)
        fill = np.where(den > 1e-4, num / np.maximum(den, 1e-4), float(np.median(fine)))
        smooth = weight * cv2.GaussianBlur(fine, (3, 3), 0) + (1 - weight) * fill
        tiles: np.ndarray = np.clip(smooth, 0, self.frame_count - 1).astype(np.float32)
        return tiles

    def frame_window(self, frames: range | None = None, *, tolerance: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi): (rows, cols) float32 bounds of the frames worth taking each tile from.

        The sharpest frame of each tile and its 8 neighbours (clipped to ``frames``), widened
        by ``tolerance``: near a depth edge both sides' frames qualify, elsewhere only the few
        around the sharp one. Stacking outside this window could only pick up noise or the
        ringing of a defocus blur -- detail that was never in focus.
        """
        first, last = (0, self.frame_count - 1) if frames is None else (frames.start, frames.stop - 1)
        fine = np.clip(self.fine_index, first, last).astype(np.float32)
        kernel = np.ones((3, 3), np.uint8)
        return cv2.erode(fine, kernel) - tolerance, cv2.dilate(fine, kernel) + tolerance

    def of_frames(self, kept: list[int]) -> FocusIndex:
        """This index for the frames ``kept`` only, renumbered 0.. in that order (the frames a stack used)."""
        return FocusIndex(scores=self.scores[kept], shape=self.shape, tile=self.tile,
                          transforms=self.transforms[kept], gains=self.gains[kept], motion=self.motion)

    def depth(self, *, size: tuple[int, int] | None = None) -> np.ndarray:
        """(H, W) float32 smoothed sub-frame index per pixel (or at ``size`` = (rows, cols))."""
        h, w = size or self.shape
        return cv2.resize(self.depth_tiles, (w, h), interpolation=cv2.INTER_LINEAR)

    def depth_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start``..``stop`` of :meth:`depth` (full size), computed without the rest of the map."""
        return tile_rows(self.depth_tiles, self.shape, start, stop)

    # -- taps ---------------------------------------------------------------------------
    def refocus(self, x: float, y: float, *, radius: int | None = None) -> RefocusAnswer:
        """The frame where the reference pixel (x=col, y=row) is sharpest, from a vote of the tiles around it.

        ``radius`` in tiles; by default about 1 % of the frame's long side (a fingertip on a screen).
        """
        h, w = self.shape
        if radius is None:
            radius = max(1, round(0.01 * max(h, w) / self.tile))
        if not (0 <= x < w and 0 <= y < h):
            raise ImagingError(f"point ({x:g}, {y:g}) is outside the {w}x{h} frame")
        r, c = int(y // self.tile), int(x // self.tile)
        moving = self.motion
        if moving[r, c]:
            return RefocusAnswer(None, 0.0, (), moving=True)
        rows, cols = self.grid
        r0, r1, c0, c1 = max(0, r - radius), min(rows, r + radius + 1), max(0, c - radius), min(cols, c + radius + 1)
        curves = self._normalised(slice(r0, r1), slice(c0, c1)).reshape(self.frame_count, -1)
        weights = np.where(moving[r0:r1, c0:c1], 0.0, self.confidence[r0:r1, c0:c1]).reshape(-1)
        # The tapped tile counts double: the vote should follow what is under the finger.
        centre = (r - r0) * (c1 - c0) + (c - c0)
        weights[centre] *= 2.0
        votes = curves @ (weights + 1e-6)
        return _answer(votes)

    # -- storage ------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """A compact .npz blob (normalised curves as float16) for ``store_derived``."""
        buf = io.BytesIO()
        np.savez(buf, version=np.array(FORMAT_VERSION), peaks=self._peaks.astype(np.float32),
                 curves=self._normalised().astype(np.float16), shape=np.array(self.shape), tile=np.array(self.tile),
                 transforms=np.asarray(self.transforms, np.float64), gains=np.asarray(self.gains, np.float32),
                 excluded=np.array(self.excluded, np.int64), motion=self.motion)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FocusIndex:
        """Load what :meth:`to_bytes` wrote; an unknown or damaged blob raises ImagingError."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                if int(z["version"]) != FORMAT_VERSION:
                    raise ImagingError(f"focus index format {int(z['version'])} is not supported; recompute it")
                scores = z["curves"].astype(np.float32) * z["peaks"]
                height, width = (int(v) for v in z["shape"])
                excluded = tuple(int(i) for i in z["excluded"]) if "excluded" in z else ()  # older blobs: none
                return cls(scores=scores, shape=(height, width), tile=int(z["tile"]), transforms=z["transforms"],
                           gains=z["gains"], excluded=excluded,
                           motion=z["motion"] if "motion" in z.files else np.zeros((0, 0), bool))
        except (OSError, KeyError, ValueError) as exc:
            raise ImagingError(f"stored focus index is damaged ({exc}); recompute it") from None


def tile_rows(tiles: np.ndarray, shape: tuple[int, int], start: int, stop: int,
              cols: tuple[int, int] | None = None) -> np.ndarray:
    """Rows ``start``..``stop`` (and columns ``cols``, default all) of the (rows, cols) float32 tile map scaled
    (bilinear) to (H, W) = ``shape``, computed without the rest of the map."""
    h, w = shape
    across = cv2.resize(tiles, (w, tiles.shape[0]), interpolation=cv2.INTER_LINEAR)
    if cols is not None:
        across = across[:, cols[0]:cols[1]]
    # Down the rows as cv2.resize's bilinear does: pixel centres, clamped at both ends.
    y = np.maximum((np.arange(start, stop) + 0.5) * (tiles.shape[0] / h) - 0.5, 0.0)
    y0 = np.minimum(np.floor(y).astype(np.int64), tiles.shape[0] - 1)
    y1 = np.minimum(y0 + 1, tiles.shape[0] - 1)
    fy = (y - y0).astype(np.float32)[:, None]
    rows: np.ndarray = (across[y0] * (1 - fy) + across[y1] * fy).astype(np.float32)
    return rows


def _answer(votes: np.ndarray) -> RefocusAnswer:
    """Winner, confidence and ranked alternatives from a vote per frame (N,)."""
    n = votes.size
    best = int(np.argmax(votes))
    top = float(votes[best])
    confidence = 0.0 if top <= 0 else float(np.clip((top - np.median(votes)) / top, 0.0, 1.0))
    padded = np.concatenate([[-np.inf], votes, [-np.inf]])
    is_peak = (padded[1:-1] >= padded[:-2]) & (padded[1:-1] > padded[2:])
    order = np.argsort(-votes, kind="stable")
    # Other peaks first (a second subject under the finger), then the best remaining frames (fine-tuning).
    others = [int(k) for k in order if k != best and is_peak[k] and votes[k] > 0.5 * top]
    rest = [int(k) for k in order if k != best and int(k) not in others]
    return RefocusAnswer(best, confidence, tuple((others + rest)[: min(5, n - 1)]))
