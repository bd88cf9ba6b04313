"""The camera owner: the one thread that calls a camera, its job queue, live-view loop and states.

libgphoto2 (and most camera SDKs) are not thread-safe, so every camera call runs here:

* quick jobs (:meth:`CameraOwner.call`: read or write a setting, take a still, nudge focus) are
  queued and answered through a future, interleaved with live-view frames;
* long jobs (pre-scan, sweep) hold the camera; anything else asked meanwhile gets CameraBusy at
  once ("busy: a sweep is running"), never a silent wait;
* between jobs the live-view loop reads frames into :attr:`CameraOwner.frames` at the camera's
  rate while someone watches, and one frame every ``idle_interval`` seconds otherwise;
* a disconnect (or driver crash) fails the job in flight, moves to ``disconnected`` and the
  camera is re-opened with backoff until it answers again.
"""
from __future__ import annotations

import base64
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from tether.camera.base import Camera
from tether.camera.errors import CameraBusy, CameraDisconnected, CameraError, CameraNotFound, CorruptFrame, Unsupported
from tether.camera.types import CameraInfo, FocusDirection, StepClass
from tether.capture.coverage import Subjects
from tether.capture.frames import FrameHub
from tether.capture.lens import LensPosition, after_sweep
from tether.capture.marks import RangeMarks
from tether.capture.modes import MODES
from tether.capture.motion import retry_busy
from tether.capture.options import PrescanOptions, SweepOptions
from tether.capture.prescan import run_prescan, saved_subjects
from tether.capture.step_plan import StepScale
from tether.capture.sweep import Hooks, run_sweep
from tether.events import EventBus
from tether.jobs import Job

log = logging.getLogger(__name__)
T = TypeVar("T")

STATES = ("disconnected", "idle", "liveview", "prescan", "sweep", "capturing", "error")
#: A pause between two live-view frames longer than this (seconds) is the camera doing other work (a pre-scan,
#: a sweep, a still): the rate is measured again from the next frame, not across the pause.
FPS_GAP = 1.0
#: Seconds between reconnection attempts; the last one repeats.
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class _Call:
    fn: Callable[[Camera], Any]
    label: str
    state: str | None
    future: Future[Any]


@dataclass
class _LongJob:
    job: Job
    work: Callable[[Camera, Job], dict[str, Any]]


