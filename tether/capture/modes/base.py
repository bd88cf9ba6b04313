"""What a sweep mode is and what it is given: :class:`SweepMode` and its :class:`SweepContext`.

A mode decides how frames are taken (a live-view frame or a still at each position, or a movie
recorded while stepping); the run loop in :mod:`tether.capture.sweep` owns everything else: the
burst, the sharpness worker, when to stop early or go on, the coverage check.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tether.burst import FrameMeta
from tether.camera.base import Camera
from tether.camera.errors import CorruptFrame, Unsupported
from tether.camera.types import CameraInfo, CapturedFile, Frame
from tether.capture.motion import Motor
from tether.capture.sharpness import FrameSummary, looks_like_jpeg
from tether.capture.step_plan import StepPlan, TilePeak

#: One frame as the burst stores it: the camera's bytes and what is known about them.
Grabbed = tuple[bytes, FrameMeta]


class AddFrame(Protocol):
    def __call__(self, data: bytes, meta: FrameMeta, *, position: float | None = None,
                 summary: FrameSummary | None = None) -> int:
        """Append a frame at ``position`` (default: the motor's counted position); returns its index.

        ``summary``: its sharpness when the mode has it already (a decoded movie frame), else the
        run loop's worker computes it from the bytes.
        """


@dataclass(frozen=True)
class SweepContext:
    """Everything a mode may use; the motor is homed and stands at the plan's first position."""

    camera: Camera
    motor: Motor
    plan: StepPlan
    #: The pre-scan's subject tile peaks (empty for a range given by hand): a movie's frames are placed by them.
    peaks: tuple[TilePeak, ...]
    #: Raises Cancelled once the job is cancelled; call it between camera operations.
    check: Callable[[], None]
    #: ``progress(done, total, phase=..., focus_position=...)``: reported to the job.
    progress: Callable[..., None]
    add: AddFrame
    #: Show a live-view frame to whoever watches the camera.
    on_live: Callable[[Frame], object]
    #: Drive through the plan calling ``grab`` at each position and adding what it returns;
    #: stops early past every subject and goes on while subjects still sharpen at the far end.
    step_and_grab: Callable[[Callable[[], Grabbed]], None]


@dataclass(frozen=True)
class SweepMode:
    """One way to sweep: the name the API and the CLI take, a label for the photographer, the
    camera capability it needs and the function that takes the frames."""

    name: str
    label: str
    #: The camera capability this mode needs (a :class:`Capabilities` field, as the camera lists it), so
    #: the Post Focus page can offer the mode only where the camera has it.
    needs: str
    run: Callable[[SweepContext], None]

    def check_capable(self, info: CameraInfo) -> None:
        """Unsupported, with a message naming the camera, when the camera ``info`` describes cannot sweep in
        this mode."""
        caps = info.capabilities
        if not caps.focus_drive:
            raise Unsupported(caps.focus_drive_note or f"{info.model} cannot drive focus, so it cannot sweep")
        if not getattr(caps, self.needs):
            raise Unsupported(f"{info.model} cannot sweep in {self.name} mode: it offers tether no "
                              f"{self.needs.replace('_', ' ')}", hint="choose another mode")


def grab(fetch: Callable[[], Frame | CapturedFile], source: str) -> Grabbed:
    """Take one frame with ``fetch``; a corrupt one is kept (marked corrupt) with whatever bytes came."""
    try:
        got = fetch()
    except CorruptFrame as exc:
        data = getattr(exc, "data", b"")
        return (data if isinstance(data, bytes) else b""), FrameMeta(
            captured_at=time.time(), source=source, corrupt=True, extra={"error": str(exc)})
    intact = looks_like_jpeg(got.data) if got.mime == "image/jpeg" else bool(got.data)
    name = got.name if isinstance(got, CapturedFile) else ""
    return got.data, FrameMeta(captured_at=time.time(), source=source, width=got.width, height=got.height,
                               mime=got.mime, filename=name, corrupt=not intact, extra={"camera_time": got.timestamp})
