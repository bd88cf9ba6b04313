"""The streaming pipeline: analyse a burst once, then stack, refocus or re-render from it.

Pass 1, :func:`compute_focus_index`, reads every frame at half size: it registers each
frame to its predecessor, matches colour, and records the focus curves of all tiles.
Its result (a :class:`FocusIndex`, a few hundred kB) is what the burst caches and what
refocus taps read. Pass 2 (:func:`stack_frames`, :func:`render_aperture`) makes the
result in horizontal strips (:func:`plan_strips`; one for small and for large frames); for
each strip it reads the frames at full size one at a time, warps only the strip's rows into
the reference geometry and folds them into an accumulator the size of the strip, so memory
does not grow with the number of frames, and the state is a strip's, not a frame's.

Both report ``progress(done, total, stage)`` after every frame and poll ``cancel()``
before every frame; cancelling raises :class:`~tether.errors.Cancelled`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from tether.imaging import align as al
from tether.imaging.aperture import aperture_index_map
from tether.imaging.depthmap_fusion import DepthmapFusion
from tether.errors import Cancelled
from tether.imaging.errors import ImagingError, TooFewFrames
from tether.imaging.focus_measure import default_tile, focus_measure, luminance, tile_grid, tile_scores
from tether.imaging.io import FrameSource, shrink
from tether.imaging.pyramid import PyramidFusion, from_work, level_count, to_work
from tether.imaging.refocus import FocusIndex

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
METHODS = ("pyramid", "depthmap")


@dataclass
class StackResult:
    """A stacked (H, W, 3) image (dtype of the frames), the frames used, and the fully covered box.

    ``valid_box`` = (row0, row1, col0, col1): outside it some frames had no pixels
    (focus breathing) and were filled with their nearest edge pixel.
    """

    image: np.ndarray
    frames: range
    valid_box: tuple[int, int, int, int]
    index: FocusIndex


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, if it is glibc (whose malloc tuning the functions below use); None elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@functools.cache
def limit_heap_growth() -> None:
    """Make glibc give large freed blocks back to the system at once (no-op elsewhere).

    glibc raises its mmap threshold after the first large free, after which frame-sized
    arrays come from the heap and freed ones stay counted in the process's memory; with a
    fixed 1 MB threshold the peak memory of a stack is what it really uses.
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD


