"""Moving the focus motor without readback: step counting from the near end stop, busy retries.

Real lenses report no position, so the near end stop is the origin: the motor is driven to it
(large steps until the live view stops changing, then a few more to be sure) and every
position after that is counted in small steps, always moving toward infinity. Homing ends
moving toward near, so the first steps toward infinity only take up the gear's play (the
backlash) and move no focus: with the play known (``StepScale.backlash``) the count starts that
far below zero, and the counted position is where the focus really is (without it, every
position would read the play too far).
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from tether.camera.base import Camera
from tether.camera.errors import CameraBusy
from tether.camera.types import FocusDirection, Frame, StepClass
from tether.capture.sharpness import FrameSummary, summarize, thumb_difference
from tether.capture.step_plan import StepScale

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Busy replies are retried this many times, with doubling delays from BUSY_DELAY seconds.
BUSY_ATTEMPTS = 6
BUSY_DELAY = 0.05
#: Two frames differing by less than this times the noise-only difference show the same focus.
STILL_FACTOR = 1.3


def retry_busy(fn: Callable[[], T], *, attempts: int = BUSY_ATTEMPTS, delay: float = BUSY_DELAY) -> T:
    """Call ``fn``; on CameraBusy wait and retry, at most ``attempts`` times (about 1.5 s in all)."""
    for attempt in range(attempts):
        try:
            return fn()
        except CameraBusy:
            if attempt == attempts - 1:
                raise
            log.debug("camera busy, retry %d", attempt + 1)
            time.sleep(delay * (2 ** attempt))
    raise AssertionError("unreachable")


class Motor:
    """The focus motor of one camera, with the position counted in small steps from the near end stop."""

    def __init__(self, camera: Camera, scale: StepScale, *, settle_frames: int = 0,
                 check: Callable[[], None] = lambda: None) -> None:
        self.camera = camera
        self.scale = scale
        self.settle_frames = settle_frames
        #: Seconds a still waits after a move, for the rig's vibration to die down (stills sweeps).
        self.settle_seconds = 0.0
        self.check = check
        self.position: float | None = None    # None until homed
        #: The step class used to home (and for the coarse pre-scan): the biggest of known size.
        self.coarse = scale.usable()[-1]
        self.frames_read = 0
        #: Thumbnail change (grey levels) below which two frames show the same focus; set by home().
        self.still_threshold = 0.25

    def drive(self, direction: FocusDirection, step: StepClass, count: int = 1) -> None:
        """Drive ``count`` steps; far moves advance the counted position."""
        if count <= 0:
            return
        self.check()
        retry_busy(lambda: self.camera.drive_focus(direction, step, count))
        if self.position is not None:
            delta = self.scale.size(step) * count
            far = direction is FocusDirection.FAR
            self.position = self.position + delta if far else max(0.0, self.position - delta)

    def frame(self) -> Frame:
        """A live-view frame taken after the last move (skipping ``settle_frames`` stale ones)."""
        for _ in range(self.settle_frames):
            retry_busy(self.camera.live_view_frame)
        self.frames_read += 1 + self.settle_frames
        return retry_busy(self.camera.live_view_frame)

    def look(self) -> tuple[Frame, FrameSummary]:
        frame = self.frame()
        return frame, summarize(frame.data, width=frame.width)

    def home(self, *, max_steps: int = 400, extra: int = 2, known_far: float | None = None) -> int:
        """Drive to the near end stop; returns the live-view frames used.

        With ``known_far`` (the counted position, in small steps) the stop is reached by count;
        otherwise by watching the live view until two large steps in a row change nothing.
        """
        if known_far is not None:
            size = self.scale.size(self.coarse)
            if math.isnan(size):  # only the small step is known: count in small steps
                self.drive(FocusDirection.NEAR, StepClass.SMALL, math.ceil(known_far) + extra)
            else:
                self.drive(FocusDirection.NEAR, self.coarse, math.ceil(known_far / size) + extra)
            self.position = -self.scale.backlash
            return 0
        used = 0
        _, first = self.look()
        _, second = self.look()
        used += 2
        # what two frames at the same position differ by (sensor noise, averaged over 2304
        # thumbnail pixels, so measured well by one pair): a move must clear it by 30 %
        threshold = max(STILL_FACTOR * thumb_difference(first.thumb, second.thumb), 0.05)
        self.still_threshold = threshold
        previous, still = second.thumb, 0
        for _ in range(max_steps):
            self.drive(FocusDirection.NEAR, self.coarse)
            _, summary = self.look()
            used += 1
            still = still + 1 if thumb_difference(summary.thumb, previous) < threshold else 0
            previous = summary.thumb
            if still >= 2:
                break
        self.drive(FocusDirection.NEAR, self.coarse, extra)
        self.position = -self.scale.backlash
        return used

    def advance_to(self, target: float) -> None:
        """Move toward infinity to ``target`` (small steps), large steps first; never moves back."""
        if self.position is None:
            raise RuntimeError("advance_to before home")
        left = target - self.position
        for step in reversed(self.scale.usable()):
            size = self.scale.size(step)
            count = math.floor(left / size + 1e-9)
            if count > 0:
                self.drive(FocusDirection.FAR, step, count)
                left -= count * size
