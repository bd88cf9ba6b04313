"""Slabbing a deep stack: overlapping slabs of frames are stacked, then the slabs' pictures are stacked.

Zerene Stacker's answer to stacks of hundreds of frames: each slab is a short stack, whose pyramid
picks among a few frames only, and the final stack picks among a few slabs. Neighbouring slabs share
:data:`OVERLAP` frames, so a surface sharp between two slabs is sharp in both. The slabs' pictures are
in the reference geometry and colour already, so the second stage neither aligns nor matches colour.
They are kept (lossless PNG bytes, :class:`EncodedFrames`): retouching can copy from a slab as well
as from a frame, and only one decoded slab is in memory at a time, as with frames.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tether.imaging.errors import ImagingError, TooFewFrames, UnreadableImage
from tether.imaging.io import FrameSource, encode_image, shrink
from tether.imaging.methods import METHODS
from tether.imaging.pipeline import Cancel, Progress, StackResult, StripDone, compute_focus_index, stack_frames
from tether.imaging.refocus import FocusIndex

#: Frames each slab shares with the next.
OVERLAP = 2


def plan_slabs(frames: range, count: int, *, overlap: int = OVERLAP) -> list[range]:
    """``count`` ranges of equal length covering ``frames``, each overlapping the next by at least ``overlap``."""
    n = len(frames)
    if count < 2:
        raise ImagingError(f"slabbing needs at least 2 slabs, not {count}")
    length = math.ceil((n + (count - 1) * overlap) / count)
    # Each slab must bring frames of its own, and start after the one before it.
    if length <= overlap or length >= n or n - length < count - 1:
        raise TooFewFrames(f"{n} frames cannot make {count} slabs that overlap by {overlap} frames and each add "
                           "frames of their own; use fewer slabs")
    starts = [round(k * (n - length) / (count - 1)) for k in range(count)]
    return [range(frames.start + s, frames.start + s + length) for s in starts]


class EncodedFrames:
    """Images kept as PNG bytes, decoded when read: a frame source for the slabs' pictures."""

    def __init__(self, encoded: list[bytes], shape: tuple[int, int], dtype: np.dtype) -> None:
        self.encoded, self.shape, self.dtype = encoded, shape, np.dtype(dtype)

    def __len__(self) -> int:
        return len(self.encoded)

    def read(self, i: int, *, reduce: int = 1) -> np.ndarray:
        image = cv2.imdecode(np.frombuffer(self.encoded[i], np.uint8), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise UnreadableImage(f"slab {i} cannot be decoded")
        return shrink(image, reduce)

    def exif_source(self) -> bytes | None:
        return None


@dataclass
class SlabStack:
    """The stack of the slabs, the frame range of each slab (positions in the source) and their pictures."""

    result: StackResult
    slabs: list[range]
    pictures: EncodedFrames


def stack_slabs(source: FrameSource, *, count: int, index: FocusIndex, method: str = METHODS.default,
                frames: range | None = None, progress: Progress | None = None, cancel: Cancel | None = None,
                on_strip_done: StripDone | None = None) -> SlabStack:
    """Stack ``count`` overlapping slabs of ``frames`` (all by default) with ``method``, then the slabs.

    ``index`` is the focus index of all of ``source`` (every slab uses its alignment); the result's
    ``index`` is that one too, its ``valid_box`` what every slab covers.
    """
    selected = range(len(source)) if frames is None else frames
    slabs = plan_slabs(selected, count)
    steps = len(slabs) + 1
    pictures: list[bytes] = []
    box = (0, source.shape[0], 0, source.shape[1])
    excluded: set[int] = set()

    def stage(k: int) -> Progress:
        def report(done: int, total: int, what: str) -> None:
            if progress is not None:  # one bar over the whole: each stage a share of it
                progress(k * total + done, steps * total, f"{what} (slab {k + 1} of {len(slabs)})"
                         if k < len(slabs) else f"{what} (the slabs)")
        return report

    for k, slab in enumerate(slabs):
        part = stack_frames(source, method=method, frames=slab, index=index, progress=stage(k), cancel=cancel,
                            on_strip_done=on_strip_done)
        pictures.append(encode_image(part.image, ".png"))
        r0, r1, c0, c1 = part.valid_box
        box = (max(box[0], r0), min(box[1], r1), max(box[2], c0), min(box[3], c1))
        excluded.update(part.excluded)
        del part
    slab_source = EncodedFrames(pictures, source.shape, source.dtype)
    slab_index = compute_focus_index(slab_source, align=False, match_colour=False, cancel=cancel)
    final = stack_frames(slab_source, method=method, index=slab_index, progress=stage(len(slabs)), cancel=cancel,
                         on_strip_done=on_strip_done)
    valid = (box[0], max(box[0], box[1]), box[2], max(box[2], box[3]))
    result = StackResult(image=final.image, frames=selected, valid_box=valid, index=index,
                         excluded=tuple(sorted(excluded)))
    return SlabStack(result, slabs, slab_source)
