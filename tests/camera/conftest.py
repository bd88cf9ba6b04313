"""Fixtures for the simulated-camera tests: small, fast, instant-motor settings."""
from __future__ import annotations

import pytest

from tether.camera.ids import parse_camera_id
from tether.config import Settings

#: Small images and an instant motor: the properties under test do not need full size.
FAST_SIM = {"liveview_width": 320, "liveview_height": 180, "still_width": 400, "still_height": 300,
            "movie_width": 320, "movie_height": 180, "focus_step_ms": 0.0, "liveview_fps": 120.0}


@pytest.fixture
def sim_settings():
    """``sim_settings(**overrides)`` -> SimSettings with the fast defaults above."""
    def make(**overrides):
        return Settings().with_overrides({"sim": {**FAST_SIM, **overrides}}).sim
    return make


@pytest.fixture
def make_sim(sim_settings):
    """``make_sim("sim:macro?...", **sim_overrides)`` -> an opened SimCamera (closed after the test)."""
    from tether.camera.sim import SimCamera

    cameras = []

    def make(camera_id: str = "sim:macro", **overrides):
        camera = SimCamera(parse_camera_id(camera_id), sim_settings(**overrides))
        camera.open()
        cameras.append(camera)
        return camera
    yield make
    for camera in cameras:
        camera.close()
