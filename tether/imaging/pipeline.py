"""The streaming pipeline: analyse a burst once, then stack, refocus or re-render from it.

Pass 1, :func:`compute_focus_index`, reads every frame at half size: it registers each
frame to its predecessor, matches colour, and records the focus curves of all tiles
(:mod:`tether.imaging.analysis`, which a sweep also feeds while it captures).
Its result (a :class:`FocusIndex`, a few hundred kB) is what the burst caches and what
refocus taps read. Pass 2 (:func:`stack_frames`, :func:`render_aperture`) makes the
result in horizontal strips (:mod:`tether.imaging.strips`; one for small and for large
frames); for each strip it reads the frames at full size one at a time, warps only the strip's
rows into the reference geometry (only the box of them the method's fusion can use, and not at all
a frame it has no use for) and hands them to the method's fusion (:mod:`tether.imaging.methods`),
so memory does not grow with the number of frames, and the state is a strip's, not a frame's.

Both report ``progress(done, total, stage)`` after every frame and poll ``cancel()``
before every frame; cancelling raises :class:`~tether.errors.Cancelled`. Pass 2 calls
``on_strip_done()`` after each strip: the process that runs it may give freed memory back there.
Nothing here changes the process (its allocator, its threads): that is for whoever runs the work.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

import numpy as np

from tether.errors import Cancelled
from tether.imaging import transforms as tf
from tether.imaging.analysis import FocusIndexBuilder
from tether.imaging.aperture import aperture_index_map
from tether.imaging.depthmap_fusion import DepthmapStack
from tether.imaging.errors import ImagingError, TooFewFrames
from tether.imaging.io import FrameSource, reading_ahead, working_ahead
from tether.imaging.methods import METHODS, Fusion
from tether.imaging.motion import MotionOverlay
from tether.imaging.refocus import FocusIndex
from tether.imaging.strips import Strip, plan_strips
from tether.numbering import frame_number

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
StripDone = Callable[[], None]


@dataclass
class StackResult:
    """A stacked (H, W, 3) image (dtype of the frames), the frames used, and the fully covered box.

    ``valid_box`` = (row0, row1, col0, col1): outside it some frames had no pixels
    (focus breathing, a hand that moved) and were filled with their nearest edge pixel.
    ``excluded``: frames of ``frames`` that could not be registered and were left out.
    """

    image: np.ndarray
    frames: range
    valid_box: tuple[int, int, int, int]
    index: FocusIndex
    excluded: tuple[int, ...] = ()

    @property
    def uncovered(self) -> float:
        """The share (0..1) of the picture outside ``valid_box``: what cropping to it would cut."""
        r0, r1, c0, c1 = self.valid_box
        h, w = self.image.shape[:2]
        return 1.0 - float((r1 - r0) * (c1 - c0)) / float(h * w)


def _check(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled; nothing was written")


def _report(progress: Progress | None, done: int, total: int, stage: str) -> None:
    if progress is not None:
        progress(done, total, stage)


def compute_focus_index(source: FrameSource, *, align: bool = True, match_colour: bool = True,
                        progress: Progress | None = None, cancel: Cancel | None = None) -> FocusIndex:
    """Pass 1 over ``source``: alignment to frame 0, colour gains and per-tile focus curves
    (:class:`~tether.imaging.analysis.FocusIndexBuilder` fed every frame in order).

    Frames that cannot be registered get no focus curve and are listed in ``excluded``.
    """
    n = len(source)
    if n < 1:
        raise TooFewFrames("no frames to analyse")
    builder = FocusIndexBuilder(source.shape, align=align, match_colour=match_colour, frames=n)
    for i in range(n):
        _check(cancel)
        builder.add(source.read(i, reduce=builder.read_reduce))
        _report(progress, i + 1, n, "analysing")
    return builder.finish()


def _frame_range(frames: range | None, n: int) -> range:
    selected = range(n) if frames is None else frames
    if selected.start < 0 or selected.stop > n or selected.step != 1:
        raise ImagingError(f"frame range {selected.start}:{selected.stop - 1} is outside the stack's frames 0:{n - 1}")
    return selected


def _aligned(source: FrameSource, index: FocusIndex, i: int, box: tf.Box) -> np.ndarray:
    """The ``box`` of frame ``i`` at full size, in reference geometry."""
    return tf.warp_to_reference(source.read(i), index.transforms[i], size=source.shape, rows=box[:2], cols=box[2:])


def stack_frames(source: FrameSource, *, method: str = METHODS.default, frames: range | None = None,
                 index: FocusIndex | None = None, align: bool = True, progress: Progress | None = None,
                 cancel: Cancel | None = None, on_strip_done: StripDone | None = None) -> StackResult:
    """Focus-stack ``source`` (all frames, or the range ``frames``) into one image sharp throughout.

    ``method`` names one of :data:`~tether.imaging.methods.METHODS`. ``index`` is the burst's
    cached focus index; without it pass 1 runs first.
    """
    chosen = METHODS.pick(method)
    n = len(source)
    selected = _frame_range(frames, n)
    if len(selected) < 2:
        raise TooFewFrames(f"stacking needs at least two frames, got {len(selected)}")
    shape = source.shape
    strips = chosen.strips(shape)
    total = len(selected) * len(strips) + (0 if index is not None else n)
    if index is None:
        with reading_ahead(source) as ahead:
            index = compute_focus_index(ahead, align=align, cancel=cancel,
                                        progress=lambda d, _t, s: _report(progress, d, total, s))
    if index.frame_count != n or tuple(index.shape) != shape:
        raise ImagingError("the focus index belongs to another set of frames; recompute it")
    excluded = tuple(i for i in index.excluded if i in selected)
    kept_source, kept_index, kept = source, index, selected
    if excluded:
        frames_kept = [i for i in selected if i not in excluded]
        if len(frames_kept) < 2:
            raise TooFewFrames(f"only {len(frames_kept)} of the {len(selected)} frames could be registered to each "
                               f"other; left out: frame(s) {', '.join(str(frame_number(i)) for i in excluded)}",
                               hint="the frames are registered to the first: if it is damaged or of another scene, "
                                    "nothing matches it; leave it out or replace it")
        kept_source, kept_index = _Kept(source, frames_kept), index.of_frames(frames_kept)
        kept = range(len(frames_kept))
        total -= len(excluded) * len(strips)
    done = total - len(kept) * len(strips)
    # Moving subjects are laid over the method's picture, each from one frame.
    fusion = MotionOverlay(chosen.fusion(kept_index, kept), kept_index, kept)
    image = _fuse(kept_source, kept_index, fusion, strips, kept, progress, cancel, done, total, on_strip_done,
                  read_ahead=chosen.reads_ahead(shape, strips, np.dtype(source.dtype)))
    return StackResult(image=image, frames=selected, valid_box=_valid_box(kept_index, kept), index=index,
                       excluded=excluded)


class _Kept:
    """The frames ``kept`` of ``source``, renumbered from 0: a frame source without the frames left out."""

    def __init__(self, source: FrameSource, kept: list[int]) -> None:
        self._source, self._kept = source, kept
        self.shape, self.dtype = source.shape, source.dtype

    def __len__(self) -> int:
        return len(self._kept)

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray:
        return self._source.read(self._kept[i], reduce=reduce)

    def exif_source(self) -> bytes | None:
        return self._source.exif_source()


def _fuse(source: FrameSource, index: FocusIndex, fusion: Fusion, strips: list[Strip], selected: range,
          progress: Progress | None, cancel: Cancel | None, done: int, total: int,
          on_strip_done: StripDone | None, *, read_ahead: bool = False) -> np.ndarray:
    """The picture of the ``selected`` frames made by ``fusion``, strip by strip.

    Frames are read and warped on a worker thread, only the box the strip's fusion asks for (a frame
    it has no use for is not read); with ``read_ahead`` the next frame it uses is, while the fusion
    takes this one (OpenCV and libjpeg-turbo release the GIL: the two cores share the work), at the
    cost of one more frame and strip in memory.
    """
    h, w = source.shape
    image = np.empty((h, w, 3), source.dtype)
    def warped(key: tuple[int, tf.Box]) -> np.ndarray:
        return _aligned(source, index, *key)

    with working_ahead(warped) as aligned:
        for strip in strips:
            part = fusion.strip(strip)
            used = [(i, box) for i in selected if (box := part.box(i)) is not None]
            after = dict(pairwise(used)) if read_ahead else {}
            wanted = dict(used)
            for i in selected:
                _check(cancel)
                if i in wanted:
                    key = (i, wanted[i])
                    part.add(i, partial(aligned.get, key, then=after.get(key)), index.gains[i])
                done += 1
                _report(progress, done, total, fusion.stage)
            part.finish(image[strip.keep_start:strip.keep_stop])
            del part  # before the next strip's is made
            if on_strip_done is not None:
                on_strip_done()
    return image


def render_aperture(source: FrameSource, index: FocusIndex, *, focus: tuple[float, float], f_number: float,
                    captured_f_number: float, progress: Progress | None = None, cancel: Cancel | None = None,
                    on_strip_done: StripDone | None = None) -> np.ndarray:
    """The scene focused at reference pixel ``focus`` = (x, y) with the blur of ``f_number``.

    ``captured_f_number`` is the aperture the frames were shot at; a smaller ``f_number``
    gives a shallower depth of field. Returns (H, W, 3) of the frames' dtype.
    """
    answer = index.refocus(*focus)
    if answer.frame is None:
        raise ImagingError(f"({focus[0]:g}, {focus[1]:g}) is on a moving subject; focus on something that stood still")
    focus_frame = float(answer.frame)

    def frame_rows(start: int, stop: int) -> np.ndarray:
        return aperture_index_map(index.depth_rows(start, stop), focus=focus_frame, f_number=f_number,
                                  captured_f_number=captured_f_number, frame_count=index.frame_count)

    n = len(source)
    strips = plan_strips(source.shape)
    return _fuse(source, index, DepthmapStack(frame_rows), strips, range(n), progress, cancel, 0, n * len(strips),
                 on_strip_done)


def _valid_box(index: FocusIndex, selected: range) -> tuple[int, int, int, int]:
    r0, c0 = 0, 0
    r1, c1 = index.shape
    for i in selected:
        a, b, c, d = tf.footprint_box(index.transforms[i], index.shape)
        r0, r1, c0, c1 = max(r0, a), min(r1, b), max(c0, c), min(c1, d)
    return r0, max(r0, r1), c0, max(c0, c1)
