"""Near and far set from live view: the lens's counted position and the two positions marked on it.

The camera's owner keeps one :class:`RangeMarks`: a pre-scan or a sweep counts the position
(:meth:`RangeMarks.counted`), the nudges move it (:meth:`RangeMarks.nudged`), and "this is near" /
"this is far" (:meth:`RangeMarks.mark`) keep the position with the live-view frame seen there, so the
photographer sees both ends before sweeping between them. Called on the owner thread only; the
snapshot is read from any thread, so each change replaces whole values.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from tether.camera.types import FocusDirection, Frame, StepClass
from tether.capture.lens import LensPosition
from tether.errors import NotFound, NotReady


class LensUnknown(NotReady):
    """The focus position is not counted (no pre-scan or sweep since the camera opened, or autofocus ran)."""


class RangeMarks:
    """The lens's position, and the near and far marks with the live-view JPEG seen at each."""

    def __init__(self) -> None:
        self.lens: LensPosition | None = None
        #: The lens's travel as last measured: kept while the position itself is unknown.
        self.travel: float | None = None
        self._marks: dict[str, dict[str, Any]] = {}
        self._frames: dict[str, bytes] = {}

    def counted(self, lens: LensPosition | None) -> None:
        """A pre-scan or a sweep has counted the position again (None: it could not)."""
        if lens is not None:
            if lens.travel is None:
                lens = replace(lens, travel=self.travel)
            self.travel = lens.travel
        self.lens = lens

    def nudged(self, direction: FocusDirection, step: StepClass, count: int) -> None:
        if self.lens is not None:
            self.lens = self.lens.moved(direction, step, count)

    def require(self) -> LensPosition:
        """The counted position; LensUnknown when there is none."""
        if self.lens is None:
            raise LensUnknown("the focus position is not known yet",
                              hint="run a pre-scan first: it counts the focus from the lens's near end stop")
        return self.lens

    def mark(self, end: FocusDirection, frame: Frame) -> dict[str, Any]:
        """Mark the current position as the near or far end, with ``frame`` (live view there) as its preview."""
        lens = self.require()
        mark = {"end": end.value, "position": round(lens.position), "fraction": lens.fraction(),
                "travel": None if lens.travel is None else round(lens.travel), "marked_at": time.time()}
        self._frames = {**self._frames, end.value: frame.data}
        self._marks = {**self._marks, end.value: mark}
        return mark

    def preview(self, end: FocusDirection) -> bytes:
        """The live-view JPEG seen when ``end`` was marked."""
        data = self._frames.get(end.value)
        if data is None:
            raise NotFound(f"no {end.value} end has been marked on this camera")
        return data

    def to_dict(self) -> dict[str, Any]:
        lens = self.lens
        return {"lens": None if lens is None else lens.to_dict(), "marks": dict(self._marks)}
