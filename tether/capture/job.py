"""A long capture job (pre-scan, sweep): id, kind, future, progress and a cancel switch."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any

from tether.errors import TetherError
from tether.events import EventBus


class Cancelled(TetherError):
    """The user cancelled the job; what was captured so far is kept."""


class Job:
    """One pre-scan or sweep on one camera; its work runs on the camera's owner thread."""

    def __init__(self, kind: str, camera: str, bus: EventBus) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.kind = kind
        self.camera = camera
        self.future: Future[dict[str, Any]] = Future()
        self.progress: dict[str, Any] = {"done": 0, "total": 0, "fraction": 0.0, "elapsed": 0.0, "eta": None,
                                         "fps": 0.0, "focus_position": None, "phase": "queued"}
        self.started = 0.0
        self._cancel = threading.Event()
        self._bus = bus

    # control -------------------------------------------------------------------------------
    def cancel(self) -> bool:
        """Ask the job to stop after the frame in flight; False when it already finished."""
        if self.future.done():
            return False
        self._cancel.set()
        return True

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise Cancelled when a cancel was asked for (called between camera operations)."""
        if self._cancel.is_set():
            raise Cancelled(f"{self.kind} cancelled")

    # reporting -----------------------------------------------------------------------------
    def begin(self) -> None:
        self.started = time.monotonic()

    def report(self, done: int, total: int, *, phase: str, focus_position: float | None = None,
               fps: float | None = None) -> None:
        """Update progress and publish ``job.progress``; ETA from ``fps`` (the phase's pace) when given."""
        elapsed = time.monotonic() - self.started if self.started else 0.0
        if fps is None:
            fps = done / elapsed if elapsed > 0 and done else 0.0
        fraction = min(1.0, done / total) if total else 0.0
        eta = (total - done) / fps if fps and total >= done else None
        self.progress = {"done": done, "total": total, "fraction": round(fraction, 4), "elapsed": round(elapsed, 3),
                         "eta": None if eta is None else round(eta, 2), "fps": round(fps, 2),
                         "focus_position": None if focus_position is None else round(float(focus_position), 2),
                         "phase": phase}
        self._bus.publish("job.progress", job=self.id, job_kind=self.kind, camera=self.camera, **self.progress)

    def publish(self, event_type: str, /, **payload: Any) -> None:
        """Publish ``event_type`` on the bus with this job's id."""
        self._bus.publish(event_type, job=self.id, **payload)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for a client: id, kind, state, progress, and the result or error once finished."""
        if not self.future.done():
            state = "running" if self.started else "queued"
            extra: dict[str, Any] = {}
        elif self.future.exception() is not None:
            exc = self.future.exception()
            state, extra = "error", {"error": str(exc)}
        else:
            result = self.future.result()
            state = "cancelled" if result.get("cancelled") else "done"
            extra = {"result": result}
        return {"job": self.id, "job_kind": self.kind, "camera": self.camera, "state": state, **self.progress, **extra}
