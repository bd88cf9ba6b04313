"""Pass 1, one frame at a time: the focus index built while the frames arrive.

:class:`FocusIndexBuilder` is the one implementation of pass 1. It is given the frames in
order, each decoded at 1/:attr:`~FocusIndexBuilder.read_reduce` of the full size; for each it
registers the frame to its predecessor (:class:`~tether.imaging.align.ChainAligner`), matches its
colour, samples its tile colours for the motion map and measures its tiles' sharpness in reference
geometry, and answers what it found (:class:`FrameAnalysis`): a live preview can place the frame
with it. :meth:`~FocusIndexBuilder.finish` settles the chain (each jump measured again on the
frames around it) and returns the :class:`~tether.imaging.refocus.FocusIndex`.
:func:`tether.imaging.pipeline.compute_focus_index` is a loop over it; a sweep feeds it as it
captures, so the index is ready when the sweep ends.

State between frames: the aligner's keyframe and previous frame (reduced), frame 0's colour
reference, and a few bytes a tile a frame; never a frame's pixels beyond the one being added.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tether.imaging import align as al
from tether.imaging import transforms as tf
from tether.imaging.errors import MismatchedFrames, TooFewFrames
from tether.imaging.focus_measure import default_tile, focus_measure, luminance, tile_grid, tile_scores
from tether.imaging.io import shrink
from tether.imaging.motion import MotionSampler
from tether.imaging.refocus import FocusIndex
from tether.numbering import frame_number


@dataclass(frozen=True)
class FrameAnalysis:
    """What pass 1 found in one frame: its number, its transform (reference -> this frame's full-size
    pixels, as the chain stands before :meth:`FocusIndexBuilder.finish` settles it), its colour gains (C,)
    and whether it could be registered (a frame that could not is left out of every result)."""

    index: int
    transform: np.ndarray
    gains: np.ndarray
    registered: bool


class FocusIndexBuilder:
    """Builds the focus index of frames of full size ``shape`` (H, W), added in capture order.

    ``align`` False takes every frame as already registered (identity transforms, unit gains). ``frames``,
    when known, is how many will come: the per-frame state is then made once, at its size (a sweep, which
    cannot know, grows it by doubling).
    """

    def __init__(self, shape: tuple[int, int], *, align: bool = True, match_colour: bool = True,
                 frames: int = 0) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.align = align
        self.tile = default_tile(self.shape)
        self.grid = tile_grid(self.shape, self.tile)
        self._aligner = al.ChainAligner.for_frames(self.shape, match_colour=match_colour)
        self._align_factor = int(self._aligner.factor)
        #: The reduction (1 or 2) :meth:`add` takes frames at: the focus measure works at half size anyway.
        self.read_reduce = min(2, al.reduction_factor(self.shape))
        self._scores = np.zeros((frames, *self.grid), np.float32)
        self._count = 0
        self._colours = MotionSampler(frames, self.grid)

    def __len__(self) -> int:
        return self._count

    def add(self, frame: np.ndarray) -> FrameAnalysis:
        """Analyse the next frame, (H / read_reduce, W / read_reduce, C) as decoded; returns what it found."""
        i = self._count
        expected = (-(-self.shape[0] // self.read_reduce), -(-self.shape[1] // self.read_reduce))
        if abs(frame.shape[0] - expected[0]) > 1 or abs(frame.shape[1] - expected[1]) > 1:
            raise MismatchedFrames(f"frame {frame_number(i)} is {frame.shape[1]}x{frame.shape[0]} as read, "
                                   f"expected about {expected[1]}x{expected[0]}: "
                                   "the frames of a stack must have one size")
        aligner = self._aligner
        small = shrink(frame, self._align_factor // self.read_reduce)  # as stored: the aligner converts it in pieces
        if self.align:
            m_full, _ = aligner.add(small)
            m = tf.scale_transform(m_full, 1.0 / self.read_reduce)
        else:
            m_full = m = tf.IDENTITY
            aligner.transforms.append(tf.IDENTITY.copy())
            aligner.gains.append(np.ones(frame.shape[2] if frame.ndim == 3 else 1, np.float32))
        del small  # (the aligner keeps frame 0's as the colour reference)
        registered = aligner.rejected[-1:] != [i]
        if i == len(self._scores):
            self._scores = np.concatenate([self._scores, np.zeros_like(self._scores, shape=(max(1, i), *self.grid))])
        # (a frame not registered keeps its zeros: without a focus curve no tap, depth or stack picks it)
        if registered:
            self._colours.add(i, frame, m, aligner.gains[i])
            # Measured on the frame's own pixels, then carried into reference geometry: the measure is
            # smooth, so a bilinear warp of it is exact enough, and several times cheaper than resampling
            # the frame first (which would also soften its detail by an amount that depends on the shift).
            reduce = 2 // self.read_reduce
            measure = focus_measure(luminance(frame), reduce=reduce)
            measure = tf.warp_to_reference(measure, tf.scale_transform(m, 1.0 / reduce), interpolation=cv2.INTER_LINEAR)
            self._scores[i] = tile_scores(measure, self.grid)
        self._count += 1
        return FrameAnalysis(index=i, transform=np.array(m_full, np.float64), gains=aligner.gains[i],
                             registered=registered)

    def finish(self) -> FocusIndex:
        """The focus index of every frame added. The builder is spent: the aligner (its keyframes and their
        spectra) goes with it, since pass 2 does not carry it."""
        if not self._count:
            raise TooFewFrames("no frames to analyse")
        scores = self._scores[:self._count]
        aligner = self._aligner
        index = FocusIndex(scores=scores, shape=self.shape, tile=self.tile, transforms=np.array(aligner.settle()),
                           gains=np.array(aligner.gains, np.float32), excluded=tuple(aligner.rejected),
                           motion=self._colours.motion(scores))
        self._aligner = al.ChainAligner()
        return index
