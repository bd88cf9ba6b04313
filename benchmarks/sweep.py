"""Sweep benchmark: is the capture pipeline ever the bottleneck? And how long is a pre-scan?

    .venv/bin/python benchmarks/sweep.py [--runs 3] [--width 1920 --height 1080 --fps 30] [--dir DIR]

For the simulated camera (``sim:macro``) at the given live-view size and rate:

* reference: the camera alone, in the same run: a focus step and a live-view frame, repeated, with
  nothing done with the frames (the fastest any sweep can go);
* sweep: a live-view sweep over the same positions through ``run_sweep``: every frame appended
  durably to a burst (fsync), per-frame tile sharpness on the worker thread, progress events;
  its rate against the reference (per run, then the median) is the target (>= 95 %: the pipeline
  is never the bottleneck); the two costs the pipeline adds per frame are also timed alone;
* pre-scan: frames and seconds of a full automatic pre-scan (homing, coarse scan, step-size
  measurement) from the middle of the focus range.

Medians of --runs runs. Bursts go to a temporary folder in --dir (default: the current directory,
not /tmp, which is often RAM).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tether.burst import BurstWriter, FrameMeta
from tether.camera.ids import parse_camera_id
from tether.camera.sim import SimCamera
from tether.camera.types import FocusDirection, StepClass
from tether.capture import PrescanOptions, SweepOptions, run_prescan, run_sweep
from tether.capture.sharpness import summarize
from tether.config import Settings

RANGE = (20, 200)
STEP = StepClass.SMALL
COUNT = 2


def camera(settings: Settings, scene: str = "macro") -> SimCamera:
    cam = SimCamera(parse_camera_id(f"sim:{scene}"), settings.sim)
    cam.open()
    return cam


def reference_fps(settings: Settings, frames: int) -> float:
    """Frames per second of the camera alone over the sweep's positions: step, frame, step, frame ..."""
    cam = camera(settings)
    cam.drive_focus(FocusDirection.NEAR, StepClass.LARGE, 20)   # the near end stop, as a sweep starts
    cam.drive_focus(FocusDirection.FAR, StepClass.SMALL, RANGE[0])
    cam.live_view_frame()
    start = time.perf_counter()
    for _ in range(frames - 1):
        cam.drive_focus(FocusDirection.FAR, STEP, COUNT)
        cam.live_view_frame()
    fps = (frames - 1) / (time.perf_counter() - start)
    cam.close()
    return fps


def sweep_fps(settings: Settings, folder: Path, run: int) -> tuple[float, int]:
    cam = camera(settings)
    result = run_sweep(cam, SweepOptions(range=RANGE, step=STEP, step_count=COUNT), folder / f"sweep-{run}.burst")
    cam.close()
    return result["fps"], result["frames"]


def prescan(settings: Settings) -> tuple[int, float, float]:
    cam = camera(settings)
    result, _ = run_prescan(cam, PrescanOptions())
    cam.close()
    return result.frames, result.seconds, result.scale.large


def pipeline_ms(settings: Settings, folder: Path, frames: int = 30) -> tuple[float, float]:
    """Median milliseconds per frame of the two jobs the pipeline adds: durable append, tile sharpness."""
    cam = camera(settings)
    data = [cam.live_view_frame() for _ in range(frames)]
    cam.close()
    appends, sharp = [], []
    with BurstWriter.create(folder / "pipeline.burst", camera={}, sweep={}) as writer:
        for frame in data:
            start = time.perf_counter()
            writer.append(frame.data, FrameMeta(focus_position=0, width=frame.width, height=frame.height))
            appends.append(time.perf_counter() - start)
            start = time.perf_counter()
            summarize(frame.data, width=frame.width)
            sharp.append(time.perf_counter() - start)
    return statistics.median(appends) * 1000, statistics.median(sharp) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--dir", type=Path, default=Path.cwd())
    args = parser.parse_args()
    settings = Settings().with_overrides({"sim": {"liveview_width": args.width, "liveview_height": args.height,
                                                  "liveview_fps": args.fps}})
    frames = (RANGE[1] - RANGE[0]) // COUNT + 1
    refs, sweeps, ratios, scans = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="tether-bench-", dir=args.dir) as tmp:
        reference_fps(settings, frames)  # warm-up: the scene's textures and blur kernels are cached per process
        for run in range(args.runs):
            refs.append(reference_fps(settings, frames))
            fps, taken = sweep_fps(settings, Path(tmp), run)
            assert taken == frames, (taken, frames)
            sweeps.append(fps)
            ratios.append(fps / refs[-1])
            scans.append(prescan(settings))
            print(f"run {run + 1}: camera alone {refs[-1]:.2f} fps, sweep {fps:.2f} fps, "
                  f"pre-scan {scans[-1][0]} frames in {scans[-1][1]:.2f} s", flush=True)
        append_ms, sharp_ms = pipeline_ms(settings, Path(tmp))
    ref, sweep, ratio = statistics.median(refs), statistics.median(sweeps), statistics.median(ratios)
    print()
    print(f"sim:macro live view {args.width}x{args.height} at {args.fps:g} fps; sweep of {frames} frames "
          f"({COUNT} small steps apart), median of {args.runs} runs")
    print(f"{'measure':<44}{'value':>12}")
    print(f"{'camera rate, nominal (fps)':<44}{args.fps:>12.2f}")
    print(f"{'camera alone: step + frame (fps, reference)':<44}{ref:>12.2f}")
    print(f"{'sweep into a burst (fps)':<44}{sweep:>12.2f}")
    print(
        f"{'sweep / reference, per run (target >= 95 %)':<44}{ratio * 100:>11.1f}%  "
        f"{'OK' if ratio >= 0.95 else 'BELOW TARGET'}"
    )
    print(f"{'sweep / nominal camera rate':<44}{sweep / args.fps * 100:>11.1f}%")
    print(f"{'frame interval at the camera rate (ms)':<44}{1000 / args.fps:>12.1f}")
    print(f"{'  append to burst, durable (ms, camera thr.)':<44}{append_ms:>12.1f}")
    print(f"{'  tile sharpness (ms, worker thread)':<44}{sharp_ms:>12.1f}")
    print(f"{'pre-scan length (frames)':<44}{statistics.median(s[0] for s in scans):>12.0f}")
    print(f"{'pre-scan length (seconds)':<44}{statistics.median(s[1] for s in scans):>12.2f}")
    print(f"{'pre-scan: large step measured (small steps)':<44}{statistics.median(s[2] for s in scans):>12.2f}")


if __name__ == "__main__":
    main()
