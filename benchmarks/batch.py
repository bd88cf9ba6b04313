"""Batch stacking benchmark: bursts per minute in this process, on 1 worker and on 2 workers, and what the
cluster costs a task beyond its stack.

    .venv/bin/python benchmarks/batch.py [--bursts 20] [--frames 8] [--size 1920x1080] [--keep DIR]

The bursts are synthetic focus sweeps (tests/imaging/conftest.py's renderer: textured scene, blur
growing with the distance from the focus plane, noise), JPEG 92 as a camera delivers them; each burst
is the scene shifted by a few pixels, so every one has its own content key and nothing is found
stacked already. redis-server (Debian's) runs on a free loopback port with AOF on, as the README sets
it up; each worker is `tether worker --concurrency 1` pinned to one core with taskset, and is ready
before the clock starts.

    local       tether batch --local DIR        (this process, every core it may use)
    1 worker    tether batch DIR                (one worker on core 0)
    2 workers   tether batch DIR                (workers on cores 0 and 1)

Overhead per task (1 worker): the same batch sent again, where every task finds its result and does
nothing else, timed by the batch command itself (its report's seconds: no interpreter start-up), over
the bursts: the content key, sending, queueing, the worker taking it, the result's round trip. It is
set against the mean time the worker spent stacking a burst. Target (issue 20): <= 2 %.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the renderer and the test cluster live in tests/

from tests.cluster.conftest import Redis, Worker, write_bursts, write_config


def run_batch(config: Path, folder: Path, out: Path, *extra: str, expect: str = "stacked") -> tuple[float, dict]:
    report = out.parent / f"{out.name}-{expect}.json"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tether", "--config", str(config), "batch", str(folder), "--out-dir",
                    str(out), "--json", str(report), *extra], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    result = json.loads(report.read_text())
    assert result[expect] == len(result["items"]), result
    return wall, result


def pinned_worker(config: Path, name: str, core: int) -> Worker:
    """A worker whose every process runs on ``core`` (taskset is inherited by its task process)."""
    os.sched_setaffinity(0, {core})
    try:
        worker = Worker(config, name)
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    worker.wait_for(" ready.")
    return worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temporary folder)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two cores (one for each worker)")
    base = args.keep or Path(tempfile.mkdtemp(prefix="tether-batch-bench-"))
    data = base / "data"
    try:
        write_bursts(data / "bursts", args.bursts, frames=args.frames, shape=(height, width), scenes=1)
        (base / "redis").mkdir()
        redis = Redis(base / "redis").start()
        config = write_config(base / "config.toml", data, redis.url)
        rows = []
        wall, local = run_batch(config, data / "bursts", data / "local", "--local")
        rows.append(("local (this process)", wall, local))
        workers = [pinned_worker(config, "w0", 0)]
        try:
            wall, one = run_batch(config, data / "bursts", data / "one")
            rows.append(("1 worker (1 core)", wall, one))
            _wall, again = run_batch(config, data / "bursts", data / "one", expect="done earlier")
            workers.append(pinned_worker(config, "w1", 1))
            wall, two = run_batch(config, data / "bursts", data / "two")
            rows.append(("2 workers (1 core each)", wall, two))
        finally:
            for worker in workers:
                worker.stop()
            redis.stop()
        print(f"{args.bursts} bursts of {args.frames} frames, {width}x{height}, pyramid, JPEG results\n")
        print("| run | wall time | bursts per minute | mean stack time a burst |")
        print("| --- | ---: | ---: | ---: |")
        for name, seconds, report in rows:
            mean = statistics.mean(item["seconds"] for item in report["items"])
            print(f"| {name} | {seconds:.1f} s | {60 * args.bursts / seconds:.1f} | {mean:.2f} s |")
        stacking = statistics.mean(item["seconds"] for item in one["items"])
        overhead = again["seconds"] / args.bursts
        print(f"\nscheduling overhead a task (1 worker): {1000 * overhead:.0f} ms against {stacking:.2f} s of "
              f"stacking = {100 * overhead / stacking:.1f} % (target <= 2 %)")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
