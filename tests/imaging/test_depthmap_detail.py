"""The depth-map method keeps detail (issue 13, item 4), and its smooth surfaces stay clean.

The issue measured it on real stacks (PCB, fabric, jewellery). There are no photographs on this
machine, and other projects' images are not ours to commit, so the stacks here come from both
test renderers, chosen for the kinds of texture those stacks have:

- tether's simulator: ``macro`` (a ruler's fine periodic ticks and printed text: high-contrast
  edges like a PCB's), ``product`` (printed box, label: hard edges beside smooth surfaces),
  ``portrait`` (a fabric jacket and a brick wall behind a face), ``landscape`` (leaves, petals,
  bark at several depths);
- ``independent_render``: fine gratings, stroke-covered (fabric-like) surfaces and a card of small
  bright dots (specular highlights), a thin twig in front.

Detail is measured as the issue did, independently of the engine's own focus measure: per tile of
16 px, the energy of the Laplacian at half size; a tile is textured where its best frame has
clearly more of it than the flattest frame (blur leaves that one with its noise only). Measured
(16/12 frames, 640 x 480): depthmap 98.7-100 % of textured tiles at >= 0.8 of the best frame (it
was 80-91 %), pyramid 98.9-100 % on the same stacks.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from tests.imaging.independent_render import render_stack as render_independent
from tests.imaging.registration import psnr
from tether.camera.sim import optics
from tether.camera.sim.sensor import NoiseSource
from tether.camera.sim.truth import SceneTruth
from tether.imaging import ArrayFrames, compute_focus_index, stack_frames

SIZE = (640, 480)  # (width, height)
TILE = 16
STACKS = ["macro", "product", "portrait", "landscape", "independent"]


@functools.cache
def _sweep(name: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The frames of a still sweep and its all-in-focus truth (pure and seeded: shared by the tests)."""
    if name == "independent":
        stack = render_independent(SIZE, frames=12)
        return stack.frames, stack.truth
    truth = SceneTruth(name, seed=0)
    targets = [o.focus_position for o in truth.objects]
    positions = [float(p) for p in np.linspace(min(targets) - 6, max(targets) + 6, 16)]
    cache, sensor = optics.LayerCache(), NoiseSource(0)
    frames = [sensor.add(optics.render(name, p, SIZE, breathing=False, seed=0, cache=cache), 1.6) for p in positions]
    return frames, truth.all_in_focus(SIZE)


@functools.cache
def _stacks(name: str) -> dict[str, np.ndarray]:
    frames, _ = _sweep(name)
    # Stacked --no-align: the sweeps did not move, and this measures the fusion, not the registration
    # (item 1's: today's aligner finds a spurious 0.2 % scale on the still portrait sweep).
    index = compute_focus_index(ArrayFrames(frames), align=False)
    return {method: stack_frames(ArrayFrames(frames), method=method, index=index).image
            for method in ("depthmap", "pyramid")}


def _tile_detail(image: np.ndarray) -> np.ndarray:
    """(rows, cols) float32: mean squared Laplacian of the half-size luminance per TILE x TILE pixels."""
    grey = cv2.pyrDown(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32))
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    side = TILE // 2
    h, w = (lap.shape[0] // side) * side, (lap.shape[1] // side) * side
    return cv2.resize(lap[:h, :w] ** 2, (w // side, h // side), interpolation=cv2.INTER_AREA)


def _kept(result: np.ndarray, frames: list[np.ndarray]) -> float:
    """Share of textured tiles where ``result`` keeps >= 0.8 of the best frame's detail."""
    per_frame = np.stack([_tile_detail(f) for f in frames])
    best = per_frame.max(axis=0)
    textured = best > max(4.0 * float(np.median(per_frame.min(axis=0))), 20.0)
    textured[:2], textured[-2:], textured[:, :2], textured[:, -2:] = False, False, False, False  # the frame's edge
    assert textured.sum() > 500
    return float(np.mean(_tile_detail(result)[textured] >= 0.8 * best[textured]))


@pytest.mark.parametrize("name", STACKS)
def test_depthmap_keeps_the_best_frames_detail_on_98_percent_of_textured_tiles(name: str) -> None:
    frames, _ = _sweep(name)
    stacks = _stacks(name)
    assert _kept(stacks["depthmap"], frames) >= 0.98
    # The same measure on the pyramid method, the comparison: 98.9-100 %.
    assert _kept(stacks["pyramid"], frames) >= 0.98


def test_depthmap_keeps_smooth_surfaces_clean() -> None:
    # The product shot's smooth surfaces (4 % of the picture): against the truth, depthmap 44.5 dB
    # (as before the edge picking), pyramid 42.6 dB (it switches frames on faint texture, so noise;
    # 40.2 while its base level was the mean of all frames, blurred ones included).
    _, truth = _sweep("product")
    grey = cv2.cvtColor(truth, cv2.COLOR_BGR2GRAY).astype(np.float32)
    local_sd = np.sqrt(np.maximum(cv2.blur(grey ** 2, (15, 15)) - cv2.blur(grey, (15, 15)) ** 2, 0))
    smooth = local_sd < 4.0
    smooth[:20], smooth[-20:], smooth[:, :20], smooth[:, -20:] = False, False, False, False
    assert smooth.mean() > 0.02
    stacks = _stacks("product")
    assert psnr(stacks["depthmap"], truth, smooth) >= psnr(stacks["pyramid"], truth, smooth) + 1.0
