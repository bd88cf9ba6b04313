"""A moving subject laid over any rendered focus sweep: a textured disc crossing the frame.

Used on both test renderers (tether's simulator and ``independent_render``) so the motion
tests do not depend on either one's scene. The disc is a thing of its own depth: it is sharp
in frame ``sharp_frame`` and blurred (Gaussian, growing with the focus steps away from it) in
the others, and it moves by ``step`` pixels a frame along a straight line, as a leaf in the
wind or someone walking through would between two exposures. It is composited over the frame
with its blurred coverage, in the frames' own values (after their JPEG), so it hides what is
behind it.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class MovingSubject:
    frames: list[np.ndarray]            # the sweep with the subject in it, (H, W, 3) uint8
    centres: list[tuple[float, float]]  # (x, y) of the disc in each frame (frame geometry)
    radius: float                       # px
    sharp_frame: int

    def disc(self, k: int, shape: tuple[int, int], *, grow: float = 0.0) -> np.ndarray:
        """(H, W) bool: the disc where it is in frame ``k``, widened by ``grow`` px."""
        yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
        x, y = self.centres[k]
        inside: np.ndarray = (xx - x) ** 2 + (yy - y) ** 2 <= (self.radius + grow) ** 2
        return inside

    def swept(self, shape: tuple[int, int], *, grow: float = 0.0) -> np.ndarray:
        """(H, W) bool: every place the disc has been, widened by ``grow`` px."""
        out = np.zeros(shape, bool)
        for k in range(len(self.centres)):
            out |= self.disc(k, shape, grow=grow)
        return out


def _pattern(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) float32: bold stripes and checks in two colours, so its edges are unmistakable."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    stripes = (np.sin(xx * 0.45) > 0).astype(np.float32)
    checks = ((xx // 6 + yy // 6) % 2).astype(np.float32)
    a, b = rng.uniform(20, 90, 3), rng.uniform(170, 250, 3)
    t = (0.6 * stripes + 0.4 * checks)[..., None]
    return (a * (1 - t) + b * t).astype(np.float32)


def add_moving_subject(frames: list[np.ndarray], *, sharp_frame: int | None = None,
                       start: tuple[float, float] = (0.3, 0.55), step: float = 0.016, radius: float = 0.06,
                       blur_per_step: float = 0.9, seed: int = 7) -> MovingSubject:
    """``frames`` with a disc of ``radius`` (share of the width) moving right by ``step`` of the width a frame
    from ``start`` (shares of width and height), sharp in ``sharp_frame`` (default: the middle one)."""
    h, w = frames[0].shape[:2]
    n = len(frames)
    sharp = n // 2 if sharp_frame is None else sharp_frame
    r = radius * w
    side = int(2 * r) + 1
    texture = _pattern(side, np.random.default_rng(seed))
    cover = np.zeros((side, side), np.float32)
    cv2.circle(cover, (side // 2, side // 2), int(r), 1.0, -1, cv2.LINE_AA)
    centres, out = [], []
    scale = w / 640.0
    for k, frame in enumerate(frames):
        x, y = (start[0] + step * k) * w, start[1] * h
        centres.append((x, y))
        # Place the disc on a frame-sized layer (whole-pixel offset), then blur it as its focus asks.
        colour = np.zeros((h, w, 3), np.float32)
        alpha = np.zeros((h, w), np.float32)
        x0, y0 = round(x) - side // 2, round(y) - side // 2
        colour[y0:y0 + side, x0:x0 + side] = texture * cover[..., None]
        alpha[y0:y0 + side, x0:x0 + side] = cover
        sigma = blur_per_step * scale * abs(k - sharp)
        if sigma > 0.3:
            colour = cv2.GaussianBlur(colour, (0, 0), sigma)
            alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
        mixed = colour + (1 - alpha[..., None]) * frame.astype(np.float32)
        out.append(np.clip(np.rint(mixed), 0, 255).astype(np.uint8))
    return MovingSubject(out, centres, r, sharp)
