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

import redis
from celery.exceptions import TaskRevokedError
from kombu.exceptions import OperationalError

from tether.cluster.app import ENGINE_TASK, PROGRESS_CHANNEL, make_app
from tether.config import Settings
from tether.errors import Busy, Cancelled
from tether.events import EventBus
from tether.jobs import Job, JobPool, Result, Work

log = logging.getLogger(__name__)


#: Kombu's retry policy for a server that must answer its request: about two seconds, then the reason.
_PROMPT = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}


class BrokerUnreachable(Busy):
    """The broker refused or did not answer when a job was sent: nothing was queued."""


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
        self._settings = settings
        self._app = self._make_app()
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
        try:
            # the task's id is the job's: the workers' events name the job they belong to
            job.task = self._app.send_task(ENGINE_TASK, args=(kind, subject, task), task_id=job.id)
        except (OperationalError, redis.RedisError, RuntimeError) as exc:
            # Celery's result consumer gives up for good after its retries (a RuntimeError that says the
            # app must be restarted): a new app lets the next job through once the broker is back
            self._app = self._make_app()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            job.fail(BrokerUnreachable(f"{label}: not queued, the cluster's broker cannot be reached ({reason})"))
            return job
        with self._lock:
            self._remote[job.id] = job
        self._bus.publish("job.progress", **job.to_dict())
        threading.Thread(target=job.run, args=(self._waiter(job),), name=f"tether-cluster-{job.id}",
                         daemon=True).start()
        return job

    def _make_app(self) -> Any:
        app = make_app(self._settings)
        # The server gives up on a broker that does not answer after a few seconds, so a request that
        # sends a job is answered promptly (the workers keep Celery's patient defaults: they wait out a
        # broker restart)
        backend = dict(app.conf.result_backend_transport_options)
        backend["retry_policy"] = _PROMPT
        app.conf.result_backend_transport_options = backend
        app.conf.task_publish_retry_policy = _PROMPT
        return app

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
            try:
                event = json.loads(message["data"])
                task = str(event.get("task", ""))
            except (ValueError, TypeError, AttributeError):  # not a worker's event: one stray message ends nothing
                log.warning("ignored a message on %s that is not a worker's event", PROGRESS_CHANNEL)
                continue
            with self._lock:
                job = self._remote.get(task)
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
