"""The simulated sensor and image processor: exposure, white balance, noise and JPEG encoding.

Exposure (mode M) scales with shutter time x ISO / f-number^2, relative to 1/125 s, ISO 200, f/2.8;
in mode A the camera picks the shutter time that keeps brightness at that reference. White balance
multiplies the scene illuminant by the preset's correction (Auto corrects it exactly). Noise is a
seeded Gaussian tile, read at a random offset per frame (cheap), with sigma growing as sqrt(ISO).
"""
from __future__ import annotations

import math
from fractions import Fraction

import cv2
import numpy as np

APERTURES = ("2.8", "4", "5.6", "8", "11", "16", "22")
ISOS = ("100", "200", "400", "800", "1600", "3200", "6400")
SHUTTERS = ("1/4000", "1/2000", "1/1000", "1/500", "1/250", "1/125", "1/60", "1/30", "1/15", "1/8", "1/4")
#: White-balance presets: the BGR correction each applies (the camera assumes that light).
WHITE_BALANCE: dict[str, tuple[float, float, float] | None] = {
    "Auto": None,
    "Daylight": (1.0, 1.0, 1.0),
    "Cloudy": (0.90, 1.0, 1.08),
    "Shade": (0.84, 1.0, 1.14),
    "Tungsten": (1.45, 1.0, 0.70),
    "Fluorescent": (1.15, 0.95, 0.88),
    "Flash": (0.97, 1.0, 1.02),
}
#: Image formats and their JPEG quality; None: a RAW (a DNG). RAW+JPEG hands tether the RAW, as a camera
#: does when asked for one file of the pair (the JPEG stays on its card).
IMAGE_FORMATS: dict[str, int | None] = {"JPEG Fine": 95, "JPEG Standard": 85, "RAW": None, "RAW+JPEG": None}
LIVEVIEW_QUALITY = 80
REFERENCE = (1 / 125, 200, 2.8)

_TILE = 509  # prime-sized noise tile: its repeats never line up with image structure


def shutter_seconds(text: str) -> float:
    return float(Fraction(text))


def exposure_gain(mode: str, shutter: str, iso: str, aperture: str) -> float:
    """Brightness relative to the reference exposure (1.0 = well exposed)."""
    if mode == "A":
        return 1.0
    t0, iso0, n0 = REFERENCE
    return (shutter_seconds(shutter) / t0) * (float(iso) / iso0) * (n0 / float(aperture)) ** 2


def auto_shutter(iso: str, aperture: str) -> str:
    """Aperture priority: the listed shutter time closest to the reference exposure."""
    t0, iso0, n0 = REFERENCE
    ideal = t0 * (iso0 / float(iso)) * (float(aperture) / n0) ** 2
    return min(SHUTTERS, key=lambda s: abs(math.log(shutter_seconds(s) / ideal)))


def channel_gains(
    exposure: float, illuminant: tuple[float, float, float], white_balance: str
) -> tuple[float, float, float]:
    """Per-channel (BGR) gain applied to the scene's reflectance."""
    correction = WHITE_BALANCE[white_balance] or (illuminant[1] / illuminant[0], 1.0, illuminant[1] / illuminant[2])
    b, g, r = (exposure * i * c for i, c in zip(illuminant, correction, strict=True))
    return b, g, r


def apply_gains(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """``image`` (uint8 BGR) times per-channel gains, saturating like a sensor."""
    if all(abs(g - 1.0) < 1e-6 for g in gains):
        return image
    return cv2.multiply(image, np.array([*gains, 0.0]), dtype=cv2.CV_8U)


def noise_sigma(iso: str) -> float:
    """Read noise in 8-bit levels at ``iso``."""
    return 0.8 * math.sqrt(float(iso) / 100.0)


class NoiseSource:
    """Seeded sensor noise: a Gaussian tile (stored offset by 128), tiled and read at a random offset."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 0x5E25])
        self._tile = np.clip(rng.normal(128.0, 32.0, (_TILE, _TILE, 3)), 0, 255).astype(np.uint8)
        self._rng = np.random.default_rng([seed, 0x0FF5])
        self._tiled: dict[tuple[int, int], np.ndarray] = {}

    def _plane(self, width: int, height: int) -> np.ndarray:
        key = (width, height)
        plane = self._tiled.get(key)
        if plane is None:
            reps = (math.ceil((height + _TILE) / _TILE), math.ceil((width + _TILE) / _TILE), 1)
            plane = np.tile(self._tile, reps)
            if width * height <= 4096 * 2160:  # keep live-view and movie planes; stills are rare and large
                self._tiled[key] = plane
        return plane

    def add(self, image: np.ndarray, sigma: float) -> np.ndarray:
        """A new image: ``image`` plus noise of ``sigma`` levels, at a fresh random offset."""
        h, w = image.shape[:2]
        plane = self._plane(w, h)
        oy, ox = (int(v) for v in self._rng.integers(0, _TILE, 2))
        k = sigma / 32.0
        return cv2.addWeighted(image, 1.0, plane[oy : oy + h, ox : ox + w], k, -128.0 * k)


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()
