"""Seeing a sweep run into the lens's far end stop: from there on the frames stop changing.

A lens driven past its far stop stays there without a word (the motor clamps, as at the near stop
the pre-scan homes against), so a range given past the lens's travel would fill the burst with the
same frame, at counted positions the focus never reached.
"""
from __future__ import annotations

import numpy as np

from tether.capture.sharpness import thumb_difference

#: Consecutive frame pairs that differ by no more than sensor noise before the sweep calls it the stop.
STILL_PAIRS = 3


class FarStopWatch:
    """Fed a sweep's frame thumbnails in order; finds the frame where the focus stopped moving.

    Judged only once the sweep's steps visibly changed the image before (median difference at least
    twice the noise threshold, the rule of the coverage check's duplicates): with steps finer than a
    small live view can show, every pair looks alike and a still run means nothing.
    """

    def __init__(self, still_threshold: float) -> None:
        self.still_threshold = still_threshold
        self._previous: np.ndarray | None = None
        self._diffs: list[float] = []
        self._still = 0  # length of the current run of still pairs

    def add(self, thumb: np.ndarray) -> int | None:
        """Take the next frame's thumbnail; the index of the first frame at the stop once it is seen, else None."""
        if self._previous is not None:
            diff = thumb_difference(self._previous, thumb)
            self._diffs.append(diff)
            self._still = self._still + 1 if diff < self.still_threshold else 0
        self._previous = thumb
        if self._still < STILL_PAIRS:
            return None
        before = self._diffs[:-self._still]
        if not before or float(np.median(before)) < 2.0 * self.still_threshold:
            return None
        return len(self._diffs) - self._still
