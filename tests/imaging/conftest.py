"""Tiny synthetic focal stacks with known truth, for unit tests of the image engine.

The scene is a textured surface whose sharpest frame varies per pixel (a slanted plane
with discs standing in front); frame k blurs each pixel with a Gaussian whose sigma
grows with |depth - k|, optionally scales about the centre (focus breathing) and adds
sensor noise. The "Done when" tests use the simulated camera's renderer instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest


@dataclass
class Stack:
    frames: list[np.ndarray]      # N x (H, W, 3) uint8 BGR
    sharp: np.ndarray             # (H, W, 3) uint8, all in focus, in frame 0's geometry
    depth: np.ndarray             # (H, W) float32 sharpest frame index per pixel, frame 0's geometry


def texture(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Colour texture rich at all scales: noise at several scales plus hard-edged blobs."""
    h, w = shape
    out = np.zeros((h, w, 3), np.float32)
    for scale, amp in ((1, 40), (3, 50), (9, 50), (27, 30)):
        small = rng.normal(0, 1, (h // scale + 2, w // scale + 2, 3)).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_NEAREST)
    for _ in range(max(4, h * w // 2000)):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(out, c, int(rng.integers(2, 8)), tuple(float(v) for v in rng.uniform(-80, 80, 3)), -1)
    return np.clip(out + 128, 0, 255)


def make_stack(n: int = 12, shape: tuple[int, int] = (120, 160), *, breathing: float = 0.0, noise: float = 2.0,
               blur_per_frame: float = 0.9, seed: int = 0, depth: np.ndarray | None = None) -> Stack:
    rng = np.random.default_rng(seed)
    h, w = shape
    sharp = texture(shape, rng)
    if depth is None:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        depth = (n - 1) * (0.1 + 0.8 * xx / (w - 1))          # a plane slanting away left to right
        for cx, cy, r, d in ((0.3, 0.35, 0.18, 0.85), (0.7, 0.7, 0.15, 0.15)):
            inside = (xx - cx * w) ** 2 + (yy - cy * h) ** 2 < (r * min(h, w)) ** 2
            depth = np.where(inside, d * (n - 1), depth)
    depth = depth.astype(np.float32)
    sigmas = np.arange(0, blur_per_frame * n + 1.0, 0.5)
    levels = [sharp] + [cv2.GaussianBlur(sharp, (0, 0), s) for s in sigmas[1:]]
    frames = []
    for k in range(n):
        pos = np.clip(blur_per_frame * np.abs(depth - k) / 0.5, 0, len(levels) - 1.001)
        lo = np.floor(pos).astype(np.int32)
        t = (pos - lo)[..., None]
        img = np.zeros_like(sharp)
        for j in np.unique(lo):
            m = lo == j
            img[m] = (1 - t[m]) * levels[j][m] + t[m] * levels[j + 1][m]
        if breathing:
            s = 1.0 + breathing * k
            m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, s)
            img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        img = img + rng.normal(0, noise, img.shape).astype(np.float32)
        frames.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return Stack(frames, np.clip(np.rint(sharp), 0, 255).astype(np.uint8), depth)


@pytest.fixture(scope="session")
def synthetic():
    """The stack factory, as a fixture (test modules cannot import each other under importlib mode)."""
    return make_stack
