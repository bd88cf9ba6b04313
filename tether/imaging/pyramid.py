"""Pyramid fusion: the default stacking method, one frame at a time.

Each frame's Laplacian pyramid (Burt & Adelson 1983) is compared, level by level, with
the fused pyramid so far; where the frame's local energy is larger its coefficients
replace the fused ones (the "choose max" rule of Burt & Kolczynski 1993, with their
area-based activity measure instead of single coefficients). The base (top Gaussian)
level is chosen by the same rule, its activity being the finer levels' alone: a mean of
all frames there would mix in the wide blur of the frames far out of focus, whose
defocus reaches the base's scale (docs/stacking.md, "Pyramid fusion").

Consistency, against noise and halos: the activity of a level is its local energy
(Gaussian-weighted mean of |luminance coefficient|) *plus half the activity of the finer
level reduced to its size*. A coarse coefficient is therefore taken from the frame
whose finer detail is sharpest there, so levels agree on one frame per region instead
of mixing the wide blur of a defocused edge (a halo) with the sharp edge; and in areas
never in focus the window average keeps one frame's noise instead of picking the
largest of N noise samples pixel by pixel.

Memory: the state is the fused pyramid (base included) and one activity map per level,
stored as int16 (about 10.7 bytes per pixel for colour), whatever the number of frames.
Images enter as int16 scaled by :data:`SCALE` (see :func:`to_work`). A fusion may cover a strip of
rows of a larger frame (``origin``, ``frame_height``): it then gates each level exactly
as the whole frame's fusion would, so strips fused one after another make the same picture
away from their edges; :class:`PyramidStack` runs it so over a stack's frames.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from tether.imaging.channels import scale_channels
from tether.imaging.refocus import FocusIndex
from tether.imaging.strips import Strip, fitting_budget, plan_strips, within_target
from tether.imaging.transforms import Box

#: uint8 values are multiplied by this before fusion (int16 keeps 1/8 grey level of precision).
SCALE_U8 = 8.0
#: uint16 values are multiplied by this (65535 / 8 fits int16 with room for coefficient overshoot).
SCALE_U16 = 1.0 / 8.0
_LUMA = np.array([[0.114, 0.587, 0.299]], np.float32)
#: The Scalar 0 as OpenCV's binding takes it (|x - 0| = |x| in one pass, in place).
ZERO_SCALAR = np.zeros(4)
#: Rows of context above and below a pyramid strip, in pixels of its coarsest level: enough for
#: the picture to match the whole frame's within rounding (docs/stacking.md, "Strips").
PYRAMID_MARGIN = 1
#: Pass 2's peak with this method, in bytes a pixel: of the frame (the decoded frame, the finished
#: picture) and of a strip (the fused pyramid and its activity, and one frame's working images);
#: measured on the whole process at 6 MP, 10 frames: one strip 195 MB, two 142 (docs/stacking.md, "Strips").
FRAME_BYTES, STRIP_BYTES = 6.0, 18.0
#: A level's activity adds the finer level's times this, so the finer levels' weight halves at each
#: step up: a coarse band is chosen by its own detail and the next finer band's more than by the
#: finest band, where a frame's noise is (with 1.0 the benchmark's sweeps scored 0.04-0.3 dB less;
#: docs/stacking.md, "Pyramid fusion").
FINER_WEIGHT = 0.5
#: The sigma of the activity's Gaussian window on the levels above the finest (pixels of the level):
#: flatter weights there make the coarse choices by larger regions (0.03-0.2 dB). The window keeps
#: its size, so that a strip's margin still covers its reach; the finest level keeps OpenCV's sigma
#: for it (1.1 px for 5): a flatter one there kept less of the frames' detail.
COARSE_SIGMA = 1.5


def work_scale(dtype: np.dtype) -> float:
    """Factor from image values of ``dtype`` (uint8 or uint16) to the int16 working scale."""
    return SCALE_U16 if np.dtype(dtype) == np.uint16 else SCALE_U8


def to_work(image: np.ndarray, gains: np.ndarray | None = None) -> np.ndarray:
    """(H, W[, C]) uint8/uint16 image, times per-channel ``gains``, as int16 at the working scale."""
    scale = work_scale(image.dtype)
    channels = 1 if image.ndim == 2 else image.shape[2]
    factors = [scale * float(g) for g in (gains if gains is not None else np.ones(channels))]
    return scale_channels(image, factors, dtype=cv2.CV_16S)


def from_work(work: np.ndarray, dtype: np.dtype, *, out: np.ndarray | None = None) -> np.ndarray:
    """int16 working image back to ``dtype`` (uint8 or uint16), rounded and clipped (into ``out`` if given)."""
    scale = work_scale(dtype)
    target = cv2.CV_16U if np.dtype(dtype) == np.uint16 else cv2.CV_8U
    channels = 1 if work.ndim == 2 else work.shape[2]
    return scale_channels(work, [1.0 / scale] * channels, dtype=target, out=out)


def level_count(shape: tuple[int, int], *, smallest: int = 16, most: int = 7) -> int:
    """How many Laplacian levels for (H, W): halve until the short side would drop below ``smallest``."""
    levels, side = 0, min(shape)
    while side // 2 >= smallest and levels < most:
        side //= 2
        levels += 1
    return max(1, levels)


def _nearest_indices(src: int, dst: int, start: int, count: int) -> np.ndarray:
    """The source indices ``cv2.resize(..., INTER_NEAREST)`` from ``src`` to ``dst`` samples picks from ``start`` on."""
    picks: np.ndarray = np.floor(np.arange(start, start + count) * (1.0 / (dst / src))).astype(np.int64)
    np.minimum(picks, src - 1, out=picks)
    return picks


def _combine_expanded(fine: np.ndarray, coarse: np.ndarray, *, add: bool, band: int = 128) -> np.ndarray:
    """``fine`` minus (or plus) ``coarse`` expanded to its size (pyrUp), in place, a band of rows at a time.

    Banding keeps the expanded image (as large as ``fine``) from ever existing whole; each
    band expands two extra coarse rows on either side, so the rows kept are exactly those of
    a whole-image pyrUp (its border rule only reaches one coarse row).
    """
    h, w = fine.shape[:2]
    ch = coarse.shape[0]
    op = cv2.add if add else cv2.subtract
    if h <= band:
        return op(fine, cv2.pyrUp(coarse, dstsize=(w, h)), dst=fine)
    for r0 in range(0, h, band):
        r1 = min(h, r0 + band)
        c0, c1 = max(0, r0 // 2 - 2), min(ch, (r1 + 1) // 2 + 2)
        # A band that reaches the last coarse row must end where the whole image does.
        rows = h - 2 * c0 if c1 == ch else 2 * (c1 - c0)
        up = cv2.pyrUp(coarse[c0:c1], dstsize=(w, rows))
        view = fine[r0:r1]
        op(view, up[r0 - 2 * c0:r1 - 2 * c0], dst=view)
    return fine


def _luma(level: np.ndarray) -> np.ndarray:
    return level if level.ndim == 2 else cv2.transform(level, _LUMA)


class PyramidFusion:
    """Accumulates frames (int16 working images of one shape) into a fused Laplacian pyramid."""

    def __init__(self, shape: tuple[int, ...], *, levels: int | None = None, window: int = 5, origin: int = 0,
                 frame_height: int | None = None) -> None:
        self.shape = tuple(shape)
        self.levels = levels or level_count((self.shape[0], self.shape[1]))
        if origin % (1 << self.levels):
            raise ValueError(f"a strip must start at a multiple of {1 << self.levels} rows, not {origin}")
        self.window = window
        self.origin = origin
        self.frame_height = frame_height or self.shape[0]
        self.count = 0
        # Per level, the Laplacian levels and then the base (top Gaussian level): the fused
        # coefficients and the activity of the frame each was taken from.
        self._fused: list[np.ndarray] = []
        self._activity: list[np.ndarray] = []

    def add(self, work: np.ndarray, allow: np.ndarray | None = None, *, at: tuple[int, int] = (0, 0)) -> None:
        """Fold one (H, W[, C]) int16 working image into the fused pyramid; ``work`` is overwritten.

        ``allow`` (any size, uint8, 1 = may be used, 0 = not; it spans the whole frame, not
        just this fusion's strip) limits where this frame can win, e.g. to where the focus
        index says it is near its sharpest.

        ``work`` may also be a box of the fusion's pixels from ``at`` = (row, column) on, both multiples of
        2^levels, and so many pixels high and wide unless the box reaches the last row or column: only
        that box can take this frame's coefficients, which away from its edges are the whole frame's
        within rounding, as a strip's are (see :data:`PYRAMID_MARGIN`). The first frame must be whole.
        """
        unit = 1 << self.levels
        size = work.shape[:2]
        fits = all(a % unit == 0 and a + n <= m and (a + n == m or n % unit == 0)
                   for a, n, m in zip(at, size, self.shape[:2], strict=True))
        whole = size == self.shape[:2]
        if work.shape[2:] != self.shape[2:] or not fits or not (whole or self.count):
            raise ValueError(f"frame shape {work.shape} at {at} does not fit {self.shape}")
        gauss = [work]
        del work  # (the caller handed it over): each level goes as soon as it is merged
        for _ in range(self.levels):
            gauss.append(cv2.pyrDown(gauss[-1]))
        finer: np.ndarray | None = None  # the previous level's activity, reduced to this level's size
        for lvl in range(self.levels):
            lap = _combine_expanded(gauss[lvl], gauss[lvl + 1], add=False)  # in place: the level becomes its Laplacian
            gauss[lvl] = None  # type: ignore[call-overload]
            energy = _luma(lap)
            cv2.absdiff(energy, ZERO_SCALAR, dst=energy)
            # (sigma 0: OpenCV's for the window, 1.1 px for 5)
            cv2.GaussianBlur(energy, (self.window, self.window), COARSE_SIGMA if lvl else 0, dst=energy)
            if finer is not None:
                cv2.addWeighted(energy, 1.0, finer, FINER_WEIGHT, 0, dst=energy)
            self._shut_out(energy, allow, lvl, at)
            coarse = gauss[lvl + 1].shape
            finer = cv2.pyrDown(energy, dstsize=(coarse[1], coarse[0]))
            self._merge(lvl, lap, energy, at)
            del lap, energy
        assert finer is not None  # (levels >= 1)
        # The base has no detail of its own: the finer levels' activity chooses it.
        self._merge(self.levels, gauss[self.levels], self._shut_out(finer, allow, self.levels, at), at)
        self.count += 1

    def _shut_out(self, energy: np.ndarray, allow: np.ndarray | None, lvl: int,
                  at: tuple[int, int] = (0, 0)) -> np.ndarray:
        """``energy`` of level ``lvl`` (of the box from ``at`` on), zeroed in place where ``allow`` shuts this
        frame out (ties keep the earlier frame; the coarser levels inherit the zeros)."""
        if allow is not None:
            cv2.multiply(energy, self._gate(allow, lvl, energy.shape, at), dst=energy, dtype=cv2.CV_16S)
        return energy

    def level_size(self, lvl: int) -> tuple[int, int]:
        """(rows, columns) of level ``lvl`` of this fusion (pyrDown rounds up)."""
        return -(-self.shape[0] // (1 << lvl)), -(-self.shape[1] // (1 << lvl))

    def gate_rows(self, allow: np.ndarray, lvl: int) -> np.ndarray:
        """The rows of ``allow`` (as :meth:`add` takes it) that each row of level ``lvl`` of this fusion is gated by."""
        height = -(-self.frame_height // (1 << lvl))  # pyrDown rounds up at every level: the same as once
        return _nearest_indices(allow.shape[0], height, self.origin >> lvl, self.level_size(lvl)[0])

    def gate_columns(self, allow: np.ndarray, lvl: int) -> np.ndarray:
        """The columns of ``allow`` that each column of level ``lvl`` is gated by (a strip spans the whole width)."""
        width = self.level_size(lvl)[1]
        return _nearest_indices(allow.shape[1], width, 0, width)

    def _gate(self, allow: np.ndarray, lvl: int, shape: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
        """``allow`` resized (nearest) to level ``lvl`` of the whole frame, the box of this strip only."""
        row, col = at[0] >> lvl, at[1] >> lvl
        rows = allow[self.gate_rows(allow, lvl)[row:row + shape[0]]]
        # Across, the strip spans the whole width: resize picks the same columns as for the whole frame.
        gate: np.ndarray = cv2.resize(rows, (self.level_size(lvl)[1], shape[0]), interpolation=cv2.INTER_NEAREST)
        return gate[:, col:col + shape[1]]

    def _merge(self, lvl: int, band: np.ndarray, energy: np.ndarray, at: tuple[int, int] = (0, 0)) -> None:
        """Take ``band``'s coefficients of level ``lvl`` (``levels``: the base) where its ``energy`` is larger;
        ``band`` is the level's box from ``at`` (of the fusion's full size) on."""
        if len(self._fused) <= lvl:
            self._fused.append(band)
            self._activity.append(energy)
            return
        row, col = at[0] >> lvl, at[1] >> lvl
        box = (slice(row, row + band.shape[0]), slice(col, col + band.shape[1]))
        fused, activity = self._fused[lvl][box], self._activity[lvl][box]
        mask = cv2.compare(energy, activity, cv2.CMP_GT)
        cv2.copyTo(band, mask, fused)
        cv2.copyTo(energy, mask, activity)

    def result(self) -> np.ndarray:
        """The fused (H, W[, C]) int16 working image; the fusion's state is used up to make it."""
        if not self.count:
            raise ValueError("no frames were added")
        image = self._fused[self.levels]
        for lvl in reversed(range(self.levels)):
            image = _combine_expanded(self._fused[lvl], image, add=True)  # collapse in place
            self._fused[lvl] = None  # type: ignore[call-overload]
        self._activity = []
        return image


