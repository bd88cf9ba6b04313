"""A range of frame numbers (first..last, inclusive) as positions in a frame source.

A source's frames carry numbers (a burst's, where a corrupt frame leaves a gap; a list of files,
counted from 0). A range that reaches past them is refused, not cut to fit: someone who asks for
frames 5-99999 of 60 meant something else, and a stack of other frames than asked for looks right.
"""
from __future__ import annotations

from collections.abc import Sequence

from tether.errors import InvalidInput
from tether.imaging.errors import ImagingError, TooFewFrames


class FrameRangeError(ImagingError, InvalidInput):
    """A frame range that is not within the frames there are."""


def frame_positions(numbers: Sequence[int], first: int, last: int, *, counted_from: int = 0) -> range:
    """The positions of frames ``first``..``last`` among ``numbers`` (ascending frame numbers, counted from
    ``counted_from``: 0 for the indices programs send, 1 for the numbers a person types)."""
    if not numbers:
        raise TooFewFrames("there are no readable frames to choose from")
    if not counted_from <= first <= last <= numbers[-1]:
        if first > last:
            hint = "give FIRST <= LAST"
        elif first < counted_from:
            hint = f"frames are counted from {counted_from}"
        else:
            hint = f"the last frame is {numbers[-1]}"
        raise FrameRangeError(f"frame range {first}-{last} is not within the frames there are, "
                              f"{numbers[0]}-{numbers[-1]}", hint=hint)
    inside = [k for k, n in enumerate(numbers) if first <= n <= last]
    if len(inside) < 2:
        raise TooFewFrames(f"frames {first}-{last} hold fewer than two readable frames")
    return range(inside[0], inside[-1] + 1)
