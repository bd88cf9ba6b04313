"""Fixtures for the web tests: settings with a temporary data dir, an engine, the Flask app, real bursts."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tether.burst import BurstWriter, FrameMeta
from tether.config import Settings
from tether.engine import Engine
from tether.web import create_app, socketio
from tether.web.app import shutdown_app


def make_settings(data_dir: Path, **server: object) -> Settings:
    overrides: dict[str, dict[str, object]] = {"paths": {"data_dir": str(data_dir)},
                                               "sim": {"liveview_width": 320, "liveview_height": 240}}
    if server:
        overrides["server"] = dict(server)
    return Settings().with_overrides(overrides)


def write_burst(engine: Engine, frames: int = 5, size: tuple[int, int] = (96, 64)) -> str:
    """A real burst file in the engine's store: gradient frames with a moving bright square."""
    burst_id, path = engine.store.new_burst_path()
    w, h = size
    with BurstWriter.create(path, camera={"model": "Test rig", "id": "sim:test"}, sweep={"mode": "liveview"}) as writer:
        for i in range(frames):
            image = np.zeros((h, w, 3), np.uint8)
            image[:, :, 1] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
            image[10:20, 5 + 10 * i:15 + 10 * i] = 255
            ok, data = cv2.imencode(".jpg", image)
            assert ok
            writer.append(data.tobytes(), FrameMeta(captured_at=time.time(), focus_position=10 * i, source="liveview"))
    return burst_id


def write_focus_burst(engine: Engine, frames: int = 6, size: tuple[int, int] = (192, 128)) -> str:
    """A real burst of a textured scene whose left half is sharp in frame 0 and right half in the last frame."""
    burst_id, path = engine.store.new_burst_path()
    w, h = size
    rng = np.random.default_rng(7)
    texture = (rng.random((h, w)) * 255).astype(np.uint8)
    texture = cv2.cvtColor(cv2.resize(cv2.resize(texture, (w // 2, h // 2)), (w, h), interpolation=cv2.INTER_NEAREST),
                           cv2.COLOR_GRAY2BGR)
    with BurstWriter.create(path, camera={"model": "Test rig"}, sweep={"mode": "liveview"}) as writer:
        for i in range(frames):
            left_blur, right_blur = 0.3 + 1.2 * i, 0.3 + 1.2 * (frames - 1 - i)
            image = texture.copy()
            image[:, : w // 2] = cv2.GaussianBlur(texture, (0, 0), left_blur)[:, : w // 2]
            image[:, w // 2:] = cv2.GaussianBlur(texture, (0, 0), right_blur)[:, w // 2:]
            _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            writer.append(data.tobytes(), FrameMeta(captured_at=time.time(), focus_position=20 * i))
    return burst_id


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """An engine with no camera opened (tests that need one start it)."""
    eng = Engine(settings, camera_id="sim:macro", simulated=True)
    yield eng
    eng.close()


@pytest.fixture
def app(engine: Engine, settings: Settings):  # type: ignore[no-untyped-def]
    flask_app = create_app(engine, settings)
    flask_app.config["TESTING"] = True
    yield flask_app
    shutdown_app(flask_app)


@pytest.fixture
def app_factory(data_dir: Path):  # type: ignore[no-untyped-def]
    """Build (engine, app) with server settings such as host/token; cleaned up after the test."""
    made = []

    def build(**server: object):  # type: ignore[no-untyped-def]
        settings = make_settings(data_dir, **server)
        eng = Engine(settings, camera_id="sim:macro", simulated=True)
        flask_app = create_app(eng, settings)
        made.append((eng, flask_app))
        return eng, flask_app

    yield build
    for eng, flask_app in made:
        shutdown_app(flask_app)
        eng.close()


@pytest.fixture
def burst(engine: Engine):  # type: ignore[no-untyped-def]
    """A function making a real burst in the engine's store; returns its id."""
    return lambda frames=5: write_burst(engine, frames)


@pytest.fixture
def focus_burst(engine: Engine):  # type: ignore[no-untyped-def]
    """A function making a real burst with a known sharpest frame per half; returns its id."""
    return lambda frames=6: write_focus_burst(engine, frames)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def sio(app):  # type: ignore[no-untyped-def]
    """A Socket.IO test client connected to the app."""
    test_client = socketio.test_client(app, flask_test_client=app.test_client())
    yield test_client
    if test_client.is_connected():
        test_client.disconnect()
