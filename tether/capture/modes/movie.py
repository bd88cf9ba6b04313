"""Movie mode: record while stepping, then split the movie into one frame per focus position.

The camera records continuously while the focus rests ``dwell`` seconds (the sweep option
``movie_dwell``) at each position. The times of each rest are noted on our clock, relative to
the moment recording started; after the download every rest is matched to the movie frame
nearest its middle (movie frame i sits at ``i / fps`` from the first frame). Frames taken
while the motor moved are never chosen. The chosen frames are stored as JPEG (quality 95),
since a movie frame has no JPEG of its own.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator

import cv2
import numpy as np

from tether.burst import FrameMeta
from tether.camera.errors import CorruptFrame
from tether.camera.types import FocusDirection
from tether.capture.modes.base import SweepContext, SweepMode
from tether.capture.motion import retry_busy
from tether.capture.sharpness import summarize_array
from tether.errors import Cancelled

JPEG_QUALITY = 95


def sweep(ctx: SweepContext) -> None:
    """Record the sweep as a movie and add the frames matched to each focus position."""
    camera, motor, plan = ctx.camera, ctx.motor, ctx.plan
    rests: list[tuple[float, float, float]] = []     # (start, end, position) in seconds since recording began
    retry_busy(camera.start_movie)
    t0 = time.monotonic()
    cancelled: Cancelled | None = None
    try:
        for i in range(plan.frames):
            if i:
                motor.drive(FocusDirection.FAR, plan.step_class, plan.count)
            ctx.check()
            start = time.monotonic() - t0
            time.sleep(ctx.dwell)
            rests.append((start, time.monotonic() - t0, float(motor.position or 0.0)))
            ctx.progress(i + 1, plan.frames, phase="recording", focus_position=motor.position)
    except Cancelled as exc:  # stop recording and keep the positions already recorded
        cancelled = exc
    except BaseException:
        with contextlib.suppress(Exception):  # a failure mid-recording: try to leave the camera not recording
            camera.stop_movie()
        raise
    movie = retry_busy(camera.stop_movie)
    for index, (time_s, gray, bgr) in enumerate(matched_frames(movie.data, rests)):
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise CorruptFrame("a movie frame could not be encoded as JPEG")
        height, width = bgr.shape[:2]
        meta = FrameMeta(captured_at=time.time(), source="movie", width=width, height=height, mime="image/jpeg",
                         extra={"movie_time": round(time_s, 4), "movie_name": movie.name})
        ctx.add(jpeg.tobytes(), meta, position=rests[index][2], summary=summarize_array(gray))
    if cancelled is not None:
        raise cancelled


MODE = SweepMode("movie", "Movie (split into frames)", needs=lambda caps: caps.movie, run=sweep)


def matched_frames(data: bytes,
                   rests: list[tuple[float, float, float]]) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """For each rest (start, end, position), the movie frame nearest its middle: (time, gray, BGR image)."""
    if not rests:
        return
    wanted = [(start + end) / 2 for start, end, _ in rests]
    fd, path = tempfile.mkstemp(suffix=".movie")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        capture = cv2.VideoCapture(path)
        if not capture.isOpened():
            raise CorruptFrame("the camera's movie file cannot be read")
        fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        k, index = 0, 0
        best: tuple[float, np.ndarray] | None = None
        while k < len(wanted):
            ok, image = capture.read()
            if not ok:
                break
            t = index / fps
            index += 1
            start, end, _ = rests[k]
            if start <= t <= end and (best is None or abs(t - wanted[k]) < abs(best[0] - wanted[k])):
                best = (t, image)
            if t > end:
                if best is None:   # the rest fell between two movie frames: take this one
                    best = (t, image)
                yield best[0], cv2.cvtColor(best[1], cv2.COLOR_BGR2GRAY), best[1]
                k, best = k + 1, None
                # the same frame may close several short rests
                while k < len(wanted) and t > rests[k][1]:
                    yield t, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), image
                    k += 1
        if best is not None and k < len(wanted):
            yield best[0], cv2.cvtColor(best[1], cv2.COLOR_BGR2GRAY), best[1]
        capture.release()
    finally:
        os.unlink(path)
