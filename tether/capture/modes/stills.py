"""Stills mode: a full-resolution still at each position, waiting for the camera's file each time."""
from __future__ import annotations

from time import sleep

from tether.camera.types import CapturedFile
from tether.capture.modes.base import SweepContext, SweepMode, grab
from tether.capture.motion import retry_busy


def sweep(ctx: SweepContext) -> None:
    def still() -> CapturedFile:
        if ctx.motor.settle_seconds:  # a still is sharp only once the rig has stopped shaking from the move
            sleep(ctx.motor.settle_seconds)
        return retry_busy(ctx.camera.capture_still)

    ctx.step_and_grab(lambda: grab(still, "still"))


MODE = SweepMode("stills", "Stills (full resolution)", needs="still_capture", run=sweep)
