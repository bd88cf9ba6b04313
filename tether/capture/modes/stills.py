"""Stills mode: a full-resolution still at each position, waiting for the camera's file each time."""
from __future__ import annotations

from tether.capture.modes.base import SweepContext, SweepMode, grab
from tether.capture.motion import retry_busy


def sweep(ctx: SweepContext) -> None:
    ctx.step_and_grab(lambda: grab(lambda: retry_busy(ctx.camera.capture_still), "still"))


MODE = SweepMode("stills", "Stills (full resolution)", needs="still_capture", run=sweep)
