"""Depth page and living picture benchmark: preview render time, and the living picture's size.

    .venv/bin/python benchmarks/depth.py [--burst FILE] [--frames 60] [--renders 40] [--living]

Without ``--burst`` it sweeps the simulated camera (sim:macro) at 1920x1080 into a temporary folder
(``--frames`` frames). Then, in this process, through the engine's own ``DepthService``:

1. Preview: the one-off preparation per burst (the focus index if missing, the frames at screen size
   and the depth map), then ``--renders`` renders at screen size (960 px long side), each with another
   f-number (from the captured one down to f/0.7, wider than captured) and every third with a
   depth-range adjustment (blur and desaturate the background), JPEG-encoded as the page gets them;
   prints the median and the slowest. Target: <= 200 ms from a change to the new preview.
2. Living picture (``--living``): the size estimate, then the file itself at 1600 px long side, with
   the (format, quality) the plan picked; also every candidate's estimate, to see where the bound
   falls. Target: a 60-frame 1080p burst in at most 12 MB.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from tether.burst import open_burst
from tether.engine.burst_frames import BurstFrames
from tether.engine.bursts import BurstService, store_focus_index
from tether.engine.depth import DepthService, living_picture
from tether.engine.living import CANDIDATES, MAX_BYTES, encode_frame, plan_living
from tether.engine.store import BurstStore
from tether.events import EventBus
from tether.imaging import compute_focus_index
from tether.imaging.depth_edit import DepthEdit
from tether.imaging.display import display_frame, display_size
from tether.jobs import JobPool


def sweep(folder: Path, frames: int) -> Path:
    config = folder / "config.toml"
    config.write_text("[sim]\nliveview_width = 1920\nliveview_height = 1080\nliveview_fps = 30\n", encoding="utf-8")
    out = folder / "data" / "bursts" / "bench.burst"
    out.parent.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "tether", "--config", str(config), "--data-dir", str(folder / "data"),
                    "sweep", "--camera", "sim:macro", "--frames", str(frames), "--out", str(out)], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", type=Path, help="a burst to use (default: a new 1080p sweep of sim:macro)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--renders", type=int, default=40)
    parser.add_argument("--living", action="store_true", help="also measure the living picture")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tether-depth-bench-") as tmp:
        folder = Path(tmp)
        if args.burst:
            (folder / "data" / "bursts").mkdir(parents=True)
            path = folder / "data" / "bursts" / "bench.burst"
            path.write_bytes(args.burst.read_bytes())
        else:
            path = sweep(folder, args.frames)
        bus = EventBus()
        pool = JobPool(bus, workers=1)
        service = DepthService(BurstService(BurstStore(folder / "data"), pool, bus))
        with open_burst(path) as reader:
            source = BurstFrames(reader)
            print(f"burst: {len(source)} frames at {source.shape[1]}x{source.shape[0]}")
            if service.bursts._loaded("bench") is None:
                started = time.perf_counter()
                store_focus_index(path, compute_focus_index(source))
                print(f"focus index (once per burst, usually made at the sweep): {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        info = service.info("bench")
        print(f"preview preparation (once per burst): {time.perf_counter() - started:.2f} s, "
              f"{info['width']}x{info['height']}, {info['frames']} frames")
        shot = info["captured_f_number"] or info["assumed_f_number"]
        times, cpus = [], []
        for k in range(args.renders):
            f_number = shot - (shot - 0.7) * k / max(1, args.renders - 1)
            extra = {"near": 0.0, "far": info["frames"] / 3, "blur": 0.01, "desaturate": 0.5} if k % 3 == 2 else {}
            edit = DepthEdit.from_dict({"focus": [0.3, 0.6], "f_number": f_number, **extra})
            started, cpu = time.perf_counter(), time.process_time()
            service.preview_jpeg("bench", edit)
            times.append(1000 * (time.perf_counter() - started))
            cpus.append(1000 * (time.process_time() - cpu))
        # CPU time beside the wall time: on a shared machine the wall time also counts the waits for a core
        print(f"preview render: median {statistics.median(times):.0f} ms, slowest {max(times):.0f} ms "
              f"over {len(times)} (target <= 200 ms); CPU time median {statistics.median(cpus):.0f} ms, "
              f"most {max(cpus):.0f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if args.living:
            living(service, path)
        pool.shutdown()


def living(service: DepthService, path: Path) -> None:
    loaded = service.bursts._index("bench")
    with open_burst(path) as reader:
        source = BurstFrames(reader)
        size = display_size(source.shape, 1600)
        sample = display_frame(source, loaded.index, len(source) // 2, size)
        for fmt, quality in (*CANDIDATES, ("jpeg", 95), ("jpeg", 85), ("jpeg", 70), ("jpeg", 55)):
            data = encode_frame(sample, fmt, quality)
            psnr = cv2.PSNR(sample, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
            print(f"  {fmt} q{quality}: {len(data) / 1e3:.0f} kB a frame, PSNR {psnr:.1f} dB -> about "
                  f"{4 / 3 * len(data) * (len(source) + 1) / 1e6:.1f} MB for the file")
        started = time.perf_counter()
        plan = plan_living(source, loaded.index)
        print(f"living plan: {plan.fmt} q{plan.quality} at {plan.size[1]}x{plan.size[0]}, "
              f"estimate {plan.estimate / 1e6:.2f} MB ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    data = living_picture(path, loaded, title="bench")
    print(f"living picture: {len(data) / 1e6:.2f} MB of at most {MAX_BYTES / 1e6:.2f} MB "
          f"(estimate off by {100 * (plan.estimate - len(data)) / len(data):+.1f} %), "
          f"made in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
