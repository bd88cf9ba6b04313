"""Seeing a sweep run into the lens's far end stop: from there on the frames stop changing.

A lens driven past its far stop stays there without a word (the motor clamps, as at the near stop
the pre-scan homes against), so a range given past the lens's travel would fill the burst with the
same frame, at counted positions the focus never reached.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from tether.capture.sharpness import thumb_difference

#: Consecutive frame pairs that differ by no more than sensor noise before the sweep calls it the stop.
STILL_PAIRS = 3
#: The longest run of frames judged as one span: steps this fine are only seen over several frames.
MAX_SPAN = 16


class FarStopWatch:
    """Fed a sweep's frame thumbnails in order; finds the frame where the focus stopped moving.

    Fine steps change a small live view by less than its noise from one frame to the next, so the
    watch judges *spans*: the fewest frames over which the sweep visibly changed the image before
    (median difference at least twice the noise threshold, the rule of the coverage check's
    duplicates). The stop is seen when the last frames, one such span and ``STILL_PAIRS`` more, all
    show the same picture. Steps finer than even ``MAX_SPAN`` frames can show are never judged.
    """

    def __init__(self, still_threshold: float) -> None:
        self.still_threshold = still_threshold
        self._recent: deque[np.ndarray] = deque(maxlen=MAX_SPAN + STILL_PAIRS + 1)
        self._count = 0
        #: ``_spans[L - 1][k]``: how much frame k + L differs from frame k.
        self._spans: list[list[float]] = [[] for _ in range(MAX_SPAN)]

    def add(self, thumb: np.ndarray) -> int | None:
        """Take the next frame's thumbnail; the index of the first frame at the stop once it is seen, else None."""
        for back in range(1, min(len(self._recent), MAX_SPAN) + 1):
            self._spans[back - 1].append(thumb_difference(self._recent[-back], thumb))
        self._recent.append(thumb)
        self._count += 1
        still = self._still_run()
        span = self._visible_span(still)
        if span is None or still < span + STILL_PAIRS:
            return None
        return self._count - still

    def _still_run(self) -> int:
        """How many of the last frames (the last one included) show the same picture as the last one."""
        last, run = self._recent[-1], 1
        while run < len(self._recent) and thumb_difference(self._recent[-1 - run], last) < self.still_threshold:
            run += 1
        return run

    def _visible_span(self, still: int) -> int | None:
        """The fewest frames over which the sweep visibly changed the image before its last ``still`` frames."""
        for span, diffs in enumerate(self._spans, start=1):
            judged = diffs[:max(0, self._count - still - span + 1)]  # spans ending at the still run's first frame
            if judged and float(np.median(judged)) >= 2.0 * self.still_threshold:
                return span
        return None
