"""Stacking methods: one protocol for how a method fuses a stack's frames, and the registry of methods.

Pass 2 of the pipeline works in horizontal strips (:mod:`tether.imaging.strips`). A method plans
them for the frame size, and its fusion, made for one stack (its focus index and frames), makes
for each strip a :class:`StripFusion` that is offered every frame in turn and then writes the
strip's rows of the picture. Front ends list :data:`METHODS` (the CLI's choices, the web API's
validation, the stack page's menu) and :meth:`~Choices.pick` one by name; a new method is a new
entry here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tether.choices import Choices
from tether.imaging.depthmap_fusion import DepthmapStack
from tether.imaging.pyramid import PyramidStack, pyramid_reads_ahead, pyramid_strips
from tether.imaging.refocus import FocusIndex
from tether.imaging.strips import Strip, plan_strips
from tether.imaging.transforms import Box


class StripFusion(Protocol):
    """A method's state for one strip: frames are folded in one at a time, then the picture is made."""

    def box(self, i: int) -> Box | None:
        """The reference pixels of frame ``i`` that :meth:`add` reads, within the strip's rows; None when the
        strip has no use for the frame (it is then not offered, nor read)."""

    def add(self, i: int, read: Callable[[], np.ndarray], gains: np.ndarray) -> None:
        """Offer frame ``i``: ``read()`` gives its :meth:`box`, (rows, columns, 3) in reference geometry, and
        ``gains`` (3,) match its colour to frame 0's."""

    def finish(self, out: np.ndarray) -> None:
        """Write the strip's kept rows of the picture into ``out`` (keep_stop - keep_start, W, 3), in its dtype."""


class Fusion(Protocol):
    """A method's fusion of one stack; ``stage`` names its work in progress reports."""

    stage: str

    def strip(self, strip: Strip) -> StripFusion: ...


@dataclass(frozen=True)
class StackMethod:
    """A stacking method: its name (what the CLI and the API take), words for people, and how it works."""

    name: str
    label: str
    #: What it is best at, for help texts and menus.
    use: str
    #: The strips (H, W) frames are done in.
    strips: Callable[[tuple[int, int]], list[Strip]]
    #: The fusion of one stack, from its focus index and its frames.
    fusion: Callable[[FocusIndex, range], Fusion]
    #: Whether pass 2 reads the next frame ahead, for (H, W) frames of a dtype done in these strips.
    reads_ahead: Callable[[tuple[int, int], list[Strip], np.dtype], bool]


def _never(_shape: tuple[int, int], _strips: list[Strip], _dtype: np.dtype) -> bool:
    """A depth-map strip reads only the frames its pixels use: a frame read ahead would often be wasted."""
    return False


#: The stacking methods by name, the default first.
METHODS = Choices(
    "stacking method",
    StackMethod("pyramid", "Pyramid", "best on fine detail", pyramid_strips, PyramidStack, pyramid_reads_ahead),
    StackMethod("depthmap", "Depth map", "best on smooth surfaces", plan_strips, DepthmapStack.of_stack, _never),
)
