"""A second focal-stack renderer, independent of tether's simulator, for ground truth the engine was not built on.

tether's simulated camera (``tether.camera.sim.optics``) blurs whole objects at fixed distances
with a ramp-edged disk in gamma-encoded values, crops whole pixels for breathing, adds Gaussian
noise and saves JPEG 95. This renderer shares none of that, so a stacker tuned to one cannot
pass on the other by accident:

- **Scene**: its own: a slanted backdrop, a card tilted in depth, a disc, a star and a thin twig
  in front, each with its own procedural texture (1/f noise, strokes, gratings, dots), at
  continuous depths (a surface whose depth varies is cut into thin slabs of nearly equal blur).
- **Lens**: blur radius proportional to the defocus in dioptres; the PSF is an area-sampled disk
  convolved with a Gaussian (the lens's residual blur); longitudinal chromatic aberration puts
  red and blue in focus slightly behind and in front of green, so each channel has its own radius;
  blurring happens in linear light, back to front with blurred mattes, so near objects spill over
  the edges of far ones.
- **Vignetting** that grows as focus moves closer (the exit pupil moves with focus).
- **Breathing**: a continuous magnification per frame about the image centre (``1 + breathing * k``),
  resampled with Lanczos from a canvas larger than the frame, so the borders hold real scene.
- **Hand shake** (optional, :class:`Shake`): every frame after the first moved off frame 0's framing
  by its own random homography (translation, rotation, a small tilt), as a handheld camera is;
  the vignetting stays with the frame, not the scene.
- **Sensor**: Poisson-Gaussian noise (shot noise whose variance follows the signal, plus read
  noise) in linear light, then the sRGB curve,
  8 bits, JPEG at quality 88.

The truth: the all-in-focus image is each point as it looks when it is in focus (each channel at
its own best focus, with the vignetting of that focus), noiseless, in frame 0's geometry; the depth
(dioptres) and the frame where each pixel is sharpest come in the same geometry. Frame 0 is the
nearest focus, as in tether's sweeps. Seeded and pure: the same arguments give the same bytes.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

#: Blur-disk radius (px) per focus step on a 640-pixel-wide frame: scaled with the width.
RADIUS_PER_STEP = 1.3
#: The lens's residual blur (Gaussian sigma, px at 640 wide) and how it scales with width: more
#: pixels per degree see more of it.
RESIDUAL_SIGMA = 0.5
#: Longitudinal chromatic aberration: where each channel (B, G, R) focuses, in focus steps, relative to green.
CHANNEL_FOCUS_SHIFT = (0.25, 0.0, -0.2)
#: Corner falloff of the vignetting at the far and at the near end of the sweep.
VIGNETTE_FAR, VIGNETTE_NEAR = 0.10, 0.22
#: Sensor: electrons at white (full well at base gain), read noise in electrons.
FULL_WELL, READ_NOISE = 6000.0, 3.0
JPEG_QUALITY = 88
#: Extra scene around the frame (fraction of each side) so magnified frames need no invented border.
CANVAS_MARGIN = 0.04
#: A surface is cut into slabs across which its blur radius changes by at most this many pixels.
SLAB_RADIUS_SPAN = 0.5
#: Above this radius (px) a slab is blurred at reduced resolution (it keeps no finer detail anyway).
_DIRECT_RADIUS = 4.0


@dataclass
class Surface:
    """One object: premultiplied-ready linear colour, coverage and depth (in sweep units, 0 far .. 1 near)."""

    colour: np.ndarray   # (H, W, 3) float32 linear BGR, canvas-sized
    alpha: np.ndarray    # (H, W) float32 coverage 0..1
    depth: np.ndarray    # (H, W) float32 sweep units where alpha > 0


@dataclass
class RenderedStack:
    jpegs: list[bytes]           # the frames as a camera delivers them
    positions: list[float]       # focus of each frame, in dioptres (frame 0 the nearest)
    truth: np.ndarray            # (H, W, 3) uint8 BGR all in focus, frame 0's geometry
    depth: np.ndarray            # (H, W) float32 dioptres of the visible surface, frame 0's geometry
    sharpest: np.ndarray         # (H, W) int: index of the frame where each pixel is sharpest
    objects: np.ndarray          # (H, W) uint8: which surface each pixel shows (0 = backdrop)
    magnifications: list[float]  # of each frame against frame 0
    #: (3, 3) per frame: frame 0's pixel (x, y, 1) to where the frame shows that point (shake and breathing).
    geometry: list[np.ndarray] = field(default_factory=list)

    @cached_property
    def frames(self) -> list[np.ndarray]:
        """The frames decoded: (H, W, 3) uint8 BGR (on first use: a benchmark at 12 MP only writes the files)."""
        return [cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) for data in self.jpegs]

    def write(self, folder: Path) -> list[Path]:
        """Write the frames as ``frame000.jpg`` ... into ``folder``; returns the paths."""
        paths = []
        for k, data in enumerate(self.jpegs):
            path = folder / f"frame{k:03d}.jpg"
            path.write_bytes(data)
            paths.append(path)
        return paths


@dataclass(frozen=True)
class Shake:
    """Hand shake, drawn per frame: each bound is the largest value, drawn uniformly in +-bound."""

    translation: float = 0.03   # fraction of the frame's width (x) and height (y)
    rotation: float = 1.5       # degrees about the frame's centre
    tilt: float = 0.004         # perspective: how much the far side of the frame shrinks (fraction)
    seed: int = 11

    @property
    def reach(self) -> float:
        """How far (fraction of the frame) a corner may move: extra scene to render around the frame."""
        return self.translation + 0.7 * math.radians(self.rotation) + self.tilt

    def homography(self, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
        """(3, 3) in frame-centred pixels: where a point of the steady frame lands in the shaken one."""
        tx, ty = rng.uniform(-1, 1, 2) * self.translation * (w, h)
        a = math.radians(rng.uniform(-1, 1) * self.rotation)
        gx, gy = rng.uniform(-1, 1, 2) * self.tilt / (w / 2, h / 2)
        return np.array([[math.cos(a), -math.sin(a), tx], [math.sin(a), math.cos(a), ty], [gx, gy, 1.0]])


# -- the scene ---------------------------------------------------------------------------
def _pink_noise(h: int, w: int, rng: np.random.Generator, beta: float) -> np.ndarray:
    """(H, W) noise with a 1/f^beta amplitude spectrum, scaled to unit standard deviation."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** beta
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(h, w)).astype(np.float32)
    return field / (field.std() + 1e-9)


