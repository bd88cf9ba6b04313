"""Long work, one model for all of it: a pre-scan or sweep on a camera's owner thread, a stack,
export or refocus map on the engine's pool.

A :class:`Job` has an id, a kind, a label for people, a subject (the camera or burst it works
on), progress (items done of total, fraction, elapsed, ETA), a cancel switch the work polls with
:meth:`Job.check`, and a future for its result. Whoever runs it calls :meth:`Job.run` on the
thread that should do the work. Every change is published on the event bus in one shape,
``job.to_dict()`` under the event type::

    job.progress   while it runs (also once when it is queued)
    job.done       it finished; ``result`` holds what the work returned
    job.cancelled  it stopped because someone cancelled it (``result`` may hold what was kept)
    job.error      it failed; ``error`` says why, in words for the photographer

:class:`JobPool` runs jobs on a few worker threads and keeps the recent ones (of every origin)
for the snapshot a newly connected client gets.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tether.errors import Cancelled, TetherError
from tether.events import EventBus

log = logging.getLogger(__name__)

Result = dict[str, Any]
Work = Callable[["Job"], Result]

STATES = ("queued", "running", "done", "cancelled", "error")
FINISHED = frozenset({"done", "cancelled", "error"})


class Job:
    """One piece of long work: what it is, how far it got, and how it ended."""

    def __init__(self, kind: str, *, label: str, subject: str, bus: EventBus, job_id: str | None = None) -> None:
        self.id = job_id or uuid.uuid4().hex[:12]
        self.kind = kind
        self.label = label
        self.subject = subject
        self.state = "queued"
        self.done = 0.0
        self.total = 0.0
        self.phase = ""
        self.fps: float | None = None
        #: Work-specific progress facts (a sweep's focus position), shown as they are.
        self.extra: dict[str, Any] = {}
        self.result: Result | None = None
        self.error = ""
        self.started = 0.0
        self.finished = 0.0
        self.future: Future[Result] = Future()
        self._cancel = threading.Event()
        self._bus = bus

    # control ------------------------------------------------------------------------------
    def cancel(self) -> bool:
        """Ask the work to stop at its next :meth:`check`; False when it has already ended."""
        if self.state in FINISHED:
            return False
        self._cancel.set()
        return True

    @property
    def cancelled(self) -> bool:
        """A cancel was asked for (the work may not have noticed yet)."""
        return self._cancel.is_set()

    def wait_cancel(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking at once on a cancel; True if one was asked for."""
        return self._cancel.wait(timeout)

    def check(self) -> None:
        """Raise Cancelled if a cancel was asked for; the work calls this between items."""
        if self._cancel.is_set():
            raise Cancelled(f"{self.label} cancelled")

    # progress -----------------------------------------------------------------------------
    def report(self, done: float, total: float, *, phase: str = "", fps: float | None = None, **extra: Any) -> None:
        """Progress: ``done`` of ``total`` items in ``phase``; ETA from ``fps`` (the phase's pace) when given."""
        self.done, self.total = float(done), float(total)
        if phase:
            self.phase = phase
        self.fps = fps
        self.extra.update(extra)
        self._bus.publish("job.progress", **self.to_dict())

    def publish(self, event_type: str, /, **payload: Any) -> None:
        """Publish a work-specific event (a sweep's new frame) carrying this job's id."""
        self._bus.publish(event_type, job=self.id, job_kind=self.kind, **payload)

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def elapsed(self) -> float:
        if not self.started:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far (or at ``fps``), while running."""
        if self.state != "running" or not self.total or self.done > self.total:
            return None
        rate = self.fps if self.fps else (self.done / self.elapsed if self.done and self.elapsed > 0 else 0.0)
        return (self.total - self.done) / rate if rate > 0 else None

    # running ------------------------------------------------------------------------------
    def run(self, work: Work) -> None:
        """Run ``work(self)`` on this thread and settle the future.

        Never raises: the future and the events tell how it ended.
        """
        if self.state in FINISHED:
            return
        if self._cancel.is_set():
            self._end("cancelled", exc=Cancelled(f"{self.label} cancelled before it started"))
            return
        self.state, self.started = "running", time.monotonic()
        try:
            result = work(self)
        except Cancelled as exc:
            self._end("cancelled", exc=exc)
        except TetherError as exc:
            self._end("error", exc=exc)
        except Exception as exc:  # a bug in the work must still end the job visibly
            log.exception("job %s (%s) failed", self.id, self.kind)
            self._end("error", exc=exc, message=f"internal error: {exc}")
        else:
            # work that keeps what it got when cancelled (a sweep's frames) returns it, marked cancelled
            self._end("cancelled" if result.get("cancelled") else "done", result=result)

    def fail(self, exc: Exception) -> None:
        """End a job that cannot run (its camera went away while it was queued)."""
        if self.state not in FINISHED:
            self._end("error", exc=exc)

    def _end(self, state: str, *, result: Result | None = None, exc: BaseException | None = None,
             message: str = "") -> None:
        self.state, self.finished = state, time.monotonic()
        if not self.started:
            self.started = self.finished
        self.result = result
        if exc is not None:
            self.error = message or str(exc)
            self.future.set_exception(exc)
        else:
            assert result is not None
            if state == "done":
                self.done = self.total = self.total or 1.0
            self.future.set_result(result)
        self._bus.publish(f"job.{state}", **self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form clients see in the snapshot and in every job event."""
        eta = self.eta
        return {
            "job": self.id, "job_kind": self.kind, "label": self.label, "subject": self.subject,
            "state": self.state, "done": self.done, "total": self.total, "fraction": round(self.fraction, 4),
            "elapsed": round(self.elapsed, 3), "eta": None if eta is None else round(eta, 1),
            "fps": None if self.fps is None else round(self.fps, 2), "phase": self.phase, **self.extra,
            "result": self.result, "error": self.error,
        }


class JobPool:
    """Runs jobs on a few worker threads, and keeps the recent jobs of every origin for lookup and the snapshot."""

    def __init__(self, bus: EventBus, *, workers: int = 1, keep: int = 50) -> None:
        self._bus = bus
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tether-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._keep = keep

    def submit(self, kind: str, work: Work, *, label: str, subject: str = "",
               task: dict[str, Any] | None = None) -> Job:
        """Queue ``work(job)`` on a worker; it returns a JSON-able result dict.

        ``task``: the work's arguments, JSON-able, for a pool that hands the work to other machines
        (``tether.cluster``, which runs the same work there); this pool runs ``work`` itself.
        """
        job = self.track(Job(kind, label=label, subject=subject, bus=self._bus))
        self._executor.submit(job.run, work)
        self._bus.publish("job.progress", **job.to_dict())
        return job

    def track(self, job: Job) -> Job:
        """Keep ``job`` (run elsewhere, e.g. on a camera's owner thread) with the pool's own for lookup."""
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state in FINISHED]
            for old in finished[: max(0, len(self._jobs) - self._keep)]:
                del self._jobs[old.id]
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every kept job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self) -> None:
        """Cancel everything and wait for the workers to stop."""
        for job in self.jobs():
            job.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for job in self.jobs():  # queued jobs whose work never started
            if job.state == "queued":
                job.run(lambda _job: {})
