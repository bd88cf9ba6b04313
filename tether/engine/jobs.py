"""A small pool for long work that is not a camera call (stacking, exports, index maps).

Each job reports progress (items done/total, fraction, ETA) on the event bus and can be
cancelled: the work function checks ``ctx.cancelled`` between items, so a cancel takes
effect at the next frame, never mid-write.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tether.engine.ids import new_id
from tether.errors import TetherError
from tether.events import EventBus

log = logging.getLogger(__name__)


class JobCancelled(TetherError):
    """The user cancelled the job."""


class JobContext:
    """What a work function sees: progress reporting and the cancel flag."""

    def __init__(self, job: "PoolJob") -> None:
        self._job = job

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_event.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        return self._job.cancel_event

    def check(self) -> None:
        """Raise JobCancelled if the user asked to stop."""
        if self.cancelled:
            raise JobCancelled("cancelled")

    def progress(self, done: float, total: float, note: str = "") -> None:
        self._job.report(done, total, note)


class PoolJob:
    """One unit of long work: id, kind, progress, result, and a cancel switch."""

    def __init__(self, kind: str, label: str, subject: str, bus: EventBus) -> None:
        self.id = new_id()
        self.kind = kind
        self.label = label
        self.subject = subject
        self.state = "queued"
        self.done = 0.0
        self.total = 0.0
        self.note = ""
        self.result: dict[str, Any] | None = None
        self.error = ""
        self.started = 0.0
        self.finished = 0.0
        self.cancel_event = threading.Event()
        self.future: Future[dict[str, Any]] = Future()
        self._bus = bus

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, extrapolated from the pace so far."""
        if not self.started or not self.done or not self.total or self.state != "running":
            return None
        elapsed = time.monotonic() - self.started
        return max(0.0, elapsed * (self.total - self.done) / self.done)

    def cancel(self) -> bool:
        """Ask the job to stop; True if it had not finished yet."""
        if self.state in ("done", "error", "cancelled"):
            return False
        self.cancel_event.set()
        return True

    def report(self, done: float, total: float, note: str = "") -> None:
        self.done, self.total = float(done), float(total)
        if note:
            self.note = note
        self._bus.publish("job.progress", **self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "job_kind": self.kind,
            "label": self.label,
            "subject": self.subject,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "fraction": round(self.fraction, 4),
            "eta": None if self.eta is None else round(self.eta, 1),
            "note": self.note,
            "result": self.result,
            "error": self.error,
        }


class JobPool:
    """Runs work functions on a few worker threads and keeps the recent jobs for the snapshot."""

    def __init__(self, bus: EventBus, *, workers: int = 1, keep: int = 50) -> None:
        self._bus = bus
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tether-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, PoolJob] = {}
        self._keep = keep

    def submit(self, kind: str, work: Callable[[JobContext], dict[str, Any]], *, label: str, subject: str = "") -> PoolJob:
        """Queue ``work(ctx)``; it returns a JSON-able result dict, published with ``job.done``."""
        job = PoolJob(kind, label, subject, self._bus)
        with self._lock:
            self._jobs[job.id] = job
            self._trim()
        self._executor.submit(self._run, job, work)
        self._bus.publish("job.progress", **job.to_dict())
        return job

    def get(self, job_id: str) -> PoolJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[PoolJob]:
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self) -> None:
        """Cancel everything and wait for the workers to stop."""
        for job in self.jobs():
            job.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _trim(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in ("done", "error", "cancelled")]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]

    def _run(self, job: PoolJob, work: Callable[[JobContext], dict[str, Any]]) -> None:
        if job.cancel_event.is_set():
            job.state = "cancelled"
            job.future.set_exception(JobCancelled("cancelled before it started"))
            self._bus.publish("job.error", **job.to_dict())
            return
        job.state = "running"
        job.started = time.monotonic()
        try:
            result = work(JobContext(job))
        except JobCancelled:
            job.state, job.error = "cancelled", "cancelled"
            job.future.set_exception(JobCancelled("cancelled"))
            self._bus.publish("job.error", **job.to_dict())
        except TetherError as exc:
            job.state, job.error = "error", str(exc)
            job.future.set_exception(exc)
            self._bus.publish("job.error", **job.to_dict())
        except Exception as exc:  # a bug in the work must still end the job visibly
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.state, job.error = "error", f"internal error: {exc}"
            job.future.set_exception(exc)
            self._bus.publish("job.error", **job.to_dict())
        else:
            job.state, job.result = "done", result
            job.done = job.total = job.total or 1.0
            job.finished = time.monotonic()
            job.future.set_result(result)
            self._bus.publish("job.done", **job.to_dict())
