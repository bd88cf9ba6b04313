"""Thin-lens rendering of a scene at a focus position: pure numpy/OpenCV.

The lens maps motor position p (0 = near end stop .. MOTOR_RANGE = a little past infinity)
linearly to focus power in dioptres, D(p) = D_near * (1 - p / P_inf) with P_inf the position of
infinity. The blur-disk radius of an object at distance z is proportional to |1/z - 1/z_focus|
(so, in this lens, to |p - p_object|) and to 1/f-number; objects are blurred with a soft-edged
disk and composited back to front with their blurred mattes, so near objects spill over the
edges of far ones like a real lens. Breathing: magnification m(p) = 1.001 + BREATHING * (1 - p/P)
about the image centre, applied as a whole-pixel centred crop scaled back to full size
(:func:`breathing_crop`); ground-truth maps use the unmagnified geometry (``breathing=False``)
unless given a focus position, in which case they get the same crop.
"""
from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from tether.camera.sim.scene import Layer, Scene, get_scene, raster

#: Motor positions run 0..MOTOR_RANGE in small steps; infinity sits a little before the far stop.
MOTOR_RANGE = 240
INFINITY_POSITION = 232.0
#: Blur-disk radius in pixels per unit of motor position at f/2.8 on a 1920-pixel-wide image.
BLUR_PER_UNIT = 0.5
REFERENCE_F_NUMBER = 2.8
REFERENCE_WIDTH = 1920
#: Relative magnification change across the focus range (focus breathing): 0.4 %.
BREATHING = 0.004
#: The lens's residual blur (aberrations, low-pass filter), in pixels at the reference width.
BASE_SIGMA = 0.45
#: Above this radius (pixels) a layer is blurred at reduced resolution: same result, a fraction of the work.
_DIRECT_LIMIT = 2.5


@dataclass(frozen=True)
class Lens:
    """Where each distance comes into focus, and how blurred it is elsewhere."""

    near_stop: float  # metres in focus at position 0

    def dioptres(self, position: float) -> float:
        """Focus power (1/m) at motor ``position``; negative past infinity."""
        return (1.0 / self.near_stop) * (1.0 - position / INFINITY_POSITION)

    def position_for(self, distance: float) -> float:
        """Motor position (float) that puts ``distance`` metres in focus."""
        return INFINITY_POSITION * (1.0 - self.near_stop / distance)

    def focus_distance(self, position: float) -> float:
        """Distance in focus at ``position`` (inf at and past infinity)."""
        d = self.dioptres(position)
        return math.inf if d <= 0 else 1.0 / d

    def blur_radius(self, distance: float, position: float, f_number: float, width: int) -> float:
        """Blur-disk radius in pixels of an object at ``distance`` when focused at ``position``."""
        units = abs(self.position_for(distance) - position)
        return BLUR_PER_UNIT * units * (REFERENCE_F_NUMBER / f_number) * (width / REFERENCE_WIDTH)


def lens_for(scene: Scene) -> Lens:
    return Lens(scene.near_stop)


def magnification(position: float) -> float:
    """Focus breathing: 1.001 + BREATHING at the near stop, 1.001 at the far stop (always a resample)."""
    p = min(max(position, 0.0), MOTOR_RANGE)
    return 1.001 + BREATHING * (1.0 - p / MOTOR_RANGE)


def diffraction_sigma(f_number: float, width: int) -> float:
    """Gaussian sigma (px) of the Airy disk: negligible wide open, visible at f/16 and beyond."""
    return 0.045 * f_number * (width / REFERENCE_WIDTH)


@functools.lru_cache(maxsize=256)
def disk_psf(radius: float, sigma: float) -> np.ndarray:
    """A disk of ``radius`` px with its edge softened by about ``sigma`` px, summing to 1."""
    half = math.ceil(radius + 2 * sigma + 0.5)
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    d = np.hypot(xx, yy)
    s = max(sigma, 0.3)
    k = np.clip(0.5 - (d - radius) / (2.0 * s), 0.0, 1.0)  # linear ramp ~ the erf edge, cheap and smooth
    return (k / k.sum()).astype(np.float32)


@functools.lru_cache(maxsize=512)
def pixel_gaussian(sigma: float) -> np.ndarray:
    """1-D Gaussian integrated over each pixel (exact for sub-pixel sigmas, where sampling it is not)."""
    half = math.ceil(3 * sigma) + 1
    edges = np.arange(-half - 0.5, half + 1.0, 1.0)
    cdf = np.array([0.5 * (1 + math.erf(e / (math.sqrt(2) * sigma))) for e in edges])
    k = np.diff(cdf)
    return (k / k.sum()).astype(np.float32)


def gaussian_sigma(radius: float, sigma: float) -> float:
    """Sigma of the Gaussian with the second moment of a disk of ``radius`` softened by ``sigma``."""
    return math.sqrt(sigma * sigma + radius * radius / 4.0)


