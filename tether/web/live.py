"""Live view as MJPEG: one camera read (the owner's frame slot) fanned out to every viewer.

Each viewer's generator waits for the next frame after the one it last sent; a slow viewer
simply finds a newer frame when it is ready, so it drops frames and never slows the others.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

BOUNDARY = b"tetherframe"
MIMETYPE = "multipart/x-mixed-replace; boundary=" + BOUNDARY.decode()


def mjpeg_parts(frames: Any, stop: threading.Event, *, wait: float = 1.0) -> Iterator[bytes]:
    """Yield multipart parts, one per new frame in ``frames`` (a FrameSlot), until ``stop`` is set."""
    seq = -1
    while not stop.is_set():
        got = frames.wait_next(seq, wait)
        if got is None:
            continue
        seq, frame = got
        data = frame.data
        yield b"".join((
            b"--", BOUNDARY, b"\r\nContent-Type: ", frame.mime.encode(), b"\r\nContent-Length: ",
            str(len(data)).encode(), b"\r\n\r\n", data, b"\r\n",
        ))
