"""The live-view frame hub: one camera read fanned out to every viewer.

The owner thread publishes each frame once; viewers (MJPEG streams, Socket.IO, the CLI)
wait for the next sequence number after the one they last saw. A slow viewer skips to the
newest frame and never slows the camera or the other viewers.
"""
from __future__ import annotations

import threading
import time

from tether.camera.types import Frame


class FrameHub:
    """The latest live-view frame with a sequence number, and a way to wait for a newer one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seq = 0
        self._frame: Frame | None = None
        self._last_viewer = 0.0

    def publish(self, frame: Frame) -> int:
        """Make ``frame`` the latest one; returns its sequence number (1, 2, ...)."""
        with self._cond:
            self._seq += 1
            self._frame = frame
            self._cond.notify_all()
            return self._seq

    def latest(self) -> tuple[int, Frame] | None:
        """(sequence number, frame) of the newest frame, or None before the first one."""
        with self._cond:
            self._last_viewer = time.monotonic()
            return None if self._frame is None else (self._seq, self._frame)

    def wait_next(self, after_seq: int, timeout: float) -> tuple[int, Frame] | None:
        """The newest frame with a sequence number above ``after_seq``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            self._last_viewer = time.monotonic()
            while self._frame is None or self._seq <= after_seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._seq, self._frame

    def viewed_within(self, seconds: float) -> bool:
        """Whether any viewer asked for a frame in the last ``seconds``."""
        with self._cond:
            return self._last_viewer > 0 and time.monotonic() - self._last_viewer <= seconds

    @property
    def seq(self) -> int:
        with self._cond:
            return self._seq
