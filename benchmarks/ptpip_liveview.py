"""Live view through libgphoto2 from the virtual Lumix over PTP/IP, and the supervisor's cost per frame.

    .venv/bin/python benchmarks/ptpip_liveview.py [--frames 60] [--runs 5] [--library wheel|system]

The virtual Lumix runs in its own process and replays frames the simulated camera rendered
beforehand, so the main figures measure the transport (PTP/IP, libgphoto2, python-gphoto2, the pipe
to the supervised child), not the renderer; the last column renders every frame live.
Targets: >= 25 fps at 1920x1080; proxy overhead <= 3 ms.
Figures are medians over --runs runs; the in-process driver is the reference measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

from tether.camera.base import Camera
from tether.camera.ids import CameraId, parse_camera_id
from tether.camera.types import CameraInfo, Capabilities, CapturedFile, Frame
from tether.config import Settings

SIZES = [(640, 480), (1920, 1080)]


class Replay(Camera):
    """Frames rendered once by the simulated camera, served in a loop."""

    def __init__(self, frames: list[Frame]) -> None:
        self.frames = frames
        self.index = 0

    @property
    def info(self) -> CameraInfo:
        return CameraInfo("replay", "replay", capabilities=Capabilities(live_view=True))

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def settings(self):
        return []

    def _write_setting(self, name, value) -> None:
        pass

    def live_view_frame(self) -> Frame:
        self.index = (self.index + 1) % len(self.frames)
        return self.frames[self.index]

    def capture_still(self) -> CapturedFile:
        frame = self.live_view_frame()
        return CapturedFile(frame.data, "still.jpg", "image/jpeg", time.time(), frame.width, frame.height)


def render(width: int, height: int, count: int = 8) -> list[Frame]:
    """``count`` live-view frames from the simulated camera, focus moving between them."""
    from tether.camera.sim import SimCamera
    from tether.camera.types import FocusDirection, StepClass

    settings = Settings().with_overrides({"sim": {"liveview_width": width, "liveview_height": height}})
    camera = SimCamera(parse_camera_id("sim:macro"), settings.sim)
    camera.open()
    frames = []
    try:
        for _ in range(count):
            frames.append(camera.live_view_frame())
            camera.drive_focus(FocusDirection.NEAR, StepClass.MEDIUM)
    finally:
        camera.close()
    return frames


def serve(width: int, height: int, live: bool) -> None:
    """The virtual Lumix process: prints its port, then serves until killed."""
    from tether.camera.sim import SimCamera
    from tether.ptpip import PtpIpServer, VirtualLumix

    if live:
        settings = Settings().with_overrides({"sim": {"liveview_width": width, "liveview_height": height}})
        source: Camera = SimCamera(parse_camera_id("sim:macro"), settings.sim)
        source.open()
    else:
        source = Replay(render(width, height))
    server = PtpIpServer(VirtualLumix(source), "127.0.0.1", 0)
    print(server.port, flush=True)
    server.serve_forever()


@contextlib.contextmanager
def virtual_lumix(width: int, height: int, *, live: bool) -> Iterator[CameraId]:
    """A virtual Lumix in its own process; yields its camera id."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(width), str(height), str(int(live))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield parse_camera_id(f"ptpip:127.0.0.1:{int(server.stdout.readline())}")
    finally:
        server.kill()
        server.wait()


def per_frame(camera: Camera, frames: int) -> float:
    """Seconds per live-view frame over ``frames`` frames."""
    camera.live_view_frame()  # live view start-up is not part of the steady state
    start = time.perf_counter()
    for _ in range(frames):
        camera.live_view_frame()
    return (time.perf_counter() - start) / frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--library", choices=["wheel", "system"], default="wheel")
    parser.add_argument("--serve", nargs=3, type=int, metavar=("WIDTH", "HEIGHT", "LIVE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], bool(args.serve[2]))
        return

    from tether.camera.supervisor import open_supervised, resolve_library

    settings = Settings().with_overrides({"gphoto": {"library": args.library}})
    library, path = resolve_library(settings)
    if path is not None:  # the in-process reference must load the same libgphoto2 as the child
        sys.path.insert(0, str(path))
    from tether.camera import gphoto

    rows = []
    for width, height in SIZES:
        with virtual_lumix(width, height, live=False) as camera_id:
            # Both stay open for all runs: libgphoto2's PTP/IP teardown closes stale descriptor
            # numbers, which in-process could hit a pipe opened since (the supervised child is immune).
            direct = gphoto.GphotoCamera(camera_id)
            proxy = open_supervised(camera_id, settings)
            direct.open()
            proxy.open()
            inproc, supervised = [], []
            for _ in range(args.runs):  # alternate, so both see the same machine load
                inproc.append(per_frame(direct, args.frames))
                supervised.append(per_frame(proxy, args.frames))
            size = len(direct.live_view_frame().data)
            proxy.close()
            direct.close()
        with virtual_lumix(width, height, live=True) as camera_id, open_supervised(camera_id, settings) as proxy:
            live = statistics.median(per_frame(proxy, max(10, args.frames // 4)) for _ in range(args.runs))
        a, b = statistics.median(inproc), statistics.median(supervised)
        rows.append((f"{width}x{height}", size, 1 / a, 1 / b, (b - a) * 1000, b / a, 1 / live))

    print(
        f"live view through libgphoto2 {gphoto.library_version()} ({library}), virtual Lumix over PTP/IP, "
        f"median of {args.runs} runs x {args.frames} frames"
    )
    print(
        f"{'size':>10} {'JPEG bytes':>11} {'in-process fps':>15} {'supervised fps':>15} {'proxy ms/frame':>15} "
        f"{'ratio':>6} {'rendered live fps':>18}"
    )
    for name, size, fps_a, fps_b, overhead, ratio, fps_live in rows:
        print(f"{name:>10} {size:>11} {fps_a:>15.1f} {fps_b:>15.1f} {overhead:>15.2f} {ratio:>6.2f} {fps_live:>18.1f}")
    print("targets: >= 25 fps at 1920x1080 (supervised); proxy overhead <= 3 ms per frame")
    print("rendered live = the simulated camera rendering each frame (supervised); the other columns replay frames")


if __name__ == "__main__":
    main()
