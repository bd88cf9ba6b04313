"""The focus sweep: drive through the range in one direction and append a frame at every position.

Modes: ``liveview`` (a live-view frame per position: fast), ``stills`` (a full-resolution still per
position, waiting for the file), ``movie`` (record while stepping; the movie is then split into
frames matched to focus positions by time, see :mod:`tether.capture.movie`).

Every frame goes into the burst as it arrives (durable when ``append`` returns); per-frame
sharpness is computed on a worker thread so the camera thread only waits for the camera. A cancel
or a disconnect closes the burst with every frame taken so far.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tether.burst import BurstWriter, FrameMeta, store_derived
from tether.burst.errors import BurstError
from tether.camera.base import Camera
from tether.camera.errors import CameraDisconnected, CorruptFrame, Unsupported
from tether.camera.types import FocusDirection, Frame, StepClass
from tether.capture.coverage import check_coverage, rising_at_end
from tether.capture.motion import Motor, retry_busy, step_scale_of
from tether.capture.prescan import PrescanOptions, PrescanResult, parse_range, run_prescan
from tether.capture.sharpness import FrameSummary, looks_like_jpeg, summarize
from tether.capture.step_plan import PlanError, StepPlan, StepScale, plan_steps
from tether.errors import Cancelled
from tether.fileio import StorageError

log = logging.getLogger(__name__)

MODES = ("liveview", "stills", "movie")
#: The sweep goes on past its plan while at least this many tiles still get sharper at the last frame.
EXTEND_MIN_TILES = 2
SOURCE = {"liveview": "liveview", "stills": "still", "movie": "movie"}


@dataclass(frozen=True)
class SweepOptions:
    """How to sweep. Without ``range`` a pre-scan runs first and its measurements drive the step plan."""

    mode: str = "liveview"
    range: tuple[int, int] | None = None
    frames: int | None = None          # target frame count
    max_frames: int | None = 300
    step: StepClass | None = None      # explicit step class per frame ...
    step_count: int | None = None      # ... and how many of them
    dof: float | None = None           # frame spacing from an earlier pre-scan (with ``range``)
    scale: StepScale | None = None     # step sizes measured by an earlier pre-scan (with ``range``)
    settle_frames: int = 0
    movie_dwell: float = 0.1           # seconds the focus rests at each position while recording
    extend_frames: int | None = None   # extra frames allowed past the plan while subjects still sharpen
    prescan: PrescanOptions = PrescanOptions()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PlanError(f"sweep mode {self.mode!r} is unknown", hint="choose liveview, stills or movie")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "SweepOptions":
        """Options from a JSON body or the CLI (keys as in the REST API); unknown keys are refused."""
        data = {k: v for k, v in dict(data or {}).items() if v is not None}
        allowed = {"mode", "range", "frames", "max_frames", "step", "step_count", "dof", "settle_frames",
                   "movie_dwell", "from_here"}
        unknown = set(data) - allowed
        if unknown:
            raise PlanError(f"unknown sweep option(s): {', '.join(sorted(unknown))}",
                            hint="allowed: " + ", ".join(sorted(allowed)))
        try:
            step = StepClass(data["step"]) if "step" in data else None
        except ValueError:
            raise PlanError(f"step {data['step']!r} is unknown", hint="choose small, medium or large") from None
        return cls(mode=str(data.get("mode", "liveview")),
                   range=parse_range(data["range"]) if "range" in data else None,
                   frames=_int(data, "frames"), max_frames=_int(data, "max_frames") or 300,
                   step=step, step_count=_int(data, "step_count"),
                   dof=float(data["dof"]) if "dof" in data else None,
                   settle_frames=_int(data, "settle_frames") or 0,
                   movie_dwell=float(data.get("movie_dwell", 0.1)),
                   prescan=PrescanOptions(from_here=bool(data.get("from_here", False)),
                                          settle_frames=_int(data, "settle_frames") or 0))


def _int(data: dict[str, Any], key: str) -> int | None:
    if key not in data:
        return None
    try:
        return int(data[key])
    except (TypeError, ValueError):
        raise PlanError(f"{key} must be a whole number, not {data[key]!r}") from None


@dataclass
class Hooks:
    """How a sweep talks to its job and owner: cancel check, progress, live frames, saved frames."""

    check: Callable[[], None] = lambda: None
    progress: Callable[..., None] = lambda done, total, **kw: None
    on_live: Callable[[Frame], None] = lambda frame: None
    on_saved: Callable[[int, int], None] = lambda index, position: None


def run_sweep(camera: Camera, options: SweepOptions, burst_path: Path | str, hooks: Hooks | None = None) -> dict[str, Any]:
    """Pre-scan (unless a range is given), plan, sweep into a new burst at ``burst_path``; returns the result."""
    hooks = hooks or Hooks()
    burst_path = Path(burst_path)
    caps = camera.info.capabilities
    _check_capable(camera, options.mode)
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
        scale = options.scale or step_scale_of(camera)
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
    sweep_info = {"mode": options.mode, "range": [near, far], "plan": plan.to_dict(), "scale": motor.scale.to_dict(),
                  "unit": "small focus steps from the near end stop",
                  "prescan": None if prescan is None else {"frames": prescan.frames, "seconds": round(prescan.seconds, 3),
                                                           "dof_spacing": prescan.dof, "warnings": prescan.warnings}}
    runner = _SweepRun(camera, motor, plan, options, burst_path, hooks)
    if prescan is not None and prescan.curves is not None and not options.prescan.from_here:
        runner.subjects = np.array([p.subject for p in prescan.peaks]).reshape(prescan.curves.shape[1:])
    with BurstWriter.create(burst_path, camera=camera.info.to_dict(), sweep=sweep_info) as writer:
        runner.writer = writer
        result = runner.run()
    result.update(range=[near, far], plan=plan.to_dict(), seconds=round(time.monotonic() - began, 3),
                  prescan=None if prescan is None else prescan.to_dict())
    if prescan is not None:
        result["warnings"] = list(prescan.warnings) + result["warnings"]
    if runner.failure is not None:
        exc = runner.failure
        raise type(exc)(f"{exc.message}; the sweep stopped after {result['frames']} frame(s), all kept in burst "
                        f"{burst_path.name}",
                        hint=exc.hint) from exc
    return result


def _check_capable(camera: Camera, mode: str) -> None:
    caps = camera.info.capabilities
    if not caps.focus_drive:
        raise Unsupported(caps.focus_drive_note or f"{camera.info.model} cannot drive focus, so it cannot sweep")
    needed = {"liveview": caps.live_view, "stills": caps.still_capture, "movie": caps.movie}[mode]
    if not needed:
        raise Unsupported(f"{camera.info.model} cannot sweep in {mode} mode over USB",
                          hint="choose another --mode")


class _SweepRun:
    """One sweep's capture loop; keeps the burst consistent whatever stops it."""

    def __init__(self, camera: Camera, motor: Motor, plan: StepPlan, options: SweepOptions, path: Path,
                 hooks: Hooks) -> None:
        self.camera, self.motor, self.plan, self.options, self.path, self.hooks = camera, motor, plan, options, path, hooks
        self.writer: BurstWriter | None = None
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

    def run(self) -> dict[str, Any]:
        assert self.writer is not None
        status, error, cancelled = "complete", "", False
        self.started = time.monotonic()
        try:
            if self.options.mode == "movie":
                from tether.capture.movie import sweep_movie

                sweep_movie(self)
            else:
                self._step_and_grab()
        except Cancelled:
            status, cancelled = "cancelled", True
        except CameraDisconnected as exc:  # includes a driver crash: keep what we have, then report it
            status, error, self.failure = "interrupted", str(exc), exc
        except BaseException:
            self.pool.shutdown(wait=True)
            raise
        self.capture_seconds = time.monotonic() - self.started
        summaries = [f.result() for f in self.summaries]
        self.pool.shutdown(wait=True)
        coverage = self._coverage(summaries, complete=status == "complete")
        frames = self.writer.frame_count
        fps = (frames - 1) / self.capture_seconds if frames > 1 and self.capture_seconds > 0 else 0.0
        summary = {"frames": frames, "planned": self.plan.frames, "extended": self.extended,
                   "trimmed": self.trimmed, "cancelled": cancelled,
                   "fps": round(fps, 3),
                   "capture_seconds": round(self.capture_seconds, 3), "coverage": coverage.to_dict(),
                   "warnings": coverage.warnings}
        self.writer.close(summary, status=status, error=error)
        if summaries:
            self._store_sharpness(summaries)
        return {"burst": str(self.path), "frames": frames, "planned": self.plan.frames, "extended": self.extended,
                "trimmed": self.trimmed, "mode": self.options.mode,
                "cancelled": cancelled, "status": status, "fps": round(fps, 3),
                "capture_seconds": round(self.capture_seconds, 3), "positions": list(self.positions),
                "warnings": list(coverage.warnings), "coverage": coverage.to_dict()}

    # capture -----------------------------------------------------------------------------
    def _step_and_grab(self) -> None:
        for i in range(self.plan.frames):
            if i:
                self.motor.drive(FocusDirection.FAR, self.plan.step_class, self.plan.count)
            self._grab()
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
            self._grab()
            self.extended += 1

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

    def _grab(self) -> None:
        self.hooks.check()
        if self.options.mode == "liveview":
            data, meta = self._live_frame()
        else:
            data, meta = self._still()
        self.add(data, meta)

    def _live_frame(self) -> tuple[bytes, FrameMeta]:
        try:
            frame = self.motor.frame()
        except CorruptFrame as exc:
            return _corrupt_bytes(exc), FrameMeta(captured_at=time.time(), source="liveview", corrupt=True,
                                                  extra={"error": str(exc)})
        self.hooks.on_live(frame)
        return frame.data, FrameMeta(captured_at=time.time(), source="liveview", width=frame.width,
                                     height=frame.height, mime=frame.mime, corrupt=not _intact(frame.data, frame.mime),
                                     extra={"camera_time": frame.timestamp})

    def _still(self) -> tuple[bytes, FrameMeta]:
        try:
            still = retry_busy(self.camera.capture_still)
        except CorruptFrame as exc:
            return _corrupt_bytes(exc), FrameMeta(captured_at=time.time(), source="still", corrupt=True,
                                                  extra={"error": str(exc)})
        return still.data, FrameMeta(captured_at=time.time(), source="still", width=still.width, height=still.height,
                                     mime=still.mime, filename=still.name, corrupt=not _intact(still.data, still.mime),
                                     extra={"camera_time": still.timestamp})

    def add(self, data: bytes, meta: FrameMeta, *, position: float | None = None, summary: Any = None) -> int:
        """Append one frame at the motor's counted position; its sharpness is computed on the worker."""
        assert self.writer is not None
        pos = int(round(self.motor.position if position is None else position))
        meta = replace(meta, focus_position=pos, step_class=self.plan.step_class.value)
        index = self.writer.append(data, meta)
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
        return check_coverage(tiles, thumbs, ok, still_threshold=self.motor.still_threshold, complete=complete)

    def _store_sharpness(self, summaries: list[FrameSummary]) -> None:
        data = {"grid": list(summaries[0].tiles.shape), "measure": "mean squared Laplacian per tile",
                "positions": self.positions, "ok": [s.ok for s in summaries],
                "tiles": [np.round(s.tiles.astype(np.float64), 3).tolist() for s in summaries]}
        try:
            store_derived(self.path, "sharpness.json", json.dumps(data, separators=(",", ":")).encode())
        except (BurstError, StorageError) as exc:  # the frames are safe; only the summary is missing
            log.warning("could not store sharpness in %s: %s", self.path, exc)


def _intact(data: bytes, mime: str) -> bool:
    return looks_like_jpeg(data) if mime == "image/jpeg" else bool(data)


def _corrupt_bytes(exc: CorruptFrame) -> bytes:
    """Whatever bytes the camera sent with a corrupt frame (kept as evidence), else none."""
    data = getattr(exc, "data", b"")
    return data if isinstance(data, bytes) else b""
