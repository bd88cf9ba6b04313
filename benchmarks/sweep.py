"""Sweep benchmark: is the capture pipeline ever the bottleneck? And how long is a pre-scan?

    .venv/bin/python benchmarks/sweep.py [--runs 3] [--width 1920 --height 1080 --fps 30] [--dir DIR]
                                         [--movie 3840x2160]

For the simulated camera (``sim:macro``) at the given live-view size and rate:

* reference: the camera alone, in the same run: a focus step and a live-view frame, repeated, with
  nothing done with the frames (the fastest any sweep can go);
* sweep: a live-view sweep over the same positions through ``run_sweep``: every frame appended
  durably to a burst (fsync), per-frame tile sharpness on the worker thread, pass 1 and the live stack
  preview on another (as the panel sweeps), progress events;
  its rate against the reference (per run, then the median) is the target (>= 95 %: the pipeline
  is never the bottleneck); the two costs the pipeline adds per frame are also timed alone;
* ready when the sweep ends: a 60-frame live-view sweep whose frames are analysed (pass 1 of refocus and
  stacking, and the live stack preview) while it captures; seconds from its last frame until a refocus tap
  is answered (the index stored in the burst, loaded as the panel loads it, one tap) and until a full stack
  (pass 2 only, default method) is written as JPEG, and its capture rate against the reference
  (targets <= 0.5 s, <= 2 s, >= 95 %); pass 2 and the JPEG also alone, in seconds and in CPU seconds
  (which another engineer's work on the machine changes less);
* pre-scan: frames and seconds of a full automatic pre-scan (homing, coarse scan, step-size
  measurement) from the middle of the focus range;
* movie sweep (``--movie``, the movie size; 0x0 skips it): pre-scan, then a continuous movie sweep
  at the camera's 30 fps: commands a second while recording against the camera's frame rate
  (target >= 90 %), the camera's writing-and-download time and the split (decode, sharpness, the
  timing estimate, JPEG, burst) per frame, and the peak of Python's allocations (numpy's included)
  up to the download (the simulated camera's renderer and caches) and during the split, which stays
  bounded whatever the movie's length (frames are decoded one at a time). The simulated camera
  renders its movie when recording stops, so its "download" is the render and the H.264 encode.

Medians of --runs runs. Bursts go to a temporary folder in --dir (default: the current directory,
not /tmp, which is often RAM).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from tether.burst import BurstWriter, FrameMeta, decode_frame, open_burst
from tether.camera.ids import parse_camera_id
from tether.camera.sim import SimCamera
from tether.camera.types import FocusDirection, StepClass
from tether.capture import PrescanOptions, SweepOptions, run_prescan, run_sweep
from tether.capture.sharpness import summarize
from tether.capture.sweep import Hooks
from tether.config import Settings
from tether.engine.burst_frames import BurstFrames
from tether.imaging import FOCUS_INDEX_NAME, FocusIndex, stack_frames, write_image
from tether.imaging.analysis import FocusIndexBuilder
from tether.imaging.live_stack import LiveStack

RANGE = (20, 200)
STEP = StepClass.SMALL
COUNT = 2
#: The ready-when-the-sweep-ends case: 60 frames over the same stretch of focus.
LIVE_COUNT = 3
LIVE_RANGE = (RANGE[0], RANGE[0] + 59 * LIVE_COUNT)


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
    # as the panel sweeps: the frames analysed while captured
    result = run_sweep(cam, SweepOptions(range=RANGE, step=STEP, step_count=COUNT), folder / f"sweep-{run}.burst",
                       Hooks(analyse=True))
    cam.close()
    return result["fps"], result["frames"]


def live_sweep(settings: Settings, folder: Path, run: int) -> dict[str, float]:
    """A 60-frame sweep analysed while it captures: seconds from its last frame to a refocus answer and to a
    written stack, its capture rate, and the live previews sent."""
    cam = camera(settings)
    last = [0.0]
    previews = [0]
    hooks = Hooks(on_saved=lambda index, pos: last.__setitem__(0, time.perf_counter()),
                  on_preview=lambda jpeg, frames: previews.__setitem__(0, previews[0] + 1), analyse=True)
    path = folder / f"live-{run}.burst"
    result = run_sweep(cam, SweepOptions(range=LIVE_RANGE, step=STEP, step_count=LIVE_COUNT), path, hooks)
    cam.close()
    assert result["focus_index"], "the sweep stored no focus index"
    with open_burst(path) as reader:  # what the panel's first tap does: load the stored index, answer
        index = FocusIndex.from_bytes(reader.derived(FOCUS_INDEX_NAME))
        h, w = index.shape
        index.refocus(w / 2, h / 2)
        refocus = time.perf_counter() - last[0]
        cpu = time.process_time()  # (the sweep's threads have ended: this is pass 2's, on a busy machine too)
        source = BurstFrames(reader)
        image = stack_frames(source, index=index).image
        write_image(folder / f"live-{run}.jpg", image, exif_from=source.exif_source())
    stack = time.perf_counter() - last[0]
    return {"frames": result["frames"], "fps": result["fps"], "refocus_s": refocus, "stack_s": stack,
            "pass2_s": stack - refocus, "pass2_cpu_s": time.process_time() - cpu, "previews": previews[0]}


def prescan(settings: Settings) -> tuple[int, float, float]:
    cam = camera(settings)
    result, _ = run_prescan(cam, PrescanOptions())
    cam.close()
    return result.frames, result.seconds, result.scale.large


def pipeline_ms(settings: Settings, folder: Path, frames: int = 30) -> tuple[float, float, float]:
    """Median milliseconds per frame of the jobs the pipeline adds: durable append, tile sharpness, and
    pass 1 with the live stack (decode at pass 1's size, register, measure, fold into the preview)."""
    cam = camera(settings)
    data = []
    for _ in range(frames):
        data.append(cam.live_view_frame())
        cam.drive_focus(FocusDirection.FAR, STEP, LIVE_COUNT)
    cam.close()
    appends, sharp, analysis = [], [], []
    builder = FocusIndexBuilder((data[0].height, data[0].width))
    live = LiveStack((data[0].height, data[0].width))
    with BurstWriter.create(folder / "pipeline.burst", camera={}, sweep={}) as writer:
        for frame in data:
            start = time.perf_counter()
            writer.append(frame.data, FrameMeta(focus_position=0, width=frame.width, height=frame.height))
            appends.append(time.perf_counter() - start)
            start = time.perf_counter()
            summarize(frame.data, width=frame.width)
            sharp.append(time.perf_counter() - start)
            start = time.perf_counter()
            image = decode_frame(frame.data, reduce=builder.read_reduce)
            assert image is not None
            live.add(image, builder.add(image))
            analysis.append(time.perf_counter() - start)
    append_ms, sharp_ms, analysis_ms = (statistics.median(t) * 1000 for t in (appends, sharp, analysis))
    return append_ms, sharp_ms, analysis_ms


def movie_sweep(settings: Settings, folder: Path, run: int) -> dict[str, float]:
    """One pre-scan and movie sweep; the phases' times from the job's progress, and the allocation peak."""
    cam = camera(settings)
    seen: dict[str, list[tuple[float, float]]] = {}

    camera_peak = held = 0

    def progress(done: float, total: float, **kw: object) -> None:
        nonlocal camera_peak, held
        phase = str(kw.get("phase", ""))
        if phase == "splitting" and phase not in seen:  # the camera's part ends: the split's peak from here,
            held, camera_peak = tracemalloc.get_traced_memory()  # above what the camera's caches still hold
            tracemalloc.reset_peak()
        seen.setdefault(phase, []).append((time.perf_counter(), done))

    tracemalloc.start()
    result = run_sweep(cam, SweepOptions(mode="movie"), folder / f"movie-{run}.burst", Hooks(progress=progress))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    cam.close()
    recording, downloading, splitting = seen["recording"], seen["downloading"], seen["splitting"]
    frames = result["frames"]
    return {"commands": recording[-1][1], "frames": frames,
            "command_fps": (recording[-1][1] - recording[0][1]) / (recording[-1][0] - recording[0][0]),
            "download_ms": (downloading[-1][0] - recording[-1][0]) * 1000 / frames,
            "split_ms": (splitting[-1][0] - downloading[-1][0]) * 1000 / frames, "peak_mb": (peak - held) / 2**20,
            "camera_peak_mb": camera_peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--dir", type=Path, default=Path.cwd())
    parser.add_argument("--movie", default="3840x2160", help="movie size WxH of the movie sweep; 0x0 skips it")
    args = parser.parse_args()
    movie_w, movie_h = (int(v) for v in args.movie.split("x"))
    settings = Settings().with_overrides({"sim": {"liveview_width": args.width, "liveview_height": args.height,
                                                  "liveview_fps": args.fps, "movie_width": max(movie_w, 64),
                                                  "movie_height": max(movie_h, 48)}})
    frames = (RANGE[1] - RANGE[0]) // COUNT + 1
    refs, sweeps, ratios, scans, movies, lives = [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="tether-bench-", dir=args.dir) as tmp:
        reference_fps(settings, frames)  # warm-up: the scene's textures and blur kernels are cached per process
        for run in range(args.runs):
            refs.append(reference_fps(settings, frames))
            fps, taken = sweep_fps(settings, Path(tmp), run)
            assert taken == frames, (taken, frames)
            sweeps.append(fps)
            ratios.append(fps / refs[-1])
            lives.append(live_sweep(settings, Path(tmp), run))
            lives[-1]["ratio"] = lives[-1]["fps"] / refs[-1]
            print(f"run {run + 1}: 60-frame sweep analysed while capturing: refocus {lives[-1]['refocus_s']:.2f} s "
                  f"and stack {lives[-1]['stack_s']:.2f} s after its last frame (pass 2 {lives[-1]['pass2_s']:.2f} s, "
                  f"{lives[-1]['pass2_cpu_s']:.2f} s CPU), {lives[-1]['fps']:.2f} fps", flush=True)
            scans.append(prescan(settings))
            print(f"run {run + 1}: camera alone {refs[-1]:.2f} fps, sweep {fps:.2f} fps, "
                  f"pre-scan {scans[-1][0]} frames in {scans[-1][1]:.2f} s", flush=True)
            if movie_w:
                movies.append(movie_sweep(settings, Path(tmp), run))
                print(f"run {run + 1}: movie sweep {movies[-1]['commands']:.0f} commands at "
                      f"{movies[-1]['command_fps']:.2f} a second, {movies[-1]['frames']:.0f} frames", flush=True)
        append_ms, sharp_ms, analysis_ms = pipeline_ms(settings, Path(tmp))
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
    print(f"{'  pass 1 + live stack (ms, analysis thread)':<44}{analysis_ms:>12.1f}")
    def live(key: str) -> float:
        return statistics.median(v[key] for v in lives)

    print(f"60-frame sweep, analysed while it captures ({LIVE_COUNT} small steps apart)")
    print(f"{'  refocus answers, after the last frame (s)':<44}{live('refocus_s'):>12.2f}  "
          f"{'OK' if live('refocus_s') <= 0.5 else 'ABOVE TARGET'} (<= 0.5)")
    print(f"{'  full stack written, after the last frame (s)':<44}{live('stack_s'):>12.2f}  "
          f"{'OK' if live('stack_s') <= 2.0 else 'ABOVE TARGET'} (<= 2)")
    print(f"{'    of which pass 2 and the JPEG (s)':<44}{live('pass2_s'):>12.2f}")
    print(f"{'    pass 2 and the JPEG, CPU time (s)':<44}{live('pass2_cpu_s'):>12.2f}")
    print(f"{'  capture rate / reference':<44}{live('ratio') * 100:>11.1f}%  "
          f"{'OK' if live('ratio') >= 0.95 else 'BELOW TARGET'}")
    print(f"{'  live stack previews sent':<44}{live('previews'):>12.0f}")
    print(f"{'pre-scan length (frames)':<44}{statistics.median(s[0] for s in scans):>12.0f}")
    print(f"{'pre-scan length (seconds)':<44}{statistics.median(s[1] for s in scans):>12.2f}")
    print(f"{'pre-scan: large step measured (small steps)':<44}{statistics.median(s[2] for s in scans):>12.2f}")
    if movies:
        def median(key: str) -> float:
            return statistics.median(m[key] for m in movies)

        print(f"movie sweep {movie_w}x{movie_h} at 30 fps (pre-scan first)")
        print(f"{'  commands while recording':<44}{median('commands'):>12.0f}")
        print(f"{'  frames kept (every movie frame)':<44}{median('frames'):>12.0f}")
        ratio = median("command_fps") / 30.0
        print(f"{'  steps a second / camera fps (target >= 90 %)':<44}{ratio * 100:>11.1f}%  "
              f"{'OK' if ratio >= 0.9 else 'BELOW TARGET'}")
        print(f"{'  camera writes + download (ms per frame)':<44}{median('download_ms'):>12.1f}")
        print(f"{'  split: decode, estimate, JPEG, burst (ms/fr)':<44}{median('split_ms'):>12.1f}")
        print(f"{'  peak allocations, camera + record (MB)':<44}{median('camera_peak_mb'):>12.1f}")
        print(f"{'  peak allocations, split, above that (MB)':<44}{median('peak_mb'):>12.1f}")


if __name__ == "__main__":
    main()
