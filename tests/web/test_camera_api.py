"""REST and MJPEG with the simulated camera behind a real CameraOwner (320x240 live view)."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from tether.web.live import BOUNDARY


@pytest.fixture
def started(engine):  # type: ignore[no-untyped-def]
    """The engine with its primary camera (sim:macro) open and delivering frames."""
    engine.start()
    owner = engine.owner_for()
    assert owner.frames.wait_next(0, 20) is not None, owner.snapshot()
    return engine


def mjpeg_frames(response, count: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    """The JPEGs of the first ``count`` parts of a multipart stream."""
    frames: list[bytes] = []
    for part in response.response:
        head, _, rest = part.partition(b"\r\n\r\n")
        assert head.startswith(b"--" + BOUNDARY) and b"Content-Type: image/jpeg" in head
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        frames.append(rest[:length])
        if len(frames) == count:
            break
    response.close()
    return frames


def test_mjpeg_stream_delivers_new_frames(client, started) -> None:
    response = client.get("/api/cameras/sim:macro/live.mjpg")
    assert response.status_code == 200
    assert response.mimetype == "multipart/x-mixed-replace"
    assert response.headers["Cache-Control"] == "no-store"
    frames = mjpeg_frames(response, 3)
    assert len(set(frames)) == 3  # three different frames, not one repeated
    image = cv2.imdecode(np.frombuffer(frames[-1], np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)
    latest = client.get("/api/cameras/sim:macro/live.jpg")
    assert latest.status_code == 200 and latest.data[:2] == b"\xff\xd8"


def test_many_viewers_share_one_camera_read(client, started) -> None:
    owner = started.owner_for()
    before = owner.frames.seq
    streams = [client.get("/api/cameras/sim:macro/live.mjpg") for _ in range(4)]
    got = [mjpeg_frames(s, 2) for s in streams]
    camera_frames = owner.frames.seq - before
    # four viewers x two frames each came from no more camera reads than one viewer needs
    assert all(len(g) == 2 for g in got)
    assert camera_frames < 8 + 4, camera_frames


def test_camera_listing_and_opening(client, started) -> None:
    cameras = client.get("/api/cameras").get_json()
    ids = {c["id"] for c in cameras["available"]}
    assert {"sim:macro", "sim:product"} <= ids
    assert cameras["primary"] == "sim:macro"
    opened = client.post("/api/cameras/open", json={"id": "sim:product"})
    assert opened.status_code == 200 and opened.get_json()["camera"] == "sim:product"
    missing = client.post("/api/cameras/open", json={"id": "ptpip:10.0.0.1:15740"})
    assert missing.status_code == 404 and "no camera" in missing.get_json()["error"]
    assert client.get("/api/cameras/usb:001,002/settings").status_code == 404


def test_settings_are_descriptors_and_can_be_set(client, started, sio) -> None:
    settings = client.get("/api/cameras/sim:macro/settings").get_json()
    by_name = {s["name"]: s for s in settings}
    aperture = by_name["aperture"]
    assert aperture["kind"] == "choice" and aperture["group"] == "exposure" and aperture["choices"]
    new = next(c for c in aperture["choices"] if c != aperture["value"])
    sio.get_received()
    changed = client.put("/api/cameras/sim:macro/settings/aperture", json={"value": new})
    assert changed.status_code == 200 and changed.get_json()["value"] == new
    bad = client.put("/api/cameras/sim:macro/settings/aperture", json={"value": "f/99"})
    assert bad.status_code == 400 and "choose one of" in bad.get_json()["hint"]
    read_only = client.put("/api/cameras/sim:macro/settings/lens", json={"value": "x"})
    assert read_only.status_code == 400 and "read-only" in read_only.get_json()["error"]
    assert client.put("/api/cameras/sim:macro/settings/aperture", json={"value": [1]}).status_code == 400
    deadline = time.monotonic() + 3
    seen = []
    while time.monotonic() < deadline and not seen:
        seen = [m["args"][0] for m in sio.get_received()
                if m["name"] == "event" and m["args"][0]["type"] == "camera.setting"]
        time.sleep(0.05)
    assert seen and seen[0]["setting"]["value"] == new  # other browsers learn about it


def test_capture_still_and_focus(client, started) -> None:
    captured = client.post("/api/cameras/sim:macro/capture")
    assert captured.status_code == 201, captured.get_json()
    body = captured.get_json()
    data = client.get(f"/api/exports/{body['export']}").data
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] == body["width"] and image.shape[0] == body["height"]
    moved = client.post("/api/cameras/sim:macro/focus", json={"direction": "far", "step": "large", "count": 2})
    assert moved.status_code == 200
    assert client.post("/api/cameras/sim:macro/focus", json={"direction": "sideways"}).status_code == 400
    assert client.post("/api/cameras/sim:macro/focus", json={"direction": "far", "count": 0}).status_code == 400
