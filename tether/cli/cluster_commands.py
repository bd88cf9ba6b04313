"""``tether worker`` and ``tether batch``: stacking on other machines through Celery, and many stacks at once.

Celery is imported only by a command that uses the cluster: ``tether batch --local`` (or with no
broker configured) stacks in this process and needs nothing of it.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from tether.cli.context import AppContext, pass_app
from tether.cli.progress import progress_bar
from tether.cluster.batch import StackOptions, TaskFailed, content_key, find_items, result_path, stack_item
from tether.errors import TetherError
from tether.fileio import storage_error, write_atomic
from tether.imaging import FORMATS, METHODS

#: Summary table columns: (heading, key in a result row).
COLUMNS = (("item", "item"), ("status", "status"), ("frames", "frames"), ("seconds", "seconds"), ("result", "output"))


@click.command()
@click.option("--concurrency", type=click.IntRange(min=0), default=0,
              help="tasks at once; default from the cores and the memory ([cluster] frame_megapixels)")
@click.option("--name", default="", help="the worker's name (default tether@HOST); two workers on one host need two")
@click.option("--loglevel", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
@pass_app
def worker(app: AppContext, concurrency: int, name: str, loglevel: str) -> None:
    """Take stacking tasks from the [cluster] broker until stopped (Ctrl-C, or SIGTERM: the running ones finish)."""
    from celery.signals import worker_process_init

    from tether.cluster.app import make_app
    from tether.cluster.tasks import register_tasks
    from tether.cluster.worker import capacity, limit_task_memory, node_name

    settings = app.settings()
    celery = make_app(settings)
    register_tasks(celery, settings.data_dir)
    cap = capacity(frame_megapixels=settings.cluster.frame_megapixels, task_memory_mb=settings.cluster.task_memory_mb,
                   concurrency=concurrency)
    worker_process_init.connect(lambda **_: limit_task_memory(cap.task_memory_mb), weak=False)
    node = node_name(name)
    click.echo(f"tether worker {node}: {cap.concurrency} task(s) at once ({cap.cores} cores, {cap.available_mb} MB "
               f"available, up to {cap.task_memory_mb} MB a task); data folder {settings.data_dir}; "
               f"queue {settings.cluster.queue}", err=True)
    celery.worker_main(["worker", f"--concurrency={cap.concurrency}", f"--hostname={node}",
                        f"--queues={settings.cluster.queue}", f"--loglevel={loglevel.upper()}"])


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--method", type=click.Choice(list(METHODS)), default=METHODS.default, show_default=True)
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default=FORMATS.default, show_default=True)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="where the results go; default beside each burst or folder")
@click.option("--skip-done", is_flag=True,
              help="send no task for an item whose result is there (else the task finds it and does nothing)")
@click.option("--local", is_flag=True, help="stack in this process even when [cluster] broker is set")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="write a JSON report")
@pass_app
def batch(app: AppContext, inputs: tuple[Path, ...], method: str, fmt: str, out_dir: Path | None, skip_done: bool,
          local: bool, json_out: Path | None) -> None:
    """Stack every burst, and every folder of images, in INPUTS: on the cluster when one is configured.

    Each result is named by a hash of its frames and the options (NAME-stack-KEY.jpg), so a rerun
    never stacks the same thing twice nor writes over a result.
    """
    settings = app.settings()
    options = StackOptions(method, fmt)
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, out_dir) from None
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    todo = []
    for item in find_items(list(inputs)):
        try:  # an unreadable burst fails alone: the others are still stacked
            out = result_path(item, out_dir, content_key(item, options), options)
        except TetherError as exc:
            rows.append(_failed(item, str(exc)))
            continue
        if skip_done and out.exists():
            rows.append({"item": item.name, "output": out.name, "status": "skipped", "frames": 0, "seconds": 0.0})
        else:
            todo.append((item, out))
    on_cluster = bool(settings.cluster.broker) and not local
    with progress_bar(length=len(todo), label="Stacking" + (" on the cluster" if on_cluster else ""),
                      show_pos=True, show_eta=True) as bar:
        if on_cluster:
            rows += _on_cluster(app, todo, options, bar)
        else:
            for item, out in todo:
                rows.append(_row(item, lambda i=item, o=out: stack_item(i, o, options, report=_quiet)))
                bar.update(1)
    _summary(rows)
    counts = {status: sum(r["status"] == status for r in rows) for status in ("stacked", "done earlier", "skipped",
                                                                             "failed")}
    click.echo(", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing to stack")
    if json_out is not None:
        report = {"items": rows, **counts, "seconds": round(time.monotonic() - started, 3),
                  "cluster": on_cluster, "options": options.to_dict()}
        write_atomic(json_out, json.dumps(report, indent=2).encode())
    if counts["failed"]:
        sys.exit(1)


def _on_cluster(app: AppContext, todo: list[tuple[Path, Path]], options: StackOptions,
                bar: Any) -> list[dict[str, Any]]:
    """Send one task an item and wait for them all, in order; Ctrl-C revokes what has not finished."""
    from tether.cluster.app import STACK_TASK, make_app, relative

    settings = app.settings()
    celery = make_app(settings)
    root = settings.data_dir
    sent = [celery.send_task(STACK_TASK, args=(relative(item, root), relative(out, root), options.to_dict()))
            for item, out in todo]
    rows = []
    try:
        for (item, _out), result in zip(todo, sent, strict=True):
            rows.append(_row(item, lambda r=result: _fetch(r)))
            bar.update(1)
    except KeyboardInterrupt:
        for result in sent:
            if not result.ready():
                result.revoke(terminate=True)
        raise
    return rows


def _fetch(result: Any) -> dict[str, Any]:
    """A task's result; TaskFailed also for what Celery reports (revoked, a worker's own error)."""
    try:
        return dict(result.get(propagate=True))
    except TaskFailed:
        raise
    except Exception as exc:
        raise TaskFailed(f"{type(exc).__name__}: {exc}") from None


def _row(item: Path, run: Any) -> dict[str, Any]:
    """What ``run()`` (one item's stack, here or on a worker) returned, or why it failed, as a report row."""
    try:
        return dict(run())
    except TaskFailed as exc:
        return _failed(item, str(exc))


def _failed(item: Path, error: str) -> dict[str, Any]:
    """The report row of an item that failed: no output was written for it."""
    return {"item": item.name, "output": "", "status": "failed", "frames": 0, "seconds": 0.0, "error": error}


def _quiet(_done: int, _total: int, _stage: str) -> None:
    """One item's own progress is not shown: the bar counts items."""


def _summary(rows: list[dict[str, Any]]) -> None:
    cells = [[h for h, _ in COLUMNS], *([str(r.get(k, "")) for _, k in COLUMNS] for r in rows)]
    widths = [max(len(row[c]) for row in cells) for c in range(len(COLUMNS))]
    for row in cells:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for r in rows:
        if r.get("error"):
            click.echo(f"failed: {r['error']}", err=True)


COMMANDS = [worker, batch]
