"""Errors of the image engine, each worded for the photographer."""
from __future__ import annotations

from tether.errors import TetherError


class ImagingError(TetherError):
    """Frames could not be refocused, stacked or written."""


class UnreadableImage(ImagingError):
    """A file is not an image tether can decode."""


class MismatchedFrames(ImagingError):
    """Frames of one stack differ in size or channel count."""


class TooFewFrames(ImagingError):
    """Stacking needs at least two frames."""
