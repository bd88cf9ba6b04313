"""Tiles through the REST API: a crop of a frame or of a stack at a scale, the zoom's full-resolution pixels."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.web.test_imaging_api import wait_job
from tether.burst import open_burst


def picture(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_a_frame_tile_is_that_part_of_the_frame_at_the_scale_asked(client, focus_burst, engine) -> None:
    burst_id = focus_burst(4)
    with open_burst(engine.store.burst_path(burst_id)) as reader:
        frame = reader.frame_image(2)
    url = f"/api/bursts/{burst_id}/frames/2/tile.jpg?left=40&top=24&width=96&height=64"
    got = client.get(url)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    tile = picture(got.data)
    assert tile.shape == (64, 96, 3) and cv2.PSNR(tile, frame[24:88, 40:136]) > 35
    half = picture(client.get(f"{url}&reduce=2").data)
    assert half.shape == (32, 48, 3)
    assert cv2.PSNR(half, cv2.resize(frame[24:88, 40:136], (48, 32), interpolation=cv2.INTER_AREA)) > 30


def test_a_stack_tile_comes_from_the_exported_picture(client, focus_burst) -> None:
    burst_id = focus_burst(4)
    job = wait_job(client, client.post(f"/api/bursts/{burst_id}/stack", json={"format": "png"}).get_json()["job"])
    export = job["result"]["export"]
    stacked = picture(client.get(f"/api/exports/{export}").data)
    tile = picture(client.get(f"/api/exports/{export}/tile.jpg?left=100&top=0&width=92&height=50").data)
    assert tile.shape == (50, 92, 3) and cv2.PSNR(tile, stacked[0:50, 100:192]) > 35


@pytest.mark.parametrize("query,status,message", [
    ("left=0&top=0&width=200&height=10", 400, "reaches outside the 192x128 picture"),
    ("left=0&top=0&width=10", 400, "the tile option 'height' is required"),
    ("left=0&top=0&width=10&height=ten", 400, "height must be a whole number, not 'ten'"),
    ("left=-5&top=0&width=10&height=10", 400, "left must be a whole number from 0 to 100000, not -5"),
    ("left=0&top=0&width=10&height=10&reduce=3", 400, "reduce must be one of 1, 2, 4, 8, not 3"),
    ("left=0&top=0&width=9000&height=10", 400, "a tile is at most 4096 pixels a side once reduced"),
    ("left=0&top=0&width=10&height=10&zoom=2", 400, "unknown tile option 'zoom'"),
])
def test_a_bad_tile_is_refused_with_what_is_wrong(client, focus_burst, query, status, message) -> None:
    burst_id = focus_burst(2)
    got = client.get(f"/api/bursts/{burst_id}/frames/0/tile.jpg?{query}")
    assert got.status_code == status and message in got.get_json()["error"]


def test_a_tile_of_a_frame_or_burst_that_is_not_there_is_not_found(client, focus_burst) -> None:
    burst_id = focus_burst(2)
    missing = client.get(f"/api/bursts/{burst_id}/frames/5/tile.jpg?left=0&top=0&width=8&height=8")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == f"burst {burst_id} has no frame index 5 (indices go from 0 to 1)"
    assert client.get("/api/bursts/nope/frames/0/tile.jpg?left=0&top=0&width=8&height=8").status_code == 404
    assert client.get("/api/exports/nope/tile.jpg?left=0&top=0&width=8&height=8").status_code == 404