def shrink(image: np.ndarray, factor: int, sigma: float, border: int) -> tuple[np.ndarray, int, int, int]:
    """``image`` padded for any blur up to ``_DIRECT_LIMIT * factor`` px and shrunk by ``factor``.

    Returns (small, margin, extra_x, extra_y): the padding is ``margin`` per side plus extra on the
    right/bottom to make the size a whole multiple of ``factor`` (so the grids stay aligned). It does
    not depend on the radius, so a sweep reuses it for every radius with the same factor.
    """
    margin = math.ceil(_DIRECT_LIMIT * factor + 2 * sigma) + 2
    h, w = image.shape[:2]
    ex, ey = (-(w + 2 * margin)) % factor, (-(h + 2 * margin)) % factor
    padded = cv2.copyMakeBorder(image, margin, margin + ey, margin, margin + ex, border, value=0)
    ph, pw = padded.shape[:2]
    return cv2.resize(padded, (pw // factor, ph // factor), interpolation=cv2.INTER_AREA), margin, ex, ey


Shrunk = Callable[[int], tuple[np.ndarray, int, int, int]]


def _blur(
    image: np.ndarray, radius: float, sigma: float, border: int, shrunk: Shrunk | None = None
) -> tuple[np.ndarray, int]:
    """Blur ``image`` (uint8) by the PSF; returns (blurred, margin) with the result padded by margin per side."""
    if radius <= _DIRECT_LIMIT:
        g = gaussian_sigma(radius, sigma)
        margin = math.ceil(3 * g) + 1
        padded = cv2.copyMakeBorder(image, margin, margin, margin, margin, border, value=0)
        kernel = pixel_gaussian(round(g, 3))
        return cv2.sepFilter2D(padded, -1, kernel, kernel, borderType=border), margin
    # Wide blur: shrink by a whole factor so the disk is at most _DIRECT_LIMIT px, blur there, grow back
    # (the result has no finer detail than the small image holds).
    factor = math.ceil(radius / _DIRECT_LIMIT)
    small, margin, ex, ey = shrunk(factor) if shrunk else shrink(image, factor, sigma, border)
    kernel = disk_psf(round(radius / factor, 2), round(max(sigma / factor, 0.3), 2))
    small = cv2.filter2D(small, -1, kernel, borderType=border)
    ph, pw = small.shape[0] * factor, small.shape[1] * factor
    grown = cv2.resize(small, (pw, ph), interpolation=cv2.INTER_LINEAR)
    return grown[: ph - ey, : pw - ex], margin


def blur_object(
    rgba: np.ndarray, radius: float, sigma: float, shrunk: Shrunk | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Blur a premultiplied layer; returns (colour*alpha, 255-alpha as 3 channels, margin) ready to composite."""
    blurred, margin = _blur(rgba, radius, sigma, cv2.BORDER_CONSTANT, shrunk)
    colour = cv2.cvtColor(blurred, cv2.COLOR_BGRA2BGR)
    inverse = cv2.cvtColor(cv2.bitwise_not(cv2.extractChannel(blurred, 3)), cv2.COLOR_GRAY2BGR)
    return colour, inverse, margin


def blur_backdrop(image: np.ndarray, radius: float, sigma: float, shrunk: Shrunk | None = None) -> np.ndarray:
    """Blur the frame-filling backdrop (mirrored at the frame edge, as if it went on)."""
    blurred, margin = _blur(image, radius, sigma, cv2.BORDER_REFLECT, shrunk)
    h, w = image.shape[:2]
    return blurred[margin : margin + h, margin : margin + w]


def quantise_radius(radius: float) -> float:
    """Blur radii that look the same share a cache entry: 0.05 px steps when small, 2 % when large."""
    if radius < _DIRECT_LIMIT:
        return round(radius * 20) / 20
    return round(math.exp(round(math.log(radius) / 0.02) * 0.02), 3)


class LayerCache:
    """A small LRU of blurred layers, bounded by bytes."""

    def __init__(self, max_bytes: int = 160 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.items: OrderedDict[tuple, tuple] = OrderedDict()
        #: Shrunk copies of the layers, per factor: small, and reused by every radius of that factor.
        self.shrunk: dict[tuple, tuple[np.ndarray, int, int, int]] = {}

    def get(self, key: tuple) -> Any:
        item = self.items.get(key)
        if item is not None:
            self.items.move_to_end(key)
        return item

    def put(self, key: tuple, value: Any, nbytes: int) -> None:
        if key in self.items:
            return
        self.items[key] = (value, nbytes)
        self.bytes += nbytes
        while self.bytes > self.max_bytes and len(self.items) > 1:
            _, (_, size) = self.items.popitem(last=False)
            self.bytes -= size

    def clear(self) -> None:
        """Drop the blurred layers (the shrunk copies stay: they do not depend on focus)."""
        self.items.clear()
        self.bytes = 0

    def shrinker(self, key: tuple, image: np.ndarray, sigma: float, border: int) -> Shrunk:
        """:func:`shrink` for one layer, remembered per factor (a fraction of the layer's size in all)."""

        def shrunk(factor: int) -> tuple[np.ndarray, int, int, int]:
            k = (*key, "shrunk", factor, round(sigma, 2))
            if k not in self.shrunk:
                self.shrunk[k] = shrink(image, factor, sigma, border)
            return self.shrunk[k]

        return shrunk

    def fetch(self, key: tuple, make: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing and storing it on a miss."""
        item = self.get(key)
        if item is not None:
            return item[0]
        value = make()
        arrays = value if isinstance(value, tuple) else (value,)
        self.put(key, value, sum(a.nbytes for a in arrays if isinstance(a, np.ndarray)))
        return value


def composite(
    layers: tuple[Layer, ...],
    radii: list[float],
    sigma: float,
    width: int,
    height: int,
    cache: LayerCache | None = None,
    cache_key: tuple = (),
) -> np.ndarray:
    """Blur each layer by its radius and composite back to front (premultiplied 'over'); uint8 BGR."""
    cache = cache or LayerCache(0)
    out: np.ndarray | None = None
    for index, (layer, radius) in enumerate(zip(layers, radii, strict=True)):
        q = quantise_radius(radius)
        key = (*cache_key, index, q, round(sigma, 2))
        border = cv2.BORDER_REFLECT if layer.full_frame else cv2.BORDER_CONSTANT
        shrunk = cache.shrinker(key[:-2], layer.pixels, sigma, border)
        if layer.full_frame:
            out = cache.fetch(key, functools.partial(blur_backdrop, layer.pixels, q, sigma, shrunk)).copy()
            continue
        colour, inverse, margin = cache.fetch(key, functools.partial(blur_object, layer.pixels, q, sigma, shrunk))
        x0, y0, x1, y1 = layer.box
        bx0, by0 = x0 - margin, y0 - margin
        bx1, by1 = x1 + margin, y1 + margin
        cx0, cy0, cx1, cy1 = max(bx0, 0), max(by0, 0), min(bx1, width), min(by1, height)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        if out is None:
            raise ValueError("a scene's first layer must be its full-frame backdrop")
        region = out[cy0:cy1, cx0:cx1]
        src = (slice(cy0 - by0, cy1 - by0), slice(cx0 - bx0, cx1 - bx0))
        cv2.multiply(region, inverse[src], dst=region, scale=1.0 / 255.0)
        cv2.add(region, colour[src], dst=region)
    if out is None:
        raise ValueError("a scene needs a full-frame backdrop layer")
    return out


def breathing_crop(position: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The centred crop (x0, y0, w, h) that, scaled back to full size, gives the magnification at ``position``.

    Whole-pixel crops, always at least one pixel in from each side, so every frame is resampled alike
    (a frame that skipped resampling would look sharper and fool focus measures).
    """
    m = magnification(position)
    dx = max(1, round((width - width / m) / 2))
    dy = max(1, round((height - height / m) / 2))
    return dx, dy, width - 2 * dx, height - 2 * dy


def breathe(image: np.ndarray, position: float, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Magnify ``image`` about its centre by the focus-breathing factor at ``position``."""
    h, w = image.shape[:2]
    x0, y0, cw, ch = breathing_crop(position, w, h)
    return cv2.resize(image[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=interpolation)


def radii_for(scene: Scene, layers: tuple[Layer, ...], position: float, f_number: float, width: int) -> list[float]:
    lens = lens_for(scene)
    return [lens.blur_radius(layer.distance, position, f_number, width) for layer in layers]


def render(
    scene: Scene | str,
    focus_position: float,
    size: tuple[int, int],
    *,
    f_number: float = 2.8,
    breathing: bool = True,
    seed: int = 0,
    cache: LayerCache | None = None,
) -> np.ndarray:
    """The noiseless image (H, W, 3) uint8 BGR of ``scene`` focused at ``focus_position``; size = (width, height).

    Pure (no camera, no motor): tests and benchmarks build focus stacks of known truth with it.
    ``breathing=False`` gives the unmagnified geometry of the ground-truth maps.
    """
    scene = get_scene(scene) if isinstance(scene, str) else scene
    width, height = size
    layers = raster(scene.name, width, height, seed)
    sigma = math.hypot(BASE_SIGMA * width / REFERENCE_WIDTH, diffraction_sigma(f_number, width))
    radii = radii_for(scene, layers, focus_position, f_number, width)
    image = composite(layers, radii, sigma, width, height, cache, (scene.name, width, height, seed))
    return breathe(image, focus_position) if breathing else image
