"""The composition root: cameras and their owners, the burst store, the job pool and the event bus.

The web layer and the CLI talk to an Engine; they never open cameras or burst files themselves.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from tether import __version__
from tether.camera import list_cameras, open_camera
from tether.camera.base import Camera
from tether.camera.errors import CameraNotFound
from tether.capture import CameraOwner, StepScale, SweepOptions, plan_steps
from tether.config import Settings
from tether.engine.bursts import BurstService
from tether.engine.camera_memory import PRESCANS, SWEEPS, CameraMemory
from tether.engine.depth import DepthService
from tether.engine.heap import limit_heap_growth, release_free_heap
from tether.engine.ids import UnknownId
from tether.engine.reshoot import Reshoots
from tether.engine.retouch import RetouchService
from tether.engine.stills import camera_model, still_event
from tether.engine.store import BurstStore
from tether.events import EventBus
from tether.fileio import remove_leftovers, write_atomic
from tether.jobs import Job, JobPool

log = logging.getLogger(__name__)

#: The owner states (tether.capture.owner.STATES) in which a camera captures: a pre-scan or a sweep.
CAPTURE_STATES = frozenset({"prescan", "sweep"})


class Engine:
    """Everything a front end needs, built once from the settings."""

    def __init__(self, settings: Settings, *, camera_id: str, simulated: bool = False, fallback: bool = False,
                 bus: EventBus | None = None, workers: int = 2, pool: JobPool | None = None) -> None:
        self.settings = settings
        self.bus = bus or EventBus()
        self.store = BurstStore(settings.data_dir)
        #: ``pool``: one sharing ``bus`` that runs the work elsewhere (tether.cluster's); default this process's
        self.pool = pool or JobPool(self.bus, workers=workers)
        self.bursts = BurstService(self.store, self.pool, self.bus)
        self.depth = DepthService(self.bursts)
        self.retouch = RetouchService(self.bursts)
        self.prescans = CameraMemory(self.store.root, PRESCANS)
        #: Each camera's last sweep into the gallery: {job, burst, range, frames, mode (as asked), state, error}.
        self.sweeps = CameraMemory(self.store.root, SWEEPS)
        self.reshoots = Reshoots(self.store, self.bursts, self.pool, self.bus, self.owner_for)
        self.primary_camera = camera_id
        #: The primary camera is simulated; ``fallback``: because no real camera was found.
        self.simulated = simulated
        self.fallback = fallback
        self._lock = threading.RLock()
        self._owners: dict[str, Any] = {}
        self._available: list[dict[str, Any]] | None = None
        self._closed = False

    # life cycle ---------------------------------------------------------------------------
    def start(self) -> Engine:
        """Open the primary camera's owner (it connects and retries in its own thread)."""
        # frame-sized buffers come and go at every frame: without this, glibc keeps the freed
        # ones of the first sweep in its heap for good (about 60 MB at 1920x1080)
        limit_heap_growth()
        for folder in (self.store.bursts_dir, self.store.exports_dir, *self.store.sessions.folders()):
            remove_leftovers(folder)  # what a server killed mid-export (or mid-save) left
        self.owner_for(self.primary_camera, create=True)
        return self

    def close(self) -> None:
        """Cancel work, stop every owner; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            owners = list(self._owners.values())
        self.pool.shutdown()
        for owner in owners:
            try:
                owner.stop()
            except Exception:  # closing must reach every camera
                log.exception("stopping %s failed", owner)

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # cameras ------------------------------------------------------------------------------
    def available_cameras(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        """Cameras that could be opened (detection is slow on USB, so the list is cached)."""
        with self._lock:
            if self._available is None or refresh:
                self._available = [info.to_dict() for info in list_cameras(self.settings)]
            return list(self._available)

    def owner_for(self, camera_id: str | None = None, *, create: bool = False) -> Any:
        """The CameraOwner of ``camera_id`` (default: the primary camera)."""
        camera_id = camera_id or self.primary_camera
        with self._lock:
            owner = self._owners.get(camera_id)
            if owner is not None:
                return owner
            if not create:
                raise UnknownId(f"camera {camera_id!r} is not open", hint="choose it in the camera list first")
            if self._closed:
                raise CameraNotFound("the server is shutting down")
            if camera_id != self.primary_camera:
                known = {c["id"] for c in self.available_cameras()}
                if camera_id not in known:
                    raise CameraNotFound(f"no camera {camera_id!r} here", hint="refresh the camera list")
            opener: Callable[[], Camera] = lambda: open_camera(camera_id, self.settings)  # noqa: E731
            owner = CameraOwner(camera_id, opener, self.bus)
            owner.restore_calibration(self.prescans.get(camera_id))  # the lens measured before a restart
            self._owners[camera_id] = owner
        owner.start()
        return owner

    def owners(self) -> list[Any]:
        with self._lock:
            return list(self._owners.values())

    def capturing(self) -> bool:
        """Whether a camera is pre-scanning or sweeping now (the web server then lets it go first)."""
        return any(owner.state in CAPTURE_STATES for owner in self.owners())

    # capture jobs -------------------------------------------------------------------------
    def start_prescan(self, camera_id: str | None, options: Any) -> Job:
        owner = self.owner_for(camera_id)
        job = owner.start_prescan(options)

        def finished(done: Future[Any]) -> None:
            if not done.cancelled() and done.exception() is None:
                self.prescans.remember(owner.camera_id, done.result())

        job.future.add_done_callback(finished)
        return self.pool.track(job)

    def start_sweep(self, camera_id: str | None, options: Any, *, path: Path | None = None) -> tuple[Job, str]:
        """Start a sweep into a new burst named by the store; returns (job, burst id).

        ``path`` (the CLI's ``--out``, never a web request) writes the burst there instead.
        """
        owner = self.owner_for(camera_id)
        options = options if isinstance(options, SweepOptions) else SweepOptions.from_dict(options)
        if path is None:
            owner.check_ready()  # a refused sweep must not use up the session's next name
            burst_id, path = self.store.new_burst_path(camera=camera_model(owner))
        else:
            burst_id = path.stem
        self.bursts.writing.add(burst_id)
        try:
            job = owner.start_sweep(options, path)
        except BaseException:
            self.bursts.writing.discard(burst_id)
            raise
        self._track(job, burst_id=burst_id, path=path)
        if self.store.holds(path):
            self._remember_sweep(owner.camera_id, job, burst_id, options)
        return job, burst_id

    def _last_sweep(self, camera_id: str) -> dict[str, Any] | None:
        sweep = self.sweeps.get(camera_id)
        if sweep is None or sweep.get("state") != "running":
            return sweep
        job = self.pool.get(sweep.get("job", ""))
        if job is None:
            return {**sweep, "state": "interrupted"}  # a server that has stopped since ran it
        # the job's own state: its record is brought up to date by a callback that may run a moment after
        return {**sweep, "state": job.state, "error": job.error or ""}

    def _remember_sweep(self, camera_id: str, job: Job, burst_id: str, options: SweepOptions) -> None:
        """Keep the sweep as the camera's last one, as asked for and, once it ends, how it ended."""
        record = {"job": job.id, "burst": burst_id, "mode": options.mode, "state": "running", "error": "",
                  "range": None if options.range is None else list(options.range), "frames": options.frames}
        self.sweeps.remember(camera_id, record)

        def finished(_: Future[Any]) -> None:
            self.sweeps.remember(camera_id, {**record, "state": job.state, "error": job.error})

        job.future.add_done_callback(finished)

    def plan_sweep(self, near: int, far: int, *, frames: int | None = None, dof: float | None = None,
                   medium: float | None = None, large: float | None = None, max_frames: int = 300) -> dict[str, Any]:
        """The step plan a sweep over [near, far] would use (pure: no camera call), for the Post Focus page."""
        nan = float("nan")
        scale = StepScale() if medium is None and large is None else StepScale(
            medium=nan if medium is None else medium, large=nan if large is None else large, source="measured")
        plan = plan_steps(near, far, scale, dof=dof, target_frames=frames, max_frames=max_frames)
        return {**plan.to_dict(), "positions": plan.positions()}

    def _track(self, job: Job, *, burst_id: str, path: Path) -> Job:
        def finished(_: Future[Any]) -> None:
            self.bursts.writing.discard(burst_id)
            release_free_heap()  # what the sweep freed below the mmap threshold goes back to the system
            if self.store.holds(path) and path.exists():  # in the gallery (not the CLI's --out)
                self.bus.publish("burst.added", burst=burst_id)

        job.future.add_done_callback(finished)
        return self.pool.track(job)

    def job(self, job_id: str) -> Job:
        """A job of any kind (capture or pool) by id."""
        job = self.pool.get(job_id)
        if job is None:
            raise UnknownId(f"no job {job_id!r}")
        return job

    def cancel_job(self, job_id: str) -> bool:
        return self.job(job_id).cancel()

    # stills ---------------------------------------------------------------------------------
    def save_capture(self, captured: Any, camera_id: str | None = None) -> str:
        """Write a captured still into the current session (exports/ in the default one); returns its id."""
        owner = self._owners.get(camera_id or self.primary_camera)
        export_id, path = self.store.new_still_path(captured.name, camera=camera_model(owner) if owner else "")
        write_atomic(path, captured.data, overwrite=False)
        self.bus.publish("export.added", export=export_id, name=path.name)
        session = self.store.sessions.of_path(path)
        self.bus.publish("still.added", **still_event(export_id, path, captured.data, session))
        return export_id

    # state --------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything a newly connected client needs to draw itself; JSON-able."""
        return {
            "server": {"version": __version__, "simulated": self.simulated, "fallback": self.fallback,
                       "primary_camera": self.primary_camera},
            "cameras": [{**owner.snapshot(), "last_prescan": self.prescans.get(owner.camera_id),
                         "last_sweep": self._last_sweep(owner.camera_id)} for owner in self.owners()],
            "jobs": [job.to_dict() for job in self.pool.jobs()],
            "session": self.store.sessions.current().to_dict(),
        }

