"""Sweep modes: the one list of the ways a sweep can take its frames.

Each :class:`SweepMode` carries the value the REST API and the CLI take, the label the Post Focus
page shows, the camera capability it needs and its run function over a :class:`SweepContext`.
Front ends offer :data:`MODES`; the sweep picks one with :func:`lookup`.
"""
from __future__ import annotations

from tether.capture.modes import liveview, movie, stills
from tether.capture.modes.base import AddFrame, Grabbed, SweepContext, SweepMode
from tether.capture.step_plan import PlanError

MODES: tuple[SweepMode, ...] = (liveview.MODE, stills.MODE, movie.MODE)
DEFAULT = liveview.MODE


def values() -> list[str]:
    """The mode values, in the order front ends offer them."""
    return [mode.value for mode in MODES]


def lookup(value: str) -> SweepMode:
    """The mode called ``value``; a PlanError naming the choices when there is none."""
    for mode in MODES:
        if mode.value == value:
            return mode
    raise PlanError(f"mode must be one of {', '.join(values())}, not {value!r}")


__all__ = ["DEFAULT", "MODES", "AddFrame", "Grabbed", "SweepContext", "SweepMode", "lookup", "values"]