def release_free_heap() -> None:
    """Give the free pages inside glibc's heaps back to the system (no-op elsewhere).

    Blocks under the mmap threshold, many of them OpenCV's in its worker threads' arenas, are
    freed but stay resident between live ones: after a 3 MP stack's strips about 8 MB, which
    writing the result would otherwise add to its own peak.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _check(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled; nothing was written")


def _report(progress: Progress | None, done: int, total: int, stage: str) -> None:
    if progress is not None:
        progress(done, total, stage)


def compute_focus_index(source: FrameSource, *, align: bool = True, match_colour: bool = True, progress: Progress | None = None,
                        cancel: Cancel | None = None) -> FocusIndex:
    """Pass 1 over ``source``: alignment to frame 0, colour gains and per-tile focus curves."""
    limit_heap_growth()
    n = len(source)
    if n < 1:
        raise TooFewFrames("no frames to analyse")
    shape = tuple(source.shape)
    tile = default_tile(shape)
    grid = tile_grid(shape, tile)
    align_factor = al.reduction_factor(shape)
    read_reduce = min(2, align_factor)  # the focus measure works at half size anyway
    aligner = al.ChainAligner(factor=align_factor, match_colour=match_colour)
    scores = np.empty((n, *grid), np.float32)
    try:
        for i in range(n):
            _check(cancel)
            frame = source.read(i, reduce=read_reduce)
            small = shrink(frame, align_factor // read_reduce)  # as stored: the aligner converts it in pieces
            if align:
                m_full, _ = aligner.add(small)
                m = al.scale_transform(m_full, 1.0 / read_reduce)
            else:
                m = al.IDENTITY
                aligner.transforms.append(al.IDENTITY.copy())
                aligner.gains.append(np.ones(frame.shape[2] if frame.ndim == 3 else 1, np.float32))
            del small  # (the aligner keeps frame 0's as the colour reference)
            grey = luminance(frame)
            del frame  # before the warp's output is made
            grey = al.warp_to_reference(grey, m)
            scores[i] = tile_scores(focus_measure(grey, reduce=2 // read_reduce), grid)
            del grey
            _report(progress, i + 1, n, "analysing")
    finally:
        al.release_spectra()  # pass 2 should not carry pass 1's cache
    return FocusIndex(scores=scores, shape=shape, tile=tile, transforms=np.array(aligner.transforms),
                      gains=np.array(aligner.gains, np.float32))


def _frame_range(frames: range | None, n: int) -> range:
    selected = range(n) if frames is None else frames
    if selected.start < 0 or selected.stop > n or selected.step != 1:
        raise ImagingError(f"frame range {selected.start}:{selected.stop - 1} is outside the stack's frames 0:{n - 1}")
    return selected


#: Pass 2 works in strips of at most this many pixels, margins included, so that its state
#: (about 11 bytes a pixel) and per-frame images (about 12) stay small beside the interpreter.
#: A 1080p frame stays one strip (splitting it would save little beside the interpreter's fixed
#: cost).
STRIP_PIXELS = 2_500_000
#: ... and of at most this share of the frame: every strip also carries the whole decoded frame
#: and the finished rows of the picture (3 bytes a pixel each), so at 3 MP two strips peaked at
#: 34 MB per megapixel and four at 30, for about 0.8 s a strip at 50 frames (docs/stacking.md, "Strips").
STRIP_SHARE = 0.4
#: Frames of this size and up are done in one strip: the interpreter's fixed ~50 MB is then a
#: small share of issue 6's target (30 MB per megapixel, met in one strip from about 8 MP), and
#: each further strip would decode every frame again (~55 ms a frame at 12 MP).
ONE_STRIP_PIXELS = 10_000_000
#: Rows of context above and below a pyramid strip, in pixels of its coarsest level: enough for
#: the picture to match the whole frame's within rounding (docs/stacking.md, "Strips").
PYRAMID_MARGIN = 1


@dataclass(frozen=True)
class Strip:
    """Reference rows ``start``..``stop`` are processed; rows ``keep_start``..``keep_stop`` of them are kept."""

    start: int
    stop: int
    keep_start: int
    keep_stop: int


def plan_strips(shape: tuple[int, int], *, unit: int = 1, margin: int = 0, budget: int | None = None) -> list[Strip]:
    """Horizontal strips covering (H, W) of at most ``budget`` pixels each (default: see :data:`STRIP_SHARE`).

    Strips start at multiples of ``unit`` rows and take ``margin`` rows (a multiple of
    ``unit``) of context from each neighbour; the kept parts tile the frame, the largest strips
    first. A strip is never less than ``unit`` rows plus margins, whatever the budget; frames
    of :data:`ONE_STRIP_PIXELS` and up are one strip.
    """
    h, w = shape
    if h * w <= (STRIP_PIXELS if budget is None else budget) or h * w >= ONE_STRIP_PIXELS:
        return [Strip(0, h, 0, h)]
    budget = min(STRIP_PIXELS, int(STRIP_SHARE * h * w)) if budget is None else budget
    most = max(unit, (budget // w - 2 * margin) // unit * unit)
    count = -(-h // most)
    rows = -(-h // (count * unit)) * unit  # equal strips, rounded up to the unit
    strips = [Strip(max(0, k - margin), min(h, k + rows + margin), k, min(h, k + rows)) for k in range(0, h, rows)]
    # Largest first: the finished rows of the picture pile up as strips are done, so the edge
    # strips (one margin, or a remainder) come last.
    return sorted(strips, key=lambda s: s.start - s.stop)


def _aligned(source: FrameSource, index: FocusIndex, i: int, strip: Strip) -> np.ndarray:
    """The strip's rows of frame ``i`` at full size, in reference geometry."""
    return al.warp_to_reference(source.read(i), index.transforms[i], size=tuple(source.shape),
                                rows=(strip.start, strip.stop))


def stack_frames(source: FrameSource, *, method: str = "pyramid", frames: range | None = None,
                 index: FocusIndex | None = None, align: bool = True, progress: Progress | None = None,
                 cancel: Cancel | None = None) -> StackResult:
    """Focus-stack ``source`` (all frames, or the range ``frames``) into one image sharp throughout.

    ``method`` is "pyramid" (default; best on fine detail) or "depthmap" (best on smooth
    surfaces). ``index`` is the burst's cached focus index; without it pass 1 runs first.
    """
    limit_heap_growth()
    if method not in METHODS:
        raise ImagingError(f"unknown stacking method {method!r}; choose {' or '.join(METHODS)}")
    n = len(source)
    selected = _frame_range(frames, n)
    if len(selected) < 2:
        raise TooFewFrames(f"stacking needs at least two frames, got {len(selected)}")
    shape = tuple(source.shape)
    levels = level_count(shape)
    strips = (plan_strips(shape, unit=1 << levels, margin=PYRAMID_MARGIN << levels) if method == "pyramid"
              else plan_strips(shape))
    total = len(selected) * len(strips) + (0 if index is not None else n)
    if index is None:
        index = compute_focus_index(source, align=align, cancel=cancel,
                                    progress=lambda d, _t, s: _report(progress, d, total, s))
    if index.frame_count != n or tuple(index.shape) != shape:
        raise ImagingError("the focus index belongs to another set of frames; recompute it")
    done = total - len(selected) * len(strips)
    if method == "pyramid":
        image = _fuse(source, index, selected, strips, levels, progress, cancel, done, total)
    else:
        def depth(start: int, stop: int) -> np.ndarray:
            return np.clip(index.depth_rows(start, stop), selected.start, selected.stop - 1)

        image = _blend(source, index, depth, selected, strips, progress, cancel, done, total)
    return StackResult(image=image, frames=selected, valid_box=_valid_box(index, selected), index=index)


