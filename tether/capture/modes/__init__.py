"""Sweep modes: the one list of the ways a sweep can take its frames.

Each :class:`SweepMode` carries the name the REST API and the CLI take, the label the Post Focus
page shows, the camera capability it needs and its run function over a :class:`SweepContext`.
Front ends offer :data:`MODES`; the sweep picks one with ``MODES.pick(name)``.
"""
from __future__ import annotations

from tether.capture.modes import liveview, movie, stills
from tether.capture.modes.base import AddFrame, Grabbed, SweepContext, SweepMode
from tether.choices import Choices

#: The sweep modes by name, the default (live view: fast) first.
MODES = Choices("sweep mode", liveview.MODE, stills.MODE, movie.MODE)

__all__ = ["MODES", "AddFrame", "Grabbed", "SweepContext", "SweepMode"]