class CameraOwner:
    """Owns one camera: the only thread that calls it."""

    def __init__(self, camera_id: str, open_camera: Callable[[], Camera], bus: EventBus, *,
                 reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS, idle_interval: float = 0.5,
                 viewer_window: float = 3.0) -> None:
        self.camera_id = camera_id
        self.bus = bus
        self.frames = FrameHub()
        self._open = open_camera
        self._delays = reconnect_delays
        self._idle_interval = idle_interval
        self._viewer_window = viewer_window
        self._queue: queue.Queue[_Call | _LongJob | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._camera: Camera | None = None
        self._info: CameraInfo | None = None
        self._state = "disconnected"
        self._message = "connecting"
        self._failed_connects = 0
        self._long: Job | None = None
        #: Step sizes (with the drive's play) and depth of field of this camera's last pre-scan: a sweep
        #: over a typed range counts and plans with them.
        self._calibration: tuple[StepScale, float | None] | None = None
        #: where its last pre-scan in this run found subjects: a sweep over a range judges its coverage by them
        self._subjects: Subjects | None = None
        #: Where the focus is (counted) and the near and far ends marked from live view.
        self.range_marks = RangeMarks()
        self._fps = 0.0
        self._fps_window: tuple[float, int, float] | None = None   # (start, frames, last frame) while someone watches
        self._live_ok = True

    # life cycle ----------------------------------------------------------------------------
    def start(self) -> CameraOwner:
        """Start the owner thread (it connects, then serves jobs and live view)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"camera-owner {self.camera_id}", daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Cancel the long job, fail queued calls, close the camera and end the thread."""
        self._stop.set()
        with self._lock:
            job = self._long
        if job is not None:
            job.cancel()
        self._queue.put(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # state -----------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def info(self) -> CameraInfo | None:
        return self._info

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state for a client that just connected."""
        with self._lock:
            job = self._long
        return {"camera": self.camera_id, "state": self._state, "message": self._message,
                "info": None if self._info is None else self._info.to_dict(), "fps": round(self._fps, 2),
                "job": None if job is None else job.to_dict(), "live_seq": self.frames.seq,
                **self.range_marks.to_dict()}

    def _set_state(self, state: str, message: str = "") -> None:
        if state == self._state and message == self._message:
            return
        self._state, self._message = state, message
        self.bus.publish("camera.state", camera=self.camera_id, state=state, message=message)

    # jobs ------------------------------------------------------------------------------------
    def call(self, fn: Callable[[Camera], T], *, label: str, state: str | None = None) -> Future[T]:
        """Run ``fn(camera)`` on the owner thread; CameraBusy at once while a pre-scan or sweep runs."""
        future: Future[T] = Future()
        with self._lock:
            self._refuse_if_busy()
            if self._stop.is_set():
                raise CameraDisconnected(f"{self.camera_id} is closed")
            if self._state in ("disconnected", "error") and self._failed_connects:
                raise CameraDisconnected(f"{self.camera_id} is not connected: {self._message}",
                                         hint="tether keeps trying to reconnect; check the cable and the camera")
            self._queue.put(_Call(fn, label, state, future))
        return future

    def nudge(self, direction: FocusDirection, step: StepClass, count: int) -> Future[None]:
        """Drive the focus ``count`` steps on the owner thread, counting the move into the lens's position."""
        def drive(camera: Camera) -> None:
            try:
                camera.drive_focus(direction, step, count)
            except BaseException:
                self._counted(None)  # some steps may have been made: no longer known
                raise
            self.range_marks.nudged(direction, step, count)
            self._publish_lens()
        return self.call(drive, label="drive focus")

    def mark(self, end: FocusDirection) -> Future[dict[str, Any]]:
        """Mark the focus as it is now as the sweep's near or far end, with a live-view frame of it."""
        def take(camera: Camera) -> dict[str, Any]:
            self.range_marks.require()  # refused before a frame is read
            frame = retry_busy(camera.live_view_frame)
            self.frames.publish(frame)
            marked = self.range_marks.mark(end, frame)
            self.bus.publish("focus.mark", camera=self.camera_id, **self.range_marks.to_dict())
            return marked
        return self.call(take, label=f"mark the {end.value} end")

    def start_prescan(self, options: PrescanOptions | dict[str, Any] | None = None) -> Job:
        """Queue a pre-scan; its result (``job.future``) is the PrescanResult's dict."""
        opts = options if isinstance(options, PrescanOptions) else PrescanOptions.from_dict(options)
        return self._submit_long("prescan", "Pre-scan", lambda camera, job: self._prescan(camera, job, opts))

    def start_sweep(self, options: SweepOptions | dict[str, Any] | None, burst_path: Path | str, *,
                    merged_into: str | None = None) -> Job:
        """Queue a sweep into a new burst at ``burst_path``; its result names the burst, frames and warnings.
        ``merged_into``: the id of the burst its frames are for (a coverage fix's extra sweep), which the job's
        events say (``merged_into``), so that a page does not show the extra frames as a sweep of their own."""
        opts = options if isinstance(options, SweepOptions) else SweepOptions.from_dict(options)
        if self._info is not None:  # refused now, not from a job that failed: the API answers at once
            MODES.pick(opts.mode).check_capable(self._info)
        return self._submit_long("sweep", "Extra sweep" if merged_into else "Sweep",
                                 lambda camera, job: self._sweep(camera, job, opts, Path(burst_path)),
                                 extra={"merged_into": merged_into} if merged_into else {})

    def check_ready(self) -> None:
        """CameraBusy or CameraDisconnected when a pre-scan or sweep started now would be refused (for what must
        not happen for a refused one, such as using up a session's next file name); starting checks again."""
        with self._lock:
            self._check_ready()

    def _check_ready(self) -> None:
        """:meth:`check_ready` with the lock held."""
        self._refuse_if_busy()
        if self._stop.is_set() or (self._state in ("disconnected", "error") and self._failed_connects):
            raise CameraDisconnected(f"{self.camera_id} is not connected: {self._message}",
                                     hint="wait for the camera to reconnect, then start again")

    def _submit_long(self, kind: str, label: str, work: Callable[[Camera, Job], dict[str, Any]], *,
                     extra: dict[str, Any] | None = None) -> Job:
        with self._lock:
            self._check_ready()
            job = Job(kind, label=label, subject=self.camera_id, bus=self.bus)
            job.extra.update(extra or {})
            self._long = job
            self._queue.put(_LongJob(job, work))
        return job

    def _refuse_if_busy(self) -> None:
        job = self._long
        if job is not None and not job.future.done():
            raise CameraBusy(f"busy: a {job.label.lower()} is running", hint="wait for it to finish or cancel it")

    # the owner thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._camera is None:
                    self._connect()
                    continue
                self._serve_once()
        finally:
            self._drain(CameraDisconnected(f"{self.camera_id} was closed"))
            self._close_camera()
            self._set_state("disconnected", "closed")

    def _connect(self) -> None:
        camera: Camera | None = None
        try:
            camera = self._open()
            camera.open()
        except Exception as exc:  # any failure to open is retried; the message tells the user why
            if camera is not None:
                try:  # release what a half-open camera holds (a driver process, a socket)
                    camera.close()
                except Exception:
                    log.debug("closing a camera that failed to open", exc_info=True)
            self._failed_connects += 1
            kind = "disconnected" if isinstance(exc, (CameraDisconnected, CameraNotFound, CameraBusy)) else "error"
            self._set_state(kind, str(exc) if isinstance(exc, CameraError) else f"cannot open: {exc}")
            self._drain(CameraDisconnected(f"{self.camera_id} is not connected: {exc}"))
            delay = self._delays[min(self._failed_connects - 1, len(self._delays) - 1)]
            self._wait_queue(delay, fail=True)
            return
        self._camera = camera
        self._info = camera.info
        self._failed_connects = 0
        self._live_ok = camera.info.capabilities.live_view
        self._set_state("idle", "")

    def _wait_queue(self, seconds: float, *, fail: bool) -> None:
        """Sleep up to ``seconds`` while disconnected, failing any job that arrives meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                return
            if item is not None and fail:
                self._fail(item, CameraDisconnected(f"{self.camera_id} is not connected: {self._message}"))

    def _serve_once(self) -> None:
        watching = self._live_ok and self.frames.viewed_within(self._viewer_window)
        timeout = 0.0 if watching else (self._idle_interval if self._live_ok else 0.5)
        try:
            item = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            item = None
            if self._live_ok:
                self._live_frame(watching)
            return
        if item is None:
            return
        if isinstance(item, _Call):
            self._run_call(item)
        else:
            self._run_long(item)

    def _live_frame(self, watching: bool) -> None:
        assert self._camera is not None
        try:
            frame = self._camera.live_view_frame()
        except (CameraBusy, CorruptFrame):
            return  # the next frame will do
        except Unsupported as exc:
            log.info("%s: no live view (%s)", self.camera_id, exc)
            self._live_ok = False
            return
        except CameraDisconnected as exc:
            self._disconnected(exc)
            return
        except Exception:  # a live-view hiccup must never kill the owner
            log.exception("%s: live-view frame failed", self.camera_id)
            time.sleep(0.2)
            return
        self.frames.publish(frame)
        self._count_fps(watching)
        if self._state in ("idle", "liveview"):
            self._set_state("liveview" if watching else "idle", "")

    def _count_fps(self, watching: bool) -> None:
        """Measure the live-view rate over one-second windows while someone watches; publish it."""
        now = time.monotonic()
        if not watching:
            self._fps_window = None
            if self._fps:
                self._fps = 0.0
                self.bus.publish("liveview.fps", camera=self.camera_id, fps=0.0)
            return
        start, count, last = self._fps_window or (now, -1, now)
        if now - last > FPS_GAP:  # the camera was busy with something else (a sweep's seconds): not live view's rate
            start, count = now, -1
        count += 1
        if now - start >= 1.0:
            self._fps = count / (now - start)
            self.bus.publish("liveview.fps", camera=self.camera_id, fps=round(self._fps, 2))
            start, count = now, 0
        self._fps_window = (start, count, now)

    def _run_call(self, item: _Call) -> None:
        assert self._camera is not None
        if not item.future.set_running_or_notify_cancel():
            return
        if item.state:
            self._set_state(item.state, item.label)
        try:
            item.future.set_result(item.fn(self._camera))
        except CameraDisconnected as exc:
            item.future.set_exception(exc)
            self._disconnected(exc)
        except BaseException as exc:  # handed to the caller through the future
            item.future.set_exception(exc)
        finally:
            if item.state and self._state == item.state:
                self._set_state("idle", "")

    def _run_long(self, item: _LongJob) -> None:
        camera, job = self._camera, item.job
        assert camera is not None
        self._set_state(job.kind, "")
        job.run(lambda j: item.work(camera, j))
        failure = job.future.exception() if job.state == "error" else None
        if isinstance(failure, CameraDisconnected):
            self._disconnected(failure)
        elif self._state == job.kind:
            self._set_state("idle", "")

    def _prescan(self, camera: Camera, job: Job, options: PrescanOptions) -> dict[str, Any]:
        self._counted(None)  # the scan moves the focus; counted again at its end
        result, motor = run_prescan(
            camera, options, check=job.check, on_frame=self.frames.publish,
            progress=lambda done, total, pos: job.report(done, total, phase="prescan", focus_position=pos))
        self._calibration = (result.scale, result.dof)
        self._subjects = result.subjects()
        if motor.position is not None:
            # The scan's last moves (the play measurement) leave the count an upper bound: home by count and
            # stop at the nearest subject, where the photographer can nudge from a position known exactly.
            job.report(0, 1, phase="homing", focus_position=None)
            motor.home(known_far=max(result.far_stop or 0.0, motor.position))
            motor.advance_to(result.near)
            self._counted(LensPosition(motor.position or 0.0, motor.scale, travel=result.far_stop))
        return result.to_dict()

    def _counted(self, lens: LensPosition | None) -> None:
        self.range_marks.counted(lens)
        self._publish_lens()

    def _publish_lens(self) -> None:
        self.bus.publish("lens.position", camera=self.camera_id, **self.range_marks.to_dict())

    def restore_calibration(self, prescan: dict[str, Any] | None) -> None:
        """Take the calibration of a pre-scan made before (its job result as saved, e.g. before a restart),
        so that a typed range counts positions with the play that scan measured; what does not parse is ignored."""
        if prescan is None:
            return
        try:
            scale = StepScale.from_dict(prescan["scale"])
            dof = None if prescan.get("dof_spacing") is None else float(prescan["dof_spacing"])
            # where it found subjects: a sweep over a typed range is judged by them as after that scan
            subjects = saved_subjects(prescan) if prescan.get("grid") else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("ignoring the saved pre-scan of %s: %s", self.camera_id, exc)
            return
        self._calibration = (scale, dof)
        self._subjects = subjects

    def _sweep(self, camera: Camera, job: Job, options: SweepOptions, path: Path) -> dict[str, Any]:
        if options.range is not None and self._calibration is not None:
            # a range from this camera's last pre-scan keeps that scan's step sizes, play and depth of field
            scale, dof = self._calibration
            options = replace(options, dof=options.dof if options.dof is not None else dof,
                              scale=options.scale or scale)
        hooks = Hooks(
            check=job.check,
            progress=lambda done, total, **kw: job.report(done, total, **kw),
            on_live=self.frames.publish,
            on_saved=lambda index, pos: job.publish("sweep.frame", camera=self.camera_id, index=index,
                                                    focus_position=pos, burst=str(path)),
            on_captured=lambda frames: job.publish("sweep.captured", camera=self.camera_id, frames=frames,
                                                   burst=str(path)),
            # a data URL: the bus carries JSON, and the page shows it as it comes
            on_preview=lambda jpeg, frames: job.publish(
                "sweep.preview", camera=self.camera_id, frames=frames, burst=str(path),
                image="data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")),
            analyse=True,
        )
        self._counted(None)
        result = run_sweep(camera, options, path, hooks, subjects=self._subjects if options.range is not None else None)
        self._counted(after_sweep(result, options.scale or StepScale()))
        return result

    # faults ----------------------------------------------------------------------------------
    def _disconnected(self, exc: Exception) -> None:
        log.warning("%s: %s", self.camera_id, exc)
        self._close_camera()
        self._failed_connects = 1  # calls fail at once until the camera is back
        self._set_state("disconnected", str(exc))
        self._wait_queue(self._delays[0], fail=True)

    def _close_camera(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            try:
                camera.close()
            except Exception:  # it is gone anyway
                log.debug("closing %s failed", self.camera_id, exc_info=True)

    def _fail(self, item: _Call | _LongJob, exc: Exception) -> None:
        if isinstance(item, _Call):
            if item.future.set_running_or_notify_cancel():
                item.future.set_exception(exc)
        else:
            item.job.fail(exc)

    def _drain(self, exc: Exception) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._fail(item, exc)