def _budget(shape: tuple[int, int]) -> tuple[int, int, int | None]:
    """The unit and margin of pyramid strips of (H, W), and the budget of the fewest that fit the memory target."""
    levels = level_count(shape)
    unit, margin = 1 << levels, PYRAMID_MARGIN << levels
    return unit, margin, fitting_budget(shape, frame_bytes=FRAME_BYTES, strip_bytes=STRIP_BYTES, unit=unit,
                                        margin=margin)


def pyramid_strips(shape: tuple[int, int]) -> list[Strip]:
    """Strips of (H, W) that start on the coarsest level's rows, with :data:`PYRAMID_MARGIN` of context:
    as few as the memory target allows (:func:`~tether.imaging.strips.fitting_budget`)."""
    unit, margin, budget = _budget(shape)
    return plan_strips(shape, unit=unit, margin=margin, budget=budget)


def pyramid_reads_ahead(shape: tuple[int, int], strips: list[Strip], dtype: np.dtype) -> bool:
    """Whether pass 2 may read the next frame ahead (:func:`~tether.imaging.pipeline.stack_frames`): when its
    decoded frame and its strip's warped rows still fit the memory target (6 MP: 144 -> 163 MB, 27 MB per
    megapixel; not 24 MP: 744 -> 805 MB), or when no plan fits it anyway (frames under about 2.5 MP,
    where the interpreter alone is most of the target: at 2 MP 124 -> 132 MB)."""
    ahead = 3 * np.dtype(dtype).itemsize
    return _budget(shape)[2] is None or within_target(shape, strips, frame_bytes=FRAME_BYTES + ahead,
                                                      strip_bytes=STRIP_BYTES + ahead)