def _texture(h: int, w: int, rng: np.random.Generator, palette: np.ndarray, style: str) -> np.ndarray:
    """(H, W, 3) float32 sRGB values 0..1: 1/f noise mixed between two colours, plus a style's marks."""
    scale = w / 640.0
    t = 0.5 + 0.22 * _pink_noise(h, w, rng, 1.1)
    lo, hi = palette
    img = lo[None, None, :] * (1 - t[..., None]) + hi[None, None, :] * t[..., None]
    canvas = np.ascontiguousarray(np.clip(img, 0, 1) * 255, dtype=np.float32)
    if style == "strokes":
        for _ in range(int(90 * scale * scale) + 10):
            p = rng.uniform(0, 1, 2) * (w, h)
            q = p + rng.normal(0, 25 * scale, 2)
            c = tuple(float(v) for v in rng.uniform(0, 255, 3))
            cv2.line(canvas, tuple(int(v) for v in p), tuple(int(v) for v in q), c, max(1, round(scale)), cv2.LINE_AA)
    elif style == "grating":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle = rng.uniform(0, math.pi)
        period = 7.0 * scale
        wave = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
        canvas *= (0.75 + 0.25 * wave)[..., None]
    elif style == "dots":
        for _ in range(int(260 * scale * scale) + 10):
            c = tuple(float(v) for v in rng.uniform(0, 255, 3))
            centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            cv2.circle(canvas, centre, max(1, round(rng.uniform(1, 4) * scale)), c, -1, cv2.LINE_AA)
    return np.clip(canvas / 255.0, 0, 1)


