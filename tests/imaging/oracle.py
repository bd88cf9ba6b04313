"""An upper reference for a stack of given frames: the best any per-tile selection or blend of them could do.

A stacker can only choose, tile by tile, among what its frames hold. The *oracle* knows the truth:
each frame is registered onto frame 0 with the renderer's true geometry (Lanczos), and per tile of
``tile`` pixels it takes the frame closest to the truth (least squared error), or, where closer,
the best blend ``a * frame[k] + (1 - a) * frame[k + 1]`` (``0 <= a <= 1``, least squares) of two
neighbouring frames. Per pixel the choice would fit the noise instead of the sharpness, so the
tiles are 8 px or more. A stacker choosing per pyramid band, or averaging noise away over many
frames, can come slightly above it; no selection can come far above it, since a detail sharp in no
frame is in none of them. Where the oracle scores within 1 dB of a peer, no selection or blend of
those frames beats that peer by 1 dB.
"""
from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np


def tile_sums(values: np.ndarray, tile: int) -> np.ndarray:
    """Sums of an (H, W) array over square tiles of ``tile`` pixels (the last row and column of tiles may be
    partial), as (ceil(H / tile), ceil(W / tile)) float64."""
    h, w = values.shape
    rows, cols = -(-h // tile), -(-w // tile)
    padded = np.zeros((rows * tile, cols * tile), np.float64)
    padded[:h, :w] = values
    sums: np.ndarray = padded.reshape(rows, tile, cols, tile).sum(axis=(1, 3))
    return sums


def _per_pixel(tiles: np.ndarray, tile: int, shape: tuple[int, int]) -> np.ndarray:
    """A per-tile (rows, cols) array spread over the (H, W) pixels its tiles cover."""
    spread: np.ndarray = np.repeat(np.repeat(tiles, tile, axis=0), tile, axis=1)[:shape[0], :shape[1]]
    return spread


def oracle_stack(frames: Iterable[np.ndarray], geometry: Iterable[np.ndarray], truth: np.ndarray, *,
                 tile: int = 8) -> np.ndarray:
    """The (H, W, 3) uint8 picture the oracle makes of ``frames`` in ``truth``'s geometry (frame 0's).

    ``frames``: (H, W, 3) uint8 BGR, as the stacker reads them, in focus order; ``geometry``: per frame the
    (3, 3) homography taking frame 0's pixel (x, y, 1) to where that frame shows the same point;
    ``truth``: (H, W, 3) uint8, all in focus. One registered frame and the previous one are held at a time.
    """
    target = truth.astype(np.float32)
    h, w = target.shape[:2]
    best = np.zeros_like(target)
    best_error = np.full(tuple(-(-n // tile) for n in (h, w)), np.inf)
    previous: np.ndarray | None = None
    for frame, matrix in zip(frames, geometry, strict=True):
        warped = cv2.warpPerspective(frame, np.asarray(matrix, np.float64), (w, h), borderMode=cv2.BORDER_REPLICATE,
                                     flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP)
        current = warped.astype(np.float32)
        candidates = [current]
        if previous is not None:
            step, missing = current - previous, target - previous
            gain = tile_sums((step * missing).sum(axis=2), tile)
            weight = tile_sums((step * step).sum(axis=2), tile)
            share = np.clip(gain / np.maximum(weight, 1e-9), 0.0, 1.0).astype(np.float32)
            candidates.append(previous + _per_pixel(share, tile, (h, w))[..., None] * step)
        for candidate in candidates:
            error = tile_sums(((candidate - target) ** 2).sum(axis=2), tile)
            closer = error < best_error
            best_error = np.where(closer, error, best_error)
            pixels = _per_pixel(closer, tile, (h, w))
            best[pixels] = candidate[pixels]
        previous = current
    picture: np.ndarray = np.clip(np.rint(best), 0, 255).astype(np.uint8)
    return picture
