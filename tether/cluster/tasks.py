"""The tasks a worker runs, on paths relative to the data folder every machine shares.

``tether.stack`` stacks one batch item (:mod:`tether.cluster.batch`). ``tether.engine-job`` runs a
server's job, a stack, export or refocus map of a burst, with the very code the server would run
(:class:`~tether.engine.bursts.BurstService` over the shared data folder), so a result is the
same file wherever it was made. What the work publishes (progress, a new export) goes to the
server over :data:`~tether.cluster.app.PROGRESS_CHANNEL`.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import wait
from pathlib import Path
from typing import Any

from celery import Celery

from tether.cluster.app import ENGINE_TASK, PROGRESS_CHANNEL, STACK_TASK
from tether.cluster.batch import StackOptions, TaskFailed, stack_item
from tether.engine.bursts import BurstService
from tether.engine.store import BurstStore
from tether.errors import TetherError
from tether.events import Event, EventBus
from tether.jobs import JobPool


def register_tasks(app: Celery, data_dir: Path) -> None:
    """Define the tasks on ``app`` for a worker whose data folder is ``data_dir``."""

    @app.task(name=STACK_TASK, bind=True)  # type: ignore[untyped-decorator]
    def stack(task: Any, item: str, out: str, options: dict[str, str]) -> dict[str, Any]:
        publish = publisher(app, task.request.id)

        def report(done: int, total: int, phase: str) -> None:
            publish({"type": "job.progress", "done": done, "total": total, "phase": phase})

        return stack_item(inside(data_dir, item), inside(data_dir, out), StackOptions(**options), report=report)

    @app.task(name=ENGINE_TASK, bind=True)  # type: ignore[untyped-decorator]
    def engine_job(task: Any, kind: str, burst_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return run_engine_job(BurstStore(data_dir), kind, burst_id, params, publisher(app, task.request.id))


def run_engine_job(store: BurstStore, kind: str, burst_id: str, params: dict[str, Any],
                   publish: Callable[[Event], None]) -> dict[str, Any]:
    """Run the server's ``kind`` job on ``burst_id`` here; its result, or TaskFailed with its error."""
    bus = EventBus()
    bus.subscribe(publish)
    # the server's own pool, of one thread: the work runs as it would there (never inline in submit,
    # which BurstService calls holding its lock)
    pool = JobPool(bus, workers=1)
    service = BurstService(store, pool, bus)
    try:
        if kind == "stack":
            frames = params["frames"]
            job = service.start_stack(burst_id, method=params["method"], fmt=params["fmt"],
                                      frames=None if frames is None else (int(frames[0]), int(frames[1])))
        elif kind == "export":
            job = service.start_export(burst_id, params["fmt"], frame=params["frame"])
        elif kind == "refocus-map":
            prepared = service.prepare_refocus(burst_id)
            if prepared is None:  # the burst holds its index already
                return {"burst": burst_id}
            job = prepared
        else:
            raise TaskFailed(f"no job {kind!r} runs on a worker")
        wait([job.future])
    except TetherError as exc:  # the burst is gone, or still being written
        raise TaskFailed(str(exc)) from None
    finally:
        pool.shutdown()
    if job.state != "done":
        raise TaskFailed(job.error)
    assert job.result is not None
    return job.result


def publisher(app: Celery, task_id: str) -> Callable[[Event], None]:
    """Publish an event dict on :data:`PROGRESS_CHANNEL`, tagged with the task and this process."""
    import redis

    client = redis.Redis.from_url(app.conf.broker_url)
    pid = os.getpid()

    def publish(event: Event) -> None:
        client.publish(PROGRESS_CHANNEL, json.dumps({**event, "task": task_id, "pid": pid}, default=str))
    return publish


def inside(data_dir: Path, relative: str) -> Path:
    """``data_dir / relative``, refused when it would lead out of the data folder."""
    root = data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or Path(relative).is_absolute():
        raise TaskFailed(f"{relative}: not inside the data folder")
    return path