def _fuse(source: FrameSource, index: FocusIndex, selected: range, strips: list[Strip], levels: int,
          progress: Progress | None, cancel: Cancel | None, done: int, total: int) -> np.ndarray:
    """Pyramid-fuse the ``selected`` frames, strip by strip, each frame gated by the focus index's window."""
    h, w = source.shape
    image = np.empty((h, w, 3), source.dtype)
    lo, hi = index.frame_window(selected)
    for strip in strips:
        fusion = PyramidFusion((strip.stop - strip.start, w, 3), levels=levels, origin=strip.start, frame_height=h)
        for i in selected:
            _check(cancel)
            allow = ((lo <= i) & (hi >= i)).astype(np.uint8)
            fusion.add(to_work(_aligned(source, index, i, strip), index.gains[i]), allow)
            done += 1
            _report(progress, done, total, "stacking")
        from_work(fusion.result()[strip.keep_start - strip.start:strip.keep_stop - strip.start], source.dtype,
                  out=image[strip.keep_start:strip.keep_stop])
        release_free_heap()
    return image


def _blend(source: FrameSource, index: FocusIndex, index_rows: Callable[[int, int], np.ndarray], selected: range,
           strips: list[Strip], progress: Progress | None, cancel: Cancel | None, done: int, total: int) -> np.ndarray:
    """Blend the ``selected`` frames with :class:`DepthmapFusion` along ``index_rows(start, stop)``, strip by strip."""
    h, w = source.shape
    image = np.empty((h, w, 3), source.dtype)
    for strip in strips:  # (no margins: each pixel depends on its own index only)
        fusion = DepthmapFusion(index_rows(strip.start, strip.stop))
        for i in selected:
            _check(cancel)
            if fusion.wants(i):
                frame = _aligned(source, index, i, strip)
                gains = [float(g) for g in index.gains[i]]
                if not np.allclose(gains, 1.0):  # saturating, in the frame's own dtype: no float copy
                    frame = cv2.multiply(frame, tuple(gains) + (0.0,) * (4 - len(gains)))
                fusion.add(i, frame)
                del frame  # before the next frame is decoded
            done += 1
            _report(progress, done, total, "blending")
        fusion.result(source.dtype, out=image[strip.start:strip.stop])
        del fusion  # before the next strip's is made
    return image


def render_aperture(source: FrameSource, index: FocusIndex, *, focus: tuple[float, float], f_number: float,
                    captured_f_number: float, progress: Progress | None = None,
                    cancel: Cancel | None = None) -> np.ndarray:
    """The scene focused at reference pixel ``focus`` = (x, y) with the blur of ``f_number``.

    ``captured_f_number`` is the aperture the frames were shot at; a smaller ``f_number``
    gives a shallower depth of field. Returns (H, W, 3) of the frames' dtype.
    """
    focus_frame = float(index.refocus(*focus).frame)

    def frame_rows(start: int, stop: int) -> np.ndarray:
        return aperture_index_map(index.depth_rows(start, stop), focus=focus_frame, f_number=f_number,
                                  captured_f_number=captured_f_number, frame_count=index.frame_count)

    n = len(source)
    strips = plan_strips(tuple(source.shape))
    return _blend(source, index, frame_rows, range(n), strips, progress, cancel, 0, n * len(strips))


def _valid_box(index: FocusIndex, selected: range) -> tuple[int, int, int, int]:
    r0, c0 = 0, 0
    r1, c1 = index.shape
    for i in selected:
        a, b, c, d = al.footprint_box(index.transforms[i], index.shape)
        r0, r1, c0, c1 = max(r0, a), min(r1, b), max(c0, c), min(c1, d)
    return r0, max(r0, r1), c0, max(c0, c1)
