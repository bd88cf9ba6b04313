"""Fixtures for the capture tests: small, fast simulated cameras that remember where focus really was."""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import pytest

from tether.camera.ids import parse_camera_id
from tether.camera.sim import SimCamera
from tether.camera.types import CapturedFile, Frame
from tether.config import Settings

#: Small images and a fast motor keep the whole capture suite within its time budget.
FAST_SIM = {"liveview_width": 480, "liveview_height": 270, "liveview_fps": 120.0, "still_width": 640,
            "still_height": 480, "movie_width": 480, "movie_height": 270, "focus_step_ms": 0.2}


def sim_settings(**sim: Any) -> Settings:
    return Settings().with_overrides({"sim": {**FAST_SIM, **sim}})


class TruthCamera(SimCamera):
    """The real simulated camera, also noting the motor's true position at every frame it hands out.

    Tests use it to compare the positions tether counted (no readback, as on a real camera) with
    where the focus really was.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.truth_at: dict[float, int] = {}
        #: By SHA-256 of the JPEG, for frames that reach tether through another driver (PTP/IP).
        self.truth_of: dict[str, int] = {}
        self.movie_started: float | None = None

    def live_view_frame(self) -> Frame:
        frame = super().live_view_frame()
        self.truth_at[frame.timestamp] = self.motor.position
        self.truth_of[hashlib.sha256(frame.data).hexdigest()] = self.motor.position
        return frame

    def capture_still(self) -> CapturedFile:
        still = super().capture_still()
        self.truth_at[still.timestamp] = self.motor.position
        return still

    def start_movie(self) -> float:
        self.movie_started = super().start_movie()
        return self.movie_started


def truth_camera(camera_id: str = "sim:macro", camera_class: type[SimCamera] = TruthCamera, **sim: Any) -> Any:
    camera = camera_class(parse_camera_id(camera_id), sim_settings(**sim).sim)
    camera.open()
    return camera


@pytest.fixture(name="truth_camera")
def truth_camera_fixture():
    """``truth_camera(camera_id, camera_class=TruthCamera, **sim_settings)`` -> an opened camera, closed after."""
    made: list[SimCamera] = []

    def make(camera_id: str = "sim:macro", camera_class: type[SimCamera] = TruthCamera, **sim: Any) -> Any:
        made.append(truth_camera(camera_id, camera_class, **sim))
        return made[-1]

    yield make
    for camera in made:
        camera.close()


class Recorder:
    """Every event published on a bus, and a way to wait for one."""

    def __init__(self, bus) -> None:
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        bus.subscribe(self._add)

    def _add(self, event: dict[str, Any]) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]

    def wait(self, kind: str, timeout: float = 20.0, count: int = 1, **match: Any) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for e in self.events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [e["type"] for e in self.events][-20:]
                    raise AssertionError(f"no {count} x {kind} {match} within {timeout} s; got {recent}")
                self._cond.wait(left)


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def make_owner():
    """``make_owner(camera_id, opener=None, **sim)`` -> (owner, recorder, opened cameras), connected.

    ``opener`` (a function returning an unopened Camera) replaces the simulated camera.
    """
    from tether.capture import CameraOwner
    from tether.events import EventBus

    owners = []

    def make(camera_id: str = "sim:macro", *, opener=None, camera_class=SimCamera, **sim: Any):
        settings = sim_settings(**sim)
        bus = EventBus()
        recorder = Recorder(bus)
        opened: list[Any] = []

        def open_camera():
            opened.append(opener() if opener else camera_class(parse_camera_id(camera_id), settings.sim))
            return opened[-1]

        owner = CameraOwner(camera_id, open_camera, bus, reconnect_delays=(0.1, 0.2, 0.4)).start()
        owners.append(owner)
        wait_until(lambda: owner.state in ("idle", "liveview"), timeout=60)
        return owner, recorder, opened

    yield make
    for owner in owners:
        owner.stop()
