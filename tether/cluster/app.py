"""The Celery app, made from the ``[cluster]`` settings: the one place tether talks to Celery's configuration.

Imported only when a broker is configured (``tether worker``, ``tether batch`` on the cluster,
a server with ``[cluster] broker``): with none, nothing of Celery is loaded.

Every task is long and coarse (one burst), so the settings are Celery's for long tasks: a task
is acknowledged only when it has finished (``acks_late``), goes back to the queue when the
process running it dies (``reject_on_worker_lost``), and a worker holds one task a process at
a time (``worker_prefetch_multiplier = 1``), so a slow machine does not sit on work a free one
could do.
"""
from __future__ import annotations

from pathlib import Path

from celery import Celery

from tether.config import Settings
from tether.errors import InvalidInput

#: The task that stacks one batch item; sent by name, so a client needs no task code.
STACK_TASK = "tether.stack"
#: The task that runs a server's job (a stack, export or refocus map of a burst in the data folder).
ENGINE_TASK = "tether.engine-job"
#: The Redis channel workers publish on: ``{"task": id, "pid": pid, **event}``, events as on tether's bus.
PROGRESS_CHANNEL = "tether:progress"


class NotConfigured(InvalidInput):
    """A cluster command without a broker in the configuration."""


def make_app(settings: Settings) -> Celery:
    """The Celery app of the configured broker; NotConfigured when there is none."""
    cluster = settings.cluster
    if not cluster.broker:
        raise NotConfigured("no broker configured: set [cluster] broker in the config file",
                            hint='like broker = "redis://:PASSWORD@10.0.0.5:6379/0"; see README, "Several machines"')
    transport = {"visibility_timeout": cluster.visibility_timeout}
    app = Celery("tether", broker=cluster.broker, backend=cluster.result_backend or cluster.broker)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_default_queue=cluster.queue,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        # a task running when the broker went away is redelivered, not silently lost
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        result_expires=7 * 24 * 3600,
    )
    return app


def relative(path: Path, data_dir: Path) -> str:
    """``path`` as the workers name it: relative to the shared data folder; InvalidInput when outside it."""
    root, full = data_dir.resolve(), path.resolve()
    if not full.is_relative_to(root):
        raise InvalidInput(f"{path}: outside the data folder {root}, which the workers share",
                           hint="put it under the data folder (or run without the cluster: --local)")
    return full.relative_to(root).as_posix()
