"""Live-view mode: a live-view frame at each position. Fast (the camera's live-view rate), at live-view size."""
from __future__ import annotations

from tether.camera.types import Frame
from tether.capture.modes.base import SweepContext, SweepMode, grab


def sweep(ctx: SweepContext) -> None:
    def live_frame() -> Frame:
        frame = ctx.motor.frame()
        ctx.on_live(frame)
        return frame

    ctx.step_and_grab(lambda: grab(live_frame, "liveview"))


MODE = SweepMode("liveview", "Live view (fast)", needs="live_view", run=sweep)
