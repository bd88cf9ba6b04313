"""`tether batch` on a real cluster: redis-server and `tether worker` processes, as a studio runs them."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.cluster.conftest import PATIENCE, write_bursts, write_config
from tether.cluster.app import PROGRESS_CHANNEL

pytestmark = pytest.mark.slow


def batch(config: Path, *args: str, check: bool = True) -> dict:
    """Run `tether batch` and return its JSON report."""
    report = config.parent / f"report-{time.monotonic_ns()}.json"
    done = subprocess.run([sys.executable, "-m", "tether", "--config", str(config), "batch", *args, "--json",
                           str(report)], capture_output=True, text=True, timeout=PATIENCE * 2)
    assert done.returncode == (0 if check else 1), done.stdout + done.stderr
    return json.loads(report.read_text())


def rows_by_item(report: dict) -> dict[str, dict]:
    return {row["item"]: row for row in report["items"]}


def test_two_workers_stack_twenty_bursts_as_a_local_batch_does_and_a_rerun_does_nothing_again(
        tmp_path, redis_server, start_workers):
    data = tmp_path / "data"
    bursts = write_bursts(data / "shoot", 20)
    config = write_config(tmp_path / "config.toml", data, redis_server.url)
    start_workers(config, "w1", "w2")

    report = batch(config, str(data / "shoot"))
    assert report["cluster"] and report["stacked"] == 20, report
    assert len({row["worker"] for row in report["items"]}) == 2, "both workers took tasks"

    local = batch(config, "--local", "--out-dir", str(tmp_path / "local"), str(data / "shoot"))
    assert not local["cluster"] and local["stacked"] == 20
    for burst in bursts:
        [cluster_result] = data.glob(f"shoot/{burst.stem}-stack-*.jpg")
        assert cluster_result.read_bytes() == (tmp_path / "local" / cluster_result.name).read_bytes()
    assert not list(data.rglob("*.part"))

    # A rerun: every task finds its result and leaves it as it was; --skip-done sends none at all.
    stamps = {p: p.stat().st_mtime_ns for p in data.glob("shoot/*.jpg")}
    again = batch(config, str(data / "shoot"))
    assert again["done earlier"] == 20 and again["stacked"] == 0
    write_bursts(data / "more", 1)
    (data / "more" / "b000.burst").rename(data / "shoot" / "new.burst")
    skipping = batch(config, "--skip-done", str(data / "shoot"))
    assert skipping["skipped"] == 20 and rows_by_item(skipping)["new.burst"]["status"] == "stacked"
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_a_worker_killed_mid_task_loses_nothing_and_the_task_completes_once(tmp_path, redis_server, start_workers):
    data = tmp_path / "data"
    # big enough to be caught half-way: a few seconds of stacking
    [burst] = write_bursts(data / "big", 1, frames=6, shape=(720, 960))
    config = write_config(tmp_path / "config.toml", data, redis_server.url)
    start_workers(config, "w1", "w2")
    listener = redis.Redis.from_url(redis_server.url).pubsub()
    listener.subscribe(PROGRESS_CHANNEL)

    running = subprocess.Popen([sys.executable, "-m", "tether", "--config", str(config), "batch", str(burst),
                                "--json", str(tmp_path / "report.json")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + PATIENCE
    victim = None
    while victim is None and time.monotonic() < deadline:
        message = listener.get_message(timeout=1.0)
        if message and message["type"] == "message":
            victim = json.loads(message["data"])["pid"]
    assert victim, "no progress from the task"
    os.kill(victim, signal.SIGKILL)
    assert running.wait(timeout=PATIENCE * 2) == 0

    [row] = json.loads((tmp_path / "report.json").read_text())["items"]
    assert row["status"] == "stacked" and not row["worker"].endswith(f":{victim}")
    assert len(list((data / "big").glob("*-stack-*.jpg"))) == 1
    assert not [p.name for p in (data / "big").iterdir() if p.name.startswith(".")], "a partial file is left"


def test_queued_tasks_survive_a_broker_restart_and_a_burst_deleted_meanwhile_fails_clearly(
        tmp_path, redis_server, start_workers):
    data = tmp_path / "data"
    bursts = write_bursts(data / "queued", 3)
    config = write_config(tmp_path / "config.toml", data, redis_server.url)
    # no worker yet: the batch's tasks wait in the broker
    running = subprocess.Popen([sys.executable, "-m", "tether", "--config", str(config), "batch", str(data / "queued"),
                                "--json", str(tmp_path / "report.json")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    broker = redis.Redis.from_url(redis_server.url)
    deadline = time.monotonic() + PATIENCE
    while broker.llen("tether") < 3:
        assert time.monotonic() < deadline, "the tasks never reached the queue"
        time.sleep(0.05)
    broker.close()
    redis_server.stop()
    redis_server.start()  # same port, same folder: its append-only file brings the queue back
    bursts[1].unlink()
    start_workers(config, "w1")

    _out, err = running.communicate(timeout=PATIENCE * 2)
    assert running.returncode == 1  # one item failed
    rows = rows_by_item(json.loads((tmp_path / "report.json").read_text()))
    assert [rows[b.name]["status"] for b in bursts] == ["stacked", "failed", "stacked"]
    assert "b001.burst is gone: it was deleted or moved after it was queued" in rows["b001.burst"]["error"]
    assert "b001.burst is gone" in err


def test_a_task_that_runs_out_of_memory_fails_with_the_reason_and_is_not_retried(tmp_path, redis_server,
                                                                                 start_workers):
    data = tmp_path / "data"
    write_bursts(data / "big", 1, frames=6, shape=(720, 960))  # needs about 150 MB of address space
    config = write_config(tmp_path / "config.toml", data, redis_server.url, cluster="task_memory_mb = 5\n")
    [worker] = start_workers(config, "w1")

    report = batch(config, str(data / "big"), check=False)
    [row] = report["items"]
    assert row["status"] == "failed"
    assert "b000.burst: ran out of memory (raise [cluster] task_memory_mb" in row["error"]
    assert redis.Redis.from_url(redis_server.url).llen("tether") == 0  # not back in the queue
    assert sum("tether.stack[" in line and "received" in line for line in worker.log) == 1
    assert not list((data / "big").glob("*.jpg")) and not list((data / "big").glob(".*"))
