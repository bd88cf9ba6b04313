"""Movie mode: record while the focus sweeps without resting, then keep every movie frame with the
focus position the lens had when it was exposed.

One focus command per movie frame (30 fps), each command's time noted on our clock. After the
recording the movie is downloaded to a temporary file and decoded twice, one frame at a time (the
whole movie is never in memory): first for each frame's per-tile sharpness, from which
:mod:`tether.capture.movie_timing` estimates the camera's latency and the lens's motion against the
pre-scan's tile peaks; then to store every frame, as JPEG (quality 95: a movie frame has no JPEG of
its own) with its estimated position and how sure that estimate is.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from tether.burst import FrameMeta
from tether.camera.base import Camera
from tether.camera.errors import CameraBusy, CorruptFrame, Unsupported
from tether.camera.types import FocusDirection, Frame, MovieFile
from tether.capture.modes.base import SweepContext, SweepMode
from tether.capture.motion import retry_busy
from tether.capture.movie_timing import Command, estimate
from tether.capture.sharpness import FrameSummary, summarize_array
from tether.errors import Cancelled

JPEG_QUALITY = 95
#: The movie frame rate the commands are paced to (Panasonic's 4K Photo and Post Focus rate).
MOVIE_FPS = 30.0
#: Seconds of recording after the last command: the lens's latency and travel end inside the movie.
TAIL = 0.6


def sweep(ctx: SweepContext) -> None:
    """Record the sweep as a movie, then add every frame at its estimated focus position."""
    commands, cancelled = _record(ctx)
    fd, path = tempfile.mkstemp(prefix="tether-movie-", suffix=".movie")
    os.close(fd)
    try:
        movie = retry_busy(lambda: ctx.camera.stop_movie(
            path, lambda done, total: ctx.progress(done, total, phase="downloading")))
        _split(ctx, movie, commands)
    finally:
        os.unlink(path)
    if cancelled is not None:
        raise cancelled


def _record(ctx: SweepContext) -> tuple[list[Command], Cancelled | None]:
    """Start recording and drive one step per movie frame; the commands as sent, and a cancel to raise later."""
    camera, motor, plan = ctx.camera, ctx.motor, ctx.plan
    retry_busy(camera.start_movie)
    t0 = time.monotonic()
    commands = [Command(0.0, float(motor.position or 0.0))]
    live = _LiveView(camera, ctx.on_live)
    try:
        for i in range(1, plan.frames):
            live.wait(t0 + i / MOVIE_FPS)
            # the camera acts somewhere within the call: a driver prepares before the write (libgphoto2
            # reads the widget) and goes on after it (reading the camera's events); a loaded machine can
            # stall it anywhere for several frames, so the whole call is noted and the frames place it
            sent = time.monotonic()
            motor.drive(FocusDirection.FAR, plan.step_class, plan.count)
            done = time.monotonic()
            commands.append(Command((sent + done) / 2 - t0, float(motor.position or 0.0), done - sent))
            ctx.progress(i + 1, plan.frames, phase="recording", focus_position=motor.position)
        live.wait(time.monotonic() + TAIL)
        ctx.check()
    except Cancelled as exc:  # stop recording and keep what was recorded
        return commands, exc
    except BaseException:
        with contextlib.suppress(Exception):  # a failure mid-recording: try to leave the camera not recording
            camera.stop_movie(os.devnull)
        raise
    return commands, None


class _LiveView:
    """Live-view frames between the movie's focus commands, so whoever watches the camera sees the sweep."""

    def __init__(self, camera: Camera, on_live: Callable[[Frame], object]) -> None:
        self.camera, self.on_live = camera, on_live
        self.asking = camera.info.capabilities.live_view
        #: How long the last grab took: a grab is tried only when that much time is left before the next
        #: command, since the commands' times are what place the movie's frames.
        self.took = 0.0

    def wait(self, until: float) -> None:
        """Publish live-view frames while one fits before ``until`` (monotonic), then sleep the rest."""
        while self.asking and until - time.monotonic() >= self.took:
            self._grab()
        time.sleep(max(until - time.monotonic(), 0.0))

    def _grab(self) -> None:
        start = time.monotonic()
        try:
            frame = self.camera.live_view_frame()
        except (CameraBusy, Unsupported):  # no live view while this camera records: stop asking until it stops
            self.asking = False
            return
        except CorruptFrame:  # a bad frame is not shown; the next may be fine
            frame = None
        finally:
            self.took = time.monotonic() - start
        if frame is not None:
            self.on_live(frame)


def _split(ctx: SweepContext, movie: MovieFile, commands: list[Command]) -> None:
    summaries: list[FrameSummary] = []
    fps = MOVIE_FPS
    for rate, gray, _ in decoded(movie.path):
        fps = rate
        summaries.append(summarize_array(gray))
    if not summaries:
        raise CorruptFrame(f"the camera's movie {movie.name} holds no frames that decode")
    timing = estimate(commands, np.stack([s.tiles for s in summaries]), ctx.peaks, fps,
                      np.stack([s.thumb for s in summaries]))
    for index, (_, _, bgr) in enumerate(decoded(movie.path)):
        if index >= len(summaries):
            break
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise CorruptFrame("a movie frame could not be encoded as JPEG")
        height, width = bgr.shape[:2]
        meta = FrameMeta(captured_at=time.time(), source="movie", width=width, height=height, mime="image/jpeg",
                         extra={"movie_time": round(index / fps, 4), "movie_name": movie.name,
                                "position_confidence": round(float(timing.confidence[index]), 3)})
        ctx.add(jpeg.tobytes(), meta, position=float(timing.positions[index]), summary=summaries[index])
        ctx.progress(index + 1, len(summaries), phase="splitting")


def decoded(path: str) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """(movie fps, grey, BGR) of each frame of the movie at ``path``, read one at a time."""
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise CorruptFrame("the camera's movie file cannot be read")
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or MOVIE_FPS
        while True:
            ok, image = capture.read()
            if not ok:
                return
            yield fps, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), image
    finally:
        capture.release()


MODE = SweepMode("movie", "Movie (split into frames)", needs="movie", run=sweep)
