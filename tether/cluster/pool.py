"""Cluster tasks as the engine's jobs: a server with ``[cluster] broker`` hands its stacks, exports and
refocus maps to the workers, and the panel sees them as it sees local jobs.

:class:`ClusterPool` is a :class:`~tether.jobs.JobPool` whose ``submit`` sends a job that carries
its arguments (``task=``) to the broker instead of running it; what carries none runs here as
before. The job is a plain tether :class:`~tether.jobs.Job`: a thread of the pool waits for the
task's result and ends the job with it, the workers' progress (and the exports they add) arrive
over the Redis channel and are published on the server's bus, and a cancel revokes the task,
ending the process that runs it.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

from celery.exceptions import TaskRevokedError

from tether.cluster.app import ENGINE_TASK, PROGRESS_CHANNEL, make_app
from tether.config import Settings
from tether.errors import Cancelled
from tether.events import EventBus
from tether.jobs import Job, JobPool, Result, Work

log = logging.getLogger(__name__)


class ClusterJob(Job):
    """A job whose work is a Celery task: a cancel also revokes the task, ending it where it runs."""

    task: Any = None

    def cancel(self) -> bool:
        if not super().cancel():
            return False
        if self.task is not None:
            self.task.revoke(terminate=True)
        return True


class ClusterPool(JobPool):
    """Sends jobs that carry their arguments to the cluster; runs the others on its own threads."""

    def __init__(self, bus: EventBus, settings: Settings, *, workers: int = 1) -> None:
        super().__init__(bus, workers=workers)
        self._app = make_app(settings)
        self._remote: dict[str, ClusterJob] = {}  # by task id
        self._closing = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="tether-cluster-events", daemon=True)
        self._listener.start()

    def submit(self, kind: str, work: Work, *, label: str, subject: str = "",
               task: dict[str, Any] | None = None) -> Job:
        if task is None:
            return super().submit(kind, work, label=label, subject=subject)
        job = ClusterJob(kind, label=label, subject=subject, bus=self._bus)
        self.track(job)
        # the task's id is the job's: the workers' events name the job they belong to
        job.task = self._app.send_task(ENGINE_TASK, args=(kind, subject, task), task_id=job.id)
        with self._lock:
            self._remote[job.id] = job
        self._bus.publish("job.progress", **job.to_dict())
        threading.Thread(target=job.run, args=(self._waiter(job),), name=f"tether-cluster-{job.id}",
                         daemon=True).start()
        return job

    def _waiter(self, job: ClusterJob) -> Work:
        def wait(_job: Job) -> Result:
            try:
                return dict(job.task.get(propagate=True, disable_sync_subtasks=False))
            except TaskRevokedError:
                raise Cancelled(f"{job.label} cancelled") from None
            finally:
                with self._lock:
                    self._remote.pop(job.id, None)
        return wait

    def _listen(self) -> None:
        """Turn the workers' events into the jobs' progress and the server's own events."""
        import redis

        pubsub = redis.Redis.from_url(self._app.conf.broker_url).pubsub(ignore_subscribe_messages=True)
        while not self._closing.is_set():
            try:
                if not pubsub.subscribed:
                    pubsub.subscribe(PROGRESS_CHANNEL)
                message = pubsub.get_message(timeout=0.5)
            except redis.RedisError:  # the broker down or restarting: its queue survives, so does this listener
                self._closing.wait(1.0)
                continue
            if message is None:
                continue
            event = json.loads(message["data"])
            with self._lock:
                job = self._remote.get(event.get("task", ""))
            if job is None:
                continue
            kind = event.pop("type", "")
            if kind == "job.progress" and job.state == "running":
                job.report(event.get("done", 0), event.get("total", 0), phase=event.get("phase", ""))
            elif kind in ("export.added", "burst.added"):
                self._bus.publish(kind, **{k: v for k, v in event.items() if k not in ("task", "pid", "time")})
        pubsub.close()

    def shutdown(self) -> None:
        self._closing.set()
        super().shutdown()
        self._listener.join(timeout=5)
