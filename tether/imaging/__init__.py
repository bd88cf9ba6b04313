"""The image engine: refocus, focus stacking, depth and coverage maps, virtual aperture.

Pure numpy/OpenCV; frames come from a lazy *frame source* (the :class:`FrameSource` protocol:
``ImageFiles``, ``ArrayFrames`` here; bursts are one in ``tether.engine.burst_frames``). The calls
other parts make::

    index = compute_focus_index(source, progress=cb, cancel=ev.is_set)   # once per burst
    store_derived(path, FOCUS_INDEX_NAME, index.to_bytes())               # cache it
    index = FocusIndex.from_bytes(reader.derived(FOCUS_INDEX_NAME))       # later
    index.refocus(x, y)          # -> RefocusAnswer(frame, confidence, alternatives), microseconds
    stack_frames(source, method="pyramid", frames=range(a, b + 1), index=index,
                 progress=cb, cancel=ev.is_set).image                     # (H, W, 3) uint8/uint16
    depth_map_png(index); coverage_map(index); motion_map(index)     # moving subjects: one frame each
    render_aperture(source, index, focus=(x, y), f_number=1.4, captured_f_number=5.6)
    write_image(path, image, exif_from=source.exif_source(), note="...")

The stacking methods and output formats are listed once, in :data:`METHODS` and :data:`FORMATS`
(``METHODS.pick(name)``, ``METHODS.default``).
Coordinates are (x, y) = (column, row) pixels of the reference frame (frame 0).
Progress callbacks get (done, total, stage); ``cancel`` returning True raises Cancelled.
The engine keeps no state between calls and changes nothing in the process that runs it.
"""
from tether.imaging.depth import coverage_map, depth_map, depth_map_png
from tether.imaging.errors import ImagingError, MismatchedFrames, TooFewFrames, UnreadableImage
from tether.imaging.formats import FORMATS, ImageFormat, format_of
from tether.imaging.io import (
    ArrayFrames,
    FrameSource,
    ImageFiles,
    encode_image,
    read_exif,
    read_image,
    reading_ahead,
    write_image,
)
from tether.imaging.methods import METHODS, StackMethod
from tether.imaging.motion import motion_map
from tether.imaging.pipeline import StackResult, compute_focus_index, render_aperture, stack_frames
from tether.imaging.refocus import FocusIndex, RefocusAnswer

#: Name under which a burst caches its focus index (``store_derived`` / ``reader.derived``).
FOCUS_INDEX_NAME = "focus-index.npz"

__all__ = [
    "FOCUS_INDEX_NAME",
    "FORMATS",
    "METHODS",
    "ArrayFrames",
    "FocusIndex",
    "FrameSource",
    "ImageFiles",
    "ImageFormat",
    "ImagingError",
    "MismatchedFrames",
    "RefocusAnswer",
    "StackMethod",
    "StackResult",
    "TooFewFrames",
    "UnreadableImage",
    "compute_focus_index",
    "coverage_map",
    "depth_map",
    "depth_map_png",
    "encode_image",
    "format_of",
    "motion_map",
    "read_exif",
    "read_image",
    "reading_ahead",
    "render_aperture",
    "stack_frames",
    "write_image",
]