def _to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    x = np.clip(linear, 0, 1)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def _soft_mask(h: int, w: int, draw: Callable[[np.ndarray, float], object]) -> np.ndarray:
    """A coverage mask drawn by ``draw(image, scale)`` at 4x and area-averaged: anti-aliased edges."""
    big = np.zeros((4 * h, 4 * w), np.uint8)
    draw(big, 4.0)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def build_scene(w: int, h: int, seed: int) -> list[Surface]:
    """The scene, back to front, on a (w, h) canvas. Depths in sweep units: 0 far .. 1 near."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / (w - 1), yy / (h - 1)
    palettes = [np.array(p, np.float32) for p in (
        ((0.15, 0.30, 0.25), (0.75, 0.85, 0.70)),   # backdrop: greens
        ((0.55, 0.25, 0.10), (0.95, 0.80, 0.55)),   # card: warm
        ((0.40, 0.10, 0.35), (0.90, 0.70, 0.85)),   # disc: purple
        ((0.05, 0.35, 0.60), (0.60, 0.90, 0.95)),   # star: yellow-orange (BGR)
        ((0.10, 0.15, 0.25), (0.45, 0.55, 0.70)),   # twig: brown
    )]
    surfaces = []

    def add(alpha: np.ndarray, depth: np.ndarray, palette: np.ndarray, style: str) -> None:
        colour = _to_linear(_texture(h, w, rng, palette, style))
        surfaces.append(Surface(colour, alpha.astype(np.float32), depth.astype(np.float32)))

    # Backdrop, slanting away to the right: a wall seen at an angle.
    add(np.ones((h, w), np.float32), 0.16 - 0.16 * u, palettes[0], "strokes")

    # A card tilted in depth (top farther than bottom), rotated in the frame.
    card = np.array([[0.18, 0.12], [0.62, 0.08], [0.66, 0.62], [0.22, 0.70]]) * (w, h)
    add(_soft_mask(h, w, lambda img, s: cv2.fillPoly(img, [np.round(card * s).astype(np.int32)], 255)),
        0.32 + 0.28 * v, palettes[1], "dots")

    # A disc in front of the card's right edge.
    centre, radius = np.array([0.70, 0.45]) * (w, h), 0.17 * h
    add(_soft_mask(h, w, lambda img, s: cv2.circle(img, tuple(int(c) for c in centre * s), int(radius * s), 255, -1)),
        np.full((h, w), 0.72), palettes[2], "grating")

    # A five-pointed star, nearest but one, over the card's lower-left corner.
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, 0.16, 0.07) * h
    star = np.stack([0.25 * w + radii * np.cos(angles), 0.72 * h - radii * np.sin(angles)], axis=1)
    add(_soft_mask(h, w, lambda img, s: cv2.fillPoly(img, [np.round(star * s).astype(np.int32)], 255)),
        np.full((h, w), 0.88), palettes[3], "strokes")

    # A thin twig across the top right, the nearest thing (thin near objects are hard for stackers).
    a, b = np.array([0.48, 0.0]) * (w, h), np.array([1.0, 0.38]) * (w, h)
    thickness = max(2.0, 0.012 * w)
    add(_soft_mask(h, w, lambda img, s: cv2.line(img, tuple(int(c) for c in a * s), tuple(int(c) for c in b * s), 255,
                                                 int(thickness * s))),
        1.0 - 0.05 * u, palettes[4], "dots")
    return surfaces


# -- the lens ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def psf(radius: float, sigma: float) -> np.ndarray:
    """A disk of ``radius`` px (area-sampled, 8x8 per pixel) convolved with a Gaussian of ``sigma`` px; sums to 1."""
    half = math.ceil(radius + 3 * sigma) + 1
    n = 2 * half + 1
    sub = 8
    c = (np.arange(n * sub) + 0.5) / sub - half - 0.5
    inside = (c[None, :] ** 2 + c[:, None] ** 2 <= max(radius, 1e-3) ** 2).astype(np.float32)
    disk = inside.reshape(n, sub, n, sub).mean(axis=(1, 3))
    if disk.sum() == 0:  # a radius far below a pixel: a point
        disk[half, half] = 1.0
    if sigma > 0:
        disk = cv2.GaussianBlur(disk, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    return (disk / disk.sum()).astype(np.float32)


def _blur(planes: np.ndarray, radius: float, sigma: float) -> np.ndarray:
    """Convolve (H, W, C) by the PSF; large radii at reduced resolution (what they keep has no fine detail)."""
    factor = max(1, int(radius // _DIRECT_RADIUS))
    if factor == 1:
        return cv2.filter2D(planes, -1, psf(round(radius, 2), round(sigma, 2)), borderType=cv2.BORDER_REFLECT)
    h, w = planes.shape[:2]
    small = cv2.resize(planes, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
    kernel = psf(round(radius / factor, 2), round(max(sigma / factor, 0.3), 2))
    small = cv2.filter2D(small, -1, kernel, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _slabs(surface: Surface, bin_width: float) -> list[tuple[float, np.ndarray, tuple[slice, slice]]]:
    """The surface cut into slabs of nearly one depth, far to near: (depth, alpha, box).

    Each slab's matte covers its own depths and everything of the surface nearer than them, which
    the nearer slabs then paint over: where two slabs meet the farther one lies underneath, so
    their blurred edges mix without a seam (cut mattes would leave a gap, each half covered).
    """
    covered = surface.alpha > 0
    d = surface.depth
    lo, hi = float(d[covered].min()), float(d[covered].max())
    edges = np.arange(lo, hi + bin_width, bin_width)
    out = []
    for d0 in edges:
        own = covered & (d >= d0) & (d < d0 + bin_width) if len(edges) > 1 else covered
        if not own.any():
            continue
        under = covered & (d >= d0)
        rows, cols = np.nonzero(under.any(axis=1))[0], np.nonzero(under.any(axis=0))[0]
        box = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
        out.append((float(d[own].mean()), np.where(under, surface.alpha, 0.0).astype(np.float32), box))
    return out


def _render_focus(slabs: list, colours: list[np.ndarray], focus: float, step: float, width: int,
                  canvas: tuple[int, int]) -> np.ndarray:
    """Linear BGR (canvas) of the scene focused at ``focus`` (sweep units): blurred slabs composited back to front."""
    ch, cw = canvas
    scale = width / 640.0
    sigma = RESIDUAL_SIGMA * scale
    per_unit = RADIUS_PER_STEP * scale / step
    out = np.zeros((ch, cw, 3), np.float32)
    cover = np.zeros((ch, cw, 3), np.float32)
    for depth, alpha, box, surface in slabs:
        colour = colours[surface]
        for c, shift in enumerate(CHANNEL_FOCUS_SHIFT):
            radius = per_unit * abs(depth - (focus + shift * step))
            pad = math.ceil(radius + 3 * sigma) + 2
            y0, y1 = max(box[0].start - pad, 0), min(box[0].stop + pad, ch)
            x0, x1 = max(box[1].start - pad, 0), min(box[1].stop + pad, cw)
            a = alpha[y0:y1, x0:x1]
            planes = np.dstack([colour[y0:y1, x0:x1, c] * a, a])
            blurred = _blur(planes, radius, sigma)
            region = (slice(y0, y1), slice(x0, x1), c)
            out[region] = blurred[..., 0] + (1 - blurred[..., 1]) * out[region]
            cover[region] = blurred[..., 1] + (1 - blurred[..., 1]) * cover[region]
    # The backdrop covers the canvas; what is left short of 1 is the blur's border, a hair.
    return out / np.maximum(cover, 1e-3)


def _vignetting(canvas: tuple[int, int], frame: tuple[int, int], nearness: np.ndarray | float) -> np.ndarray:
    """Relative illumination (canvas-sized): cos^4-like falloff whose corner loss grows as focus comes closer."""
    ch, cw = canvas
    h, w = frame
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    r2 = ((xx - (cw - 1) / 2) ** 2 + (yy - (ch - 1) / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    loss = VIGNETTE_FAR + (VIGNETTE_NEAR - VIGNETTE_FAR) * np.clip(nearness, 0, 1)
    return (1.0 - loss * r2).astype(np.float32)


def _magnify(image: np.ndarray, m: float, frame: tuple[int, int]) -> np.ndarray:
    """The frame-sized centre of ``image`` (canvas) magnified by ``m`` about the centre, Lanczos-resampled."""
    ch, cw = image.shape[:2]
    h, w = frame
    cx, cy = (cw - 1) / 2, (ch - 1) / 2
    # frame pixel (x, y) shows canvas point centre + ((x, y) - frame centre) / m
    matrix = np.array([[1 / m, 0, cx - (w - 1) / 2 / m], [0, 1 / m, cy - (h - 1) / 2 / m]], np.float64)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def _sensor(linear: np.ndarray, rng: np.random.Generator, gain: float) -> np.ndarray:
    """Poisson-Gaussian noise in electrons (``gain`` = 1 at base ISO, 4 at ISO 400 ...), then sRGB 8 bits."""
    well = FULL_WELL / gain
    mean = np.clip(linear, 0, 1) * well
    # Shot noise by its normal approximation (variance = mean; exact enough above a few tens of
    # electrons, and five times faster than drawing Poisson numbers), plus the read noise.
    sd = np.sqrt(mean + READ_NOISE ** 2)
    electrons = mean + sd * rng.standard_normal(mean.shape, np.float32)
    return np.clip(np.rint(_to_srgb(electrons / well) * 255), 0, 255).astype(np.uint8)


def _frame_to_canvas(m: float, shake: np.ndarray, frame: tuple[int, int], canvas: tuple[int, int]) -> np.ndarray:
    """(3, 3): a frame pixel to the canvas point it shows, magnified by ``m`` and moved by ``shake`` (frame-centred)."""
    (h, w), (ch, cw) = frame, canvas
    to_centre = np.array([[1, 0, -(w - 1) / 2], [0, 1, -(h - 1) / 2], [0, 0, 1]])
    to_canvas = np.array([[1 / m, 0, (cw - 1) / 2], [0, 1 / m, (ch - 1) / 2], [0, 0, 1]])
    result: np.ndarray = to_canvas @ np.linalg.inv(shake) @ to_centre
    return result


def render_stack(size: tuple[int, int] = (640, 480), frames: int = 16, *, breathing: float = 0.0,
                 gain: float = 4.0, seed: int = 0, near_dioptres: float = 8.0, far_dioptres: float = 5.0,
                 quality: int = JPEG_QUALITY, shake: Shake | None = None,
                 margin: float = CANVAS_MARGIN) -> RenderedStack:
    """A focus sweep of ``frames`` frames, near to far, just past the scene at both ends; size = (width, height).

    ``breathing`` is the magnification added per frame (0.002 = 0.2 %); ``gain`` scales the noise
    as the ISO does. Depths: the scene spans ``far_dioptres`` (backdrop's far edge) to
    ``near_dioptres`` (the twig). ``shake``: a handheld sweep (frame 0 stays where it was aimed).
    ``margin``: scene rendered around the frame (fraction of each side); the scene is laid out on
    that canvas, so a tripod sweep to compare with a handheld one needs the handheld one's margin.
    """
    w, h = size
    margin = max(margin, CANVAS_MARGIN + shake.reach) if shake else margin
    mx, my = math.ceil(margin * w), math.ceil(margin * h)
    cw, ch = w + 2 * mx, h + 2 * my
    surfaces = build_scene(cw, ch, seed)
    # The sweep runs from a little nearer than the nearest surface to a little farther than the farthest.
    first, last = 1.08, -0.08
    focus = np.linspace(first, last, frames)
    step = abs(focus[1] - focus[0]) if frames > 1 else 1.0
    bin_width = SLAB_RADIUS_SPAN / (RADIUS_PER_STEP * w / 640.0 / step)
    slabs = [(d, a, box, i) for i, s in enumerate(surfaces) for d, a, box in _slabs(s, bin_width)]
    colours = [s.colour for s in surfaces]
    rng = np.random.default_rng(seed + 1)
    mags = [1.0 + breathing * k for k in range(frames)]
    shake_rng = np.random.default_rng(shake.seed) if shake else None
    shakes = [np.eye(3) if k == 0 or shake is None else shake.homography(shake_rng, w, h) for k in range(frames)]
    to_canvas = [_frame_to_canvas(mags[k], shakes[k], (h, w), (ch, cw)) for k in range(frames)]
    span = first - last
    jpegs = []
    for k, f in enumerate(focus):
        linear = _render_focus(slabs, colours, float(f), step, w, (ch, cw))
        nearness = (f - last) / span
        if shake is None:
            linear *= _vignetting((ch, cw), (h, w), nearness)[..., None]
            framed = _magnify(linear, mags[k], (h, w))
        else:  # the lens's vignetting moves with the camera, not with the scene
            framed = cv2.warpPerspective(linear, to_canvas[k], (w, h), borderMode=cv2.BORDER_REFLECT,
                                         flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP)
            framed *= _vignetting((h, w), (h, w), nearness)[..., None]
        image = _sensor(framed, rng, gain)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        jpegs.append(data.tobytes())

    # Truth, in frame 0's geometry: every point as it looks in its own focus, so with the vignetting of that focus.
    index = np.zeros((ch, cw), np.uint8)
    depth = np.zeros((ch, cw), np.float32)
    sharp = np.zeros((ch, cw, 3), np.float32)
    sigma = RESIDUAL_SIGMA * w / 640.0
    for i, s in enumerate(surfaces):
        # Each surface as its own slab-free image: blurred only by the lens's residual PSF.
        a = cv2.GaussianBlur(s.alpha, (0, 0), sigma)
        sharp = cv2.GaussianBlur(s.colour * s.alpha[..., None], (0, 0), sigma) + (1 - a[..., None]) * sharp
        front = s.alpha >= 0.5
        index[front] = i
        depth[front] = s.depth[front]
    light = _vignetting((ch, cw), (h, w), (depth - last) / span)
    truth_linear = _magnify(sharp * light[..., None], mags[0], (h, w))
    truth = np.clip(np.rint(_to_srgb(truth_linear) * 255), 0, 255).astype(np.uint8)
    nearest = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    geometry = np.array([[1 / mags[0], 0, mx], [0, 1 / mags[0], my]], np.float64)
    depth_f = cv2.warpAffine(depth, geometry, (w, h), flags=nearest)
    objects = cv2.warpAffine(index, geometry, (w, h), flags=nearest)
    sharpest = np.abs(depth_f[..., None] - focus[None, None, :].astype(np.float32)).argmin(axis=2)
    dioptres = far_dioptres + (near_dioptres - far_dioptres) * focus
    depth_d = (far_dioptres + (near_dioptres - far_dioptres) * depth_f).astype(np.float32)
    geometry = [np.linalg.inv(t) @ to_canvas[0] for t in to_canvas]
    return RenderedStack(jpegs, [float(d) for d in dioptres], truth, depth_d, sharpest, objects, mags, geometry)
