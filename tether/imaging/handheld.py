"""Blur equalisation: two neighbouring frames of a handheld sweep made alike in blur before a step is refined.

A focus step changes the blur of every region, one way where the focus moved towards it, the
other way where it moved away, and a registration of the two frames as they are takes part of
that change for motion (defocused edges spread over what they occlude). A tripod chain leaves such
small steps out; a handheld one has to take every step, and the fakes add up
(``docs/stacking.md``, "Handheld sweeps"). So before a handheld step is refined, each tile of the
pair is blurred on whichever frame is the sharper there, by the Gaussian that brings it closest to
the other (a few widths tried per tile, the pair placed by the first estimate of the step): what
is left to register is the motion, and far less of what the focus change did. Measured on the
simulator's handheld sweep of ``tests/imaging/test_handheld.py`` (12 frames of 640 x 480, the aligner's
320 x 240 reduction, three draws of the shake): the stack 2.7-3.0 dB below the tripod stack of the
same scene with the steps as they were, -0.08 to +0.72 dB from it with them refined on equalised
pairs; the corners 2.2-2.4 / 2.9-3.1 px RMS / max off, then 1.7-2.2 / 2.3-2.7. On the independent
renderer's sweep, which fakes less, the stack stays as it was (within 0.01 dB; corners 0.70 / 0.84
and 0.71 / 0.92 px, then 0.69 / 0.85 and 0.63 / 0.80).
Not every scene gains: the simulator's product scene loses 1.4 dB (``docs/stacking.md``).
"""
from __future__ import annotations

import cv2
import numpy as np

from tether.imaging.transforms import homogeneous, invert

#: Gaussian sigmas (pixels of the images given) tried per tile. Neighbouring frames differ in blur by
#: a fraction of a pixel to a few pixels. Finer steps near 0 place the simulator's corners better but
#: stack it worse (8 from 0 to 1.5, tiles of 8: 1.46 / 1.84 px RMS / max, and 0.8-1.2 dB below the tripod).
SIGMAS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def _blurred(image: np.ndarray) -> list[np.ndarray]:
    return [image if s == 0 else cv2.GaussianBlur(image, (0, 0), s) for s in SIGMAS]


def _tile_means(image: np.ndarray, tile: int) -> np.ndarray:
    rows, cols = image.shape[0] // tile, image.shape[1] // tile
    # An area resize by a whole factor is the mean of each tile, and several times cheaper than numpy's.
    means: np.ndarray = cv2.resize(image[:rows * tile, :cols * tile], (cols, rows), interpolation=cv2.INTER_AREA)
    return means


def _per_pixel(levels: np.ndarray, shape: tuple[int, int], tile: int) -> np.ndarray:
    """The (rows, cols) per-tile map of (fractional) indices into :data:`SIGMAS` as an (h, w) map,
    interpolated between tile centres."""
    h, w = shape
    rows, cols = levels.shape
    grown = cv2.resize(levels.astype(np.float32), (cols * tile, rows * tile), interpolation=cv2.INTER_LINEAR)
    out: np.ndarray = cv2.copyMakeBorder(grown, 0, h - rows * tile, 0, w - cols * tile, cv2.BORDER_REPLICATE)
    return out


def _blend(blurred: list[np.ndarray], levels: np.ndarray) -> np.ndarray:
    """Per pixel, the blurred copy that ``levels`` (h, w) points at, linearly between two neighbouring copies."""
    out = np.zeros_like(blurred[0])
    for i, image in enumerate(blurred):
        weight = np.clip(1.0 - np.abs(levels - i), 0.0, 1.0)
        if weight.any():
            out += weight * image
    return out


def equalise_blur(template: np.ndarray, image: np.ndarray, step: np.ndarray, *,
                  tile: int) -> tuple[np.ndarray, np.ndarray]:
    """``template`` and ``image`` ((h, w) float32 grey) with each ``tile`` x ``tile`` region blurred on
    the sharper of the two, by the Gaussian that matches it best to the other.

    ``step`` (3x3) takes ``template`` pixels to ``image`` pixels, to within a pixel or so: the tiles
    are compared with ``image`` placed on ``template`` by it. Each image is blurred in its own
    geometry (``image`` by the tile map carried there through ``step``), so the pair can be
    registered again as it came, from ``step``.
    """
    h, w = template.shape
    tile = min(tile, h, w)  # a frame smaller than a tile is one tile
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    placed = cv2.warpPerspective(image, homogeneous(step), (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    # Squared difference per tile of each frame blurred by each sigma against the other as it is.
    blurred_t = _blurred(template)  # (also what the template's answer is blended from)
    errors_t = np.stack([_tile_means((b - placed) ** 2, tile) for b in blurred_t])
    errors_i = np.stack([_tile_means((template - b) ** 2, tile) for b in _blurred(placed)])
    blur_template = errors_t.min(axis=0) <= errors_i.min(axis=0)
    levels_t = np.where(blur_template, errors_t.argmin(axis=0), 0)
    levels_i = np.where(blur_template, 0, errors_i.argmin(axis=0))
    levels_t_full = _per_pixel(levels_t, (h, w), tile)
    # The image's map, made in template geometry, carried onto the image's own pixels.
    levels_i_full = cv2.warpPerspective(_per_pixel(levels_i, (h, w), tile), invert(step), (w, h), flags=flags,
                                        borderMode=cv2.BORDER_REPLICATE)
    return _blend(blurred_t, levels_t_full), _blend(_blurred(image), levels_i_full)
