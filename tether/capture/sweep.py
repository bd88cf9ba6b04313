"""The focus sweep: drive through the range in one direction and append a frame at every position.

How the frames are taken is the sweep mode's (:mod:`tether.capture.modes`: live view, stills,
movie); this module keeps the rest: the pre-scan and plan, the burst, sharpness, when to stop
early or go on, the coverage check.

Every frame goes into the burst as it arrives (durable when ``append`` returns); per-frame
sharpness is computed on a worker thread so the camera thread only waits for the camera, and pass 1
of refocus and stacking on another (:mod:`tether.capture.live_analysis`), so the burst has its focus
index when the sweep ends. A cancel or a disconnect closes the burst with every frame taken so far.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tether.burst import BurstWriter, FrameMeta, store_derived
from tether.burst.errors import BurstError
from tether.camera.base import Camera
from tether.camera.errors import CameraDisconnected, CameraError
from tether.camera.types import FocusDirection, Frame
from tether.capture import modes
from tether.capture.coverage import Subjects, check_coverage, rising_at_end
from tether.capture.exposure import recorded_exposure
from tether.capture.far_stop import FarStopWatch
from tether.capture.live_analysis import LiveAnalysis, PreviewSink, capture_first
from tether.capture.motion import Motor
from tether.capture.options import SweepOptions
from tether.capture.prescan import PrescanResult, run_prescan
from tether.capture.sharpness import FrameSummary, summarize, tile_record
from tether.capture.step_plan import StepPlan, StepScale, TilePeak, plan_steps
from tether.errors import Cancelled
from tether.fileio import StorageError, remedy

log = logging.getLogger(__name__)

#: The sweep goes on past its plan while at least this many tiles still get sharper at the last frame.
EXTEND_MIN_TILES = 2


@dataclass
class Hooks:
    """How a sweep talks to its job and owner: cancel check, progress, live frames, saved frames, the end of
    the capture (``on_captured(frames)``: the last frame is in; the focus index follows) and the live stack
    preview (``on_preview(jpeg, frames in it)``; None: no preview is made).

    ``analyse``: build the focus index while capturing and store it in the burst (and make the previews).
    The camera's owner asks for it; a caller that only wants the frames (a test of the capture, a script)
    does not pay a pass 1 it never uses."""

    check: Callable[[], None] = lambda: None
    progress: Callable[..., None] = lambda done, total, **kw: None
    on_live: Callable[[Frame], object] = lambda frame: None
    on_saved: Callable[[int, int], None] = lambda index, position: None
    on_captured: Callable[[int], None] = lambda frames: None
    on_preview: PreviewSink | None = None
    analyse: bool = False


def run_sweep(camera: Camera, options: SweepOptions, burst_path: Path | str,
              hooks: Hooks | None = None, *, subjects: Subjects | None = None) -> dict[str, Any]:
    """Pre-scan (unless a range is given), plan, sweep into a new burst at ``burst_path``; returns the result.

    ``subjects``: where an earlier pre-scan found subjects, for a sweep over a given range; the coverage
    then names those the range leaves out, those between two frames and those never in focus in it.
    """
    hooks = hooks or Hooks()
    burst_path = Path(burst_path)
    caps = camera.info.capabilities
    mode = modes.MODES.pick(options.mode)
    mode.check_capable(camera.info)
    began = time.monotonic()
    prescan: PrescanResult | None = None
    if options.range is None:
        prescan, motor = run_prescan(
            camera, options.prescan, check=hooks.check, on_frame=hooks.on_live,
            progress=lambda done, total, pos: hooks.progress(done, total, phase="prescan", focus_position=pos))
        near, far, dof = prescan.near, prescan.far, prescan.dof
        hooks.progress(0, 1, phase="homing", focus_position=None)
        motor.home(known_far=max(prescan.far_stop or 0.0, motor.position or 0.0))
    else:
        scale = options.scale or StepScale()
        motor = Motor(camera, scale, settle_frames=options.settle_frames, check=hooks.check)
        near, far = options.range
        dof = options.dof
        if caps.live_view:
            motor.home()
        else:  # no live view to watch: drive far enough toward near to be sure of the stop
            motor.home(known_far=far * 2 + 400)
    plan = plan_steps(near, far, motor.scale, dof=dof, target_frames=options.frames, max_frames=options.max_frames,
                      step_class=options.step, step_count=options.step_count)
    motor.advance_to(plan.start)
    motor.settle_seconds = options.settle_seconds
    sweep_info = {"mode": mode.name, "range": [near, far], "plan": plan.to_dict(), "scale": motor.scale.to_dict(),
                  "dof": dof,  # the depth of field the coverage was judged by (a re-shoot judges the merge by it)
                  "unit": "small focus steps from the near end stop",
                  "prescan": None if prescan is None else {
                      "frames": prescan.frames, "seconds": round(prescan.seconds, 3), "dof_spacing": prescan.dof,
                      "warnings": prescan.warnings}}
    if prescan is not None and not options.prescan.from_here:
        subjects = prescan.subjects()
    # where the subjects are: a re-shoot judges the merged frames by them, as the sweep judged its own
    sweep_info["subjects"] = None if subjects is None else subjects.to_dict()
    runner = _SweepRun(camera, motor, plan, options, burst_path, hooks)
    runner.exposure = _exposure(camera)
    runner.dof = dof
    runner.placed = subjects
    if prescan is not None and subjects is not None:
        runner.subjects = subjects.tiles
        runner.peaks = tuple(p for p in prescan.peaks if p.subject and not p.at_edge)
    try:
        writer = BurstWriter.create(burst_path, camera=camera.info.to_dict(), sweep=sweep_info)
    except StorageError as unwritten:  # the writer removes what it began: there is no file to repair
        raise _storage_failure(unwritten, burst_path, 0, closed=False) from None
    runner.writer = writer
    try:
        result = runner.run(mode)
    except BaseException as stopped:
        closed = _close_stopped(writer, stopped)
        if writer.frame_count == 0:
            burst_path.unlink(missing_ok=True)  # an empty burst in the gallery helps no one
        if isinstance(stopped, StorageError):
            raise _storage_failure(stopped, burst_path, writer.frame_count, closed=closed) from None
        raise
    if result["frames"] == 0:  # cancelled, or the camera failed, before the first frame
        burst_path.unlink(missing_ok=True)
        result["burst"] = None
    result.update(range=[near, far], plan=plan.to_dict(), seconds=round(time.monotonic() - began, 3),
                  prescan=None if prescan is None else prescan.to_dict())
    if prescan is not None:
        result["warnings"] = list(prescan.warnings) + result["warnings"]
    if runner.failure is not None:
        failure = runner.failure
        kept = (f"the sweep stopped after {result['frames']} frame(s), all kept in burst {burst_path.name}"
                if result["frames"] else "the sweep stopped before its first frame; no burst was kept")
        raise type(failure)(f"{failure.message}; {kept}", hint=failure.hint) from failure
    return result


def _close_stopped(writer: BurstWriter, exc: BaseException) -> bool:
    """Close the burst of a sweep that ``exc`` stopped; False when it could not be closed (the disk is full)."""
    if writer.closed:  # closing was attempted, and is what raised
        return False
    try:
        writer.close(status="interrupted", error=f"{type(exc).__name__}: {exc}")
    except (BurstError, StorageError):
        return False
    return True


def _storage_failure(exc: StorageError, path: Path, frames: int, *, closed: bool) -> StorageError:
    """What a sweep the disk stopped left behind, and whether it needs a repair: only an unclosed burst does."""
    if not frames:
        return exc.reworded(f"{exc.message}; the sweep stopped before its first frame and no burst was kept",
                            hint=f"{remedy(exc)} and sweep again; there is nothing to repair")
    kept = f"{exc.message}; the sweep stopped after {frames} frame(s), kept in burst {path.name}"
    if closed:
        return exc.reworded(kept, hint=f"the burst is closed and needs no repair; {remedy(exc)} before the next sweep")
    return exc.reworded(f"{kept}, which could not be closed",
                        hint=f"{remedy(exc)}, then run 'tether burst repair {path}'")


def _exposure(camera: Camera) -> dict[str, Any]:
    """The exposure to keep with each frame (:mod:`tether.capture.exposure`); nothing when the camera cannot list its
    settings (a camera without a config tree): the frames matter more than the record of how they were taken."""
    try:
        return recorded_exposure(camera.settings())
    except CameraDisconnected:
        raise
    except CameraError as exc:
        log.warning("the exposure is not recorded with the frames: %s", exc)
        return {}


class _SweepRun:
    """One sweep's capture loop; keeps the burst consistent whatever stops it."""

    def __init__(self, camera: Camera, motor: Motor, plan: StepPlan, options: SweepOptions, path: Path,
                 hooks: Hooks) -> None:
        self.camera, self.motor, self.plan, self.options = camera, motor, plan, options
        self.path, self.hooks = path, hooks
        self.writer: BurstWriter | None = None
        self.analysis: LiveAnalysis | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-sharpness")
        self.summaries: list[Future[FrameSummary]] = []
        self.positions: list[int] = []
        self.failure: CameraDisconnected | None = None
        self.started = 0.0
        self.capture_seconds = 0.0
        self.extended = 0
        self.trimmed = 0
        #: (rows, cols) bool: the pre-scan's subject tiles (None for a range given by hand).
        self.subjects: np.ndarray | None = None
        #: where a pre-scan found subjects: the coverage places them against the frames
        self.placed: Subjects | None = None
        #: The depth of field (small steps) the plan was made for (None: unknown).
        self.dof: float | None = None
        self.peaks: tuple[TilePeak, ...] = ()
        #: The camera's exposure settings as the sweep began, kept with every frame (a still's EXIF says more).
        self.exposure: dict[str, Any] = {}
        self.far_stop_watch = FarStopWatch(motor.still_threshold)
        self.watched = 0  # frames fed to the watch so far
        #: The first frame at the lens's far stop (where the frames stopped changing), when the sweep ran into it.
        self.far_stop_frame: int | None = None

    def run(self, mode: modes.SweepMode) -> dict[str, Any]:
        assert self.writer is not None
        if self.hooks.analyse:
            self.analysis = LiveAnalysis(reread=self.writer.frame_bytes, on_preview=self.hooks.on_preview)
        try:
            return self._run(mode)
        finally:
            if self.analysis is not None:
                self.analysis.abandon()  # a no-op once finished; else (an error, a cancel) the worker stops here

    def _run(self, mode: modes.SweepMode) -> dict[str, Any]:
        assert self.writer is not None
        status, error, cancelled = "complete", "", False
        self.started = time.monotonic()
        context = modes.SweepContext(
            camera=self.camera, motor=self.motor, plan=self.plan, peaks=self.peaks,
            check=self.hooks.check, progress=self.hooks.progress, add=self.add, on_live=self.hooks.on_live,
            step_and_grab=self._step_and_grab)
        try:
            with capture_first() if self.analysis is not None else nullcontext():
                mode.run(context)
        except Cancelled:
            status, cancelled = "cancelled", True
        except CameraDisconnected as exc:  # includes a driver crash: keep what we have, then report it
            status, error, self.failure = "interrupted", str(exc), exc
        except BaseException:
            self.pool.shutdown(wait=True)
            raise
        self.capture_seconds = time.monotonic() - self.started
        self.hooks.on_captured(self.writer.frame_count)
        summaries = [f.result() for f in self.summaries]
        self.pool.shutdown(wait=True)
        far_stop = None if self.far_stop_frame is None else self.positions[self.far_stop_frame]
        # the repeats of the stop frame are no part of the focus range: judged, they read as lost steps
        covered = summaries if self.far_stop_frame is None else summaries[:self.far_stop_frame + 1]
        # a sweep cut short once every subject had peaked and fallen away saw what lies beyond: nothing
        coverage = self._coverage(covered, complete=status == "complete" and not self.trimmed)
        if far_stop is not None:
            coverage.warnings.insert(0, f"the range went past the lens's far stop at ~{far_stop} steps; stopped")
        frames = self.writer.frame_count
        fps = (frames - 1) / self.capture_seconds if frames > 1 and self.capture_seconds > 0 else 0.0
        summary = {"frames": frames, "planned": self.plan.frames, "extended": self.extended,
                   "trimmed": self.trimmed, "far_stop": far_stop, "cancelled": cancelled,
                   "fps": round(fps, 3),
                   "capture_seconds": round(self.capture_seconds, 3), "coverage": coverage.to_dict(),
                   "warnings": coverage.warnings}
        self.writer.close(summary, status=status, error=error)
        if summaries:
            self._store_sharpness(summaries)
        indexed = not cancelled and self._store_index()
        return {"burst": str(self.path), "frames": frames, "planned": self.plan.frames, "extended": self.extended,
                "trimmed": self.trimmed, "far_stop": far_stop, "mode": self.options.mode,
                "cancelled": cancelled, "status": status, "fps": round(fps, 3),
                "capture_seconds": round(self.capture_seconds, 3), "positions": list(self.positions),
                "warnings": list(coverage.warnings), "coverage": coverage.to_dict(), "focus_index": indexed}

    # capture -----------------------------------------------------------------------------
    def _step_and_grab(self, grab: Callable[[], modes.Grabbed]) -> None:
        """Drive through the plan adding ``grab()``'s frame at each position (the context's ``step_and_grab``)."""
        for i in range(self.plan.frames):
            if i:
                self.motor.drive(FocusDirection.FAR, self.plan.step_class, self.plan.count)
            self._add_grabbed(grab)
            if self._at_far_stop():
                return
            if self.subjects is not None and i + 1 < self.plan.frames and self._past_every_subject(i):
                self.trimmed = self.plan.frames - i - 1
                return
        if self.subjects is None:
            return  # a range given by hand is swept exactly as asked
        # Closed loop at the far end: counted positions drift from the true ones (step error, a
        # measured step size a few per cent off), so while subjects are still getting sharper at
        # the last frame the sweep goes on, up to a bounded number of extra frames.
        limit = self.options.extend_frames if self.options.extend_frames is not None else max(2, self.plan.frames // 6)
        for _ in range(limit):
            tiles = np.stack([f.result().tiles for f in self.summaries])
            if rising_at_end(tiles) < EXTEND_MIN_TILES:
                break
            self.motor.drive(FocusDirection.FAR, self.plan.step_class, self.plan.count)
            self._add_grabbed(grab)
            self.extended += 1
            if self._at_far_stop():
                return

    def _at_far_stop(self) -> bool:
        """The frames have stopped changing: the motor sits at the far stop, and every frame from here would
        be the same one. Fed only what the worker has finished (never waits): seen a frame or two late."""
        while self.watched < len(self.summaries) and self.summaries[self.watched].done():
            self.far_stop_frame = self.far_stop_watch.add(self.summaries[self.watched].result().thumb)
            self.watched += 1
            if self.far_stop_frame is not None:
                return True
        return False

    def _past_every_subject(self, i: int) -> bool:
        """In the last quarter of the plan, every pre-scan subject tile has peaked and fallen away."""
        if i < 3 or i < 0.75 * (self.plan.frames - 1):
            return False
        done = []
        for future in self.summaries:   # only what the worker has finished: never wait here
            if not future.done():
                break
            done.append(future.result())
        if len(done) < 4:
            return False
        stack = np.stack([s.tiles for s in done]).astype(np.float64)[:, self.subjects]
        best = stack.max(axis=0)
        floor = stack.min(axis=0)
        peaked = stack.argmax(axis=0) <= len(stack) - 3
        fallen = stack[-1] < floor + 0.5 * (best - floor)
        return bool(np.all(peaked & fallen))

    def _add_grabbed(self, grab: Callable[[], modes.Grabbed]) -> None:
        self.hooks.check()
        data, meta = grab()
        self.add(data, meta)

    def add(self, data: bytes, meta: FrameMeta, *, position: float | None = None,
            summary: FrameSummary | None = None) -> int:
        """Append one frame at the motor's counted position; its sharpness is computed on the worker."""
        assert self.writer is not None
        pos = round((self.motor.position if position is None else position) or 0.0)
        meta = replace(meta, focus_position=pos, step_class=self.plan.step_class.value,
                       exposure={**self.exposure, **meta.exposure})
        index = self.writer.append(data, meta)
        if self.analysis is not None:
            self.analysis.offer(data, corrupt=meta.corrupt)
        self.positions.append(pos)
        if summary is not None:
            done: Future[FrameSummary] = Future()
            done.set_result(summary)
            self.summaries.append(done)
        else:
            self.summaries.append(self.pool.submit(summarize, data, width=meta.width))
        self.hooks.on_saved(index, pos)
        elapsed = time.monotonic() - self.started
        fps = index / elapsed if index and elapsed > 0 else None
        self.hooks.progress(index + 1, max(self.plan.frames, index + 1), phase="sweep", focus_position=pos, fps=fps)
        return index

    # after ------------------------------------------------------------------------------
    def _coverage(self, summaries: list[FrameSummary], *, complete: bool) -> Any:
        if not summaries:
            return check_coverage(np.zeros((0, 9, 16)), np.zeros((0, 36, 64)), np.zeros(0, bool))
        tiles = np.stack([s.tiles for s in summaries])
        thumbs = np.stack([s.thumb for s in summaries])
        ok = np.array([s.ok for s in summaries])
        return check_coverage(tiles, thumbs, ok, still_threshold=self.motor.still_threshold, complete=complete,
                              spacing=self.plan.spacing, dof=self.dof, subjects=self.placed,
                              positions=self.positions[:len(summaries)])

    def _store_index(self) -> bool:
        """Wait for pass 1 to catch up and keep its focus index in the burst; False when there is none."""
        return self.analysis is not None and self.analysis.keep(
            self.path, progress=lambda done, total: self.hooks.progress(done, total, phase="analysing"))

    def _store_sharpness(self, summaries: list[FrameSummary]) -> None:
        data = tile_record(summaries, self.positions)
        try:
            store_derived(self.path, "sharpness.json", json.dumps(data, separators=(",", ":")).encode())
        except (BurstError, StorageError) as exc:  # the frames are safe; only the summary is missing
            log.warning("could not store sharpness in %s: %s", self.path, exc)