class PyramidStack:
    """Pyramid fusion of a stack's ``frames``, a strip at a time; each frame may win only where the
    focus index says it is near its sharpest (:meth:`FocusIndex.frame_window`)."""

    stage = "stacking"

    def __init__(self, index: FocusIndex, frames: range) -> None:
        self.shape = (int(index.shape[0]), int(index.shape[1]))
        self.levels = level_count(self.shape)
        self.window = index.frame_window(frames)
        self.first = frames.start

    def strip(self, strip: Strip) -> PyramidStrip:
        return PyramidStrip(self, strip)


class PyramidStrip:
    """One strip of a :class:`PyramidStack`: a :class:`PyramidFusion` of its rows and margins.

    A frame can win only where the focus index allows it, and in a sweep that is a few frames a tile:
    so each frame but the first (which the fusion starts from) is read, warped and fused only in the
    box where its gate is open at some level, with :data:`PYRAMID_MARGIN` of context all round, like a
    strip's; a frame shut out of the whole strip is not read at all (60 frames of 1080p from the
    simulator: 6 frames skipped, and 35 frames' pixels worked on instead of 60).
    """

    def __init__(self, stack: PyramidStack, strip: Strip) -> None:
        height, width = stack.shape
        self.strip = strip
        self.window = stack.window
        self.first = stack.first
        self.fusion = PyramidFusion((strip.stop - strip.start, width, 3), levels=stack.levels, origin=strip.start,
                                    frame_height=height)
        self._boxes: dict[int, Box | None] = {}

    def _allow(self, i: int) -> np.ndarray:
        lo, hi = self.window
        allowed: np.ndarray = ((lo <= i) & (hi >= i)).astype(np.uint8)
        return allowed

    def box(self, i: int) -> Box | None:
        if i not in self._boxes:
            self._boxes[i] = self._open_box(i)
        return self._boxes[i]

    def _open_box(self, i: int) -> Box | None:
        """Where frame ``i``'s gate is open at some level (the base included), widened by the margin and
        rounded out to the coarsest level's pixels; the whole strip for the first frame."""
        start, stop = self.strip.start, self.strip.stop
        width = self.fusion.shape[1]
        if i == self.first:
            return start, stop, 0, width
        allow = self._allow(i)
        open_rows, open_cols = np.asarray(allow.any(axis=1)), np.asarray(allow.any(axis=0))
        rows: list[int] = []
        cols: list[int] = []
        for lvl in range(self.fusion.levels + 1):
            for found, bounds in ((np.flatnonzero(open_rows[self.fusion.gate_rows(allow, lvl)]), rows),
                                  (np.flatnonzero(open_cols[self.fusion.gate_columns(allow, lvl)]), cols)):
                if found.size:
                    bounds += [int(found[0]) << lvl, (int(found[-1]) + 1) << lvl]
        if not rows or not cols:
            return None
        unit = 1 << self.fusion.levels
        margin = PYRAMID_MARGIN * unit

        def widened(lo: int, hi: int, size: int) -> tuple[int, int]:
            return max(0, lo // unit * unit - margin), min(size, -(-hi // unit) * unit + margin)

        (r0, r1), (c0, c1) = widened(min(rows), max(rows), stop - start), widened(min(cols), max(cols), width)
        return start + r0, start + r1, c0, c1

    def add(self, i: int, read: Callable[[], np.ndarray], gains: np.ndarray) -> None:
        box = self.box(i)
        assert box is not None, "a frame shut out of the strip is not offered"
        self.fusion.add(to_work(read(), gains), self._allow(i), at=(box[0] - self.strip.start, box[2]))

    def finish(self, out: np.ndarray) -> None:
        kept = slice(self.strip.keep_start - self.strip.start, self.strip.keep_stop - self.strip.start)
        from_work(self.fusion.result()[kept], out.dtype, out=out)
