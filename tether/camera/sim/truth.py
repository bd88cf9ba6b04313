"""Ground truth of a simulated scene: depth, the all-in-focus image, where each pixel is sharpest.

Geometry: maps come in the unmagnified geometry (``optics.render(..., breathing=False)``) unless a
``focus_position`` is given, in which case they get that position's focus-breathing crop, so they
line up pixel for pixel with a frame taken there.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tether.camera.sim import optics
from tether.camera.sim.motor import STEP_UNITS
from tether.camera.sim.scene import Scene, get_scene, object_mask


@dataclass(frozen=True)
class ObjectTruth:
    name: str
    distance: float           # metres
    focus_position: float     # motor position (units from the near stop) that puts it in focus


class SceneTruth:
    """What is really in front of the lens; ``position_source`` gives the motor's true position."""

    def __init__(self, scene: Scene | str, seed: int = 0, position_source: Callable[[], int] | None = None,
                 sizes: Callable[[], dict[str, tuple[int, int]]] | None = None) -> None:
        self.scene = get_scene(scene) if isinstance(scene, str) else scene
        self.seed = seed
        self.lens = optics.lens_for(self.scene)
        self._position_source = position_source
        self._sizes = sizes

    @property
    def sizes(self) -> dict[str, tuple[int, int]]:
        """The attached camera's image sizes: ``{"liveview": (w, h), "still": ..., "movie": ...}``."""
        if self._sizes is None:
            raise AttributeError("this ground truth is not attached to a camera")
        return self._sizes()

    @property
    def focus_position(self) -> int:
        """The motor's true current position (units from the near end stop)."""
        if self._position_source is None:
            raise AttributeError("this ground truth is not attached to a camera")
        return self._position_source()

    @property
    def motor_range(self) -> tuple[int, int]:
        """(near end stop, far end stop) in units."""
        return 0, optics.MOTOR_RANGE

    @property
    def step_units(self) -> dict[str, int]:
        """Units moved by one step of each class, before the motor's random error."""
        return {step.value: units for step, units in STEP_UNITS.items()}

    @property
    def objects(self) -> list[ObjectTruth]:
        """The scene's objects, back to front."""
        return [ObjectTruth(o.name, o.distance, self.lens.position_for(o.distance)) for o in self.scene.objects]

    def position_for(self, distance: float) -> float:
        return self.lens.position_for(distance)

    def _coverages(self, size: tuple[int, int]) -> list[np.ndarray]:
        w, h = size
        covers = [object_mask(o, w, h) for o in self.scene.objects]
        covers[0] = np.ones((h, w), np.float32)
        return covers

    def _geometry(self, image: np.ndarray, focus_position: float | None, nearest: bool) -> np.ndarray:
        if focus_position is None:
            return image
        return optics.breathe(image, focus_position, cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)

    def masks(self, size: tuple[int, int], focus_position: float | None = None) -> dict[str, np.ndarray]:
        """Per object, the bool mask of pixels where it is the visible (front-most) surface."""
        index = self.index_map(size, focus_position)
        return {o.name: index == i for i, o in enumerate(self.scene.objects)}

    def mask(self, name: str, size: tuple[int, int], focus_position: float | None = None) -> np.ndarray:
        masks = self.masks(size, focus_position)
        if name not in masks:
            raise KeyError(f"no object {name!r}; objects: {', '.join(masks)}")
        return masks[name]

    def index_map(self, size: tuple[int, int], focus_position: float | None = None) -> np.ndarray:
        """uint8 (H, W): index (back to front) of the object seen at each pixel (coverage >= 1/2)."""
        w, h = size
        index = np.zeros((h, w), np.uint8)
        for i, cover in enumerate(self._coverages(size)):
            index[cover >= 0.5] = i
        return self._geometry(index, focus_position, nearest=True)

    def depth_map(self, size: tuple[int, int], focus_position: float | None = None) -> np.ndarray:
        """float32 (H, W): distance in metres of the surface seen at each pixel."""
        distances = np.array([o.distance for o in self.scene.objects], np.float32)
        return distances[self.index_map(size, focus_position)]

    def sharpest_position_map(self, size: tuple[int, int], positions: Sequence[float] | None = None,
                              focus_position: float | None = None) -> np.ndarray:
        """float32 (H, W): the focus position at which each pixel is sharpest.

        With ``positions`` (the positions a sweep visited), the nearest of them: the frame index a
        perfect refocus would pick is ``positions.index(value)``.
        """
        targets = np.array([o.focus_position for o in self.objects], np.float32)
        if positions is not None and len(positions):
            visited = np.asarray(positions, np.float32)
            targets = visited[np.abs(targets[:, None] - visited[None, :]).argmin(axis=1)]
        return targets[self.index_map(size, focus_position)]

    def all_in_focus(self, size: tuple[int, int], focus_position: float | None = None,
                     f_number: float = 2.8) -> np.ndarray:
        """uint8 BGR (H, W, 3): every object sharp (only the lens's residual blur), noiseless, white-balanced."""
        from tether.camera.sim.scene import raster

        w, h = size
        layers = raster(self.scene.name, w, h, self.seed)
        sigma = float(np.hypot(optics.BASE_SIGMA * w / optics.REFERENCE_WIDTH, optics.diffraction_sigma(f_number, w)))
        image = optics.composite(layers, [0.0] * len(layers), sigma, w, h)
        return self._geometry(image, focus_position, nearest=False)
